"""Small helpers the service modules share: callback types, date text, column conversion."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

ProgressFn = Callable[[int, int | None, str], None]
CancelFn = Callable[[], bool]


def iso_z(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def memo_map(values: list[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """convert() applied to each value, computed once per distinct value (inventories repeat a lot)."""
    cache: dict[Any, Any] = {}
    out = []
    for v in values:
        try:
            out.append(cache[v])
        except KeyError:
            out.append(cache.setdefault(v, convert(v)))
    return out


def sorted_json_list(text: Any) -> list[str]:
    if text is None:
        return []
    value = json.loads(text) if isinstance(text, str) else text
    return sorted(value or ())


def iso_text(value: Any) -> str | None:
    """A stored UTC timestamp (SQLite text, or a datetime from other databases) as ISO 8601 with Z."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return iso_z(value if value.tzinfo else value.replace(tzinfo=UTC))
    parsed = datetime.fromisoformat(str(value))
    return iso_z(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


KEYS_PER_QUERY = 900
