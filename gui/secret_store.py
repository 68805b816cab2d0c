"""Secrets for live connections: the OS keyring, or what the user types, never settings or logs.

Entries use the same service name and account forms as the command line, so a
secret stored once works for both: SCIM — the base URL; Entra — "tenant/client
id"; LDAP — "URL|bind DN". A machine without a usable keyring (a bare
container) simply has no stored secrets: the wizard then asks each time.
"""

from __future__ import annotations

KEYRING_SERVICE = "nhiplan"


def account_for(source: str, params: dict[str, str]) -> str:
    if source == "scim":
        return params.get("url", "").rstrip("/")
    if source == "entra":
        return f"{params.get('tenant', '')}/{params.get('client_id', '')}"
    return f"{params.get('url', '').rstrip('/')}|{params.get('bind_dn', '')}"


def keyring_available() -> bool:
    try:
        import keyring
        from keyring.backends import fail

        return not isinstance(keyring.get_keyring(), fail.Keyring)
    except Exception:  # keyring missing or broken: the same as having none
        return False


def load_secret(source: str, params: dict[str, str]) -> str | None:
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, account_for(source, params))
    except Exception:  # no backend, a locked one, or a refused unlock: ask instead
        return None


def store_secret(source: str, params: dict[str, str], secret: str) -> bool:
    """Keep `secret` in the keyring; False (and nothing stored anywhere) when there is none."""
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, account_for(source, params), secret)
        return True
    except Exception:
        return False
