"""Live pull from Active Directory or any LDAPv3 directory with ldap3, through the shared AD normaliser.

``nhiplan ldap PROJECT --url URL --base DN …`` calls ``cli``; a front end calls
``pull_into`` (or ``pull`` for the records alone). ``LdapSource`` holds what a pull
needs; ``LdapReader`` owns the connection and yields entries.

What a pull does, read-only (bind, search, unbind: the connection is opened
``read_only`` so no write can leave it):

1. Connect: ``ldap://`` (optionally upgraded with StartTLS) or ``ldaps://``. TLS
   certificates are verified against the system's trust anchors plus ``--ca-file``;
   ``--insecure`` turns verification off and says so on stderr.
2. Bind: simple (a DN and password), NTLM (``DOMAIN\\user``; AD only) or anonymous.
   The password comes from the environment variable ``--password-env`` names, else
   the OS keyring (service ``nhiplan``, user name ``<url>|<bind dn>``), else a
   prompt on a terminal. It is never printed, logged or stored.
3. Search with the paged-results control (RFC 2696): one page at a time is held,
   normalised and dropped, so memory follows the page size, not the directory. AD
   range retrieval (``member;range=0-1499``) is completed with base searches for
   the next range. Progress is reported after every page, and cancel is honoured
   between pages.
4. ``--scope all`` (default) reads every user, computer, managed service account
   and group under the base, like an export. ``--scope service`` reads only service
   accounts — SPN present, gMSA / sMSA / dMSA classes, accounts under the OUs and
   with the names and description keywords of the service-account rule — and then
   what they touch: their groups (and the groups those are in), the accounts owning
   the SPNs they may delegate to, the principals their security descriptors grant,
   the computers their SPNs name, and their managers. Every value put into a filter
   is escaped (RFC 4515); name patterns keep only their ``*`` wildcards.
5. Only when everything was read: one import run (``core.services.import_records``).
   A server that goes away, refuses, times out or is not trusted is
   ``SourceUnavailable`` (exit 2, one line naming the source and the reason) and
   nothing is written. The origin is ``ad:<domain>``, so a second pull (or an export
   of the same domain) updates the project instead of duplicating it.

Object classes and attributes a server lacks are not an error: the filters only
name classes, and servers ignore attributes they do not know.
"""

from __future__ import annotations

import contextlib
import getpass
import ipaddress
import os
import re
import ssl
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from ..console import print_summary, progress_printer
from ..errors import BadInput, SourceUnavailable
from ..records import Record
from .ad_entries import BINARY_ATTRIBUTES, AdEntryNormaliser, authority_of
from .ad_rules import DEFAULT_NAME_PATTERNS, DEFAULT_OU_PATTERNS, ServiceAccountRule, _split_dn
from .base import ImportContext

KEYRING_SERVICE = "nhiplan"
DEFAULT_PAGE_SIZE = 500
DEFAULT_TIMEOUT = 30.0
PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
LOOKUP_BATCH = 50  # values OR-ed into one follow-up filter

# What the normaliser reads, plus the free-text attributes in which secrets hide. Never the password
# attributes: a pull does not even ask for them. memberOf is operational on OpenLDAP, so it is named.
ATTRIBUTES = (
    "objectClass", "sAMAccountName", "sAMAccountType", "userPrincipalName", "displayName", "cn", "uid", "name",
    "mail", "description", "info", "comment", "objectSid", "objectGUID", "userAccountControl",
    "msDS-User-Account-Control-Computed", "msDS-SupportedEncryptionTypes", "servicePrincipalName", "memberOf",
    "member", "uniqueMember", "managedBy", "pwdLastSet", "lastLogonTimestamp", "lastLogon", "accountExpires",
    "whenCreated", "whenChanged", "msDS-AllowedToDelegateTo", "msDS-AllowedToActOnBehalfOfOtherIdentity",
    "msDS-GroupMSAMembership", "msDS-ManagedPasswordInterval", "msDS-HostServiceAccount",
    "msDS-HostServiceAccountBL", "msDS-ManagedAccountPrecededByLink", "msDS-DelegatedMSAState", "dNSHostName",
    "operatingSystem", "groupType", "primaryGroupID", "isCriticalSystemObject", "adminCount",
    "createTimestamp", "modifyTimestamp",
)
# A group read as a neighbour in --scope service: without its (possibly huge) member list.
NEIGHBOUR_GROUP_ATTRIBUTES = tuple(a for a in ATTRIBUTES if a not in ("member", "uniqueMember"))

