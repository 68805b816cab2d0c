"""The inventory as plain data: column arrays plus what sorting, searching and facets need.

No Qt here: an `InventoryData` is built and `prepare()`d in a worker thread (all
the O(rows) work: search texts, facet values and counts, sort keys, the name
order), then handed to the table model on the UI thread, which only reads it.
After a decision only the changed rows are recomputed: their search text,
facet values (counts adjusted), sort keys, and their place in each cached sort
order (re-inserted by bisection, not a new sort).
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timedelta
from typing import Any

FACETS = ("source", "kind", "authority", "decision", "recommendation", "tags", "status")
MULTI_VALUED_FACETS = frozenset({"source", "tags", "status"})
SORTABLE = ("name", "kind", "authority", "decision", "recommendation", "enabled", "last_used", "credentials",
            "soonest_expiry", "groups", "consumers", "tags", "sources", "key", "display_name", "upn")
NUMERIC = frozenset({"credentials", "groups", "consumers"})
STATUS_STALE = "stale"
STATUS_NEVER_USED = "never used"
STATUS_EXPIRING = "credential expiring"
STATUS_EXPIRED = "credential expired"
STATUS_DISABLED = "disabled"
STATUS_REVIEW = "needs review"
STATUS_VANISHED = "vanished"
INCREMENTAL_LIMIT = 50  # more changed rows: one C-level sort (~30 ms at 100k) beats inserting each
EMPTY_COLUMNS = ("key", "name", "kind", "authority", "display_name", "upn", "description", "sources", "enabled",
                 "last_used", "vanished", "needs_review", "decision", "credentials", "soonest_expiry", "groups",
                 "consumers", "tags")


class InventoryData:
    def __init__(self, columns: dict[str, list[Any]] | None = None,
                 recommendations: dict[str, dict[str, Any]] | None = None, *, now: datetime | None = None,
                 stale_days: int = 90, expiring_days: int = 30):
        self.cols: dict[str, list[Any]] = {name: list((columns or {}).get(name, [])) for name in EMPTY_COLUMNS}
        self.recs: dict[str, dict[str, Any]] = dict(recommendations or {})
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.stale_before = (self.now - timedelta(days=stale_days)).isoformat().replace("+00:00", "Z")
        self.expiring_before = (self.now + timedelta(days=expiring_days)).isoformat().replace("+00:00", "Z")
        self.now_text = self.now.isoformat().replace("+00:00", "Z")
        self.row_of: dict[str, int] = {k: i for i, k in enumerate(self.cols["key"])}
        self.search: list[str] = []
        self.facets: dict[str, list[Any]] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.sort_keys: dict[str, list[Any]] = {}
        self.orders: dict[str, list[int]] = {}
        self.prepared = False

    def __len__(self) -> int:
        return len(self.cols["key"])

    # -- building (in a worker) ----------------------------------------------------------
    def prepare(self) -> InventoryData:
        n = len(self)
        rows = range(n)
        self.search = [self._search_text(r) for r in rows]
        for facet in FACETS:
            values = [self._facet_value(facet, r) for r in rows]
            self.facets[facet] = values
            self.counts[facet] = _count(values, facet in MULTI_VALUED_FACETS)
        for column in SORTABLE:
            self.sort_keys[column] = [self._sort_key(column, r) for r in rows]
        self.orders = {}
        self.order("name")
        self.prepared = True
        return self

    def recommendation_parts(self, recs: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """What changes when recommendations arrive, computed off the UI thread; `adopt` applies it."""
        saved = self.recs
        self.recs = recs  # read-only use below; restored before returning
        try:
            rows = range(len(self))
            facet = [self._facet_value("recommendation", r) for r in rows]
            return {"recs": recs, "search": [self._search_text(r) for r in rows], "facet": facet,
                    "counts": _count(facet, False), "sort": [self._sort_key("recommendation", r) for r in rows]}
        finally:
            self.recs = saved

    def adopt(self, parts: dict[str, Any], changed_since: set[int]) -> None:
        self.recs = parts["recs"]
        self.search = parts["search"]
        self.facets["recommendation"] = parts["facet"]
        self.counts["recommendation"] = parts["counts"]
        self.sort_keys["recommendation"] = parts["sort"]
        self.orders.pop("recommendation", None)
        if changed_since:  # rows decided while the worker ran were read before their change
            self._recompute_rows(sorted(changed_since))

    # -- questions -----------------------------------------------------------------------
    def value(self, column: str, row: int) -> Any:
        if column == "recommendation":
            rec = self.recs.get(self.cols["key"][row])
            return rec.get("recommendation") if rec else None
        return self.cols[column][row]

    def order(self, column: str) -> list[int]:
        """Rows sorted by `column`, ties by name (cached until the column's values change)."""
        cached = self.orders.get(column)
        if cached is not None:
            return cached
        keys = self.sort_keys[column] if column in self.sort_keys else \
            [self._sort_key(column, r) for r in range(len(self))]
        if column == "name":
            order = sorted(range(len(keys)), key=keys.__getitem__)
        else:  # a stable sort of the name order gives (value, name) order with a C-level key
            order = sorted(self.order("name"), key=keys.__getitem__)
        self.orders[column] = order
        return order

    # -- changes (on the UI thread: only the changed rows) -------------------------------
    def update_rows(self, columns: dict[str, list[Any]]) -> list[int]:
        rows = []
        for i, key in enumerate(columns.get("key", [])):
            row = self.row_of.get(key)
            if row is None:
                continue
            for name, values in columns.items():
                if name in self.cols:
                    self.cols[name][row] = values[i]
            rows.append(row)
        if rows and self.prepared:
            self._recompute_rows(rows)
        return rows

    def _recompute_rows(self, rows: list[int]) -> None:
        for r in rows:
            self.search[r] = self._search_text(r)
        for facet, values in self.facets.items():
            multi = facet in MULTI_VALUED_FACETS
            counts = self.counts[facet]
            for r in rows:
                old, new = values[r], self._facet_value(facet, r)
                if old == new:
                    continue
                for v in (old if multi else (old,)):
                    counts[v] -= 1
                    if not counts[v]:
                        del counts[v]
                for v in (new if multi else (new,)):
                    counts[v] = counts.get(v, 0) + 1
                values[r] = new
        moved: dict[str, list[int]] = {}
        for column, keys in self.sort_keys.items():
            for r in rows:
                new = self._sort_key(column, r)
                if keys[r] != new:
                    moved.setdefault(column, []).append(r)
                keys[r] = new
        if "name" in moved:  # every order breaks ties by name
            self.orders.clear()
            return
        for column, changed in moved.items():
            order = self.orders.get(column)
            if order is None:
                continue
            if len(changed) > INCREMENTAL_LIMIT:
                del self.orders[column]
                continue
            keys, names = self.sort_keys[column], self.sort_keys["name"]
            gone = set(changed)
            kept = [r for r in order if r not in gone]
            for r in changed:
                bisect.insort(kept, r, key=lambda x, k=keys, n=names: (k[x], n[x]))
            self.orders[column] = kept

    # -- per row -------------------------------------------------------------------------
    def _sort_key(self, column: str, row: int) -> Any:
        value = self.value(column, row)
        if column in NUMERIC:
            return value or 0
        if column == "enabled":
            return 2 if value else (1 if value is False else 0)
        if isinstance(value, list):
            return ",".join(value)
        return value.lower() if isinstance(value, str) else ""

    def _search_text(self, row: int) -> str:
        c = self.cols
        rec = self.value("recommendation", row) if self.recs else None
        return " ".join((c["name"][row], c["key"][row], c["display_name"][row] or "", c["upn"][row] or "",
                         c["description"][row] or "", c["kind"][row], c["decision"][row], " ".join(c["tags"][row]),
                         rec or "")).lower()

    def _facet_value(self, facet: str, row: int) -> Any:
        c = self.cols
        if facet == "source":
            return c["sources"][row]
        if facet == "tags":
            return c["tags"][row]
        if facet == "recommendation":
            return self.value("recommendation", row) or "none"
        if facet == "status":
            return self.status(row)
        return c[facet][row] or ""

    def status(self, row: int) -> list[str]:
        """Stale / never used, expired / expiring credential, disabled, needs review, vanished.

        ISO 8601 UTC timestamps compare as text, so no date is parsed per row.
        """
        c = self.cols
        out = []
        last = c["last_used"][row]
        if last is None:
            out.append(STATUS_NEVER_USED)
        elif last < self.stale_before:
            out.append(STATUS_STALE)
        expiry = c["soonest_expiry"][row]
        if expiry is not None:
            if expiry < self.now_text:
                out.append(STATUS_EXPIRED)
            elif expiry < self.expiring_before:
                out.append(STATUS_EXPIRING)
        if c["enabled"][row] is False:
            out.append(STATUS_DISABLED)
        if c["needs_review"][row]:
            out.append(STATUS_REVIEW)
        if c["vanished"][row]:
            out.append(STATUS_VANISHED)
        return out


def _count(values: list[Any], multi: bool) -> dict[str, int]:
    counts: dict[str, int] = {}
    if multi:
        for value in values:
            for v in value:
                counts[v] = counts.get(v, 0) + 1
    else:
        for v in values:
            counts[v] = counts.get(v, 0) + 1
    return counts
