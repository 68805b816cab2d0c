"""Decisions: split / keep / retire / undecided, with rationale, author, time and audit.

Every change writes an audit event with before and after, so a change board can
see who decided what and why, and a front end can undo by restoring `before`.
A decisions file (CONTRACT.md) is validated whole before anything is written:
all of it lands, or none does.
"""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .errors import Ambiguous, BadInput, NotFound
from .model import AgentSpec, AuditEvent, Decision, Identity
from .yaml_files import read_yaml

DECISIONS = ("split", "keep", "retire", "undecided")
DELEGATION_MODES = ("autonomous", "on-behalf-of")
AGENT_CREDENTIALS = ("private_key_jwt", "mtls", "federated", "client_secret")
ROTATION_VIA = ("vault", "doppler", "1password", "gmsa", "dmsa", "manual")
_DURATION = re.compile(r"^\d+[smhdw]$")
_ACTION_CLASS = re.compile(r"^[a-z][a-z0-9_.-]*$")
_AGENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers: still say who in a stable way
        return "unknown"


@dataclass
class AgentSpecData:
    """The four axes: who (name, purpose), on whose behalf (delegation), which action (classes,
    scopes), how long (credential and lifetime) -- plus owner and the consumers it serves."""

    name: str
    purpose: str = ""
    delegation: str = "autonomous"
    action_classes: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    credential: str = "private_key_jwt"
    lifetime: str = "15m"
    owner: str | None = None
    consumers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "purpose": self.purpose, "delegation": self.delegation,
                "action_classes": list(self.action_classes), "scopes": list(self.scopes),
                "credential": self.credential, "lifetime": self.lifetime, "owner": self.owner,
                "consumers": list(self.consumers)}


@dataclass
class DecisionData:
    decision: str
    reason: str = ""
    agents: list[AgentSpecData] = field(default_factory=list)
    rotation: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"decision": self.decision, "reason": self.reason}
        if self.agents:
            d["agents"] = [a.as_dict() for a in self.agents]
        if self.rotation:
            d["rotation"] = dict(self.rotation)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DecisionData:
        return parse_decision(d, "state")