MSA_CLASSES = ("msDS-GroupManagedServiceAccount", "msDS-ManagedServiceAccount",
               "msDS-DelegatedManagedServiceAccount")
USER_CLASSES = ("user", "inetOrgPerson", "posixAccount", "account")
GROUP_CLASSES = ("group", "groupOfNames", "groupOfUniqueNames", "posixGroup")
ALL_FILTER = "(|" + "".join(f"(objectClass={c})" for c in (*USER_CLASSES, "computer", *MSA_CLASSES,
                                                            *GROUP_CLASSES)) + ")"
AUTH_METHODS = ("simple", "ntlm", "anonymous")
SCOPES = ("all", "service")


# --- configuration ----------------------------------------------------------------------------------------

@dataclass
class LdapSource:
    """Where and how to pull; the password is held only for the pull and never written anywhere."""

    url: str
    base: str
    bind_dn: str | None = None
    password: str | None = field(default=None, repr=False)
    auth: str | None = None  # simple | ntlm | anonymous; None: simple with a bind DN, else anonymous
    starttls: bool = False
    ca_file: str | None = None
    insecure: bool = False
    filter: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    timeout: float = DEFAULT_TIMEOUT
    scope: str = "all"
    authority: str | None = None
    rule: ServiceAccountRule = field(default_factory=ServiceAccountRule)

    def __post_init__(self) -> None:
        parts = urlsplit((self.url or "").strip())
        if parts.scheme.lower() not in ("ldap", "ldaps") or not parts.hostname:
            raise BadInput("--url", f"{self.url!r} is not an ldap:// or ldaps:// URL")
        if parts.path not in ("", "/") or parts.query:
            raise BadInput("--url", "give the server only (ldap://host[:port]); the base DN goes in --base")
        try:
            self.port = parts.port or (636 if parts.scheme.lower() == "ldaps" else 389)
        except ValueError:
            raise BadInput("--url", f"{self.url!r} has an invalid port") from None
        self.host = parts.hostname
        self.ssl = parts.scheme.lower() == "ldaps"
        self.url = f"{parts.scheme.lower()}://{parts.netloc}"
        if self.ssl and self.starttls:
            raise BadInput("--starttls", "ldaps:// is TLS from the start; StartTLS is for ldap://")
        if not (self.base or "").strip():
            raise BadInput("--base", "the search base DN is empty")
        self.base = self.base.strip()
        if self.page_size is None or not 1 <= int(self.page_size) <= 100_000:
            raise BadInput("--page-size", f"must be between 1 and 100000, got {self.page_size}")
        if self.timeout is None or not 0 < float(self.timeout) <= 3600:
            raise BadInput("--timeout", f"must be between 0 and 3600 seconds, got {self.timeout}")
        if self.scope not in SCOPES:
            raise BadInput("--scope", f"must be one of {', '.join(SCOPES)}, got {self.scope!r}")
        if self.auth is None:
            self.auth = "simple" if self.bind_dn else "anonymous"
        if self.auth not in AUTH_METHODS:
            raise BadInput("--auth", f"must be one of {', '.join(AUTH_METHODS)}, got {self.auth!r}")
        if self.auth != "anonymous" and not self.bind_dn:
            raise BadInput("--bind-dn", f"{self.auth} bind needs --bind-dn")
        if self.ca_file is not None and not os.path.isfile(self.ca_file):
            raise BadInput("--ca-file", f"{self.ca_file}: no such file")
        if self.filter:
            self.filter = self.filter.strip()
            check_filter(self.filter)

    @property
    def label(self) -> str:
        return f"{self.url}/{self.base}"

    @property
    def loopback(self) -> bool:
        if self.host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def check_filter(text: str) -> None:
    """Raise BadInput unless `text` is an RFC 4515 search filter (checked before any connection)."""
    from ldap3.core.exceptions import LDAPInvalidFilterError
    from ldap3.operation.search import parse_filter

    try:
        parse_filter(text if text.startswith("(") else f"({text})", None, auto_escape=False, auto_encode=False,
                     validator=None, check_names=False)
    except (LDAPInvalidFilterError, ValueError, IndexError) as exc:
        raise BadInput("--filter", f"not an LDAP filter: {text!r} ({exc})") from None


