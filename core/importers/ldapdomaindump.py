"""ldapdomaindump output: ``domain_users.json``, ``domain_computers.json``, ``domain_groups.json`` (and the rest).

``LdapDomainDumpImporter`` reads the JSON files ldapdomaindump (0.9–0.10, with
ldap3 2.9 doing the serialising) writes — shared/formats/ldapdomaindump-json.md —
and hands each entry to the shared AD normaliser, so the dump means what an LDIF
of the same directory means. A folder holding the files imports as one run:
gMSAs sit in ``domain_computers.json`` beside real computers and are told apart by
objectClass, not by file. ``domain_policy.json`` and ``domain_trusts.json`` hold
objects that are neither accounts nor groups and are read and skipped; the
``--grouped-json`` files (``domain_users_by_group.json``) are read too (their
entries repeat those of ``domain_users.json``; ingest keeps one of each).

What the files look like, and how values are taken:

- a JSON array of ``{"attributes": {...}, "dn": "..."}``; every attribute value is an
  array; ``[]`` is an empty result;
- binary values ldap3 could not decode as UTF-8 are ``{"encoded": <base64>,
  "encoding": "base64"}`` and become bytes again; SIDs are ``S-1-…`` text, GUIDs
  ``{…}`` text, dates ``YYYY-MM-DD HH:MM:SS[.ffffff]+00:00`` (1601 and 9999 mean
  never) — the normaliser reads all of these.

The file is read entry by entry (``json.JSONDecoder.raw_decode`` over 1 MiB
chunks), never whole, and errors name the file, the line and the entry's index.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..records import Record
from .ad_entries import AdEntryNormaliser
from .base import BATCH_SIZE, ImportContext, Importer, ImporterOption
from .ldif import _rule_option

CHUNK = 1 << 20
_DETECT = re.compile(r'^\s*\[\s*(?:\]\s*$|\{\s*"(?:attributes|dn)"\s*:)', re.S)
_GROUPED = re.compile(r'^\s*\[\s*\{\s*"[^"]*"\s*:\s*\[\s*(?:\]|\{\s*"(?:attributes|dn)"\s*:)', re.S)
_NAME = re.compile(r"^domain_[a-z_]+\.json$", re.I)


class JsonArrayReader:
    """The elements of a top-level JSON array, one at a time, with the line each starts on."""

    def __init__(self, path: Path):
        self.path = path
        self.where = str(path)
        self.decoder = json.JSONDecoder()
        self.line = 1  # the line of buffer[pos]
        self.index = 0
        self._buffer = ""
        self._pos = 0
        self._fh: Any = None
        self._text = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self._bytes_read = 0

    def _fill(self) -> bool:
        """Append the next chunk to the buffer; False at the end of the file."""
        chunk = self._fh.read(CHUNK)
        try:
            text = self._text.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            line = self.line + self._buffer.count("\n", self._pos) + chunk[: exc.start].count(b"\n")
            raise BadInput(f"{self.where}:{line}", f"not UTF-8 (byte 0x{chunk[exc.start]:02X}); ldapdomaindump "
                                                   "writes UTF-8 JSON") from None
        if chunk and self._pos > CHUNK:  # drop what was read so the buffer stays about one chunk long
            self._buffer = self._buffer[self._pos:]
            self._pos = 0
        self._buffer += text
        return bool(chunk)

    def _skip_space(self) -> bool:
        """Move past blanks; False when the file ends first."""
        while True:
            buffer, pos = self._buffer, self._pos
            end = len(buffer)
            while pos < end and buffer[pos] in " \t\r\n":
                pos += 1
            self.line += buffer.count("\n", self._pos, pos)
            self._pos = pos
            if pos < end:
                return True
            if not self._fill():
                return False

    def _peek(self) -> str:
        return self._buffer[self._pos] if self._skip_space() else ""

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        with open(self.path, "rb") as self._fh:
            first = self._peek()
            if first != "[":
                found = self._buffer[self._pos:self._pos + 20] if first else "nothing"
                raise BadInput(f"{self.where}:{self.line}", f"expected a JSON array ('['), found {found!r}: not "
                                                            "an ldapdomaindump domain_*.json file")
            self._pos += 1
            while True:
                char = self._peek()
                if not char:
                    raise BadInput(f"{self.where}:{self.line}", "the file ends inside the JSON array (truncated?)")
                if char == "]":
                    self._pos += 1
                    if self._peek():
                        raise BadInput(f"{self.where}:{self.line}", "text after the end of the JSON array")
                    return
                if self.index:
                    if char != ",":
                        raise BadInput(f"{self.where}:{self.line}", f"expected ',' or ']' after entry {self.index}, "
                                                                    f"found {self._buffer[self._pos:self._pos + 20]!r}")
                    self._pos += 1
                    if not self._peek():
                        raise BadInput(f"{self.where}:{self.line}", "the file ends after a ',' (truncated?)")
                while True:
                    try:
                        value, end = self.decoder.raw_decode(self._buffer, self._pos)
                        break
                    except json.JSONDecodeError as exc:
                        if self._fill():
                            continue
                        line = self.line + self._buffer.count("\n", self._pos, exc.pos)
                        raise BadInput(f"{self.where}:{line}", f"entry {self.index + 1}: invalid JSON ({exc.msg})") \
                            from None
                self.index += 1
                yield self.line, value
                self.line += self._buffer.count("\n", self._pos, end)
                self._pos = end


def _values(name: str, raw: Any, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raw = [raw]  # older ldap3 versions wrote single values bare
    out: list[Any] = []
    for value in raw:
        if isinstance(value, dict):
            if value.get("encoding") == "base64" and isinstance(value.get("encoded"), str):
                try:
                    out.append(base64.b64decode(value["encoded"], validate=True))
                except (binascii.Error, ValueError):
                    raise BadInput(where, f"{name}: invalid base64 in an encoded value") from None
                continue
            raise BadInput(where, f"{name}: an object value that is not {{encoded, encoding: base64}}")
        if value is None:
            continue
        out.append(value)
    return out


class LdapDomainDumpImporter(Importer):
    """ldapdomaindump's domain_*.json through the shared AD normaliser."""

    name = "ldapdomaindump"
    source_kind = "ldapdomaindump"
    family = "ad"
    reads = "ldapdomaindump JSON output (domain_users.json, domain_computers.json, domain_groups.json)"
    options = (
        ImporterOption("authority", "domain to use for entries whose DN has no DC= components"),
        ImporterOption("service_account_rule", "mapping of ServiceAccountRule fields (e.g. from a YAML policy)"),
    )

    def detect(self, path: Path, head: bytes) -> bool:
        """An array of ``{"attributes": …, "dn": …}`` objects (or ``[]`` in a file named domain_*.json)."""
        text = head.decode("utf-8-sig", "ignore")
        if _DETECT.match(text) is None and _GROUPED.match(text) is None:
            return False
        if re.match(r"^\s*\[\s*\]\s*$", text):
            return bool(_NAME.match(path.name))
        return True

    def read(self, path: Path, ctx: ImportContext) -> Iterator[list[Record]]:
        where = str(path)
        state = ctx.options.setdefault("_ldapdomaindump_normaliser", {})
        normaliser = state.get("normaliser")
        if normaliser is None:
            # One normaliser for every file of the run: security descriptors in domain_computers.json grant
            # SIDs whose accounts are in domain_users.json.
            rule = _rule_option(ctx.options.get("service_account_rule"))
            normaliser = state["normaliser"] = AdEntryNormaliser(
                rule, default_authority=ctx.options.get("authority"), warn=ctx.warn)
        label = Path(path).name
        batch: list[Record] = []
        reader = JsonArrayReader(Path(path))
        entries = 0
        for line, value in reader:
            for entry in self._entries(value, where, line, reader.index):
                entries += 1
                attributes, dn = entry
                source_record = f"{label}:{line}"
                attributes["dn"] = [dn]
                try:
                    batch.extend(normaliser.normalise(attributes, source_record))
                except BadInput as exc:
                    raise BadInput(f"{where}:{line}", exc.reason) from None
            if len(batch) >= BATCH_SIZE:
                ctx.check_cancelled()
                ctx.report(entries, None, f"{label}: {entries} entries")
                yield batch
                batch = []
        ctx.check_cancelled()
        ctx.report(entries, entries, f"{label}: {entries} entries")
        if batch:
            yield batch

    def finish(self, ctx: ImportContext) -> Iterator[list[Record]]:
        """Principal nodes for SIDs granted in one file and carried by no entry of any file of the run."""
        state = ctx.options.pop("_ldapdomaindump_normaliser", {})
        normaliser = state.get("normaliser")
        if normaliser is not None:
            records = normaliser.finish()
            if records:
                yield records

    def _entries(self, value: Any, where: str, line: int, index: int) -> Iterator[tuple[dict[str, list], str]]:
        here = f"{where}:{line}"
        if isinstance(value, dict) and len(value) == 1 and "attributes" not in value and "dn" not in value:
            # --grouped-json: {"<group CN>": [entries]}
            (members,) = value.values()
            if not isinstance(members, list):
                raise BadInput(here, f"entry {index}: a grouped entry whose value is not a list")
            for item in members:
                yield self._entry(item, here, index)
            return
        yield self._entry(value, here, index)

    @staticmethod
    def _entry(value: Any, here: str, index: int) -> tuple[dict[str, list], str]:
        if not isinstance(value, dict):
            raise BadInput(here, f"entry {index}: expected an object with 'attributes' and 'dn', "
                                 f"found {type(value).__name__}")
        dn = value.get("dn")
        attributes = value.get("attributes")
        if not isinstance(dn, str) or not dn.strip():
            raise BadInput(here, f"entry {index}: no 'dn' (every ldapdomaindump entry has one)")
        if not isinstance(attributes, dict):
            raise BadInput(here, f"entry {index} ({dn}): 'attributes' is missing or not an object")
        return {name: _values(name, raw, here) for name, raw in attributes.items()}, dn
