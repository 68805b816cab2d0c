"""Errors a user can cause, and how they are said.

Every error here is the user's (bad input, unreachable source, cancelled work)
and is shown as one line, never a traceback. Anything else is a bug.
"""

from __future__ import annotations


class NhiplanError(Exception):
    """Base of errors that reach the user as one clear line."""

    exit_code = 2


class BadInput(NhiplanError):
    """Input that cannot be used: names where (file, line or record) and why."""

    def __init__(self, where: str, reason: str):
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}" if where else reason)


class SourceUnavailable(NhiplanError):
    """A live source that cannot be read: unreachable, refused, untrusted, lost."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class Cancelled(NhiplanError):
    """The user cancelled a long operation; nothing was written."""

    def __init__(self, what: str = "operation"):
        super().__init__(f"{what} cancelled; nothing was written")


class NotFound(NhiplanError):
    """A named thing (identity, project) does not exist."""


class Ambiguous(NhiplanError):
    """A name matches several identities; the keys are listed."""

    def __init__(self, name: str, keys: list[str]):
        self.name = name
        self.keys = keys
        super().__init__(f"'{name}' is ambiguous; use one of the keys: {', '.join(keys)}")
