"""Decisions: record, restore and audit them; manual dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from .. import decisions as dec
from ..errors import BadInput
from ..model import AuditEvent, Decision, Edge, Identity
from ..store import Store
from .common import KEYS_PER_QUERY, iso_z


@dataclass
class DecisionChange:
    """One applied decision: enough to show it and to undo it (restore `before`)."""

    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed: bool


def decide(store: Store, identity: str, decision: str, reason: str = "", *,
           agents: list[dict[str, Any]] | None = None, rotation: dict[str, str] | None = None,
           author: str | None = None, origin: str = "user") -> DecisionChange:
    data = dec.parse_decision({"decision": decision, "reason": reason, "agents": agents or [],
                               "rotation": rotation}, f"decision for {identity}")
    return decide_many(store, [(identity, data)], author=author, origin=origin)[0]


def decide_many(store: Store, items: list[tuple[str, dec.DecisionData | None]], *, author: str | None = None,
                origin: str = "user", action: str = "decide") -> list[DecisionChange]:
    """Apply several decisions in one transaction (all or none). None clears a decision."""
    author = author or dec.current_user()
    out = []
    with store.session() as s, s.begin():
        now = datetime.now(UTC)
        for ref, data in items:
            ident = dec.resolve_identity(s, ref)
            before = dec.decision_state(ident)
            changed = dec.apply_decision(s, ident, data, author=author, origin=origin, action=action, now=now)
            s.flush()
            out.append(DecisionChange(ident.key, before, dec.decision_state(ident), changed))
    return out


def restore_decision(store: Store, key: str, state: dict[str, Any] | None, author: str | None = None
                     ) -> DecisionChange:
    """Put a decision back as it was (used by undo); audited like any change."""
    data = dec.DecisionData.from_dict(state) if state else None
    return decide_many(store, [(key, data)], author=author, action="restore")[0]


def decide_file(store: Store, path: str | Path, author: str | None = None) -> list[DecisionChange]:
    items = dec.load_decisions_file(Path(path))
    with store.session() as s:  # resolve every reference before writing anything
        for ref, _data, where in items:
            try:
                dec.resolve_identity(s, ref)
            except Exception as exc:
                raise BadInput(where, str(exc)) from None
    return decide_many(store, [(ref, data) for ref, data, _ in items], author=author, origin="file")


def audit_log(store: Store, subject: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    with store.session() as s:
        q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if subject:
            q = q.where(AuditEvent.subject == subject)
        return [{"at": iso_z(e.at), "actor": e.actor, "action": e.action, "subject": e.subject,
                 "before": e.before, "after": e.after, "reason": e.reason} for e in s.scalars(q)]


def add_manual_dependency(store: Store, dependent: str, prerequisite: str, reason: str,
                          author: str | None = None) -> None:
    """The architect says `dependent` must move after `prerequisite`: an edge like any other."""
    author = author or dec.current_user()
    with store.session() as s, s.begin():
        a = dec.resolve_identity(s, dependent)
        b = dec.resolve_identity(s, prerequisite)
        if a.key == b.key:
            raise BadInput(dependent, "an identity cannot depend on itself")
        s.execute(delete(Edge).where(Edge.src == a.key, Edge.dst == b.key, Edge.kind == "ManualDependency"))
        s.add(Edge(src=a.key, dst=b.key, kind="ManualDependency", attributes=None, origin=None, author=author,
                   reason=reason))
        s.add(AuditEvent(at=datetime.now(UTC), actor=author, action="add-dependency", subject=a.key, before=None,
                         after={"depends_on": b.key}, reason=reason))


def decide_keys(store: Store, keys: list[str], decision: str, reason: str = "", author: str | None = None
                ) -> list[DecisionChange]:
    """One decision (no agents, no rotation) for many identities by key, in one transaction."""
    data = dec.parse_decision({"decision": decision, "reason": reason}, "bulk decision")
    return _apply_by_key(store, [(key, data) for key in keys], author=author, action="decide")


def restore_decisions(store: Store, states: list[tuple[str, dict[str, Any] | None]], author: str | None = None
                      ) -> list[DecisionChange]:
    """Put several decisions back as they were, in one transaction (a bulk undo); audited."""
    items = [(key, dec.DecisionData.from_dict(state) if state else None) for key, state in states]
    return _apply_by_key(store, items, author=author, action="restore")


def _apply_by_key(store: Store, items: list[tuple[str, dec.DecisionData | None]], *, author: str | None,
                  action: str, origin: str = "user") -> list[DecisionChange]:
    """decide_many for exact keys, loading the identities and their decisions in a few queries
    (not one resolve and one flush per item), so a bulk edit of thousands stays well under a second."""
    from ..errors import NotFound

    author = author or dec.current_user()
    keys = list(dict.fromkeys(key for key, _data in items))
    out = []
    with store.session() as s, s.begin():
        idents: dict[str, Identity] = {}
        for i in range(0, len(keys), KEYS_PER_QUERY):
            q = (select(Identity).where(Identity.key.in_(keys[i:i + KEYS_PER_QUERY]))
                 .options(selectinload(Identity.decision).selectinload(Decision.agents)))
            idents.update((ident.key, ident) for ident in s.scalars(q))
        now = datetime.now(UTC)
        for key, data in items:
            ident = idents.get(key)
            if ident is None:
                raise NotFound(f"no identity with key '{key}'")
            before = dec.decision_state(ident)
            changed = dec.apply_decision(s, ident, data, author=author, origin=origin, action=action, now=now)
            out.append(DecisionChange(ident.key, before, dec.decision_state(ident), changed))
    return out


def decision_vocabulary() -> dict[str, tuple[str, ...]]:
    """The words a decision may use, for editors: decisions, delegation modes, agent credentials, rotation."""
    return {"decisions": dec.DECISIONS, "delegation": dec.DELEGATION_MODES, "credentials": dec.AGENT_CREDENTIALS,
            "rotation_via": dec.ROTATION_VIA}