def _str_list(value: Any, where: str, field_name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise BadInput(where, f"'{field_name}' must be a list of strings")
    return [str(v) for v in value]


def parse_agent(d: Any, where: str) -> AgentSpecData:
    if not isinstance(d, dict):
        raise BadInput(where, "an agent must be a mapping with at least 'name'")
    unknown = set(d) - {"name", "purpose", "delegation", "action_classes", "scopes", "credential", "lifetime",
                        "owner", "consumers"}
    if unknown:
        raise BadInput(where, f"unknown agent field(s): {', '.join(sorted(unknown))}")
    name = d.get("name")
    if not isinstance(name, str) or not _AGENT_NAME.match(name):
        raise BadInput(where, "agent 'name' must be 1-64 letters, digits, '.', '_' or '-'")
    spec = AgentSpecData(
        name=name,
        purpose=str(d.get("purpose") or ""),
        delegation=str(d.get("delegation") or "autonomous"),
        action_classes=_str_list(d.get("action_classes"), where, "action_classes"),
        scopes=_str_list(d.get("scopes"), where, "scopes"),
        credential=str(d.get("credential") or "private_key_jwt"),
        lifetime=str(d.get("lifetime") or "15m"),
        owner=str(d["owner"]) if d.get("owner") else None,
        consumers=_str_list(d.get("consumers"), where, "consumers"),
    )
    if spec.delegation not in DELEGATION_MODES:
        raise BadInput(where, f"agent {name}: delegation must be one of {', '.join(DELEGATION_MODES)}")
    if spec.credential not in AGENT_CREDENTIALS:
        raise BadInput(where, f"agent {name}: credential must be one of {', '.join(AGENT_CREDENTIALS)}")
    if not _DURATION.match(spec.lifetime):
        raise BadInput(where, f"agent {name}: lifetime {spec.lifetime!r} is not a duration like 15m, 1h or 30d")
    for ac in spec.action_classes:
        if not _ACTION_CLASS.match(ac):
            raise BadInput(where, f"agent {name}: action class {ac!r} is not a lower-case word")
    return spec


def parse_rotation(d: Any, where: str) -> dict[str, str] | None:
    if d is None:
        return None
    if not isinstance(d, dict) or set(d) - {"every", "via"}:
        raise BadInput(where, "rotation must be a mapping {every: 30d, via: vault}")
    every = str(d.get("every") or "30d")
    via = str(d.get("via") or "vault")
    if not _DURATION.match(every):
        raise BadInput(where, f"rotation 'every' {every!r} is not a duration like 30d")
    if via not in ROTATION_VIA:
        raise BadInput(where, f"rotation 'via' must be one of {', '.join(ROTATION_VIA)}")
    return {"every": every, "via": via}


def parse_decision(d: dict[str, Any], where: str) -> DecisionData:
    decision = d.get("decision")
    if decision not in DECISIONS:
        raise BadInput(where, f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    agents_raw = d.get("agents") or []
    if not isinstance(agents_raw, list):
        raise BadInput(where, "'agents' must be a list")
    if agents_raw and decision != "split":
        raise BadInput(where, "'agents' only go with decision: split")
    agents = [parse_agent(a, f"{where}, agent {i + 1}") for i, a in enumerate(agents_raw)]
    names = [a.name.lower() for a in agents]
    if len(set(names)) != len(names):
        raise BadInput(where, "two agents of one split have the same name")
    rotation = parse_rotation(d.get("rotation"), where)
    if rotation and decision != "keep":
        raise BadInput(where, "'rotation' only goes with decision: keep")
    reason = d.get("reason") or ""
    if not isinstance(reason, str):
        raise BadInput(where, "'reason' must be text")
    return DecisionData(decision=decision, reason=reason, agents=agents, rotation=rotation)


def resolve_identity(session: Session, ref: str) -> Identity:
    """An identity by key, or by name where the name is unique (CONTRACT: ambiguous -> exit 2)."""
    ident = session.scalars(select(Identity).where(Identity.key == ref)).first()
    if ident is not None:
        return ident
    matches = session.scalars(
        select(Identity).where(or_(func.lower(Identity.name) == ref.lower(), func.lower(Identity.key) == ref.lower()))
        .order_by(Identity.key)
    ).all()
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound(f"no identity with key or name '{ref}'")
    raise Ambiguous(ref, [m.key for m in matches])


def decision_state(ident: Identity) -> dict[str, Any] | None:
    """The decision of an identity as plain data (None when never decided)."""
    d = ident.decision
    if d is None:
        return None
    return DecisionData(
        decision=d.decision, reason=d.reason, rotation=d.rotation,
        agents=[AgentSpecData(name=a.name, purpose=a.purpose, delegation=a.delegation,
                              action_classes=list(a.action_classes), scopes=list(a.scopes),
                              credential=a.credential, lifetime=a.lifetime, owner=a.owner,
                              consumers=list(a.consumers)) for a in d.agents],
    ).as_dict()


def apply_decision(session: Session, ident: Identity, data: DecisionData | None, *, author: str,
                   origin: str = "user", action: str = "decide", now: datetime | None = None) -> bool:
    """Set (or with data=None, clear) the decision; audit it. Returns False when nothing changed."""
    before = decision_state(ident)
    after = data.as_dict() if data is not None else None
    if before == after:
        return False
    now = now or datetime.now(UTC)
    if data is None:
        session.delete(ident.decision)
        ident.decision = None
    else:
        dec = ident.decision
        if dec is None:
            dec = Decision(identity=ident, decision=data.decision, author=author, decided_at=now)
            session.add(dec)
        dec.decision = data.decision
        dec.reason = data.reason
        dec.author = author
        dec.decided_at = now
        dec.rotation = data.rotation
        dec.origin = origin
        dec.agents.clear()
        for i, a in enumerate(data.agents):
            dec.agents.append(AgentSpec(position=i, **a.as_dict()))
    ident.needs_review = None
    session.add(AuditEvent(at=now, actor=author, action=action, subject=ident.key, before=before, after=after,
                           reason=(data.reason if data else "cleared")))
    return True


def load_decisions_file(path: Path) -> list[tuple[str, DecisionData, str]]:
    """Parse and validate a decisions file: [(identity ref, decision, where)]."""
    text, doc = read_yaml(path, encoding="utf-8-sig")
    if not isinstance(doc, dict) or not isinstance(doc.get("decisions"), list):
        raise BadInput(str(path), "a decisions file is a mapping with a list under 'decisions'")
    out = []
    lines = _item_lines(text)
    for i, item in enumerate(doc["decisions"]):
        where = f"{path}:{lines[i]}" if i < len(lines) else f"{path}: decision {i + 1}"
        where = f"{where} (decision {i + 1})"
        if not isinstance(item, dict):
            raise BadInput(where, "each decision is a mapping with 'identity' and 'decision'")
        unknown = set(item) - {"identity", "decision", "reason", "agents", "rotation"}
        if unknown:
            raise BadInput(where, f"unknown field(s): {', '.join(sorted(unknown))}")
        ref = item.get("identity")
        if not isinstance(ref, str) or not ref:
            raise BadInput(where, "'identity' (a key or unique name) is required")
        out.append((ref, parse_decision(item, where), where))
    return out


def _item_lines(text: str) -> list[int]:
    """Line numbers of the items of the top-level 'decisions' list, for error messages."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    for k, v in node.value:
        if getattr(k, "value", None) == "decisions" and isinstance(v, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in v.value]
    return []
