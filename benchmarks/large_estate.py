"""A generated estate of N service accounts, as an AD importer would yield it.

Shared by the benchmarks: accounts spread over a few domains and kinds, each a
member of some groups, used by a host, some with an expiring certificate, a
delegation chain every so often, and a finding on a few. Deterministic for a
given N, so two runs measure the same thing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from nhiplan.core.records import CredentialRecord, EdgeRecord, FindingRecord, IdentityRecord, NodeRecord

DOMAINS = ("corp.example.test", "eu.corp.example.test", "lab.example.test")
KINDS = ("service_account", "service_account", "service_account", "gmsa", "smsa")
WORDS = ("sql", "web", "backup", "report", "etl", "print", "scan", "mail", "build", "deploy", "monitor", "sync",
         "ldap", "crm", "erp", "hr", "billing", "search", "cache", "queue")
BATCH = 5000


def _ref(domain: str, name: str) -> str:
    return f"dn:cn={name},ou=svc,dc={domain.replace('.', ',dc=')}"


def estate_batches(n: int, seed: int = 7) -> Iterator[list]:
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    batch: list = []
    for domain in DOMAINS:
        for g in range(200):
            batch.append(NodeRecord(ref=f"dn:cn=group{g},ou=groups,{domain}", kind="group", name=f"Group {g}",
                                    authority=domain, source_record=f"bench:{domain}:group{g}"))
    for i in range(n):
        domain = DOMAINS[i % len(DOMAINS)]
        name = f"svc_{WORDS[i % len(WORDS)]}_{i:06d}"
        ref = _ref(domain, name)
        src = f"bench.ldif:{i * 20 + 1}"
        last = now - timedelta(days=rng.randint(0, 900)) if rng.random() < 0.8 else None
        batch.append(IdentityRecord(
            ref=ref, kind=KINDS[i % len(KINDS)], name=name, authority=domain, source_record=src,
            display_name=f"{WORDS[i % len(WORDS)].upper()} service {i}", enabled=rng.random() < 0.9,
            last_used=last, description=f"runs the {WORDS[(i * 7) % len(WORDS)]} job on host{i % 5000:04d}",
            spns=[f"HTTP/host{i % 5000:04d}.{domain}"]))
        for g in rng.sample(range(200), 2):
            batch.append(EdgeRecord(ref, f"dn:cn=group{g},ou=groups,{domain}", "MemberOf", src))
        host = f"host:host{i % 5000:04d}.{domain}"
        if i < 5000 * len(DOMAINS):
            batch.append(NodeRecord(ref=host, kind="host", name=host[5:], authority=domain, source_record=src))
        batch.append(EdgeRecord(host, ref, "UsesIdentity", src))
        batch.append(CredentialRecord(ref, "password", "password", src, created=now - timedelta(days=400)))
        if i % 4 == 0:
            batch.append(CredentialRecord(ref, "certificate", f"thumb{i:06d}", src,
                                          expires=now + timedelta(days=rng.randint(-30, 400))))
        if i % 50 == 1:
            prev = f"svc_{WORDS[(i - 1) % len(WORDS)]}_{i - 1:06d}"
            batch.append(EdgeRecord(ref, _ref(DOMAINS[(i - 1) % len(DOMAINS)], prev), "AllowedToDelegate", src))
        if i % 97 == 0:
            batch.append(FindingRecord(ref, "secret-in-data", "NHI2", "high",
                                       "a password was written in the description attribute", src))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
