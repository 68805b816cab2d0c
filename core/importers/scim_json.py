"""SCIM 2.0 export files: ListResponse pages, bare resource arrays, NDJSON.

A file may hold, as JSON:

- one ListResponse (``GET /Users``, a root ``.search`` with Users and Groups mixed),
- an array of ListResponses (several pages saved together),
- an array of resources (what ``scim2-server --dump-resources`` and many scripts write),
- one resource,
- or several of these one after another: NDJSON (one resource or page per line) and
  concatenated JSON documents (``jq`` output) are read the same way.

Several pages of one export may also be several files imported together (a folder).
Resources are User, Group (RFC 7643), and the draft Agent and AgenticApplication;
``core.importers.scim_common`` turns them into records and documents the rules.

Write operations are read too, in file order, on top of the resources read before
them: an RFC 7644 §3.7 BulkRequest, or ``{"method", "path", "data"}`` objects (a
provisioning request log, one per NDJSON line). POST and PUT bring a resource
(a POST keeps its ``id``, else its ``bulkId``), PATCH changes one — with Microsoft
Entra's capitalised ``"Replace"`` ops, ``"False"`` strings and member removal by
value — and DELETE removes one. A PATCH of a resource not read before it is an
error; a password set by a PATCH is dropped and reported like any other.

Errors name the file and the resource: ``users.json: Resources[3]``,
``pages.json: [1].Resources[3]``, ``dump.json: [3]`` (0-based, as jq counts), and
for NDJSON the line too: ``users.ndjson:7: resource 6`` (``operation 6`` for a
write operation; ``bulk.json: Operations[2]`` in a BulkRequest). Invalid JSON names
the line and column.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..gc_pause import paused_gc
from ..records import Record
from .base import BATCH_SIZE, ImportContext, Importer, ImporterOption
from .scim_common import (
    ScimNormaliser,
    bulk_operations,
    is_list_response,
    is_operation,
    read_list_response,
)

_WHITESPACE = re.compile(r"[ \t\r\n]*")
_PAGE_SUFFIX = re.compile(r"[-_. ](page|p|part)[-_. ]?\d+$")
# Words that only SCIM data has: its URNs, or the ListResponse members together.
_SCIM_MARKERS = ("urn:ietf:params:scim:", "urn:scim:schemas:")


def decode_text(data: bytes, where: str) -> str:
    """The text of a JSON file: UTF-8 (with or without BOM) or UTF-16 with a BOM."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1 if encoding != "utf-16" else None
        at = f"{where}:{line}" if line else where
        raise BadInput(at, f"not {encoding.upper()} text (undecodable byte at offset {exc.start})") from None


def json_values(text: str, where: str) -> Iterator[tuple[Any, int]]:
    """Each JSON document in `text` with the line it starts on (one for a plain file, many for NDJSON)."""
    decoder = json.JSONDecoder()
    pos, line, counted = 0, 1, 0
    end = len(text)
    while True:
        pos = _WHITESPACE.match(text, pos).end()
        if pos >= end:
            return
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            value, nxt = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{where}:{exc.lineno}:{exc.colno}",
                           f"invalid JSON: {exc.msg.removesuffix(' at').lower()}") from None
        yield value, line
        pos = nxt


