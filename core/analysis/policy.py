"""The recommendation policy: thresholds, weights and lists the rules read, as data.

The shipped default is ``resources/policy.yaml`` (documented there field by
field). A project may keep an *override* -- a YAML document with only the keys
it changes -- in its ``project_info`` table under the key ``policy``; the
effective policy is the default with the override merged over it (mappings merge
key by key, lists and single values replace). The default doubles as the schema:
a key it does not have is refused, and a value must have the default's type, so
a typo in an edited policy is an error naming the line instead of a setting
that silently does nothing.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, cached_property
from importlib.resources import files
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..decisions import AGENT_CREDENTIALS, current_user
from ..errors import BadInput
from ..model import AuditEvent, ImportRun, ProjectInfo

POLICY_INFO_KEY = "policy"
VOTES = ("split", "keep", "retire")
NHI_TAGS = tuple(f"NHI{i}" for i in range(1, 11))
# Mappings whose keys the user may extend (everything else is closed).
OPEN_MAPPINGS = {("split_planner", "service_classes")}
_DURATION = re.compile(r"^\d+[smhdw]$")
_ACTION_CLASS = re.compile(r"^[a-z][a-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """How one rule counts: whether it runs, what it votes for, how much, which tags it adds."""

    id: str
    enabled: bool
    vote: str | None
    weight: float
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    """The effective (merged and validated) policy."""

    data: dict[str, Any]
    override: dict[str, Any] | None = None

    # -- convenience readers -----------------------------------------------------------------
    @property
    def now(self) -> datetime | None:
        return _as_datetime(self.data.get("now"))

    @cached_property
    def rules(self) -> dict[str, RuleSettings]:
        return {rid: RuleSettings(rid, bool(r["enabled"]), r["vote"], float(r["weight"]), tuple(r["tags"]))
                for rid, r in self.data["rules"].items()}

    def threshold(self, name: str) -> float:
        return self.data["thresholds"][name]

    @property
    def scoring(self) -> dict[str, Any]:
        return self.data["scoring"]

    @property
    def split_planner(self) -> dict[str, Any]:
        return self.data["split_planner"]

    def to_yaml(self) -> str:
        doc = copy.deepcopy(self.data)
        if isinstance(doc.get("now"), datetime):
            doc["now"] = doc["now"].isoformat()
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


# -- loading ---------------------------------------------------------------------------------

@cache
def default_policy_text() -> str:
    """The shipped default policy, with its comments (what `nhiplan policy --default` prints)."""
    return files("nhiplan.resources").joinpath("policy.yaml").read_text(encoding="utf-8")


@cache
def _default_data() -> dict[str, Any]:
    data = yaml.safe_load(default_policy_text())
    _validate_whole(data, "policy.yaml (shipped default)", default_policy_text())
    return data


def default_policy() -> Policy:
    return Policy(copy.deepcopy(_default_data()))


def parse_override(text: str, where: str = "policy") -> dict[str, Any]:
    """Parse and check a policy override; BadInput names the line and the key."""
    try:
        doc = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BadInput(f"{where}:{mark.line + 1}" if mark else where,
                       f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise BadInput(where, "a policy is a mapping of settings (see `nhiplan policy --default`)")
    _check_against(doc, _default_data(), (), where, text)
    merged = merge(_default_data(), doc)
    _validate_whole(merged, where, text)
    return doc


def build_policy(override: dict[str, Any] | None = None) -> Policy:
    """The default with `override` (already checked by parse_override) merged over it."""
    if not override:
        return default_policy()
    return Policy(merge(_default_data(), override), override)


def policy_from_text(text: str, where: str = "policy") -> Policy:
    return build_policy(parse_override(text, where))


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; lists and single values replace."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# -- the project's override ------------------------------------------------------------------

def project_override_text(session: Session) -> str | None:
    row = session.get(ProjectInfo, POLICY_INFO_KEY)
    return row.value if row is not None else None


def load_policy(session: Session) -> Policy:
    """The project's effective policy (the default when it keeps no override)."""
    text = project_override_text(session)
    if not text:
        return default_policy()
    return policy_from_text(text, "project policy")


def set_project_policy(session: Session, text: str | None, *, author: str | None = None,
                       reason: str = "", where: str = "policy") -> Policy:
    """Store (or with None / empty text, drop) the project's override; audited like a decision."""
    author = author or current_user()
    policy = policy_from_text(text or "", where)
    old = project_override_text(session)
    new = text if text and text.strip() else None
    row = session.get(ProjectInfo, POLICY_INFO_KEY)
    if new is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(ProjectInfo(key=POLICY_INFO_KEY, value=new))
    else:
        row.value = new
    if old != new:
        session.add(AuditEvent(at=datetime.now(UTC), actor=author, action="set-policy", subject="policy",
                               before={"policy": old}, after={"policy": new},
                               reason=reason or ("reset to the shipped default" if new is None else "policy edited")))
    return policy


def resolve_now(session: Session, policy: Policy, now: datetime | None = None) -> datetime:
    """`now` if given, else the policy's `now`, else the start of the latest import run, else the clock."""
    if now is not None:
        return now if now.tzinfo else now.replace(tzinfo=UTC)
    if policy.now is not None:
        return policy.now
    latest = session.scalar(select(func.max(ImportRun.started_at)))
    if latest is not None:
        return latest if latest.tzinfo else latest.replace(tzinfo=UTC)
    return datetime.now(UTC)


# -- checking --------------------------------------------------------------------------------

def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value).strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _line_of(text: str | None, path: tuple[Any, ...]) -> int | None:
    """The line of the key at `path` in a YAML text (for error messages)."""
    if not text:
        return None
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if getattr(k, "value", None) == step:
                    line = k.start_mark.line + 1
                    node = v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _fail(where: str, text: str | None, path: tuple[Any, ...], reason: str) -> BadInput:
    line = _line_of(text, path)
    dotted = ".".join(str(p) for p in path) or "(top)"
    return BadInput(f"{where}:{line}" if line else where, f"{dotted}: {reason}")


