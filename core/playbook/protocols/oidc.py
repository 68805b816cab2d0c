"""OAuth 2.x / OpenID Connect artifacts of a split: one client per agent, at each target.

- generic: an RFC 7591 dynamic client registration body, client authentication by
  private_key_jwt (RFC 7523), tls_client_auth (RFC 8705), a workload platform's
  assertion (federation) or, flagged, client_secret_post; token exchange per RFC 8693;
- entra: Microsoft Graph requests (application, service principal, Agent ID agent
  identity, key / federated identity credential, app role assignments, on-behalf-of);
- keycloak: an admin REST client representation (client-jwt, client-x509,
  federated-jwt, client-secret), client scopes, standard token exchange;
- okta: Apps API service app (private_key_jwt or client secret; Okta has no mTLS or
  federated client authentication, so those fall back to private_key_jwt), and an
  authorization server policy rule carrying the grants and the token lifetime.

Key material is made on the agent's host by the commands in the provision step; its
outputs (`<AGENT>_KID`, `<AGENT>_JWK_N`, ...) fill the placeholders of later artifacts.
"""

from __future__ import annotations

from ...decisions import AgentSpecData
from ..model import Artifact
from ..snapshot import IdentityFacts
from .common import artifact, env_name, http_request, json_text, minutes, seconds, shell

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

AUTH_METHOD = {
    "private_key_jwt": "private_key_jwt",
    "mtls": "tls_client_auth",
    "federated": "private_key_jwt",
    "client_secret": "client_secret_post",
}
KEYCLOAK_AUTHENTICATOR = {
    "private_key_jwt": "client-jwt",
    "mtls": "client-x509",
    "federated": "federated-jwt",
    "client_secret": "client-secret",
}
# Entra refuses access token lifetimes under 10 minutes; Okta under 5.
ENTRA_MIN_LIFETIME_S = 600
OKTA_MIN_LIFETIME_MIN = 5


def var(a: AgentSpecData, what: str) -> str:
    """The placeholder of one value of agent `a`: ${WEB_AGENT_CLIENT_ID}."""
    return "${" + f"{env_name(a.name)}_{what}" + "}"


def effective_credential(a: AgentSpecData, target: str) -> str:
    """The credential the target can really do: Okta has no mTLS or federated client authentication."""
    if target == "okta" and a.credential in ("mtls", "federated"):
        return "private_key_jwt"
    return a.credential


def grant_types(a: AgentSpecData) -> list[str]:
    return ["client_credentials"] + ([TOKEN_EXCHANGE] if a.delegation == "on-behalf-of" else [])


def jwk_template(a: AgentSpecData) -> dict[str, str]:
    """The agent's public key as a JWK, filled from the key commands' output (RFC 7517)."""
    return {"kty": "RSA", "use": "sig", "kid": var(a, "KID"), "x5t": var(a, "KID"), "n": var(a, "JWK_N"),
            "e": "AQAB"}


