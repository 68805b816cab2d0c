"""Artifacts of plan steps: request bodies, configurations, scripts and rules.

Everything here is deterministic text (no dates, no random ids), so that the
same project gives a byte-identical plan. Values an engineer must supply at run
time are written as ``${NAME}`` placeholders and named in the step.
"""

from __future__ import annotations

import json
import re
import uuid

import yaml

from ..decisions import AgentSpecData
from .model import Artifact
from .snapshot import IdentityFacts

# Namespace for the Sigma rule ids: uuid5 of the identity key keeps them stable.
SIGMA_NAMESPACE = uuid.UUID("6f0c5c1e-8a53-4d8e-9b8e-2f1f7a1c9b10")

AUTH_METHOD = {
    "private_key_jwt": "private_key_jwt",
    "mtls": "tls_client_auth",
    "federated": "private_key_jwt",
    "client_secret": "client_secret_post",
}
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def _json(doc: object) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _ps_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sam(f: IdentityFacts) -> str:
    return f.name


def inventory_query(f: IdentityFacts) -> Artifact:
    if f.kind in ("gmsa", "smsa", "dmsa"):
        cmd = (f"Get-ADServiceAccount -Identity {_ps_quote(_sam(f))} -Server {f.authority} -Properties "
               "ServicePrincipalNames,PrincipalsAllowedToRetrieveManagedPassword,msDS-AllowedToDelegateTo,"
               "LastLogonTimestamp,MemberOf")
    else:
        cmd = (f"Get-ADUser -Identity {_ps_quote(_sam(f))} -Server {f.authority} -Properties "
               "ServicePrincipalNames,msDS-AllowedToDelegateTo,LastLogonTimestamp,PwdLastSet,MemberOf,ManagedBy")
    return Artifact("powershell", "text/x-powershell", cmd + "\n", "Current state of the account")


def registration(f: IdentityFacts, a: AgentSpecData, target: str) -> list[Artifact]:
    grant_types = ["client_credentials"] + ([TOKEN_EXCHANGE] if a.delegation == "on-behalf-of" else [])
    if target == "entra":
        app = {
            "displayName": a.name,
            "description": (a.purpose or f"Agent identity split from {f.name}")[:1024],
            "signInAudience": "AzureADMyOrg",
            "tags": ["nhiplan", "agent", f"replaces:{f.name}"],
            "notes": f"Split from {f.key}. Delegation: {a.delegation}. Action classes: "
                     f"{', '.join(a.action_classes) or 'none'}.",
        }
        return [
            Artifact("graph-request", "application/json", _json({"method": "POST", "url": "/v1.0/applications",
                                                                  "body": app}),
                     "Create the app registration"),
            Artifact("graph-request", "application/json", _json({
                "method": "POST", "url": "/v1.0/servicePrincipals",
                "body": {"appId": "${APP_ID}", "tags": ["nhiplan", "agent"]}}),
                "Create its service principal (APP_ID from the previous response)"),
        ]
    if target == "keycloak":
        client = {
            "clientId": a.name, "name": a.name, "description": a.purpose or f"split from {f.name}",
            "protocol": "openid-connect", "publicClient": False, "serviceAccountsEnabled": True,
            "standardFlowEnabled": False, "directAccessGrantsEnabled": False,
            "clientAuthenticatorType": {"private_key_jwt": "client-jwt", "federated": "federated-jwt",
                                        "mtls": "client-x509", "client_secret": "client-secret"}[a.credential],
            "attributes": {"access.token.lifespan": str(_seconds(a.lifetime)),
                           "standard.token.exchange.enabled": str(a.delegation == "on-behalf-of").lower()},
            "defaultClientScopes": list(a.scopes),
        }
        return [Artifact("keycloak-client", "application/json", _json(client),
                         "POST /admin/realms/${REALM}/clients")]
    if target == "okta":
        app = {
            "name": "oidc_client", "label": a.name, "signOnMode": "OPENID_CONNECT",
            "credentials": {"oauthClient": {"token_endpoint_auth_method": AUTH_METHOD[a.credential]}},
            "settings": {"oauthClient": {"application_type": "service", "grant_types": grant_types,
                                         "response_types": ["token"]}},
        }
        return [Artifact("okta-app", "application/json", _json(app), "POST /api/v1/apps")]
    body: dict[str, object] = {
        "client_name": a.name,
        "grant_types": grant_types,
        "response_types": [],
        "token_endpoint_auth_method": AUTH_METHOD[a.credential],
        "scope": " ".join(a.scopes),
        "software_id": "nhiplan-agent",
        "software_version": f.key,
    }
    if a.credential in ("private_key_jwt", "federated"):
        body["jwks_uri"] = "${AGENT_JWKS_URI}"
    return [Artifact("rfc7591-registration", "application/json", _json(body),
                     "POST to the provider's registration_endpoint (RFC 7591)")]


