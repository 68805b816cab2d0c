"""Benchmark: `nhiplan import` of an LDIF with 100,000 accounts and 1,000,000 group memberships.

Run: ``.venv/bin/python benchmarks/ldif_import_bench.py [--accounts N] [--groups-per-account K] [--keep DIR]
[--stages]``

What it does, in one run:

1. writes a deterministic AD export (ldapsearch style) with N accounts — service
   accounts with SPNs, gMSAs, people — each in K groups (memberships written on both
   sides, ``memberOf`` on the account and ``member`` on the group, as AD exports
   them), binary objectSid / objectGUID in base64, FILETIME and GeneralizedTime
   values;
2. the baseline: the same file read and split with the standard library only —
   decoded, cut into records at blank lines, each line split at ``": "`` — no
   database, no normalising;
3. the real thing: ``nhiplan init`` then ``nhiplan import PROJECT FILE --quiet`` in a
   child process, timed, with the child's peak RSS from ``wait4``;
4. with ``--stages``: the reader alone and reader + normaliser in this process, to
   show where the time goes.

It prints the wall times, the peak memory, and the ratio import / baseline. The
targets (issue 3): within 3x the baseline, under 1.5 GB peak. A benchmark, not a
test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import base64
import gc
import os
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

DOMAIN_DN = "DC=corp,DC=example,DC=test"
DOMAIN_SID = (1111111111, 2222222222, 3333333333)
WORDS = ("sql", "web", "backup", "report", "etl", "print", "scan", "mail", "build", "deploy", "monitor", "sync")


def _sid(rid: int) -> str:
    data = bytes([1, 5]) + (5).to_bytes(6, "big") + struct.pack("<5I", 21, *DOMAIN_SID, rid)
    return base64.b64encode(data).decode("ascii")


def _guid(n: int) -> str:
    return base64.b64encode(uuid.UUID(int=(0x0A1B2C3D << 96) | n).bytes_le).decode("ascii")


def write_ldif(path: Path, accounts: int, per_account: int) -> tuple[int, int]:
    """The export; returns (entries, memberships)."""
    groups = max(per_account, accounts * per_account // 500)  # about 500 members a group
    group_dn = [f"CN=Group {g:05d},OU=Groups,{DOMAIN_DN}" for g in range(groups)]
    members: list[list[int]] = [[] for _ in range(groups)]
    filetime = 133_486_382_450_000_000
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write("# extended LDIF\n#\n# LDAPv3\n# base <DC=corp,DC=example,DC=test> with scope subtree\n"
                  "# filter: (objectClass=*)\n# requesting: ALL\n#\n\n")
        for i in range(accounts):
            kind = i % 10
            if kind == 0:
                name, container, classes = f"gmsa_{i:06d}$", "CN=Managed Service Accounts", (
                    "top", "person", "organizationalPerson", "user", "computer", "msDS-GroupManagedServiceAccount")
            elif kind < 6:
                name, container, classes = f"svc_{WORDS[i % len(WORDS)]}_{i:06d}", "OU=Service Accounts", (
                    "top", "person", "organizationalPerson", "user")
            else:
                name, container, classes = f"user{i:06d}", "OU=Staff", ("top", "person", "organizationalPerson",
                                                                         "user")
            cn = name.rstrip("$")
            dn = f"CN={cn},{container},{DOMAIN_DN}"
            lines = [f"# {cn}, {container.split('=')[1]}, corp.example.test", f"dn: {dn}"]
            lines += [f"objectClass: {c}" for c in classes]
            lines += [f"cn: {cn}", f"sAMAccountName: {name}", f"objectSid:: {_sid(10_000 + i)}",
                      f"objectGUID:: {_guid(i)}", f"userAccountControl: {4096 if kind == 0 else 66048}",
                      f"pwdLastSet: {filetime - i * 10_000_000}", f"lastLogonTimestamp: {filetime + i * 1000}",
                      "accountExpires: 9223372036854775807", "whenCreated: 20190304100000.0Z",
                      f"description: {WORDS[i % len(WORDS)]} job account {i}"]
            if kind < 6:
                lines.append(f"servicePrincipalName: HTTP/app{i % 5000:04d}.corp.example.test")
            if kind == 0:
                lines.append("msDS-ManagedPasswordInterval: 30")
            start = (i * 7919) % groups
            for k in range(per_account):
                g = (start + k * 131) % groups
                members[g].append(i)
                lines.append(f"memberOf: {group_dn[g]}")
            out.write("\n".join(lines) + "\n\n")
        account_dn = {}
        for g in range(groups):
            lines = [f"dn: {group_dn[g]}", "objectClass: top", "objectClass: group", f"cn: Group {g:05d}",
                     f"sAMAccountName: Group {g:05d}", f"objectSid:: {_sid(500_000 + g)}", "groupType: -2147483646"]
            for i in members[g]:
                dn = account_dn.get(i)
                if dn is None:
                    kind = i % 10
                    if kind == 0:
                        dn = f"CN=gmsa_{i:06d},CN=Managed Service Accounts,{DOMAIN_DN}"
                    elif kind < 6:
                        dn = f"CN=svc_{WORDS[i % len(WORDS)]}_{i:06d},OU=Service Accounts,{DOMAIN_DN}"
                    else:
                        dn = f"CN=user{i:06d},OU=Staff,{DOMAIN_DN}"
                lines.append(f"member: {dn}")
            out.write("\n".join(lines) + "\n\n")
        out.write("# search result\nsearch: 2\nresult: 0 Success\n")
    return accounts + groups, accounts * per_account


def baseline(path: Path) -> tuple[float, int]:
    """Standard library only: read, decode, split into records and `name: value` pairs."""
    started = time.perf_counter()
    pairs = 0
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    for block in text.split("\n\n"):
        record = [line.partition(": ") for line in block.split("\n") if line and line[0] != "#"]
        pairs += len(record)
    del text
    return time.perf_counter() - started, pairs


def run_import(path: Path, project: Path) -> tuple[float, int, str]:
    """`nhiplan import` in a child process: (wall seconds, peak RSS bytes, its stdout)."""
    cli = [sys.executable, "-m", "nhiplan.core.cli"]
    subprocess.run([*cli, "init", str(project)], check=True, capture_output=True)
    started = time.perf_counter()
    child = subprocess.Popen([*cli, "import", str(project), str(path), "--quiet"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    out, err = child.communicate()
    _, status, usage = os.wait4(child.pid, 0) if child.returncode is None else (0, 0, None)
    wall = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"import failed ({child.returncode}): {err}")
    del status
    peak = usage.ru_maxrss * 1024 if usage is not None else _child_peak()
    return wall, peak, out.strip()


def _child_peak() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def stages(path: Path) -> None:
    from nhiplan.core.importers.ad_entries import AdEntryNormaliser
    from nhiplan.core.importers.ldif import LdifReader

    started = time.perf_counter()
    n = sum(1 for _ in LdifReader(path))
    reader = time.perf_counter() - started
    gc.collect()
    started = time.perf_counter()
    normaliser = AdEntryNormaliser()
    records = 0
    gc.freeze()
    for entry in LdifReader(path):
        entry.attributes["dn"] = [entry.dn]
        records += len(normaliser.normalise(entry.attributes, f"x:{entry.line}"))
    gc.unfreeze()
    both = time.perf_counter() - started
    print(f"  reader alone:        {reader:7.1f} s ({n} entries)")
    print(f"  reader + normaliser: {both:7.1f} s ({records} records, kept nowhere)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--groups-per-account", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="write the LDIF and project here and keep them")
    parser.add_argument("--stages", action="store_true", help="also time the reader and normaliser alone")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="nhiplan-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    ldif = folder / "estate.ldif"
    project = folder / "bench.nhiplan"
    if project.exists():
        project.unlink()
    started = time.perf_counter()
    entries, memberships = write_ldif(ldif, args.accounts, args.groups_per_account)
    size = ldif.stat().st_size
    print(f"LDIF: {entries} entries, {args.accounts} accounts, {memberships} memberships, {size / 1e6:.0f} MB "
          f"(written in {time.perf_counter() - started:.1f} s)")
    base_wall, pairs = baseline(ldif)
    print(f"baseline (stdlib read + split, no database): {base_wall:7.1f} s ({pairs} lines)")
    if args.stages:
        stages(ldif)
    wall, peak, out = run_import(ldif, project)
    print(f"nhiplan import:                              {wall:7.1f} s, peak RSS {peak / 2**20:.0f} MiB")
    print(f"  {out}")
    print(f"ratio import / baseline: {wall / base_wall:.1f}x (target 3x); peak {peak / 2**30:.2f} GiB "
          "(target < 1.5 GiB)")
    if not args.keep:
        ldif.unlink()
        project.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
