"""Bulk decisions: decide every identity a filter selects, as one undoable step.

`decide_by_filter` selects identities (e.g. all stale disabled accounts), and
records one decision for all of them through services.decide_many: one
transaction, every change audited with who, when, before, after and why. It
returns the DecisionChange list, which `undo` (or a front end's compound undo
command) puts back in one transaction. `apply_recommendations` is
`recommend --apply`: the recommendations become decisions where none exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import services
from ..decisions import DECISIONS, DecisionData, current_user
from ..errors import BadInput
from ..gc_pause import paused_gc
from ..model import Decision, Identity
from ..records import IDENTITY_KINDS
from ..store import Store
from .estate import Estate
from .policy import NHI_TAGS, VOTES, Policy, load_policy, resolve_now
from .recommend import Recommendation, Subject, evaluate, recommendations
from .split_planner import propose


@dataclass
class IdentityFilter:
    """Which identities a bulk decision applies to; every given criterion must hold."""

    keys: list[str] | None = None  # exactly these keys
    kinds: list[str] | None = None
    authority: str | None = None
    name: str | None = None  # shell-style pattern on the name, case-insensitive
    enabled: bool | None = None
    stale: bool | None = None  # as the policy's `stale` rule sees it
    vanished: bool | None = None
    needs_review: bool | None = None
    decisions: list[str] | None = None  # current decision (undecided included)
    recommendations: list[str] | None = None  # split | keep | retire | none
    tags: list[str] | None = None  # any of these OWASP NHI ids
    min_consumers: int | None = None
    max_consumers: int | None = None
    include_people: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "filter") -> IdentityFilter:
        if not isinstance(d, dict):
            raise BadInput(where, "a filter is a mapping of criteria")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise BadInput(where, f"unknown filter criteria: {', '.join(unknown)} (known: {', '.join(known)})")
        values: dict[str, Any] = {}
        for k, v in d.items():
            if v is None:
                continue
            if k in ("keys", "kinds", "decisions", "recommendations", "tags"):
                v = [v] if isinstance(v, str) else v
                if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                    raise BadInput(where, f"'{k}' must be a list of text")
            elif k in ("enabled", "stale", "vanished", "needs_review", "include_people"):
                if not isinstance(v, bool):
                    raise BadInput(where, f"'{k}' must be true or false")
            elif k in ("min_consumers", "max_consumers"):
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise BadInput(where, f"'{k}' must be a whole number >= 0")
            elif not isinstance(v, str):
                raise BadInput(where, f"'{k}' must be text")
            values[k] = v
        filt = cls(**values)
        filt.check(where)
        return filt

    def check(self, where: str = "filter") -> None:
        for name, allowed in (("kinds", IDENTITY_KINDS), ("decisions", DECISIONS),
                              ("recommendations", (*VOTES, "none")), ("tags", NHI_TAGS)):
            bad = [v for v in getattr(self, name) or () if v not in allowed]
            if bad:
                raise BadInput(where, f"'{name}': {', '.join(bad)} not one of {', '.join(allowed)}")

    def describe(self) -> str:
        """The filter in words, for the audit log: 'kinds=service_account, disabled, stale'."""
        parts = []
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None or (f.name == "include_people" and not v):
                continue
            if isinstance(v, bool) and f.name in ("enabled", "stale", "vanished", "needs_review"):
                words = {"enabled": ("enabled", "disabled"), "stale": ("stale", "not stale"),
                         "vanished": ("vanished", "present"), "needs_review": ("needs review", "reviewed")}[f.name]
                parts.append(words[0] if v else words[1])
            elif isinstance(v, list):
                parts.append(f"{f.name}={','.join(v)}")
            else:
                parts.append(f"{f.name}={v}")
        return ", ".join(parts) or "all identities"

    @property
    def wants_recommendation(self) -> bool:
        return self.recommendations is not None or self.tags is not None


def current_decisions(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Identity.key, Decision.decision).join(Decision,
                                                                            Decision.identity_id == Identity.id)).all())


def select_keys(session: Session, filt: IdentityFilter, *, policy: Policy | None = None,
                now: datetime | None = None, estate: Estate | None = None) -> list[str]:
    """Keys of the identities `filt` selects, in key order (bulk queries; no query per identity)."""
    filt.check()
    policy = policy or load_policy(session)
    moment = resolve_now(session, policy, now)
    estate = estate or Estate(session, policy)
    decided = current_decisions(session)
    wanted_keys = set(filt.keys) if filt.keys is not None else None
    out = []
    for key in estate.identity_keys(include_people=filt.include_people or "person" in (filt.kinds or ())):
        row = estate.identity(key)
        assert row is not None
        if wanted_keys is not None and key not in wanted_keys:
            continue
        if filt.kinds is not None and row.kind not in filt.kinds:
            continue
        if filt.authority is not None and row.authority.lower() != filt.authority.lower():
            continue
        if filt.name is not None and not fnmatchcase(row.name.lower(), filt.name.lower()):
            continue
        if filt.enabled is not None and (row.enabled is not False) != filt.enabled:
            continue
        if filt.vanished is not None and row.vanished != filt.vanished:
            continue
        if filt.needs_review is not None and bool(row.needs_review) != filt.needs_review:
            continue
        if filt.decisions is not None and decided.get(key, "undecided") not in filt.decisions:
            continue
        subject = Subject(estate, key, moment)
        if filt.stale is not None and bool(subject.stale) != filt.stale:
            continue
        if filt.min_consumers is not None and len(subject.consumers) < filt.min_consumers:
            continue
        if filt.max_consumers is not None and len(subject.consumers) > filt.max_consumers:
            continue
        if filt.wants_recommendation:
            rec = evaluate(subject)
            if filt.recommendations is not None and (rec.recommendation or "none") not in filt.recommendations:
                continue
            if filt.tags is not None:
                tags = set(rec.tags) | {f.tag for f in estate.findings(key)}
                if not tags & set(filt.tags):
                    continue
        out.append(key)
    return out


def decide_by_filter(store: Store, filt: IdentityFilter | dict[str, Any], decision: str, reason: str = "", *,
                     author: str | None = None, propose_agents: bool = True, policy: Policy | None = None,
                     now: datetime | None = None) -> list[services.DecisionChange]:
    """Record `decision` for every identity `filt` selects, in one transaction (all or none).

    A split gets the split planner's proposed agents (unless propose_agents=False). The audit
    log's reason is `reason`, or the filter in words when none is given.
    """
    if isinstance(filt, dict):
        filt = IdentityFilter.from_dict(filt)
    if decision not in DECISIONS:
        raise BadInput("bulk decision", f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    why = reason or f"bulk decision for {filt.describe()}"
    with store.session() as s, paused_gc():
        policy = policy or load_policy(s)
        estate = Estate(s, policy)
        keys = select_keys(s, filt, policy=policy, now=now, estate=estate)
        items = []
        for key in keys:
            agents = propose(estate, key).specs() if decision == "split" and propose_agents else []
            items.append((key, DecisionData(decision=decision, reason=why, agents=agents)))
    if not items:
        return []
    return services.decide_many(store, items, author=author, action="bulk-decide")


def undo(store: Store, changes: list[services.DecisionChange], author: str | None = None
         ) -> list[services.DecisionChange]:
    """Put back what `changes` (one bulk step) replaced, in one transaction; audited as 'undo'."""
    items = [(c.key, DecisionData.from_dict(c.before) if c.before else None) for c in reversed(changes) if c.changed]
    if not items:
        return []
    return services.decide_many(store, items, author=author, action="undo")


@dataclass
class ApplyResult:
    applied: list[services.DecisionChange] = field(default_factory=list)
    already_decided: int = 0
    without_recommendation: int = 0


def recommendation_reason(rec: Recommendation) -> str:
    return f"recommended with score {rec.score:.2f}: " + "; ".join(rec.reasons)


def apply_recommendations(store: Store, *, author: str | None = None, policy: Policy | None = None,
                          now: datetime | None = None) -> ApplyResult:
    """`recommend --apply`: record each recommendation as a decision (origin 'recommendation') where
    the identity has none (or an explicit 'undecided'), in one transaction. A split comes with the
    split planner's proposed agents."""
    result = ApplyResult()
    with store.session() as s, paused_gc():
        policy = policy or load_policy(s)
        estate = Estate(s, policy)
        decided = {k for k, d in current_decisions(s).items() if d != "undecided"}
        items = []
        for rec in recommendations(s, policy, now, estate=estate):
            if rec.key in decided:
                result.already_decided += 1
                continue
            if rec.recommendation is None:
                result.without_recommendation += 1
                continue
            agents = propose(estate, rec.key).specs() if rec.recommendation == "split" else []
            items.append((rec.key, DecisionData(decision=rec.recommendation, reason=recommendation_reason(rec),
                                                agents=agents)))
    if items:
        result.applied = services.decide_many(store, items, author=author or current_user(),
                                              origin="recommendation", action="apply-recommendation")
    return result
