"""Recommendations that explain themselves: split / keep / retire, a score, reasons, OWASP tags.

Every rule in RULES looks at one identity (a `Subject`) and, when it fires, says
why in a plain sentence with the real numbers. What its firing counts for -- the
recommendation it votes for, the weight, the OWASP Non-Human Identities Top 10
(2025) tags -- comes from the policy (resources/policy.yaml, or the project's
override), so an architect can retune the rules without touching code. The
recommendation with the largest sum of weights wins; its score is
``winning sum / (sum of all votes + scoring.prior)``.

"Now" is the policy's `now`, else the start of the latest import run (see
policy.resolve_now), so ages are those of the data, not of the day one looks.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any

from sqlalchemy.orm import Session

from ..gc_pause import paused_gc
from ..store import Store
from .estate import (
    MANAGED_KINDS,
    Consumer,
    DelegationTarget,
    Estate,
    EstateView,
    Permission,
    Workload,
    first_label,
    group_workloads,
    matches_any,
)
from .policy import NHI_TAGS, Policy, load_policy, resolve_now

# -- wording ------------------------------------------------------------------------------------


def count(n: int, one: str, many: str | None = None) -> str:
    """'1 host', '2,400 days'."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def listing(names: list[str], shown: int = 3) -> str:
    """'a', 'a and b', 'a, b, c and 2 more'."""
    names = list(names)
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    if len(names) <= shown:
        return ", ".join(names[:-1]) + " and " + names[-1]
    return ", ".join(names[:shown]) + f" and {len(names) - shown:,} more"


def day(moment: datetime) -> str:
    return moment.date().isoformat()


KIND_WORDS = {"gmsa": "a group managed service account", "smsa": "a standalone managed service account",
              "dmsa": "a delegated managed service account", "managed_identity": "a managed identity"}


# -- one identity under the rules -----------------------------------------------------------------

class Subject:
    """One identity and the facts the rules ask about, each computed once on first use."""

    def __init__(self, estate: EstateView, key: str, now: datetime):
        self.estate = estate
        self.key = key
        self.now = now
        self.policy = estate.policy
        row = estate.identity(key)
        assert row is not None, key
        self.row = row

    def days_since(self, moment: datetime | None) -> int | None:
        return None if moment is None else (self.now - moment).days

    @cached_property
    def stale(self) -> str | None:
        """Why the identity is stale, in words, or None."""
        limit = self.policy.threshold("stale_days")
        used = self.days_since(self.row.last_used)
        if used is not None:
            return f"not used for {count(used, 'day')} (last used {day(self.row.last_used)})" if used >= limit else None
        created = self.days_since(self.row.created)
        # Null last use means "never" only where the source reports use at all (a Graph export
        # without the sign-in report leaves every identity without it).
        if created is not None and created >= limit and self.estate.reports_usage(self.row.authority):
            return f"never used, created {count(created, 'day')} ago"
        return None

    @cached_property
    def consumers(self) -> list[Consumer]:
        return self.estate.consumers(self.key)

    @cached_property
    def workloads(self) -> list[Workload]:
        return group_workloads(self.row.kind, self.consumers, _role_strip(self.policy.split_planner["host_role_strip"]))

    @cached_property
    def groups(self) -> dict[str, str | None]:
        return self.estate.group_paths(self.key)

    @cached_property
    def owners(self) -> list[str]:
        return self.estate.owners(self.key)

    @cached_property
    def permissions(self) -> list[Permission]:
        return self.estate.permissions(self.key)

    @cached_property
    def delegation(self) -> list[DelegationTarget]:
        return self.estate.delegation_targets(self.key)

    def name(self, key: str) -> str:
        return self.estate.name_of(key)


