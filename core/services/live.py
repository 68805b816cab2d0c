"""Live sources: test a connection, pull a directory, a tenant or a SCIM service into the project."""

from __future__ import annotations

from typing import Any

from ..importers.base import ImportContext
from ..ingest import ImportSummary
from ..store import Store
from .common import CancelFn, ProgressFn


def ldap_source(*, url: str, base: str, bind_dn: str | None = None, password: str | None = None,
                starttls: bool = False, ca_file: str | None = None, insecure: bool = False,
                filter: str | None = None) -> Any:
    """An LDAP source (for `pull_ldap`) from a front end's fields; BadInput names the bad field."""
    from ..importers import ldap_live

    return ldap_live.LdapSource(url=url, base=base, bind_dn=bind_dn or None, password=password or None,
                                starttls=starttls, ca_file=ca_file or None, insecure=insecure,
                                filter=filter or None)


def check_ldap(**params: Any) -> str:
    """Test an LDAP connection without importing: connect, (Start)TLS, bind, read the base entry."""
    from ldap3 import BASE
    from ldap3.core.exceptions import LDAPException

    from ..errors import SourceUnavailable
    from ..importers import ldap_live

    source = ldap_source(**params)
    with ldap_live.LdapReader(source) as reader:
        try:
            reader.connection.search(source.base, "(objectClass=*)", search_scope=BASE, attributes=["objectClass"])
        except LDAPException as exc:
            raise SourceUnavailable(source.url, f"cannot read the base {source.base}: {exc}") from None
    who = source.bind_dn or "anonymous"
    tls = "TLS" if source.ssl or source.starttls else "no TLS"
    return f"{source.url} answers ({tls}); bound as {who}; the base {source.base} is readable"


def pull_ldap(store: Store, source: Any, *, progress: ProgressFn | None = None,
              is_cancelled: CancelFn | None = None) -> ImportSummary:
    """Pull a live directory (an `importers.ldap_live.LdapSource`) in one transaction; nothing written on failure."""
    from ..importers import ldap_live

    ctx = ImportContext(progress=progress, is_cancelled=is_cancelled)
    return ldap_live.pull_into(store, source, ctx)


def pull_scim(store: Store, url: str, *, token: str | None = None, ca_file: str | None = None,
              progress: ProgressFn | None = None, is_cancelled: CancelFn | None = None) -> ImportSummary:
    """Pull a live SCIM 2.0 service into the project in one transaction (nothing written on failure)."""
    from ..importers import scim_live

    ctx = ImportContext(progress=progress, is_cancelled=is_cancelled)
    return scim_live.pull_into(store, url, token=token, ca_file=ca_file, ctx=ctx)


def check_scim(url: str, *, token: str | None = None, ca_file: str | None = None) -> str:
    """Test a SCIM connection without importing: discovery plus one page of the required endpoint.

    Returns a sentence on what the service offers; SourceUnavailable says why it cannot be read.
    """
    from ..importers import scim_live

    ctx = ImportContext()
    with scim_live.ScimClient(url, token=token, ca_file=ca_file) as client:
        info = scim_live.discover(client, ctx)
        first = sorted(info.required)[0]
        body = client.get_json(first, {"count": 1, "startIndex": 1})
    total = body.get("totalResults") if isinstance(body, dict) else None
    endpoints = ", ".join(path for _rtype, path in info.endpoints)
    counted = f"; {first} holds {total} resources" if isinstance(total, int) else ""
    paging = "cursor" if info.cursor else "index"
    return f"{client.base} answers: {endpoints} ({paging} paging, {info.page_size} a page){counted}"


def pull_entra(store: Store, *, tenant: str, client_id: str, secret: str | None = None,
               authority: str | None = None, graph_url: str | None = None, ca_file: str | None = None,
               progress: ProgressFn | None = None, is_cancelled: CancelFn | None = None) -> ImportSummary:
    """Pull an Entra tenant through Microsoft Graph into the project in one transaction.

    Without `secret` the client secret comes from the keyring, as for the CLI.
    """
    from ..importers import entra_live

    conn = entra_live.EntraConnection(tenant=tenant, client_id=client_id, secret=secret or None,
                                      authority=authority or None, graph_url=graph_url or None,
                                      ca_file=ca_file or None)
    return entra_live.pull_into(store, conn, progress=progress, is_cancelled=is_cancelled)[0]


def check_entra(*, tenant: str, client_id: str, secret: str | None = None, authority: str | None = None,
                graph_url: str | None = None, ca_file: str | None = None) -> str:
    """Test an Entra connection without importing: sign in and read the organisation."""
    from ..importers import entra_live

    return entra_live.check(entra_live.EntraConnection(
        tenant=tenant, client_id=client_id, secret=secret or None, authority=authority or None,
        graph_url=graph_url or None, ca_file=ca_file or None))