def _seconds(duration: str) -> int:
    n, unit = int(duration[:-1]), duration[-1]
    return n * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]


def credential_text(a: AgentSpecData) -> str:
    return {
        "private_key_jwt": (f"{a.name} signs a JWT client assertion (RFC 7523) with a private key that never "
                            f"leaves its host; the provider knows only the public key. Tokens live {a.lifetime}."),
        "mtls": f"{a.name} authenticates with a client certificate (RFC 8705); tokens are bound to it and live "
                f"{a.lifetime}.",
        "federated": f"{a.name} presents its platform's workload token (workload identity federation); no "
                     f"secret exists at all. Tokens live {a.lifetime}.",
        "client_secret": f"{a.name} uses a client secret: a last resort, flagged for replacement; it is stored "
                         f"only in the secret manager and rotated. Tokens live {a.lifetime}.",
    }[a.credential]


def credential(f: IdentityFacts, a: AgentSpecData, target: str) -> list[Artifact]:
    if a.credential in ("private_key_jwt", "federated"):
        script = (
            f"# Generate the key pair of {a.name} on its host; publish only the public JWK.\n"
            f"openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out {a.name}.key.pem\n"
            f"openssl pkey -in {a.name}.key.pem -pubout -out {a.name}.pub.pem\n"
            f"chmod 600 {a.name}.key.pem\n"
        )
        return [Artifact("shell", "text/x-shellscript", script, "Key pair for private_key_jwt")]
    if a.credential == "mtls":
        script = (
            f"openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {a.name}.key.pem "
            f"-subj '/CN={a.name}' -out {a.name}.csr\n"
            f"# Have the internal CA sign {a.name}.csr; register the certificate's subject DN with the client.\n"
        )
        return [Artifact("shell", "text/x-shellscript", script, "Client certificate request for mTLS")]
    return [Artifact("note", "text/plain", f"Create a client secret for {a.name} and store it only in the secret "
                     "manager; set its expiry to 90 days or less.\n", "Client secret (last resort)")]


def grant(f: IdentityFacts, a: AgentSpecData, target: str) -> list[Artifact]:
    doc = {"client": a.name, "scopes": list(a.scopes), "action_classes": list(a.action_classes),
           "delegation": a.delegation}
    if a.delegation == "on-behalf-of":
        doc["token_exchange"] = {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "actor_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "may_act": {"sub": a.name},
        }
    return [Artifact("grant", "application/json", _json(doc), "Scopes and delegation of the agent")]


def cutover(f: IdentityFacts, a: AgentSpecData) -> list[Artifact]:
    env = (
        f"# Workload configuration for {a.name} (replaces {f.name})\n"
        f"OAUTH_CLIENT_ID=${{{_env(a.name)}_CLIENT_ID}}\n"
        f"OAUTH_TOKEN_ENDPOINT=${{TOKEN_ENDPOINT}}\n"
        f"OAUTH_AUTH_METHOD={AUTH_METHOD[a.credential]}\n"
        f"OAUTH_SCOPE={' '.join(a.scopes)}\n"
        f"AGENT_ID={a.name}\n"
    )
    return [Artifact("env", "text/plain", env, "Workload settings")]


