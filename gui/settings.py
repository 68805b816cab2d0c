"""Every setting of the desktop app, declared in one registry over QSettings.

Each setting has a name, a default and a type; values are stored as JSON text so
that lists and mappings survive every QSettings backend (the INI backend on
Linux returns plain strings). Secrets never go here: bind passwords, client
secrets and tokens live in the OS keyring or are asked for (gui/secret_store.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSettings


@dataclass(frozen=True, slots=True)
class Setting:
    name: str  # the QSettings key, "group/name"
    default: Any
    label: str  # what the settings dialog shows; empty for settings the app keeps by itself
    kind: type = str
    choices: tuple[str, ...] = ()
    minimum: int = 0
    maximum: int = 100000


REGISTRY: dict[str, Setting] = {s.name: s for s in (
    # what the user sets in Settings
    Setting("inventory/stale_after_days", 90, "An identity is stale when unused for (days)", int, minimum=1),
    Setting("inventory/expiring_within_days", 30, "A credential is expiring within (days)", int, minimum=1),
    Setting("inventory/show_people", False, "Show people in the inventory", bool),
    Setting("graph/hops", 1, "Graph neighbourhood (hops)", int, minimum=1, maximum=2),
    Setting("plan/target", "generic", "Default plan target", str, ("generic", "entra", "okta", "keycloak")),
    Setting("plan/format", "yaml", "Default export format", str),
    Setting("plan/author", "", "Author named in exported plans", str),
    Setting("plan/logo", "", "Logo image for exported plans", str),
    # what the app remembers by itself
    Setting("projects/recent", [], "", list),
    Setting("paths/last_folder", "", "", str),
    Setting("window/geometry", "", "", str),
    Setting("window/state", "", "", str),
    Setting("window/splitter", "", "", str),
    Setting("inventory/hidden_columns", ["key", "display_name", "upn", "sources"], "", list),
    Setting("inventory/saved_filters", {}, "", dict),
    Setting("connections/ldap", {}, "", dict),  # url, base, bind dn, tls options: never the password
    Setting("connections/scim", {}, "", dict),  # url: never the token
    Setting("connections/entra", {}, "", dict),  # tenant, client id, authority: never the secret
)}

MAX_RECENT = 10


class Settings:
    """Typed access to the registry; unknown names are a programming error."""

    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings or QSettings()

    def get(self, name: str) -> Any:
        setting = REGISTRY[name]
        raw = self.q.value(name)
        if raw is None or raw == "":
            return _copy(setting.default)
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return _copy(setting.default)
        if setting.kind is int:
            try:
                return max(setting.minimum, min(setting.maximum, int(value)))
            except (TypeError, ValueError):
                return setting.default
        if not isinstance(value, setting.kind):
            return _copy(setting.default)
        if setting.choices and value not in setting.choices:
            return setting.default
        return value

    def set(self, name: str, value: Any) -> None:
        REGISTRY[name]  # an unknown name raises here, not silently later
        self.q.setValue(name, json.dumps(value))

    def add_recent_project(self, path: str) -> list[str]:
        recent = [p for p in self.get("projects/recent") if p != path]
        recent.insert(0, path)
        del recent[MAX_RECENT:]
        self.set("projects/recent", recent)
        return recent

    def user_settings(self) -> list[Setting]:
        return [s for s in REGISTRY.values() if s.label]

    def sync(self) -> None:
        self.q.sync()


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value))