def ntlm_user(bind: str) -> str:
    """``DOMAIN\\user`` as ldap3's NTLM bind wants it; ``user@domain`` is turned into that form."""
    bind = bind.strip()
    if "\\" in bind and "=" not in bind:
        return bind
    if "@" in bind and "=" not in bind:
        user, _, domain = bind.partition("@")
        return f"{domain}\\{user}"
    raise BadInput("--bind-dn", f"NTLM needs DOMAIN\\user or user@domain, not {bind!r}")


def escape_value(value: str | bytes) -> str:
    """A value as a filter assertion (RFC 4515): ``*``, ``(``, ``)``, ``\\`` and NUL escaped; bytes as ``\\xx``."""
    from ldap3.utils.conv import escape_bytes, escape_filter_chars

    if isinstance(value, bytes):
        return escape_bytes(value)
    return escape_filter_chars(value)


def escape_pattern(pattern: str) -> str:
    """A shell-style name pattern as a substring assertion: its ``*`` stay wildcards, all else is escaped."""
    return "*".join(escape_value(part) for part in pattern.split("*"))


# --- the bind password -------------------------------------------------------------------------------------

def keyring_user(url: str, bind_dn: str) -> str:
    return f"{url}|{bind_dn}"


def read_password(url: str, bind_dn: str | None, password_env: str | None = None, *,
                  prompt: bool | None = None) -> str | None:
    """The bind password: from `password_env`, else the keyring, else a prompt on a terminal."""
    if not bind_dn:
        if password_env:
            raise BadInput("--password-env", "a password without --bind-dn: anonymous binds take none")
        return None
    if password_env:
        value = os.environ.get(password_env, "")
        if not value:
            raise BadInput("--password-env", f"environment variable {password_env} is not set or empty")
        return value
    try:
        import keyring

        value = keyring.get_password(KEYRING_SERVICE, keyring_user(url, bind_dn))
    except Exception:  # no keyring backend here, or a locked one: try the next source
        value = None
    if value:
        return value
    if prompt is None:
        prompt = sys.stdin is not None and sys.stdin.isatty()
    if prompt:
        entered = getpass.getpass(f"Password for {bind_dn} at {url}: ")
        if entered:
            return entered
    raise BadInput("--bind-dn", f"no password for {bind_dn}: name an environment variable with --password-env, "
                   f"store it in the OS keyring (service '{KEYRING_SERVICE}', user "
                   f"'{keyring_user(url, bind_dn)}'), or run on a terminal to be asked")


# --- connection -------------------------------------------------------------------------------------------

def _reason(exc: BaseException) -> str:
    """One readable clause for an ldap3, socket or TLS error."""
    message = getattr(exc, "message", None) or getattr(exc, "description", None)
    text = " ".join(str(message if isinstance(message, str) and message else exc).split())
    low = text.lower()
    if "certificate verify failed" in low or "certificate_verify_failed" in low:
        detail = re.search(r"certificate verify failed: ([^(\]'\"]+)", text, re.I)
        why = detail.group(1).strip() if detail else "verification failed"
        return f"TLS certificate not trusted ({why}); give its CA with --ca-file"
    if "doesn't match any name" in low or "hostname mismatch" in low:
        return "TLS certificate does not name this host"
    if "timed out" in low or "timeout" in low:
        return "timed out"
    if "connection refused" in low:
        return "connection refused (unreachable)"
    if "name or service not known" in low or "nodename nor servname" in low or "no address" in low:
        return "host name not found (unreachable)"
    return text or type(exc).__name__