class ScimJsonImporter(Importer):
    name = "scim-json"
    source_kind = "scim-json"
    family = "scim"
    reads = "SCIM 2.0 exports: ListResponse pages, resource arrays or NDJSON of Users, Groups and Agents"
    options = (
        ImporterOption("authority", "the SCIM service the files come from (default: from meta.location, "
                                    "else the file name)"),
    )

    def detect(self, path: Path, head: bytes) -> bool:
        try:
            text = decode_text(head, str(path))
        except BadInput:
            text = head.decode("utf-8", "ignore")  # a multi-byte character cut at the end of the head
        text = text.lstrip("\ufeff \t\r\n")
        if not text.startswith(("{", "[")):
            return False
        low = text.lower()
        if "@odata." in low:
            return False  # Microsoft Graph JSON
        return (any(m in low for m in _SCIM_MARKERS) or '"username"' in low
                or ('"resources"' in low and '"totalresults"' in low))

    def read(self, path: Path, ctx: ImportContext) -> Iterator[list[Record]]:
        with paused_gc():
            records = self._records(path, ctx)
        for i in range(0, len(records), BATCH_SIZE):
            yield records[i:i + BATCH_SIZE]

    def _records(self, path: Path, ctx: ImportContext) -> list[Record]:
        where = str(path)
        try:
            text = decode_text(path.read_bytes(), where)
        except OSError as exc:
            raise BadInput(where, f"cannot read: {exc.strerror or exc}") from None
        documents = json_values(text, where)
        first, second = next(documents, None), next(documents, None)
        if first is None:
            raise BadInput(where, "empty file: no SCIM data")
        multi = second is not None
        values = chain([first], [second] if multi else [], documents)
        del first, second  # each document is let go once read: the normaliser keeps its own copy
        norm = ScimNormaliser(warn=ctx.warn)
        pages: list[tuple[str, Any, int]] = []
        count = 0
        for value, line in values:
            prefix = f"{where}:{line}" if multi else where
            for what, item, item_where in self._items(value, prefix, count if multi else None):
                if what == "page":
                    pages.append(item)
                    continue
                if what == "operation":
                    norm.apply(item, item_where)
                else:
                    norm.add(item, item_where)
                count += 1
                if count % 1000 == 0:
                    ctx.check_cancelled()
                    ctx.report(count, None, f"{path.name}: {count} resources")
        del value, text
        if len(pages) == 1:
            page_where, envelope, held = pages[0]
            total, start = envelope.total_results, envelope.start_index or 1
            if total is not None and total > held and envelope.next_cursor is None:
                ctx.warn(page_where, f"a page of a longer list: resources {start}–{start + held - 1} "
                                     f"of {total} (import all pages together)")
        if norm.duplicates:
            ctx.warn(where, f"{norm.duplicates} resource(s) appear twice (overlapping pages); read once")
        authority = (ctx.options.get("authority") or norm.location_authority()
                     or self._authority_from_name(path, ctx))
        ctx.report(count, count, f"{path.name}: {count} resources")
        return norm.records(authority, source=where, service={"export": path.name})

    @staticmethod
    def _items(value: Any, prefix: str, line_index: int | None) -> Iterator[tuple[str, Any, Any]]:
        """("resource" | "operation", item, where) per item of one JSON document; ("page", info, where)."""

        def page(obj: dict[str, Any], path: str) -> Iterator[tuple[str, Any, Any]]:
            page_where = f"{prefix}: {path.rstrip('.')}" if path else prefix
            envelope, resources = read_list_response(obj, page_where)
            for i, item in enumerate(resources):
                yield "resource", item, f"{prefix}: {path}Resources[{i}]"
            yield "page", (page_where, envelope, len(resources)), page_where

        def one(obj: Any, path: str, label: str) -> Iterator[tuple[str, Any, Any]]:
            if is_list_response(obj):
                yield from page(obj, path)
            elif (ops := bulk_operations(obj)) is not None:
                for i, op in enumerate(ops):
                    yield "operation", op, f"{prefix}: {path}Operations[{i}]"
            elif is_operation(obj):
                yield "operation", obj, f"{prefix}: {label.format('operation')}"
            else:
                yield "resource", obj, f"{prefix}: {label.format('resource')}"

        if isinstance(value, dict):
            index = line_index if line_index is not None else 0
            yield from one(value, "", f"{{}} {index}")
        elif isinstance(value, list):
            for j, item in enumerate(value):
                yield from one(item, f"[{j}].", f"[{j}]")
        else:
            kind = {str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
            raise BadInput(prefix, f"expected a SCIM resource, a ListResponse or an array of them, "
                                   f"found {kind}")

    @staticmethod
    def _authority_from_name(path: Path, ctx: ImportContext) -> str:
        stem = path.name.split(".", 1)[0].lower() or path.name.lower()
        authority = _PAGE_SUFFIX.sub("", stem) or stem
        ctx.warn(str(path), f"no meta.location names the SCIM service; named it {authority!r} after the file "
                            f"(give --authority to name it)")
        return authority
