"""Secrets in imported data: which attributes are secrets, and redaction of free text.

Every importer calls this module before a value is stored, logged or shown:

- ``SECRET_ATTRIBUTES``: attribute names whose values are secrets (AD password
  attributes, LAPS, gMSA blobs, SCIM ``password``, Graph ``secretText``). The
  values are dropped entirely; ``is_secret_attribute`` compares case-insensitively
  and ignores LDAP attribute options (``unicodePwd;binary``).
- ``redact_text``: finds passwords written into free text (``pw=…``,
  ``password: …``, ``(Password : …)``, connection strings) and replaces the value
  with ``[redacted]``, so a description can still be shown without the secret.

Only the *fact* that a secret was seen is ever reported (a finding naming the
attribute); the value never leaves this module.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

# Lower-case names. AD: password, LAPS, gMSA and credential-roaming attributes;
# POSIX/other LDAP password attributes; SCIM and Graph fields of the other importers.
SECRET_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "userpassword",
        "unicodepwd",
        "unixuserpassword",
        "mssfu30password",
        "ntpwdhistory",
        "lmpwdhistory",
        "dbcspwd",
        "supplementalcredentials",
        "msds-managedpassword",
        "msds-managedpasswordblob",
        "ms-mcs-admpwd",
        "mslaps-password",
        "mslaps-encryptedpassword",
        "mslaps-encryptedpasswordhistory",
        "mslaps-encrypteddsrmpassword",
        "mslaps-encrypteddsrmpasswordhistory",
        "mspki-accountcredentials",
        "mspki-dpapimasterkeys",
        "userpkcs12",
        "trustauthincoming",
        "trustauthoutgoing",
        "initialauthincoming",
        "initialauthoutgoing",
        "currentvalue",
        "priorvalue",
        "msds-executescriptpassword",
        "os400-password",
        # SCIM, Graph and generic JSON exports
        "password",
        "secrettext",
        "clientsecret",
        "client_secret",
    }
)


def is_secret_attribute(name: str) -> bool:
    """True when values of attribute ``name`` are secrets (case-insensitive; options ignored)."""
    return name.split(";", 1)[0].strip().lower() in SECRET_ATTRIBUTES


# A keyword that announces a password, its separator, then the value. "is" only
# counts after the unambiguous words ("password is Summer2019"), and not before
# words that describe where the password lives ("password is stored in the vault").
_KEYWORDS = r"passwords?|passwd|pwd|pw|pass|passwort|kennwort|mot\s+de\s+passe|mdp|secret"
_IS_KEYWORDS = r"passwords?|passwd|pwd|passwort|kennwort"
_NOT_A_VALUE = (
    r"(?:not|never|set|stored|managed|kept|held|in|the|a|an|rotated|changed|unknown|random|"
    r"expired|required|disabled|blank|empty)\b"
)
_VALUE = r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|\S+)"
_SECRET_IN_TEXT = re.compile(
    rf"(?ix)(?<![a-z])"
    rf"(?:(?P<kw>{_KEYWORDS})\s*[:=]\s*|(?P<iskw>{_IS_KEYWORDS})\s+is\s+(?!{_NOT_A_VALUE}))"
    rf"{_VALUE}"
)
# Cheap first test so the common case (no keyword at all) costs one C-level scan.
_HINT = re.compile(r"(?i)pw|pass|kennwort|mdp|secret")


def _replace(match: re.Match[str]) -> str:
    value = match.group("value")
    prefix = match.string[match.start() : match.start("value")]
    tail = ""
    # "(pw=Summer2019!)": the closing parenthesis belongs to the sentence, not the password.
    if value.endswith(")") and value.count("(") < value.count(")"):
        before = match.string[: match.start()]
        if before.count("(") > before.count(")"):
            stripped = value.rstrip(")")
            tail = value[len(stripped) :]
            value = stripped
    if not value:
        return match.group(0)
    return prefix + REDACTED + tail


def redact_text(text: str) -> tuple[str, bool]:
    """Replace passwords written into free text with ``[redacted]``.

    Returns the redacted text and whether anything was found. The keyword stays
    visible (``pw=[redacted]``) so a reader sees that a secret was there.
    """
    if not text or _HINT.search(text) is None:
        return text, False
    found = False

    def replace(match: re.Match[str]) -> str:
        nonlocal found
        replaced = _replace(match)
        if replaced != match.group(0):
            found = True
        return replaced

    redacted = _SECRET_IN_TEXT.sub(replace, text)
    return redacted, found