class LdapReader:
    """One connection to one directory; ``search()`` yields ``(dn, attributes)`` page by page."""

    def __init__(self, source: LdapSource, ctx: ImportContext | None = None):
        self.source = source
        self.ctx = ctx or ImportContext()
        self.connection: Any = None
        self.entries_read = 0
        self.pages = 0
        self.referrals = 0

    # -- connect and bind ---------------------------------------------------------------------------------

    def connection_arguments(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(Server kwargs, Connection kwargs) for this source; separate so tests can check the NTLM path."""
        from ldap3 import ANONYMOUS, NONE, NTLM, SIMPLE, Tls

        src = self.source
        verify_paths = ssl.get_default_verify_paths()
        system_file = verify_paths.cafile if os.path.isfile(verify_paths.cafile or "") else None
        tls = Tls(
            validate=ssl.CERT_NONE if src.insecure else ssl.CERT_REQUIRED,
            ca_certs_file=src.ca_file or system_file,
            # The system's anchors (its hashed certificate folder) stay trusted beside --ca-file.
            ca_certs_path=verify_paths.capath if os.path.isdir(verify_paths.capath or "") else None,
            sni=None if _is_ip(src.host) else src.host,
        )
        server = {"host": src.host, "port": src.port, "use_ssl": src.ssl, "tls": tls, "get_info": NONE,
                  "connect_timeout": src.timeout}
        user = None
        if src.auth == "ntlm":
            user = ntlm_user(src.bind_dn or "")
        elif src.auth == "simple":
            user = src.bind_dn
        connection = {
            "user": user,
            "password": src.password if src.auth != "anonymous" else None,
            "authentication": {"simple": SIMPLE, "ntlm": NTLM, "anonymous": ANONYMOUS}[src.auth],
            "read_only": True,
            "raise_exceptions": True,
            "auto_range": False,  # done here, where progress and errors are ours
            "auto_referrals": False,
            "check_names": False,  # no schema is read; names the server lacks are simply not returned
            "receive_timeout": max(1, round(src.timeout)),  # ldap3 packs it into SO_RCVTIMEO as an int
            "return_empty_attributes": False,
        }
        return server, connection

    def open(self) -> LdapReader:
        from ldap3 import Connection, Server
        from ldap3.core.exceptions import LDAPException

        src = self.source
        server_args, connection_args = self.connection_arguments()
        try:
            server = Server(**server_args)
            self.connection = Connection(server, **connection_args)
            self.connection.open()
            if src.starttls:
                self.connection.start_tls()
            self.connection.bind()
        except LDAPException as exc:
            self.close()
            raise SourceUnavailable(src.url, self._bind_reason(exc)) from None
        except (OSError, ssl.SSLError) as exc:
            self.close()
            raise SourceUnavailable(src.url, _reason(exc)) from None
        return self

    def _bind_reason(self, exc: BaseException) -> str:
        from ldap3.core.exceptions import (
            LDAPAuthMethodNotSupportedResult,
            LDAPInvalidCredentialsResult,
            LDAPStartTLSError,
            LDAPStrongerAuthRequiredResult,
            LDAPUnwillingToPerformResult,
        )

        src = self.source
        if isinstance(exc, LDAPInvalidCredentialsResult):
            return f"credentials refused for {src.bind_dn}"
        if isinstance(exc, LDAPAuthMethodNotSupportedResult):
            return f"the server does not support {src.auth} bind ({_reason(exc)})"
        if isinstance(exc, LDAPStrongerAuthRequiredResult):
            return "the server requires a protected connection (use ldaps:// or --starttls, or NTLM)"
        if isinstance(exc, LDAPUnwillingToPerformResult) and src.auth == "anonymous":
            return "the server refuses anonymous binds; give --bind-dn"
        if isinstance(exc, LDAPStartTLSError):
            return "StartTLS failed: " + _reason(exc)
        return _reason(exc)

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):  # the server may be gone already; nothing to tell anyone
                self.connection.unbind()
            self.connection = None

    def __enter__(self) -> LdapReader:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- searching ----------------------------------------------------------------------------------------

    def search(self, base: str, search_filter: str, attributes: tuple[str, ...] = ATTRIBUTES, *,
               scope: str = "subtree", paged: bool = True) -> Iterator[tuple[str, dict[str, list]]]:
        """Entries under `base` matching `search_filter`, a page at a time, ranges completed."""
        from ldap3 import BASE, SUBTREE
        from ldap3.core.exceptions import LDAPException, LDAPNoSuchObjectResult, LDAPOperationResult

        src = self.source
        cookie: bytes | None = None
        while True:
            try:
                self.connection.search(base, search_filter, BASE if scope == "base" else SUBTREE,
                                       attributes=list(attributes), time_limit=int(src.timeout),
                                       paged_size=src.page_size if paged else None,
                                       paged_cookie=cookie if paged else None)
                response = self.connection.response or []
                result = self.connection.result or {}
            except LDAPNoSuchObjectResult:
                if scope == "base":
                    return  # a neighbour that is gone (or out of the base): nothing to read
                raise SourceUnavailable(src.url, f"the base {base!r} does not exist on this server") from None
            except LDAPOperationResult as exc:
                raise SourceUnavailable(src.url, f"search under {base!r} failed: {_reason(exc)}") from None
            except (LDAPException, OSError, ssl.SSLError) as exc:
                raise self._lost(exc) from None
            page = []
            for item in response:
                kind = item.get("type")
                if kind == "searchResRef":
                    self.referrals += 1
                elif kind == "searchResEntry":
                    page.append((item["dn"], self._attributes(item["raw_attributes"])))
            del response
            self.pages += 1
            for dn, attributes_of in page:
                self._complete_ranges(dn, attributes_of)
                self.entries_read += 1
                yield dn, attributes_of
            self.ctx.report(self.entries_read, None, f"{src.host}: {self.entries_read} entries")
            self.ctx.check_cancelled("LDAP pull")
            controls = result.get("controls") or {}
            cookie = ((controls.get(PAGED_RESULTS_OID) or {}).get("value") or {}).get("cookie") if paged else None
            if not cookie:
                return

    def _lost(self, exc: BaseException) -> SourceUnavailable:
        return SourceUnavailable(self.source.url, f"connection lost after {self.entries_read} entries "
                                 f"({_reason(exc)}); nothing was written")

    @staticmethod
    def _attributes(raw: Any) -> dict[str, list]:
        """Raw values as the normaliser takes them: text as str, binary attributes (and non-UTF-8) as bytes."""
        out: dict[str, list] = {}
        for name, values in raw.items():
            if not values and ";range=" not in name:
                continue
            if name.split(";", 1)[0].lower() in BINARY_ATTRIBUTES:
                out[name] = list(values)
                continue
            decoded: list = []
            for value in values:
                try:
                    decoded.append(value.decode("utf-8"))
                except UnicodeDecodeError:
                    decoded.append(value)
            out[name] = decoded
        return out

    def _complete_ranges(self, dn: str, attributes: dict[str, list]) -> None:
        """AD range retrieval: ``member;range=0-1499`` is followed by ``member;range=1500-*`` … until ``*``."""
        from ldap3 import BASE
        from ldap3.core.exceptions import LDAPException

        for name in [n for n in attributes if ";range=" in n.lower()]:
            base_name, _, spec = name.partition(";range=")
            values = attributes.pop(name)
            high = spec.partition("-")[2]
            guard = 0
            while high != "*":
                try:
                    start = int(high) + 1
                except ValueError:
                    self.ctx.warn(f"{self.source.url}/{dn}", f"{name}: unreadable range; later values not read")
                    break
                guard += 1
                if guard > 100_000:
                    break
                wanted = f"{base_name};range={start}-*"
                try:
                    self.connection.search(dn, "(objectClass=*)", BASE, attributes=[wanted],
                                           time_limit=int(self.source.timeout))
                except (LDAPException, OSError, ssl.SSLError) as exc:
                    raise self._lost(exc) from None
                found = None
                for item in self.connection.response or []:
                    if item.get("type") == "searchResEntry":
                        for key, more in item["raw_attributes"].items():
                            if key.lower().startswith(f"{base_name.lower()};range="):
                                found = (key, more)
                if found is None:
                    break
                key, more = found
                values.extend(self._attributes({base_name: more}).get(base_name, []))
                high = key.partition(";range=")[2].partition("-")[2]
            have = attributes.get(base_name)
            attributes[base_name] = values if have is None else [*have, *values]

    # -- what to read -------------------------------------------------------------------------------------

    def _user_filter(self) -> str:
        text = self.source.filter or ""
        return text if not text or text.startswith("(") else f"({text})"

    def everything(self) -> Iterator[tuple[str, dict[str, list]]]:
        flt = f"(&{ALL_FILTER}{self._user_filter()})" if self.source.filter else ALL_FILTER
        yield from self.search(self.source.base, flt)

    def service_accounts(self) -> Iterator[tuple[str, dict[str, list]]]:
        """Service accounts by AD admins' conventions, then the objects they touch."""
        rule = self.source.rule
        seen: set[str] = set()
        touched = _Touched()

        def emit(found: Iterator[tuple[str, dict[str, list]]], collect: bool):
            for dn, attributes in found:
                key = dn.lower()
                if key in seen:
                    continue
                seen.add(key)
                if collect:
                    touched.collect(attributes)
                yield dn, attributes

        user_classes = "(|" + "".join(f"(objectClass={c})" for c in USER_CLASSES) + ")"
        signs = []
        if rule.spn_means_service:
            signs.append("(servicePrincipalName=*)")
        for pattern in rule.name_patterns:
            signs.append(f"(sAMAccountName={escape_pattern(pattern)})")
            signs.append(f"(uid={escape_pattern(pattern)})")
        for word in rule.description_keywords:
            signs.append(f"(description=*{escape_value(word)}*)")
        for name in rule.allow:
            if "=" not in name:
                signs.append(f"(sAMAccountName={escape_value(name)})")
        msa = "".join(f"(objectClass={c})" for c in MSA_CLASSES)
        flt = f"(|{msa}(&{user_classes}(!(objectClass=computer))(|{''.join(signs)})))"
        flt = f"(&{flt}{self._user_filter()})" if self.source.filter else flt
        yield from emit(self.search(self.source.base, flt), True)

        # Accounts under the service-account OUs, whatever their names.
        ou_terms = []
        for pattern in rule.ou_patterns:
            attr, sep, value = pattern.partition("=")
            if sep and attr.strip().lower() in ("ou", "cn"):
                ou_terms.append(f"({attr.strip().lower()}={escape_pattern(value.strip())})")
        if ou_terms:
            containers = [dn for dn, _ in self.search(
                self.source.base, f"(&(|(objectClass=organizationalUnit)(objectClass=container)"
                                  f"(objectClass=organizationalRole))(|{''.join(ou_terms)}))", ("objectClass",))]
            for container in containers:
                in_ou = f"(&{user_classes}(!(objectClass=computer)){self._user_filter()})"
                yield from emit(self.search(container, in_ou), True)

        # What they touch: groups (transitively), delegation targets, granted principals, hosts, managers.
        for _round in range(20):
            work = touched.take()
            if work.empty():
                break
            for dn in sorted(work.group_dns):
                if dn.lower() not in seen:
                    yield from emit(self.search(dn, "(objectClass=*)", NEIGHBOUR_GROUP_ATTRIBUTES, scope="base",
                                                paged=False), True)
            for dn in sorted(work.dns):
                if dn.lower() not in seen:
                    yield from emit(self.search(dn, "(objectClass=*)", scope="base", paged=False), False)
            lookups = [("servicePrincipalName", sorted(work.spns)), ("objectSid", sorted(work.sids)),
                       ("dNSHostName", sorted(work.hosts))]
            for attribute, values in lookups:
                for i in range(0, len(values), LOOKUP_BATCH):
                    terms = "".join(f"({attribute}={escape_value(v)})" for v in values[i:i + LOOKUP_BATCH])
                    yield from emit(self.search(self.source.base, f"(|{terms})", NEIGHBOUR_GROUP_ATTRIBUTES),
                                    False)


class _Touched:
    """What the service accounts of a --scope service pull point at, still to be read."""

    def __init__(self) -> None:
        self.group_dns: set[str] = set()
        self.dns: set[str] = set()
        self.spns: set[str] = set()
        self.sids: set[bytes] = set()
        self.hosts: set[str] = set()
        self._asked: set[Any] = set()

    def empty(self) -> bool:
        return not (self.group_dns or self.dns or self.spns or self.sids or self.hosts)

    def take(self) -> _Touched:
        out = _Touched()
        for name in ("group_dns", "dns", "spns", "sids", "hosts"):
            fresh = {v for v in getattr(self, name) if (name, v) not in self._asked}
            self._asked.update((name, v) for v in fresh)
            setattr(out, name, fresh)
            setattr(self, name, set())
        return out

    def collect(self, attributes: dict[str, list]) -> None:
        from . import ad_codec
        from .ad_entries import spn_host

        low = {k.lower(): v for k, v in attributes.items()}
        self.group_dns.update(_texts(low.get("memberof")))
        self.dns.update(_texts(low.get("managedby")))
        self.dns.update(_texts(low.get("msds-hostserviceaccountbl")))
        self.spns.update(s.strip() for s in _texts(low.get("msds-allowedtodelegateto")) if s.strip())
        for key in ("msds-groupmsamembership", "msds-allowedtoactonbehalfofotheridentity"):
            for blob in low.get(key) or ():
                if isinstance(blob, bytes):
                    try:
                        self.sids.update(ad_codec.sid_to_bytes(s) for s in ad_codec.allowed_sids(blob))
                    except ValueError:
                        continue  # the normaliser warns about it
        for spn in _texts(low.get("serviceprincipalname")):
            host = spn_host(spn, "")
            if host and not host.endswith("."):
                self.hosts.add(host)


def canonical_dn(dn: str) -> str:
    """A DN with its attribute types in upper case, as AD and the exports write them (``cn=x,dc=y`` → ``CN=x,DC=y``).

    Attribute types are case-insensitive (RFC 4514) but OpenLDAP returns them in lower case; rendering them
    one way keeps a live pull and an export of the same directory from differing in every DN.
    """
    parts = []
    for part in _split_dn(dn):
        attr, sep, value = part.partition("=")
        name = attr.strip()
        parts.append(f"{name.upper() if name.isalpha() else name}{sep}{value}" if sep else part)
    return ",".join(parts)


def _texts(values: list | None) -> list[str]:
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values or ()]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- pulling ----------------------------------------------------------------------------------------------