def key_script(a: AgentSpecData, credential: str) -> Artifact:
    """Commands an engineer runs on the agent's host: the private key never leaves it."""
    n = a.name
    v = env_name(a.name)
    if credential == "mtls":
        script = (
            f"# On the host of {n}: key pair and a certificate request for the internal CA (RFC 8705 mTLS).\n"
            "set -eu\n"
            f"openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out {n}.key.pem\n"
            f"chmod 600 {n}.key.pem\n"
            f"openssl req -new -key {n}.key.pem -subj '/CN={n}' -out {n}.csr\n"
            f"# Have the internal CA sign {n}.csr into {n}.cert.pem; the client is registered by its subject DN.\n"
            f"printf '{v}_SUBJECT_DN=%s\\n' 'CN={n}' > {n}.env\n"
        )
        return shell(script, f"Key pair and certificate request of {n} (run on its host)")
    script = (
        f"# On the host of {n}: an RSA key pair and a self-signed certificate carrying the public key.\n"
        f"# Writes {n}.env with the values the registration needs; the private key stays here.\n"
        "set -eu\n"
        f"openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out {n}.key.pem\n"
        f"chmod 600 {n}.key.pem\n"
        f"openssl req -new -x509 -key {n}.key.pem -subj '/CN={n}' -days 365 -out {n}.cert.pem\n"
        "b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }\n"
        f"KID=$(openssl x509 -in {n}.cert.pem -outform DER | openssl dgst -sha1 -binary | b64url)\n"
        "# The modulus of a 2048-bit RSA key sits at bytes 34..289 of its DER SubjectPublicKeyInfo.\n"
        f"N=$(openssl pkey -in {n}.key.pem -pubout -outform DER | tail -c +34 | head -c 256 | b64url)\n"
        f"SHA1=$(openssl x509 -in {n}.cert.pem -noout -fingerprint -sha1 | cut -d= -f2 | tr -d ':')\n"
        f"CERT=$(openssl x509 -in {n}.cert.pem -outform DER | openssl base64 -A)\n"
        f"printf '{v}_KID=%s\\n{v}_JWK_N=%s\\n{v}_CERT_SHA1=%s\\n{v}_CERT_B64=%s\\n' "
        "\"$KID\" \"$N\" \"$SHA1\" \"$CERT\" > " + f"{n}.env\n"
    )
    return shell(script, f"Key pair of {n} (run on its host)")


def _key_based(credential: str) -> bool:
    return credential in ("private_key_jwt", "mtls")


# -- provision: the client itself -------------------------------------------------------------

def registration(f: IdentityFacts, a: AgentSpecData, target: str) -> list[Artifact]:
    cred = effective_credential(a, target)
    keys = [key_script(a, cred)] if _key_based(cred) else []
    if target == "entra":
        return keys + _entra_registration(f, a)
    if target == "keycloak":
        return [*keys, http_request("POST", "/admin/realms/${KEYCLOAK_REALM}/clients", keycloak_client(f, a),
                                    "Create the client (Keycloak admin REST API)", kind="keycloak-admin-request")]
    if target == "okta":
        return [*keys, http_request("POST", "/api/v1/apps", okta_app(f, a), "Create the service app (Okta Apps API)",
                                    kind="okta-request",
                                    response={var(a, "CLIENT_ID"): "credentials.oauthClient.client_id",
                                              var(a, "APP_ID"): "id"})]
    return [*keys, artifact("rfc7591-registration", "application/json", json_text(rfc7591_body(f, a)),
                            "POST to the provider's registration_endpoint (RFC 7591); the response's client_id "
                            f"is {var(a, 'CLIENT_ID')}")]


def rfc7591_body(f: IdentityFacts, a: AgentSpecData) -> dict[str, object]:
    body: dict[str, object] = {
        "client_name": a.name,
        "grant_types": grant_types(a),
        "response_types": [],
        "token_endpoint_auth_method": AUTH_METHOD[a.credential],
    }
    if a.scopes:
        body["scope"] = " ".join(a.scopes)
    if a.credential == "private_key_jwt":
        body["jwks"] = {"keys": [jwk_template(a)]}
    elif a.credential == "mtls":
        body["tls_client_auth_subject_dn"] = f"CN={a.name}"
    elif a.credential == "federated":
        # The workload platform (Kubernetes, SPIFFE, a cloud) signs the client assertions; the
        # provider verifies them with the platform's published keys.
        body["jwks_uri"] = "${WORKLOAD_ISSUER_JWKS_URI}"
    body["software_id"] = "nhiplan-agent"
    return body


