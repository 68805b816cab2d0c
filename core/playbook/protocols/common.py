"""Small text helpers shared by the artifact writers: quoting, names, durations, JSON."""

from __future__ import annotations

import json
import re
import shlex

from ..model import Artifact

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def json_text(doc: object) -> str:
    """JSON as it goes into a plan: indented, key order as written, one trailing newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def env_name(name: str) -> str:
    """A name as a shell/placeholder variable: WEB_AGENT for web-agent."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper()).strip("_") or "X"


def ps_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sh_quote(text: str) -> str:
    return shlex.quote(text)


def seconds(duration: str) -> int:
    """'15m' -> 900. Durations are validated by core.decisions before they get here."""
    return int(duration[:-1]) * UNITS[duration[-1]]


def hours(duration: str) -> str:
    """A duration in whole hours (at least 1), as Vault and most tools accept it: '30d' -> '720h'."""
    return f"{max(1, seconds(duration) // 3600)}h"


def days(duration: str) -> int:
    return max(1, seconds(duration) // 86400)


def minutes(duration: str) -> int:
    return max(1, seconds(duration) // 60)


def artifact(kind: str, media_type: str, content: str, title: str) -> Artifact:
    if not content.endswith("\n"):
        content += "\n"
    return Artifact(kind, media_type, content, title)


def powershell(content: str, title: str) -> Artifact:
    return artifact("powershell", "text/x-powershell", content, title)


def shell(content: str, title: str) -> Artifact:
    return artifact("shell", "text/x-shellscript", content, title)


def http_request(method: str, url: str, body: object | None, title: str, kind: str = "http-request",
                 headers: dict[str, str] | None = None, response: dict[str, str] | None = None) -> Artifact:
    """A request an engineer sends as written: {method, url, headers?, body?, response?}.

    `response` names the placeholders that the response fills (placeholder -> JSON field),
    so later steps can use them: {"${APP_ID}": "appId"}.
    """
    doc: dict[str, object] = {"method": method, "url": url}
    if headers:
        doc["headers"] = headers
    if body is not None:
        doc["body"] = body
    if response:
        doc["response"] = response
    return artifact(kind, "application/json", json_text(doc), title)
