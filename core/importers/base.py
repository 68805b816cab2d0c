"""The importer plug-in contract.

An importer only parses and normalises. It declares its name, the source kind it
produces (the `sources` values of CONTRACT.md), what it reads, its options, and
two functions: `detect` (is this file mine? by content, not only by name) and
`read` (yield batches of normalised records). It knows nothing of the database;
`core.ingest` writes what it yields in one transaction.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Cancelled
from ..records import ImportWarning, Record

BATCH_SIZE = 1000  # rows per yielded batch: big enough to amortise, small enough to stream


@dataclass(frozen=True, slots=True)
class ImporterOption:
    name: str
    help: str
    default: Any = None


@dataclass(slots=True)
class ImportContext:
    """What an importer may use while reading: options, progress, cancel, warnings."""

    options: dict[str, Any] = field(default_factory=dict)
    progress: Callable[[int, int | None, str], None] | None = None  # (done, total or None, message)
    is_cancelled: Callable[[], bool] | None = None
    warnings: list[ImportWarning] = field(default_factory=list)

    def warn(self, source_record: str, message: str) -> None:
        self.warnings.append(ImportWarning(source_record, message))

    def report(self, done: int, total: int | None = None, message: str = "") -> None:
        if self.progress is not None:
            self.progress(done, total, message)

    def check_cancelled(self, what: str = "import") -> None:
        if self.is_cancelled is not None and self.is_cancelled():
            raise Cancelled(what)


class Importer(abc.ABC):
    """One source format. Subclasses set the class attributes and implement read()."""

    name: str  # the --format value: 'ldif', 'ad-csv', ...
    source_kind: str  # what `sources` shows: 'ldif', 'ldap', 'scim-json', ...
    family: str  # 'ad', 'entra', 'scim': a re-import of the same family+authority replaces its facts
    reads: str  # one line for humans: "LDIF from ldapsearch or ldifde"
    options: tuple[ImporterOption, ...] = ()

    def detect(self, path: Path, head: bytes) -> bool:  # pragma: no cover - overridden
        """True when `head` (the first 64 KiB of `path`) is in this format."""
        return False

    @abc.abstractmethod
    def read(self, path: Path, ctx: ImportContext) -> Iterator[list[Record]]:
        """Yield batches of records; raise BadInput naming the file, line or record."""
