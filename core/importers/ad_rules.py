"""The rule that tells an AD service account from a person.

AD has no "service account" object class for plain user accounts: a user object
is a service account by convention only. ``ServiceAccountRule`` writes the
conventions down as data (so an organisation can load its own from a YAML policy
through ``from_dict``) and ``classify`` applies them, returning the verdict and
the reasons in words, which the identity's ``classification`` field carries.

Order of precedence: the explicit deny list (always a person), the explicit allow
list, then the signs (SPN, name pattern, OU, description keyword); every sign
that matches is named. No sign → a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from fnmatch import fnmatchcase
from typing import Any

DEFAULT_NAME_PATTERNS = (
    "svc_*",
    "svc-*",
    "svc.*",
    "sa_*",
    "sa-*",
    "srv_*",
    "*_svc",
    "*-svc",
    "*.svc",
    "*$svc",
)
DEFAULT_OU_PATTERNS = (
    "OU=Service Accounts",
    "OU=ServiceAccounts",
    "OU=Service-Accounts",
    "OU=Service Users",
    "OU=Technical Accounts",
    "OU=Application Accounts",
    "CN=Managed Service Accounts",
)
DEFAULT_DESCRIPTION_KEYWORDS = (
    "service account",
    "service user",
    "svc account",
    "app pool",
    "application pool",
    "technical account",
    "system account",
    "batch account",
    "scheduled task",
    "integration account",
    "run as",
    "runas",
    "bot",
)


@dataclass(frozen=True, slots=True)
class Classification:
    is_service: bool
    reasons: tuple[str, ...]

    @property
    def text(self) -> str:
        verdict = "service account" if self.is_service else "person"
        return f"{verdict}: {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class ServiceAccountRule:
    """Which AD user objects are service accounts.

    Patterns are shell-style (``*``, ``?``) and case-insensitive. ``name_patterns``
    match sAMAccountName; ``ou_patterns`` match any one component of the DN above
    the account (``OU=Service Accounts`` or ``OU=*svc*``); ``description_keywords``
    match whole words in description or info; ``allow`` and ``deny`` hold
    sAMAccountNames or full DNs.
    """

    spn_means_service: bool = True
    # SPN classes that say nothing about a service account (krbtgt carries kadmin/changepw).
    ignored_spn_classes: tuple[str, ...] = ("kadmin",)
    name_patterns: tuple[str, ...] = DEFAULT_NAME_PATTERNS
    ou_patterns: tuple[str, ...] = DEFAULT_OU_PATTERNS
    description_keywords: tuple[str, ...] = DEFAULT_DESCRIPTION_KEYWORDS
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    # Derived once in __post_init__ so classify() does no per-call normalisation.
    _keyword_re: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _allow: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    _deny: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    _names: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    _ignored_spn: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    _name_re: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _ou_re: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in (
            "ignored_spn_classes",
            "name_patterns",
            "ou_patterns",
            "description_keywords",
            "allow",
            "deny",
        ):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(str(v) for v in value))
        words = [re.escape(w.strip()).replace(r"\ ", r"\s+") for w in self.description_keywords if w.strip()]
        pattern = re.compile(rf"(?i)(?<!\w)(?:{'|'.join(words)})(?!\w)") if words else None
        object.__setattr__(self, "_keyword_re", pattern)
        object.__setattr__(self, "_allow", frozenset(v.strip().lower() for v in self.allow))
        object.__setattr__(self, "_deny", frozenset(v.strip().lower() for v in self.deny))
        object.__setattr__(self, "_names", tuple(p.lower() for p in self.name_patterns))
        object.__setattr__(
            self, "_ignored_spn", frozenset(c.strip().lower() for c in self.ignored_spn_classes)
        )
        names = _glob_alternation(self._names, ".")
        object.__setattr__(self, "_name_re", re.compile(f"(?is)(?:{names})") if names else None)
        # OU patterns match one whole component of the normalised parent DN (",ou=service accounts,").
        ous = _glob_alternation(tuple(_normalise_rdn(p) for p in self.ou_patterns), "[^,]")
        object.__setattr__(self, "_ou_re", re.compile(f"(?i),(?:{ous})(?=,|$)") if ous else None)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ServiceAccountRule:
        """Build a rule from a policy mapping (e.g. YAML); unknown keys are an error, not ignored."""
        if not data:
            return cls()
        if not isinstance(data, dict):
            raise ValueError(f"service-account rule must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls) if f.init}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown service-account rule keys: {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "spn_means_service":
                if not isinstance(value, bool):
                    raise ValueError(f"spn_means_service must be true or false, got {value!r}")
                values[key] = value
            else:
                if value is None:
                    value = ()
                if isinstance(value, str):
                    value = [value]
                if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                    raise ValueError(f"{key} must be a list of strings, got {value!r}")
                values[key] = tuple(value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The rule as a policy mapping; ``from_dict(rule.to_dict()) == rule``."""
        result: dict[str, Any] = {}
        for f in fields(self):
            if f.init:
                value = getattr(self, f.name)
                result[f.name] = list(value) if isinstance(value, tuple) else value
        return result

    def classify(
        self,
        sam_account_name: str,
        dn: str | None,
        spns: list[str],
        descriptions: list[str],
    ) -> Classification:
        """Is this (non-computer) user object a service account? With the reasons in words."""
        name = sam_account_name.lower()
        dn_low = (dn or "").lower()
        if name in self._deny or (dn_low and dn_low in self._deny):
            return Classification(False, ("on the deny list of the service-account rule",))
        reasons: list[str] = []
        if name in self._allow or (dn_low and dn_low in self._allow):
            reasons.append("on the allow list of the service-account rule")
        if self.spn_means_service and self._ignored_spn:
            spns = [s for s in spns if s.split("/", 1)[0].lower() not in self._ignored_spn]
        if self.spn_means_service and spns:
            more = f" (and {len(spns) - 1} more)" if len(spns) > 1 else ""
            reasons.append(f"has SPN {spns[0]}{more}")
        if self._name_re is not None and self._name_re.fullmatch(name):
            pattern = next(p for p in self._names if fnmatchcase(name, p))
            reasons.append(f"name matches {pattern}")
        if dn and self._ou_re is not None:
            parents = "".join("," + _normalise_rdn(p) for p in _split_dn(dn)[1:])
            match = self._ou_re.search(parents)
            if match is not None:
                reasons.append(f"in {component_display(dn, match.group(0)[1:])}")
        if self._keyword_re is not None:
            for text in descriptions:
                match = self._keyword_re.search(text)
                if match:
                    reasons.append(f"description says '{match.group(0)}'")
                    break
        if reasons:
            return Classification(True, tuple(reasons))
        return Classification(False, ("no service-account sign (no SPN, name, OU or description match)",))


def _normalise_rdn(component: str) -> str:
    attr, _, value = component.partition("=")
    return f"{attr.strip().lower()}={value.strip().lower()}"


def _split_dn(dn: str) -> list[str]:
    """Split a DN on the commas that are not escaped with a backslash."""
    if "\\" not in dn:
        return dn.split(",")
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in dn:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _glob_alternation(patterns: tuple[str, ...], any_char: str) -> str | None:
    """Shell-style patterns (``*``, ``?``) as one regex alternation; ``any_char`` is what a wildcard spans."""
    if not patterns:
        return None
    parts = [re.escape(p).replace(r"\*", f"{any_char}*").replace(r"\?", any_char) for p in patterns]
    return "|".join(parts)


def component_display(dn: str, normalised: str) -> str:
    """The component of ``dn`` as written (original case) whose normalised form is ``normalised``."""
    for part in _split_dn(dn)[1:]:
        if _normalise_rdn(part) == normalised:
            return part.strip()
    return normalised
