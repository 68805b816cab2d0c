"""The canonical plan file: YAML with a fixed key order and an integrity hash.

The integrity value is the SHA-256 of the canonical JSON form (keys sorted,
no insignificant white space, UTF-8) of the whole document without the
`integrity` field. Hashing the JSON form rather than the YAML bytes means a
reader in any language can check it after parsing, and re-indenting the YAML
does not break it while changing any value does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from ..errors import BadInput
from ..playbook.model import SCHEMA_ID, Plan
from ..yaml_files import read_yaml

INTEGRITY_METHOD = "sha256 of canonical JSON (sorted keys, compact separators, UTF-8) without 'integrity'"


def canonical_json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def integrity_of(doc: dict[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != "integrity"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def plan_document(plan: Plan) -> dict[str, Any]:
    """The document as written: the plan's fields in their fixed order, then `integrity`."""
    doc = plan.to_document()
    doc["integrity"] = {"sha256": integrity_of(doc), "method": INTEGRITY_METHOD}
    return doc


# libyaml's emitter is ~6x faster than PyYAML's pure-Python one and writes the same bytes
# (a test compares them); the pure one stays the fallback where libyaml is missing.
class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Multi-line artifacts (scripts, rules, JSON bodies) read best as literal blocks.
    if "\n" in data and all(ord(c) >= 32 or c in "\n\t" for c in data) and not data.startswith(" "):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


def to_yaml(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)


def load_plan_file(path: Path) -> dict[str, Any]:
    _text, doc = read_yaml(path)
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA_ID:
        raise BadInput(str(path), f"not an nhiplan plan file (expected schema: {SCHEMA_ID})")
    return doc


def verify_document(doc: dict[str, Any]) -> tuple[bool, str]:
    """(ok, message) for a parsed plan document."""
    stated = doc.get("integrity")
    if not isinstance(stated, dict) or not isinstance(stated.get("sha256"), str):
        return False, "the plan has no integrity hash"
    actual = integrity_of(doc)
    if actual != stated["sha256"]:
        return False, f"integrity check FAILED: the plan was changed after export (hash {actual[:16]}… ≠ stated " \
                      f"{stated['sha256'][:16]}…)"
    return True, f"integrity OK: sha256 {actual}"