def _entra_registration(f: IdentityFacts, a: AgentSpecData) -> list[Artifact]:
    app = {
        "displayName": a.name,
        "description": (a.purpose or f"Agent identity split from {f.name}")[:1024],
        "signInAudience": "AzureADMyOrg",
        "tags": ["nhiplan", "agent", f"replaces:{f.name}"],
        "notes": (f"Split from {f.key}. Delegation: {a.delegation}. Action classes: "
                  f"{', '.join(a.action_classes) or 'none'}."),
    }
    out = [
        http_request("POST", "/v1.0/applications", app, "Create the app registration", kind="graph-request",
                     response={var(a, "APP_ID"): "appId", var(a, "APP_OBJECT_ID"): "id"}),
        http_request("POST", "/v1.0/servicePrincipals", {"appId": var(a, "APP_ID"), "tags": ["nhiplan", "agent"]},
                     "Create its service principal", kind="graph-request", response={var(a, "SP_ID"): "id"}),
    ]
    agent_identity: dict[str, object] = {
        "displayName": a.name,
        "agentIdentityBlueprintId": "${AGENT_BLUEPRINT_APP_ID}",
        "sponsors@odata.bind": ["https://graph.microsoft.com/v1.0/users/${SPONSOR_USER_ID}"],
    }
    out.append(http_request(
        "POST", "/v1.0/servicePrincipals/microsoft.graph.agentIdentity", agent_identity,
        "Or, where the tenant uses Microsoft Entra Agent ID: an agent identity from the blueprint instead of "
        "the two requests above", kind="graph-request", response={var(a, "SP_ID"): "id"}))
    return out


def keycloak_client(f: IdentityFacts, a: AgentSpecData) -> dict[str, object]:
    attributes = {"access.token.lifespan": str(seconds(a.lifetime))}
    if a.delegation == "on-behalf-of":
        attributes["standard.token.exchange.enabled"] = "true"
    if a.credential == "private_key_jwt":
        attributes.update({"use.jwks.string": "true",
                           "jwks.string": json_text({"keys": [jwk_template(a)]}).strip(),
                           "token.endpoint.auth.signing.alg": "RS256"})
    elif a.credential == "mtls":
        attributes.update({"x509.subjectdn": f"CN={a.name}", "x509.allow.regex.pattern.comparison": "false",
                           "tls.client.certificate.bound.access.tokens": "true"})
    elif a.credential == "federated":
        # Keycloak federated client authentication: assertions issued by an identity provider of the
        # realm (Kubernetes, SPIFFE or OIDC) whose `sub` is the workload.
        attributes.update({"jwt.credential.issuer": "${KEYCLOAK_IDP_ALIAS}",
                           "jwt.credential.sub": "${WORKLOAD_SUBJECT}"})
    return {
        "clientId": a.name, "name": a.name, "description": a.purpose or f"split from {f.name}",
        "protocol": "openid-connect", "publicClient": False, "serviceAccountsEnabled": True,
        "standardFlowEnabled": False, "implicitFlowEnabled": False, "directAccessGrantsEnabled": False,
        "clientAuthenticatorType": KEYCLOAK_AUTHENTICATOR[a.credential],
        "attributes": attributes,
    }


def okta_app(f: IdentityFacts, a: AgentSpecData) -> dict[str, object]:
    cred = effective_credential(a, "okta")
    oauth_settings: dict[str, object] = {"application_type": "service", "grant_types": grant_types(a),
                                         "response_types": ["token"]}
    if cred == "private_key_jwt":
        oauth_settings["jwks"] = {"keys": [jwk_template(a)]}
    return {
        "name": "oidc_client", "label": a.name, "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"autoKeyRotation": True,
                                        "token_endpoint_auth_method": AUTH_METHOD[cred]}},
        "settings": {"oauthClient": oauth_settings},
    }


# -- credential ------------------------------------------------------------------------------

