"""The importer registry: every export format nhiplan reads, by its --format name.

Importers are loaded on first use so that a slow import (ldap3, msal) never
slows down the start of the app.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

from ..errors import BadInput
from .base import Importer

# --format name -> "module:Class". Order matters for auto-detection: the first
# importer whose detect() accepts a file reads it.
REGISTRY: dict[str, str] = {
    "ldif": "nhiplan.core.importers.ldif:LdifImporter",
    # Before the JSON importers: an ldapdomaindump entry is exactly {"attributes": …, "dn": …}.
    "ad-csv": "nhiplan.core.importers.ad_csv:AdCsvImporter",
    "ldapdomaindump": "nhiplan.core.importers.ldapdomaindump:LdapDomainDumpImporter",
    "scim-json": "nhiplan.core.importers.scim_json:ScimJsonImporter",
    "entra-json": "nhiplan.core.importers.entra_json:EntraJsonImporter",
}

DETECT_BYTES = 65536


@cache
def get_importer(name: str) -> Importer:
    try:
        target = REGISTRY[name]
    except KeyError:
        raise BadInput("--format", f"unknown format {name!r}; known: auto, {', '.join(REGISTRY)}") from None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)()


def all_importers() -> list[Importer]:
    return [get_importer(name) for name in REGISTRY]


def detect_format(path: Path) -> Importer | None:
    """The importer that recognises `path` by content, or None."""
    try:
        with path.open("rb") as fh:
            head = fh.read(DETECT_BYTES)
    except OSError as exc:
        raise BadInput(str(path), f"cannot read: {exc.strerror or exc}") from None
    for name in REGISTRY:  # one at a time: a file the first importer claims never loads the slow ones
        importer = get_importer(name)
        if importer.detect(path, head):
            return importer
    return None
