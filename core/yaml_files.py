"""Reading a YAML file a user gave: one clear error naming the file (and line) when it can't be."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import BadInput


def read_yaml(path: Path, encoding: str = "utf-8") -> tuple[str, Any]:
    """(text, parsed document); BadInput for a missing, unreadable or malformed file."""
    try:
        text = path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise BadInput(str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(str(path), f"cannot read: {exc}") from None
    try:
        return text, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BadInput(f"{path}:{mark.line + 1}" if mark else str(path),
                       f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