@lru_cache(maxsize=8)
def _role_strip(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def describe_consumers(consumers: list[Consumer]) -> str:
    """'4 hosts in 2 domains and 1 workload'."""
    hosts = [c for c in consumers if c.kind == "host"]
    workloads = [c for c in consumers if c.kind != "host"]
    parts = []
    if hosts:
        domains = {c.domain for c in hosts if c.domain}
        parts.append(count(len(hosts), "host") + (f" in {count(len(domains), 'domain')}" if len(domains) > 1 else ""))
    if workloads:
        parts.append(count(len(workloads), "workload"))
    return " and ".join(parts)


# -- the rules ---------------------------------------------------------------------------------------
# Each takes a Subject and returns a reason sentence when it fires, else None.

Rule = Callable[[Subject], "str | None"]


def r_disabled(s: Subject) -> str | None:
    return "the account is disabled" if s.row.enabled is False else None


def r_stale(s: Subject) -> str | None:
    return s.stale


def r_unused_no_consumers(s: Subject) -> str | None:
    if s.stale and not s.consumers:
        return "no host or workload is recorded as using it"
    return None


def r_vanished(s: Subject) -> str | None:
    return "it was gone from its source at the last import" if s.row.vanished else None


def r_owner_gone(s: Subject) -> str | None:
    gone = []
    for owner in s.owners:
        o = s.estate.identity(owner)
        if o is not None and o.kind == "person" and (o.enabled is False or o.vanished):
            gone.append(f"{o.name} is {'disabled' if o.enabled is False else 'gone from the directory'}")
    return f"its owner {listing(gone)}" if gone else None


def r_owner_missing(s: Subject) -> str | None:
    return None if s.owners else "no owner is recorded (managedBy or application owner)"


def r_shared_by_many(s: Subject) -> str | None:
    n = len(s.workloads)
    if n < s.policy.threshold("split_min_workloads"):
        return None
    text = f"used by {describe_consumers(s.consumers)}"
    if n != len(s.consumers) or any(c.kind == "host" for c in s.consumers):
        text += f" ({count(n, 'workload')}: {listing([w.label for w in s.workloads])})"
    return text


_LIST_SPLIT = re.compile(r"\s*(?:[,;/]|\band\b)\s*", re.IGNORECASE)


def description_ai_workloads(description: str | None, terms: list[str]) -> list[str]:
    """The items of a description's list that name AI workloads: 'Shared AI integration account:
    helpdesk assistant, sales copilot' -> ['helpdesk assistant', 'sales copilot']."""
    if not description or not terms:
        return []
    body = description.rsplit(":", 1)[-1]
    word = re.compile(r"\b(?:" + "|".join(re.escape(t) for t in terms) + r")\b", re.IGNORECASE)
    return [item for item in (i.strip(" .") for i in _LIST_SPLIT.split(body)) if item and word.search(item)]


def r_ai_workloads(s: Subject) -> str | None:
    ai = [c.name for c in s.consumers if s.estate.is_ai_workload(c.key)]
    named = description_ai_workloads(s.row.description, s.policy.data["ai_description_terms"])
    limit = s.policy.threshold("split_min_ai_workloads")
    if len(named) > len(ai) and len(named) >= limit:
        return f"shared by {count(len(named), 'AI workload')} its description names ({listing(named)})"
    if len(ai) >= limit:
        return f"shared by {count(len(ai), 'AI workload')} ({listing(ai)})"
    return None


def r_shared_credential(s: Subject) -> str | None:
    others = {dst for dst, kind, _ in s.estate.out_edges(s.key) if kind == "SharesCredential"}
    others |= {src for src, kind, _ in s.estate.in_edges(s.key) if kind == "SharesCredential"}
    others |= set(s.estate.certificate_sharers(s.key))
    if not others:
        return None
    return f"shares its credential with {listing(sorted(s.name(o) for o in others))}"


def _environment(name: str, envs: dict[str, list[str]]) -> str | None:
    label = first_label(name)
    # Non-production first: 'preprod' is not production.
    if matches_any(label, envs["non_production"]):
        return "non_production"
    if matches_any(label, envs["production"]):
        return "production"
    return None


def r_environment_mix(s: Subject) -> str | None:
    envs = s.policy.data["environments"]
    memo = s.estate.__dict__.setdefault("_env_memo", {})
    by_env: dict[str, list[str]] = defaultdict(list)
    for c in s.consumers:
        if c.key not in memo:
            memo[c.key] = _environment(c.name, envs)
        env = memo[c.key]
        if env:
            by_env[env].append(c.name)
    if by_env.get("production") and by_env.get("non_production"):
        return (f"used from production ({listing(by_env['production'], 2)}) and from non-production "
                f"({listing(by_env['non_production'], 2)})")
    return None


def r_unconstrained_delegation(s: Subject) -> str | None:
    if "TRUSTED_FOR_DELEGATION" in s.row.flags:
        return "can impersonate any user to any service (unconstrained delegation)"
    return None


def _targets(targets: list[DelegationTarget]) -> str:
    return listing([t.spn or t.target_name for t in targets])


def r_protocol_transition(s: Subject) -> str | None:
    if "TRUSTED_TO_AUTH_FOR_DELEGATION" not in s.row.flags:
        return None
    targets = [t for t in s.delegation if t.kind == "AllowedToDelegate"]
    if targets:
        return f"can impersonate any user to {_targets(targets)} (protocol transition)"
    return "may impersonate users without their Kerberos ticket (protocol transition; no targets recorded)"


def r_constrained_delegation(s: Subject) -> str | None:
    if "TRUSTED_TO_AUTH_FOR_DELEGATION" in s.row.flags:
        targets = [t for t in s.delegation if t.kind == "AllowedToAct"]
    else:
        targets = s.delegation
    if not targets:
        return None
    kinds = {t.kind for t in targets}
    how = ("resource-based constrained delegation" if kinds == {"AllowedToAct"} else "constrained delegation")
    return f"acts on behalf of users to {_targets(targets)} ({how})"


def r_privileged_group(s: Subject) -> str | None:
    hits = [(g, via) for g, via in s.groups.items() if s.estate.is_privileged_group(g)]
    found = [s.name(g) + (f" (through {s.name(via)})" if via else "")
             for g, via in sorted(hits, key=lambda h: s.name(h[0]).lower())]
    return f"member of {listing(found)}" if found else None


CONTROL_WORDS = {"GenericAll": "has full control of", "GenericWrite": "may write attributes of",
                 "WriteDacl": "may change the permissions of", "WriteOwner": "may take ownership of",
                 "Owns": "owns"}


def r_control_rights(s: Subject) -> str | None:
    by_kind: dict[str, set[str]] = defaultdict(set)
    through: set[str] = set()
    for holder in [s.key, *s.groups]:
        for dst, kind in s.estate.control_edges(holder):
            if dst != s.key:
                by_kind[kind].add(s.name(dst))
                if holder != s.key:
                    through.add(s.name(holder))
    if not by_kind:
        return None
    parts = [f"{CONTROL_WORDS[k]} {listing(sorted(v))}" for k, v in sorted(by_kind.items())]
    return "; ".join(parts) + (f" (through {listing(sorted(through))})" if through else "")


def _permission_text(p: Permission) -> str:
    return f"{p.value} on {p.resource_name}" + (" (delegated)" if p.delegated else "")


def r_privileged_permissions(s: Subject) -> str | None:
    patterns = s.policy.data["privileged_permissions"]
    memo = s.estate.__dict__.setdefault("_privileged_permission_memo", {})
    hits = []
    for p in s.permissions:
        if p.value not in memo:
            memo[p.value] = matches_any(p.value, patterns) is not None
        if memo[p.value]:
            hits.append(_permission_text(p))
    return f"holds {listing(hits)}" if hits else None


def r_many_permissions(s: Subject) -> str | None:
    n = len(s.permissions)
    if n and n >= s.policy.threshold("many_permissions"):
        resources = {p.resource for p in s.permissions}
        return f"holds {count(n, 'permission')} on {count(len(resources), 'resource')}"
    return None


def r_interactive_use(s: Subject) -> str | None:
    found = s.estate.payload(s.key)
    attrs = [a for a in s.policy.data["interactive_use"]["attributes"] if a.lower() in found]
    return f"it carries attributes of interactive logons ({', '.join(attrs)})" if attrs else None


def r_person_name(s: Subject) -> str | None:
    pattern = _person_pattern(s.policy.data["interactive_use"]["person_name_pattern"])
    names = sorted({n for n in [s.row.upn, *s.row.emails] if n and pattern.search(n.split("@", 1)[0])},
                   key=str.lower)
    return f"its sign-in name looks like a person's ({names[0]})" if names else None


@lru_cache(maxsize=8)
def _person_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _one_workload(w: Workload) -> str:
    names = [c.name for c in w.consumers]
    if len(names) == 1:
        return f"one {w.consumers[0].kind} only ({names[0]})"
    return f"one workload only ({listing(names)})"


def r_managed_one_workload(s: Subject) -> str | None:
    if s.row.kind not in MANAGED_KINDS or len(s.workloads) > 1:
        return None
    used = f"used by {_one_workload(s.workloads[0])}" if s.workloads else "with no recorded consumer"
    return f"{KIND_WORDS[s.row.kind]} (its secret is rotated by the platform), {used}"


def r_single_workload(s: Subject) -> str | None:
    if len(s.workloads) == 1 and not s.stale:
        return f"used by {_one_workload(s.workloads[0])}"
    return None


def r_in_use(s: Subject) -> str | None:
    used = s.days_since(s.row.last_used)
    if used is not None and used < s.policy.threshold("stale_days"):
        return f"in use: last used {count(max(used, 0), 'day')} ago ({day(s.row.last_used)})"
    return None


def r_already_agent(s: Subject) -> str | None:
    return "already an agent identity" if s.row.kind == "agent" else None


def _flag_rule(flag: str, text: str) -> Rule:
    def rule(s: Subject) -> str | None:
        return text if flag in s.row.flags else None

    rule.__name__ = f"r_flag_{flag.lower()}"
    return rule


def r_password_age(s: Subject) -> str | None:
    last_set = s.row.password_last_set
    if last_set is None:
        dates = [c.created for c in s.estate.credentials(s.key) if c.kind == "password" and c.created]
        last_set = max(dates) if dates else None
    age = s.days_since(last_set)
    if age is not None and age > s.policy.threshold("max_password_age_days"):
        return f"password unchanged for {count(age, 'day')} (since {day(last_set)})"
    return None


def r_password_never_expires(s: Subject) -> str | None:
    return "its password is set never to expire" if "DONT_EXPIRE_PASSWD" in s.row.flags else None


CREDENTIAL_WORDS = {"client_secret": "client secret", "certificate": "certificate", "key": "key",
                    "password": "password", "federated": "federated credential"}


def r_long_lived_secret(s: Subject) -> str | None:
    limit = s.policy.threshold("max_secret_lifetime_days")
    hits = []
    for c in sorted(s.estate.credentials(s.key), key=lambda c: (c.kind, c.credential_id)):
        if c.kind not in ("client_secret", "certificate", "key"):
            continue
        if c.expires is not None and c.expires <= s.now:
            continue  # expired: no longer a live secret
        what = f"{CREDENTIAL_WORDS[c.kind]} {c.credential_id}"
        if c.expires is None and c.kind == "client_secret":
            hits.append(f"{what} never expires")
        elif c.expires is not None and c.created is not None and (c.expires - c.created).days > limit:
            hits.append(f"{what} is valid for {count((c.expires - c.created).days, 'day')}")
    return listing(hits) if hits else None


def r_secret_in_data(s: Subject) -> str | None:
    msgs = sorted({f.message for f in s.estate.findings(s.key) if f.tag == "NHI2"})
    return f"a secret of it was seen in the imported data: {listing(msgs, 2)}" if msgs else None


def r_third_party(s: Subject) -> str | None:
    # The Entra importer flags an application another tenant owns (ExternalApp); the owning
    # tenant itself is in the source payload (appOwnerOrganizationId).
    owner_tenant = str(s.estate.payload(s.key).get("appownerorganizationid") or "").lower()
    external = "ExternalApp" in s.row.flags or (owner_tenant and owner_tenant != s.row.authority.lower())
    if not external or not s.permissions:
        return None
    if owner_tenant in {t.lower() for t in s.policy.data["trusted_tenants"]}:
        return None
    whose = f"tenant {owner_tenant}" if owner_tenant else "another tenant"
    return f"an application of {whose} that holds {count(len(s.permissions), 'permission')} here"


def _federated_subjects(s: Subject) -> list[str]:
    subjects = [str(c.attributes.get("subject")) for c in s.estate.credentials(s.key)
                if c.kind == "federated" and c.attributes.get("subject")]
    subjects += [str(a.get("subject")) for _, kind, a in s.estate.in_edges(s.key)
                 if kind == "FederatedCredential" and a and a.get("subject")]
    return sorted(set(subjects))


def r_broad_federation(s: Subject) -> str | None:
    patterns = s.policy.data["broad_federated_subjects"]
    broad = [subj for subj in _federated_subjects(s) if matches_any(subj, patterns)]
    return f"a federated credential trusts a broad subject ({listing(broad, 2)})" if broad else None


def r_dependency_cycle(s: Subject) -> str | None:
    cycle = s.estate.cycle_of(s.key)
    if not cycle:
        return None
    names = [s.name(k) for k in [*cycle, cycle[0]]]
    return f"depends on itself in a cycle ({' → '.join(names)}); such accounts move in one wave"


RULES: dict[str, Rule] = {
    "disabled": r_disabled,
    "stale": r_stale,
    "unused_no_consumers": r_unused_no_consumers,
    "vanished": r_vanished,
    "owner_gone": r_owner_gone,
    "owner_missing": r_owner_missing,
    "shared_by_many": r_shared_by_many,
    "ai_workloads": r_ai_workloads,
    "shared_credential": r_shared_credential,
    "environment_mix": r_environment_mix,
    "unconstrained_delegation": r_unconstrained_delegation,
    "protocol_transition": r_protocol_transition,
    "constrained_delegation": r_constrained_delegation,
    "privileged_group": r_privileged_group,
    "control_rights": r_control_rights,
    "privileged_permissions": r_privileged_permissions,
    "many_permissions": r_many_permissions,
    "interactive_use": r_interactive_use,
    "person_name": r_person_name,
    "managed_one_workload": r_managed_one_workload,
    "single_workload": r_single_workload,
    "in_use": r_in_use,
    "already_agent": r_already_agent,
    "rc4_only": _flag_rule("RC4_ONLY", "Kerberos tickets for it can only be RC4-encrypted (crackable offline)"),
    "des_only": _flag_rule("USE_DES_KEY_ONLY", "it uses DES-only Kerberos keys"),
    "password_not_required": _flag_rule("PASSWD_NOTREQD", "it may have an empty password (password not required)"),
    "no_preauth": _flag_rule("DONT_REQ_PREAUTH",
                             "it does not require Kerberos pre-authentication (its hash can be requested by anyone)"),
    "password_age": r_password_age,
    "password_never_expires": r_password_never_expires,
    "long_lived_secret": r_long_lived_secret,
    "secret_in_data": r_secret_in_data,
    "third_party": r_third_party,
    "broad_federation": r_broad_federation,
    "dependency_cycle": r_dependency_cycle,
}


# -- the engine -------------------------------------------------------------------------------------

@dataclass
class Vote:
    rule: str
    recommendation: str | None
    weight: float
    reason: str
    tags: tuple[str, ...]


@dataclass
class Recommendation:
    key: str
    name: str
    recommendation: str | None
    score: float
    reasons: list[str]
    tags: list[str]
    votes: list[Vote] = field(default_factory=list)

    @property
    def rules(self) -> list[str]:
        return [v.rule for v in self.votes]

    def as_dict(self) -> dict[str, Any]:
        """CONTRACT.md's `recommend --json` object (plus `rules`: the ids of the rules that fired)."""
        return {"key": self.key, "name": self.name, "recommendation": self.recommendation, "score": self.score,
                "reasons": list(self.reasons), "tags": list(self.tags), "rules": self.rules}


def _tag_order(tag: str) -> int:
    return NHI_TAGS.index(tag) if tag in NHI_TAGS else len(NHI_TAGS)


def evaluate(subject: Subject) -> Recommendation:
    """Run every enabled rule on one identity and weigh the votes."""
    policy = subject.policy
    votes: list[Vote] = []
    for rid, settings in policy.rules.items():
        if not settings.enabled:
            continue
        reason = RULES[rid](subject)
        if reason:
            votes.append(Vote(rid, settings.vote, settings.weight, reason, settings.tags))
    sums: dict[str, float] = defaultdict(float)
    for v in votes:
        if v.recommendation and v.weight > 0:
            sums[v.recommendation] += v.weight
    tie = policy.scoring["tie_break"]
    if sums:
        winner = max(sums, key=lambda r: (sums[r], -tie.index(r)))
        score = round(sums[winner] / (sum(sums.values()) + float(policy.scoring["prior"])), 2)
    else:
        winner, score = policy.scoring["no_vote"], 0.0

    def order(v: Vote) -> tuple:
        group = 0 if v.recommendation == winner and v.weight > 0 else (1 if v.recommendation and v.weight > 0 else 2)
        return (group, -v.weight, list(RULES).index(v.rule))

    votes.sort(key=order)
    reasons = []
    for v in votes:
        if v.recommendation and v.weight > 0 and v.recommendation != winner:
            reasons.append(f"{v.reason} (speaks for {v.recommendation})")
        else:
            reasons.append(v.reason)
    tags = sorted({t for v in votes for t in v.tags}, key=_tag_order)
    return Recommendation(subject.key, subject.row.name, winner, score, reasons, tags, votes)


def recommend_estate(estate: EstateView, keys: list[str], now: datetime) -> list[Recommendation]:
    return [evaluate(Subject(estate, k, now)) for k in keys]


def recommend_all(session: Session, policy: Policy | None = None, now: datetime | None = None
                  ) -> list[dict[str, Any]]:
    """Recommendations for every non-person identity, ordered by key, as CONTRACT.md's objects."""
    return [r.as_dict() for r in recommendations(session, policy, now)]


def recommendations(session: Session, policy: Policy | None = None, now: datetime | None = None,
                    estate: Estate | None = None) -> list[Recommendation]:
    policy = policy or load_policy(session)
    moment = resolve_now(session, policy, now)
    with paused_gc():
        estate = estate or Estate(session, policy)
        return recommend_estate(estate, estate.identity_keys(), moment)


# -- command line ----------------------------------------------------------------------------------

def cli(store: Store, args: argparse.Namespace) -> int:
    """`nhiplan recommend PROJECT [--json] [--apply]`."""
    from . import bulk  # bulk builds on this module

    if getattr(args, "apply", False):
        result = bulk.apply_recommendations(store)
        line = (f"recorded {count(len(result.applied), 'decision')} from recommendations; "
                f"{count(result.already_decided, 'identity', 'identities')} already decided, "
                f"{count(result.without_recommendation, 'identity', 'identities')} without a recommendation")
        print(line, file=sys.stderr if args.json else sys.stdout)
        if not args.json:
            return 0
    with store.session() as s:
        recs = recommendations(s)
    if args.json:
        print(json.dumps([r.as_dict() for r in recs], indent=2, ensure_ascii=False))
        return 0
    if not recs:
        print("no identities")
        return 0
    width = min(max(len(r.key) for r in recs), 60)
    print(f"{'KEY':<{width}}  {'RECOMMENDATION':<14} {'SCORE':>5}  TAGS")
    for r in recs:
        print(f"{r.key:<{width}}  {r.recommendation or '-':<14} {r.score:>5.2f}  {','.join(r.tags)}")
        for reason in r.reasons:
            print(f"{'':<{width}}    - {reason}")
    return 0