def _nullable(path: tuple[Any, ...]) -> bool:
    return path in (("now",), ("scoring", "no_vote")) or (len(path) == 3 and path[0] == "rules" and path[2] == "vote")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "a value"


def _check_against(value: Any, default: Any, path: tuple[Any, ...], where: str, text: str | None) -> None:
    """`value` has the shape of `default`: known keys only, same types (None = checked later)."""
    if default is None or (value is None and _nullable(path)):
        return
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise _fail(where, text, path, f"must be {_type_name(default)}")
        open_map = path in OPEN_MAPPINGS
        sample = next(iter(default.values()), None)
        for key, sub in value.items():
            if key in default:
                _check_against(sub, default[key], (*path, key), where, text)
            elif open_map:
                _check_against(sub, sample, (*path, key), where, text)
            else:
                known = ", ".join(str(k) for k in default)
                raise _fail(where, text, (*path, key), f"unknown setting (known here: {known})")
        return
    if isinstance(default, list):
        if not isinstance(value, list):
            raise _fail(where, text, path, "must be a list")
        if default:
            for i, item in enumerate(value):
                _check_against(item, default[0], (*path, i), where, text)
        return
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise _fail(where, text, path, "must be true or false")
        return
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(where, text, path, "must be a number")
        if value < 0:
            raise _fail(where, text, path, "must not be negative")
        return
    if isinstance(default, str) and not isinstance(value, str):
        raise _fail(where, text, path, "must be text")


def _validate_whole(data: dict[str, Any], where: str, text: str | None) -> None:
    """Checks the types alone cannot make: enums, tags, durations, regular expressions."""
    try:
        _as_datetime(data.get("now"))
    except (TypeError, ValueError):
        raise _fail(where, text, ("now",), "must be null or an ISO 8601 date or date-time") from None
    scoring = data["scoring"]
    if sorted(scoring["tie_break"]) != sorted(VOTES):
        raise _fail(where, text, ("scoring", "tie_break"), f"must list each of {', '.join(VOTES)} once")
    if scoring["no_vote"] is not None and scoring["no_vote"] not in VOTES:
        raise _fail(where, text, ("scoring", "no_vote"), f"must be null or one of {', '.join(VOTES)}")
    for rid, rule in data["rules"].items():
        if set(rule) != {"enabled", "vote", "weight", "tags"}:
            missing = {"enabled", "vote", "weight", "tags"} - set(rule)
            raise _fail(where, text, ("rules", rid), f"missing {', '.join(sorted(missing))}")
        if rule["vote"] is not None and rule["vote"] not in VOTES:
            raise _fail(where, text, ("rules", rid, "vote"), f"must be null or one of {', '.join(VOTES)}")
        for i, tag in enumerate(rule["tags"]):
            if tag not in NHI_TAGS:
                raise _fail(where, text, ("rules", rid, "tags", i), f"{tag!r} is not an OWASP NHI id (NHI1..NHI10)")
    for i, pattern in enumerate(data["privileged_groups"]["sids"]):
        if not re.fullmatch(r"S-[0-9*?-]+", pattern, re.IGNORECASE):
            raise _fail(where, text, ("privileged_groups", "sids", i), f"{pattern!r} is not a SID pattern")
    for path in (("interactive_use", "person_name_pattern"), ("split_planner", "host_role_strip")):
        try:
            re.compile(data[path[0]][path[1]])
        except re.error as exc:
            raise _fail(where, text, path, f"not a valid regular expression: {exc}") from None
    sp = data["split_planner"]
    for key in ("lifetime", "on_behalf_of_lifetime"):
        if not _DURATION.match(sp[key]):
            raise _fail(where, text, ("split_planner", key), f"{sp[key]!r} is not a duration like 15m, 1h or 1d")
    if sp["default_credential"] not in AGENT_CREDENTIALS:
        raise _fail(where, text, ("split_planner", "default_credential"),
                    f"must be one of {', '.join(AGENT_CREDENTIALS)}")
    for svc, classes in sp["service_classes"].items():
        for ac in classes:
            if not _ACTION_CLASS.match(ac):
                raise _fail(where, text, ("split_planner", "service_classes", svc),
                            f"action class {ac!r} is not a lower-case word")
    for i, pair in enumerate(sp["permission_classes"]):
        if len(pair) != 2 or not _ACTION_CLASS.match(pair[1]):
            raise _fail(where, text, ("split_planner", "permission_classes", i),
                        "each entry is [pattern, action class] with a lower-case action class")


# -- command line ----------------------------------------------------------------------------

def cli(store: Any, args: Any) -> int:
    """`nhiplan policy PROJECT [--set FILE | --reset | --default]`: show or change the project's policy."""
    from pathlib import Path

    if args.default:
        print(default_policy_text(), end="")
        return 0
    if args.set or args.reset:
        text = None
        if args.set:
            path = Path(args.set)
            try:
                text = path.read_text(encoding="utf-8-sig")
            except FileNotFoundError:
                raise BadInput(str(path), "no such file") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise BadInput(str(path), f"cannot read: {exc}") from None
        with store.session() as s, s.begin():
            set_project_policy(s, text, where=args.set or "policy")
        print(f"policy set from {args.set}" if args.set else "policy reset to the shipped default")
        return 0
    with store.session() as s:
        override = project_override_text(s)
        policy = load_policy(s)
    print("# effective policy: the shipped default"
          + (" with this project's override merged over it" if override else " (this project keeps no override)"))
    print(policy.to_yaml(), end="")
    return 0