def credential_text(a: AgentSpecData, target: str) -> str:
    cred = effective_credential(a, target)
    text = {
        "private_key_jwt": (f"{a.name} authenticates with a JWT client assertion (RFC 7523) signed by the key made "
                            "on its host; the provider holds only the public key."),
        "mtls": f"{a.name} authenticates with its client certificate (RFC 8705); its tokens are bound to it.",
        "federated": (f"{a.name} presents the token its platform issues to the workload (workload identity "
                      "federation): no secret exists at all."),
        "client_secret": (f"{a.name} uses a client secret: a last resort, flagged for replacement. It lives only in "
                          "the secret manager, expires within 90 days and is rotated."),
    }[cred]
    if cred != a.credential:
        text += (f" ({target} has no {a.credential} client authentication, so the plan uses {cred} "
                 "for this agent.)")
    return text + f" Access tokens live {a.lifetime}."


def client_assertion(a: AgentSpecData) -> Artifact:
    doc = {
        "header": {"alg": "RS256", "typ": "JWT", "kid": var(a, "KID")},
        "claims": {"iss": var(a, "CLIENT_ID"), "sub": var(a, "CLIENT_ID"), "aud": "${TOKEN_ENDPOINT}",
                   "jti": "${UNIQUE_ID}", "iat": "${NOW}", "exp": "${NOW_PLUS_300}"},
    }
    return artifact("jwt-template", "application/json", json_text(doc),
                    f"Client assertion of {a.name} (RFC 7523 section 3): sign with {a.name}.key.pem, new jti each time")


def token_request(a: AgentSpecData, target: str) -> Artifact:
    cred = effective_credential(a, target)
    form: dict[str, str] = {"grant_type": "client_credentials", "client_id": var(a, "CLIENT_ID")}
    if cred in ("private_key_jwt", "federated"):
        form["client_assertion_type"] = JWT_BEARER_ASSERTION
        form["client_assertion"] = var(a, "CLIENT_ASSERTION")
    elif cred == "client_secret":
        form["client_secret"] = var(a, "CLIENT_SECRET")
    if target == "entra":
        form["scope"] = "${RESOURCE_APP_ID_URI}/.default"
    elif a.scopes:
        form["scope"] = " ".join(a.scopes)
    return http_request("POST", "${TOKEN_ENDPOINT}", form,
                        f"Token request of {a.name} (client credentials"
                        + (", over mTLS with its certificate)" if cred == "mtls" else ")"),
                        kind="oauth-token-request", headers=FORM)


def credential(f: IdentityFacts, a: AgentSpecData, target: str) -> list[Artifact]:
    cred = effective_credential(a, target)
    out: list[Artifact] = []
    if target == "entra":
        out += _entra_credential(f, a)
    elif target == "keycloak" and cred == "client_secret":
        out.append(http_request("GET", "/admin/realms/${KEYCLOAK_REALM}/clients/" + var(a, "CLIENT_UUID")
                                + "/client-secret", None, "Read the generated secret straight into the secret "
                                "manager (never into a file or ticket)", kind="keycloak-admin-request"))
    elif target == "okta" and cred == "client_secret":
        out.append(http_request("POST", "/api/v1/apps/" + var(a, "APP_ID") + "/credentials/secrets", {},
                                "Generate the client secret (store it only in the secret manager)",
                                kind="okta-request"))
    elif target == "generic" and cred == "federated":
        out.append(artifact("note", "text/plain",
                            f"Configure the workload platform of {a.name} to issue it a token with iss = sub = "
                            f"{var(a, 'CLIENT_ID')} and aud = ${{TOKEN_ENDPOINT}} (e.g. a SPIFFE JWT-SVID or a "
                            "projected service account token through an issuer the provider trusts); the "
                            "provider verifies it with ${WORKLOAD_ISSUER_JWKS_URI}.\n",
                            "Workload identity federation"))
    if cred in ("private_key_jwt",):
        out.append(client_assertion(a))
    out.append(token_request(a, target))
    return out