@dataclass
class PullResult:
    records: list[Record]
    entries: int
    pages: int
    counts: dict[str, int]


def pull(source: LdapSource, ctx: ImportContext | None = None,
         on_open: Callable[[LdapReader], None] | None = None) -> PullResult:
    """Read the directory into records; raises SourceUnavailable / Cancelled, never writes anything."""
    ctx = ctx or ImportContext()
    authority = source.authority or authority_of(source.base) or source.host.lower()
    normaliser = AdEntryNormaliser(source.rule, default_authority=authority, warn=ctx.warn)
    records: list[Record] = []
    with LdapReader(source, ctx) as reader:
        if on_open is not None:
            on_open(reader)
        entries = reader.everything() if source.scope == "all" else reader.service_accounts()
        for dn, attributes in entries:
            dn = canonical_dn(dn)
            attributes["dn"] = [dn]
            try:
                records.extend(normaliser.normalise(attributes, f"{source.url}/{dn}"))
            except BadInput as exc:
                raise BadInput(f"{source.url}/{dn}", exc.reason) from None
        records.extend(normaliser.finish())
        if reader.referrals:
            ctx.warn(source.label, f"{reader.referrals} search reference(s) to other servers were not followed "
                                   "(pull each domain with its own --url)")
        if reader.entries_read == 0:
            raise BadInput(source.label, "no users, computers or groups found under the base "
                                         "(check --base, --filter and the bind's read rights)")
    return PullResult(records, reader.entries_read, reader.pages, dict(normaliser.counts))


