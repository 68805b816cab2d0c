"""Creating and opening projects."""

from __future__ import annotations

from pathlib import Path

from ..errors import BadInput
from ..store import Store, open_store


def init_project(target: str | Path, name: str | None = None, client: str | None = None) -> Store:
    text = str(target)
    if "://" not in text and Path(text).exists() and Path(text).stat().st_size > 0:
        raise BadInput(text, "already exists; open it, or choose another name")
    return open_store(target, create=True, name=name, client=client)


def open_project(target: str | Path) -> Store:
    return open_store(target)
