"""The plan as CSV: one row per step, for import into a change-ticket tool.

RFC 4180: comma-separated, every field quoted when needed, CRLF line ends,
UTF-8 without a byte-order mark (some importers take a BOM for part of the
first column's name). Several dependencies go into one cell, one per line,
with `because` line i giving the reason for `depends_on` line i. Every row
carries the plan hash, so a ticket made from a row names the plan it came from.

A cell that a spreadsheet would run as a formula (starting with =, +, -, @ or
a control character) gets a leading apostrophe: names and descriptions come
from imported directory data, which anyone who can name an account controls.
"""

from __future__ import annotations

import csv
import io
from typing import Any

COLUMNS = ("id", "wave", "identity", "identity_name", "decision", "agent", "phase", "protocol", "kind", "title",
           "description", "owner", "risk", "depends_on", "because", "verification", "rollback", "artifacts",
           "plan_sha256")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def rows(doc: dict[str, Any]) -> list[dict[str, str]]:
    identities = {i["key"]: i for i in doc.get("identities") or []}
    plan_hash = str((doc.get("integrity") or {}).get("sha256") or "")
    out = []
    for s in doc.get("steps") or []:
        ident = identities.get(s.get("identity", ""), {})
        artifacts = [str(a.get("title") or a.get("kind") or "") for a in s.get("artifacts") or []]
        out.append({
            "id": s["id"], "wave": str(s.get("wave", "")), "identity": str(s.get("identity") or ""),
            "identity_name": str(ident.get("name") or ""), "decision": str(ident.get("decision") or ""),
            "agent": str(s.get("agent") or ""), "phase": str(s.get("phase") or ""),
            "protocol": str(s.get("protocol") or ""), "kind": str(s.get("kind") or ""),
            "title": str(s.get("title") or ""), "description": str(s.get("description") or ""),
            "owner": str(s.get("owner") or ""), "risk": str(s.get("risk") or ""),
            "depends_on": "\n".join(s.get("depends_on") or []), "because": "\n".join(s.get("because") or []),
            "verification": str(s.get("verification") or ""), "rollback": str(s.get("rollback") or ""),
            "artifacts": "\n".join(artifacts), "plan_sha256": plan_hash,
        })
    return out


def render(doc: dict[str, Any]) -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for row in rows(doc):
        writer.writerow([safe(row[c]) for c in COLUMNS])
    return buf.getvalue()


__all__ = ["COLUMNS", "render", "rows"]