def pull_into(store: Any, source: LdapSource, ctx: ImportContext | None = None) -> Any:
    """Pull and import in one transaction; returns the ImportSummary. Nothing is written on failure."""
    from ..services import import_records

    ctx = ctx or ImportContext()
    result = pull(source, ctx)
    ctx.check_cancelled("LDAP pull")
    return import_records(store, [result.records], source_kind="ldap", family="ad", source=source.label,
                          authority=source.authority, warnings=ctx.warnings)


def rule_with(service_ous: list[str] | None, name_patterns: list[str] | None) -> ServiceAccountRule:
    """The default service-account rule extended with --service-ou and --name-pattern values."""
    ous = [o if "=" in o else f"OU={o}" for o in service_ous or ()]
    return replace(ServiceAccountRule(), ou_patterns=(*DEFAULT_OU_PATTERNS, *ous),
                   name_patterns=(*DEFAULT_NAME_PATTERNS, *(name_patterns or ())))


def source_from_args(args: Any, *, prompt: bool | None = None) -> LdapSource:
    """An LdapSource from the `nhiplan ldap` arguments, with the password read as CONTRACT.md says."""
    auth = getattr(args, "auth", None)
    source = LdapSource(
        url=args.url, base=args.base, bind_dn=args.bind_dn, auth=auth, starttls=bool(args.starttls),
        ca_file=args.ca_file, insecure=bool(args.insecure), filter=args.filter,
        page_size=args.page_size if args.page_size is not None else DEFAULT_PAGE_SIZE,
        timeout=getattr(args, "timeout", None) or DEFAULT_TIMEOUT, scope=getattr(args, "scope", None) or "all",
        authority=getattr(args, "authority", None),
        rule=rule_with(getattr(args, "service_ou", None), getattr(args, "name_pattern", None)),
    )
    if source.auth != "anonymous":
        source.password = read_password(source.url, source.bind_dn, args.password_env, prompt=prompt)
    elif args.password_env:
        raise BadInput("--password-env", "anonymous binds take no password")
    return source


def cli(args: Any) -> int:
    """`nhiplan ldap PROJECT --url URL --base DN …`."""
    from ..services import open_project

    source = source_from_args(args)
    if source.insecure:
        print(f"warning: {source.url}: TLS certificate verification is off (--insecure); the server is not "
              "authenticated", file=sys.stderr)
    if source.password and not (source.ssl or source.starttls) and source.auth == "simple" and not source.loopback:
        print(f"warning: {source.url}: simple bind over plain ldap:// sends the password unencrypted; "
              "use ldaps:// or --starttls", file=sys.stderr)
    store = open_project(args.project)  # a bad project path fails before any connection
    interactive = sys.stderr.isatty()
    ctx = ImportContext(progress=progress_printer(interactive))
    try:
        summary = pull_into(store, source, ctx)
    finally:
        store.close()
        source.password = None
        if interactive:
            print(file=sys.stderr)
    print_summary(summary, f"pulled ldap ({summary.origin}) from {source.label}")
    return 0


__all__ = ["ATTRIBUTES", "LdapReader", "LdapSource", "PullResult", "check_filter", "cli", "escape_pattern",
           "escape_value", "ntlm_user", "pull", "pull_into", "read_password", "rule_with", "source_from_args"]