def _entra_credential(f: IdentityFacts, a: AgentSpecData) -> list[Artifact]:
    app = "/v1.0/applications/" + var(a, "APP_OBJECT_ID")
    cred = a.credential
    out: list[Artifact] = []
    if cred in ("private_key_jwt", "mtls"):
        # Entra has no RFC 8705 client authentication: a certificate credential with client
        # assertions is its closest, and what msal uses.
        out.append(http_request("PATCH", app, {"keyCredentials": [{
            "type": "AsymmetricX509Cert", "usage": "Verify", "key": var(a, "CERT_B64"),
            "displayName": f"CN={a.name}"}]}, f"Upload the certificate of {a.name} (public part only)",
            kind="graph-request"))
    elif cred == "federated":
        out.append(http_request("POST", app + "/federatedIdentityCredentials", {
            "name": f"{a.name}-workload", "issuer": "${WORKLOAD_ISSUER}", "subject": "${WORKLOAD_SUBJECT}",
            "audiences": ["api://AzureADTokenExchange"],
            "description": f"Workload identity of {a.name}; no secret exists"},
            "Federated identity credential (workload identity federation)", kind="graph-request"))
    else:
        out.append(http_request("POST", app + "/addPassword", {"passwordCredential": {
            "displayName": f"{a.name} (last resort, rotate)", "endDateTime": "${SECRET_END_DATE_MAX_90_DAYS}"}},
            "Client secret (last resort): the response's secretText goes only to the secret manager",
            kind="graph-request"))
    lifetime = max(seconds(a.lifetime), ENTRA_MIN_LIFETIME_S)
    hh, mm = divmod(lifetime // 60, 60)
    policy = {"definition": [json_text({"TokenLifetimePolicy": {
        "Version": 1, "AccessTokenLifetime": f"{hh:02d}:{mm:02d}:00"}}).replace("\n", "").replace("  ", "")],
        "displayName": f"{a.name} access tokens {hh:02d}:{mm:02d}", "isOrganizationDefault": False}
    out.append(http_request("POST", "/v1.0/policies/tokenLifetimePolicies", policy,
                            "Token lifetime policy (Entra's minimum is 10 minutes)", kind="graph-request",
                            response={var(a, "LIFETIME_POLICY_ID"): "id"}))
    out.append(http_request("POST", "/v1.0/servicePrincipals/" + var(a, "SP_ID") + "/tokenLifetimePolicies/$ref",
                            {"@odata.id": "https://graph.microsoft.com/v1.0/policies/tokenLifetimePolicies/"
                                          + var(a, "LIFETIME_POLICY_ID")},
                            "Assign the lifetime policy to the agent", kind="graph-request"))
    return out


# -- grant ---------------------------------------------------------------------------------

def grant(f: IdentityFacts, a: AgentSpecData, target: str) -> list[Artifact]:
    summary = artifact("grant", "application/json", json_text({
        "client": a.name, "scopes": list(a.scopes), "action_classes": list(a.action_classes),
        "delegation": a.delegation, "lifetime": a.lifetime}), "What the agent may do (from its spec)")
    if target == "entra":
        return [summary, *(http_request(
            "POST", "/v1.0/servicePrincipals/" + var(a, "SP_ID") + "/appRoleAssignments",
            {"principalId": var(a, "SP_ID"), "resourceId": "${RESOURCE_SP_ID}",
             "appRoleId": "${APP_ROLE_ID_" + env_name(s) + "}"},
            f"Application permission {s} (the resource's app role of that value)", kind="graph-request")
            for s in a.scopes)]
    if target == "keycloak":
        return [summary, *(http_request(
            "PUT", "/admin/realms/${KEYCLOAK_REALM}/clients/" + var(a, "CLIENT_UUID")
            + "/default-client-scopes/${CLIENT_SCOPE_ID_" + env_name(s) + "}", None,
            f"Client scope {s} (a realm client scope of that name)", kind="keycloak-admin-request")
            for s in a.scopes)]
    if target == "okta":
        return [summary, *okta_policy(a)]
    return [summary]


def okta_policy(a: AgentSpecData) -> list[Artifact]:
    server = "/api/v1/authorizationServers/${OKTA_AUTH_SERVER_ID}"
    out = [http_request("POST", server + "/scopes", {"name": s, "description": f"granted to {a.name}"},
                        f"Scope {s} on the custom authorization server (skip if it exists)", kind="okta-request")
           for s in a.scopes]
    out.append(http_request("POST", server + "/policies", {
        "type": "OAUTH_AUTHORIZATION_POLICY", "status": "ACTIVE", "name": a.name,
        "description": f"Access of agent {a.name}", "priority": 1,
        "conditions": {"clients": {"include": [var(a, "CLIENT_ID")]}}},
        "Access policy for the agent", kind="okta-request", response={var(a, "POLICY_ID"): "id"}))
    out.append(http_request("POST", server + "/policies/" + var(a, "POLICY_ID") + "/rules", {
        "type": "RESOURCE_ACCESS", "name": f"{a.name} grants", "priority": 1,
        "conditions": {"grantTypes": {"include": grant_types(a)}, "scopes": {"include": list(a.scopes)},
                       "people": {"groups": {"include": ["EVERYONE"]}}},
        "actions": {"token": {"accessTokenLifetimeMinutes": max(OKTA_MIN_LIFETIME_MIN, minutes(a.lifetime)),
                              "refreshTokenLifetimeMinutes": 0, "refreshTokenWindowMinutes": 0}}},
        "Rule: the agent's grant types, only its scopes, its token lifetime", kind="okta-request"))
    return out


# -- on-behalf-of: token exchange ------------------------------------------------------------

def token_exchange_text(a: AgentSpecData, target: str) -> str:
    if target == "entra":
        return (f"{a.name} acts for users through the on-behalf-of flow: the user's token (issued for "
                f"{a.name}'s API) is the assertion, and the new token carries both the user and the agent. Entra "
                "implements OBO rather than RFC 8693's actor_token.")
    if target == "keycloak":
        return (f"{a.name} acts for users through Keycloak's standard token exchange (RFC 8693 subject_token); the "
                "exchanged token names the user as sub and the agent as azp. Keycloak does not take an "
                "actor_token, so the act claim is not issued.")
    return (f"{a.name} acts for users through token exchange (RFC 8693): the user's token is the subject_token "
            "and the agent's own token the actor_token; the issued token names the user in sub and the agent "
            "in act. The user's token must allow it: its may_act claim names the agent.")


def token_exchange(f: IdentityFacts, a: AgentSpecData, target: str) -> list[Artifact]:
    if target == "entra":
        api = "/v1.0/applications/" + var(a, "APP_OBJECT_ID")
        return [
            http_request("PATCH", api, {
                "identifierUris": ["api://" + var(a, "APP_ID")],
                "api": {"oauth2PermissionScopes": [{
                    "id": var(a, "USER_IMPERSONATION_SCOPE_ID"), "value": "user_impersonation", "type": "User",
                    "isEnabled": True, "adminConsentDisplayName": f"Let {a.name} act for you",
                    "adminConsentDescription": f"{a.name} calls downstream APIs on the signed-in user's behalf.",
                    "userConsentDisplayName": f"Let {a.name} act for you",
                    "userConsentDescription": f"{a.name} calls downstream APIs on your behalf."}]}},
                "Expose the agent's API so users' tokens can be issued for it (USER_IMPERSONATION_SCOPE_ID: "
                "a new GUID)", kind="graph-request"),
            http_request("POST", "/v1.0/oauth2PermissionGrants", {
                "clientId": var(a, "SP_ID"), "consentType": "AllPrincipals", "resourceId": "${RESOURCE_SP_ID}",
                "scope": " ".join(a.scopes)}, "Delegated permissions the agent may use for users (admin consent)",
                kind="graph-request"),
            http_request("POST", "${TOKEN_ENDPOINT}", {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_id": var(a, "APP_ID"),
                "client_assertion_type": JWT_BEARER_ASSERTION, "client_assertion": var(a, "CLIENT_ASSERTION"),
                "assertion": "${USER_ACCESS_TOKEN}", "requested_token_use": "on_behalf_of",
                "scope": "${RESOURCE_APP_ID_URI}/.default"}, "On-behalf-of token request",
                kind="oauth-token-request", headers=FORM),
        ]
    form: dict[str, str] = {
        "grant_type": TOKEN_EXCHANGE, "client_id": var(a, "CLIENT_ID"),
        "subject_token": "${USER_ACCESS_TOKEN}", "subject_token_type": ACCESS_TOKEN_TYPE,
    }
    if target == "generic":
        form.update({"actor_token": var(a, "ACCESS_TOKEN"), "actor_token_type": ACCESS_TOKEN_TYPE})
    if target == "okta":
        form["audience"] = "${API_AUDIENCE}"
    if a.scopes:
        form["scope"] = " ".join(a.scopes)
    if a.credential == "client_secret" or effective_credential(a, target) == "client_secret":
        form["client_secret"] = var(a, "CLIENT_SECRET")
    else:
        form.update({"client_assertion_type": JWT_BEARER_ASSERTION, "client_assertion": var(a, "CLIENT_ASSERTION")})
    out = [http_request("POST", "${TOKEN_ENDPOINT}", form, "Token exchange request (RFC 8693)",
                        kind="oauth-token-request", headers=FORM)]
    expected: dict[str, object] = {"sub": "${USER_SUB}", "scope": " ".join(a.scopes)}
    if target == "generic":
        expected["act"] = {"sub": var(a, "CLIENT_ID")}
        out.insert(0, artifact("jwt-claims", "application/json", json_text({"may_act": {"sub": var(a, "CLIENT_ID")}}),
                               f"Claim the user's token must carry so that {a.name} may act for the user"))
    else:
        expected["azp" if target == "keycloak" else "cid"] = var(a, "CLIENT_ID")
    out.append(artifact("jwt-claims", "application/json", json_text(expected),
                        "Claims the exchanged token must show (introspection or decoded JWT)"))
    return out


# -- cutover ---------------------------------------------------------------------------------

def cutover(f: IdentityFacts, a: AgentSpecData, target: str) -> list[Artifact]:
    cred = effective_credential(a, target)
    lines = [
        f"# Workload settings of {a.name} (replaces {f.name}); remove {f.name}'s password from this workload.",
        f"OAUTH_CLIENT_ID={var(a, 'CLIENT_ID')}",
        "OAUTH_TOKEN_ENDPOINT=${TOKEN_ENDPOINT}",
        f"OAUTH_AUTH_METHOD={AUTH_METHOD[cred]}",
        f"OAUTH_SCOPE={' '.join(a.scopes)}",
    ]
    if cred in ("private_key_jwt", "mtls"):
        lines.append(f"OAUTH_PRIVATE_KEY_FILE=/etc/{a.name}/{a.name}.key.pem")
        lines.append(f"OAUTH_CERTIFICATE_FILE=/etc/{a.name}/{a.name}.cert.pem")
    elif cred == "federated":
        lines.append("OAUTH_CLIENT_ASSERTION_FILE=${WORKLOAD_TOKEN_FILE}")
    else:
        lines.append(f"OAUTH_CLIENT_SECRET_REF=${{SECRET_MANAGER_REF_{env_name(a.name)}}}")
    lines.append(f"AGENT_ID={a.name}")
    lines.append("# Send a correlation id on every call so actions trace back to this agent.")
    lines.append("CORRELATION_HEADER=traceparent")
    return [artifact("env", "text/plain", "\n".join(lines) + "\n", "Workload settings")]