def _env(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def logon_query(f: IdentityFacts) -> Artifact:
    query = (f"Get-ADUser -Identity {_ps_quote(_sam(f))} -Server {f.authority} -Properties LastLogonTimestamp | "
             "Select-Object Name,@{n='LastLogon';e={[datetime]::FromFileTimeUtc($_.LastLogonTimestamp)}}\n")
    return Artifact("powershell", "text/x-powershell", query, "Last logon of the account")


def sigma_rule(f: IdentityFacts) -> Artifact:
    rule = {
        "title": f"Use of decommissioned service account {f.name}",
        "id": str(uuid.uuid5(SIGMA_NAMESPACE, f.key)),
        "status": "stable",
        "description": (f"{f.name} ({f.key}) was moved off by the nhiplan migration; any successful logon "
                        "after its cutover date means a consumer was missed or the account is abused."),
        "references": ["https://owasp.org/www-project-non-human-identities-top-10/"],
        "author": "nhiplan",
        "tags": ["attack.persistence", "attack.t1078.002"],
        "logsource": {"product": "windows", "service": "security"},
        "detection": {
            "selection": {"EventID": [4624, 4768, 4769], "TargetUserName": f.name},
            "condition": "selection",
        },
        "falsepositives": ["The rollback of this migration step"],
        "level": "high",
    }
    return Artifact("sigma-rule", "application/yaml", yaml.safe_dump(rule, sort_keys=False, allow_unicode=True),
                    "Sigma rule")


def disable(f: IdentityFacts) -> list[Artifact]:
    cmd = (f"Disable-ADAccount -Identity {_ps_quote(_sam(f))} -Server {f.authority}\n"
           if f.kind not in ("gmsa", "smsa", "dmsa") else
           f"Set-ADServiceAccount -Identity {_ps_quote(_sam(f))} -Server {f.authority} -Enabled $false\n")
    return [Artifact("powershell", "text/x-powershell", cmd, "Disable the account")]


def remove(f: IdentityFacts) -> list[Artifact]:
    if f.kind in ("gmsa", "smsa", "dmsa"):
        cmd = f"Remove-ADServiceAccount -Identity {_ps_quote(_sam(f))} -Server {f.authority} -Confirm:$false\n"
    else:
        cmd = f"Remove-ADUser -Identity {_ps_quote(_sam(f))} -Server {f.authority} -Confirm:$false\n"
    return [Artifact("powershell", "text/x-powershell", cmd, "Delete the account")]


def rotation(f: IdentityFacts, rotation: dict[str, str]) -> list[Artifact]:
    via, every = rotation["via"], rotation["every"]
    role = _env(f.name.rstrip("$")).lower()
    if via == "vault":
        cmd = (
            "# Vault LDAP secrets engine: a static role that rotates the account's password.\n"
            f"vault write ldap/static-role/{role} \\\n"
            f"    dn={json.dumps(f.dn or '${ACCOUNT_DN}')} \\\n"
            f"    username={json.dumps(f.name)} \\\n"
            f"    rotation_period={every}\n"
            f"vault read ldap/static-cred/{role}\n"
        )
        return [Artifact("vault-config", "text/x-shellscript", cmd, "Vault static role")]
    if via == "doppler":
        cmd = (f"doppler secrets set {_env(f.name)}_PASSWORD --project ${{DOPPLER_PROJECT}} --config prd\n"
               f"# Rotation every {every}: a Doppler rotated secret with the Active Directory / LDAP integration.\n")
        return [Artifact("doppler", "text/x-shellscript", cmd, "Doppler secret")]
    if via == "1password":
        cmd = (f"op item create --category login --title {json.dumps(f.name)} --vault ${{OP_VAULT}} "
               f"username={json.dumps(f.name)}\n"
               f"# A 1Password service account with read access to this vault serves the consumers; "
               f"rotate every {every}.\n")
        return [Artifact("1password", "text/x-shellscript", cmd, "1Password item")]
    if via == "gmsa":
        cmd = (f"New-ADServiceAccount -Name {_ps_quote(f.name.rstrip('$') + '-g')} -DNSHostName "
               f"{_ps_quote(f.name.rstrip('$') + '.' + f.authority)} -ManagedPasswordIntervalInDays "
               f"{max(1, int(every[:-1]) if every.endswith('d') else 30)} "
               "-PrincipalsAllowedToRetrieveManagedPassword ${CONSUMER_HOSTS}\n")
        return [Artifact("powershell", "text/x-powershell", cmd, "Move to a gMSA")]
    return [Artifact("note", "text/plain", f"Rotate the password of {f.name} by hand every {every}.\n",
                     "Manual rotation")]


def hardening_text(f: IdentityFacts) -> str:
    parts = []
    if "TRUSTED_FOR_DELEGATION" in f.flags:
        parts.append("Replace unconstrained delegation with constrained delegation to the services it needs.")
    if "DONT_REQ_PREAUTH" in f.flags:
        parts.append("Require Kerberos pre-authentication.")
    if "PASSWD_NOTREQD" in f.flags:
        parts.append("Require a password.")
    if "RC4_ONLY" in f.flags:
        parts.append("Allow AES Kerberos encryption types only.")
    return " ".join(parts) or "No risky account flags need clearing."


def hardening(f: IdentityFacts) -> list[Artifact]:
    lines = []
    sam = _ps_quote(_sam(f))
    if "TRUSTED_FOR_DELEGATION" in f.flags:
        lines.append(f"Set-ADAccountControl -Identity {sam} -Server {f.authority} -TrustedForDelegation $false")
    if "DONT_REQ_PREAUTH" in f.flags:
        lines.append(f"Set-ADAccountControl -Identity {sam} -Server {f.authority} -DoesNotRequirePreAuth $false")
    if "PASSWD_NOTREQD" in f.flags:
        lines.append(f"Set-ADAccountControl -Identity {sam} -Server {f.authority} -PasswordNotRequired $false")
    if "RC4_ONLY" in f.flags:
        lines.append(f"Set-ADUser -Identity {sam} -Server {f.authority} "
                     "-KerberosEncryptionType AES128,AES256")
    if not lines:
        lines.append(f"# {f.name}: no risky flags to clear")
    return [Artifact("powershell", "text/x-powershell", "\n".join(lines) + "\n", "Hardening")]
