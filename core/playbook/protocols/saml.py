"""SAML artifacts: applications that trust an account through SAML move with it.

For each application (service provider) that trusts the old account:

- the SP's metadata (OASIS SAML 2.0 metadata: an EntityDescriptor with an SPSSODescriptor,
  its assertion consumer service and the attributes it expects) and its registration at
  the target identity provider;
- per agent, the assertion mapping: the NameID and attribute values the SP maps to the
  same role the old account had;
- where the account used the SAML 2.0 bearer grant (RFC 7522) to get OAuth tokens, the
  move to the agent's own OAuth grant instead, and the bearer trust's removal afterwards.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from ...decisions import AgentSpecData
from ..model import Artifact
from ..snapshot import IdentityFacts, SamlAppFacts
from .common import artifact, env_name, http_request, json_text
from .oidc import FORM, JWT_BEARER_ASSERTION, var

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion"
PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
URI_NAME_FORMAT = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
BASIC_NAME_FORMAT = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
SAML2_BEARER = "urn:ietf:params:oauth:grant-type:saml2-bearer"
# Microsoft Graph's application template for a non-gallery (custom) SAML application.
ENTRA_CUSTOM_APP_TEMPLATE = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"


def acs_url(app: SamlAppFacts) -> str:
    return app.acs_url or "${ACS_URL_" + _tag(app) + "}"


def _tag(app: SamlAppFacts) -> str:
    return env_name(app.name)


def sp_metadata(app: SamlAppFacts) -> str:
    """The SP's metadata as the target IdP imports it. Deterministic: no validUntil, no ID."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<md:EntityDescriptor xmlns:md="{MD}" xmlns:saml="{ASSERTION}" entityID={quoteattr(app.entity_id)}>',
        f'  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" '
        f'protocolSupportEnumeration="{PROTOCOL}">',
        f"    <md:NameIDFormat>{escape(app.name_id_format or UNSPECIFIED)}</md:NameIDFormat>",
        f'    <md:AssertionConsumerService Binding="{HTTP_POST}" Location={quoteattr(acs_url(app))} '
        'index="0" isDefault="true"/>',
    ]
    if app.attributes:
        lines.append('    <md:AttributeConsumingService index="0" isDefault="true">')
        lines.append(f'      <md:ServiceName xml:lang="en">{escape(app.name)}</md:ServiceName>')
        for name in sorted(app.attributes):
            fmt = URI_NAME_FORMAT if ":" in name else BASIC_NAME_FORMAT
            lines.append(f"      <md:RequestedAttribute Name={quoteattr(name)} NameFormat=\"{fmt}\" "
                         'isRequired="true"/>')
        lines.append("    </md:AttributeConsumingService>")
    lines += ["  </md:SPSSODescriptor>", "</md:EntityDescriptor>"]
    return "\n".join(lines) + "\n"


def trust(app: SamlAppFacts, target: str) -> list[Artifact]:
    """Register the SP at the target IdP (its metadata), and give the SP the IdP's metadata."""
    meta = artifact("saml-metadata", "application/samlmetadata+xml", sp_metadata(app),
                    f"SP metadata of {app.name} (OASIS SAML 2.0 metadata)")
    if target == "keycloak":
        idp = "${KEYCLOAK_BASE_URL}/realms/${KEYCLOAK_REALM}/protocol/saml/descriptor"
        return [meta,
                artifact("note", "text/plain",
                         "POST the SP metadata above (Content-Type: application/xml) to "
                         "/admin/realms/${KEYCLOAK_REALM}/client-description-converter; POST the client "
                         "representation it returns to /admin/realms/${KEYCLOAK_REALM}/clients.\n",
                         "Register the SP in Keycloak from its metadata"),
                _idp_metadata_note(app, idp)]
    if target == "entra":
        tag = _tag(app)
        return [meta,
                http_request("POST", f"/v1.0/applicationTemplates/{ENTRA_CUSTOM_APP_TEMPLATE}/instantiate",
                             {"displayName": app.name}, "Create the enterprise application (non-gallery)",
                             kind="graph-request", response={"${SAML_APP_OBJECT_ID_" + tag + "}": "application.id",
                                                             "${SAML_SP_ID_" + tag + "}": "servicePrincipal.id"}),
                http_request("PATCH", "/v1.0/servicePrincipals/${SAML_SP_ID_" + tag + "}",
                             {"preferredSingleSignOnMode": "saml"}, "Use SAML single sign-on",
                             kind="graph-request"),
                http_request("PATCH", "/v1.0/applications/${SAML_APP_OBJECT_ID_" + tag + "}",
                             {"identifierUris": [app.entity_id], "web": {"redirectUris": [acs_url(app)]}},
                             "Entity ID and reply URL from the SP metadata", kind="graph-request"),
                _idp_metadata_note(app, "https://login.microsoftonline.com/${TENANT_ID}/federationmetadata/"
                                        "2007-06/federationmetadata.xml?appid=${SAML_APP_ID_" + tag + "}")]
    if target == "okta":
        body = {"label": app.name, "signOnMode": "SAML_2_0", "visibility": {"autoSubmitToolbar": False},
                "settings": {"signOn": {
                    "ssoAcsUrl": acs_url(app), "audience": app.entity_id, "recipient": acs_url(app),
                    "destination": acs_url(app), "subjectNameIdTemplate": "${user.userName}",
                    "subjectNameIdFormat": app.name_id_format or UNSPECIFIED, "responseSigned": True,
                    "assertionSigned": True, "signatureAlgorithm": "RSA_SHA256", "digestAlgorithm": "SHA256",
                    "honorForceAuthn": True,
                    "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                    "attributeStatements": [{"type": "EXPRESSION", "name": n,
                                             "namespace": URI_NAME_FORMAT if ":" in n else BASIC_NAME_FORMAT,
                                             "values": list(v)} for n, v in sorted(app.attributes.items())]}}}
        return [meta, http_request("POST", "/api/v1/apps", body, "Create the SAML app in Okta", kind="okta-request",
                                   response={"${SAML_APP_ID_" + _tag(app) + "}": "id"}),
                _idp_metadata_note(app, "${OKTA_ORG_URL}/api/v1/apps/${SAML_APP_ID_" + _tag(app) + "}/sso/saml/metadata")]
    return [meta, _idp_metadata_note(app, "${IDP_METADATA_URL}")]


def _idp_metadata_note(app: SamlAppFacts, url: str) -> Artifact:
    return artifact("note", "text/plain",
                    f"Give {app.name} the identity provider's metadata from {url} (its signing certificate and "
                    "single sign-on service); keep the old IdP's certificate trusted until the last cutover.\n",
                    "IdP metadata for the SP")


def mapping(f: IdentityFacts, a: AgentSpecData, app: SamlAppFacts) -> list[Artifact]:
    """How the SP sees the agent: the NameID it gets and the attributes that give it the old role."""
    if app.grant == "saml2-bearer":
        return bearer_move(f, a, app)
    doc = {
        "service_provider": app.entity_id,
        "replaces": {"name_id": app.name_id or f.name, "format": app.name_id_format or UNSPECIFIED},
        "name_id": {"value": a.name, "format": app.name_id_format or UNSPECIFIED},
        "attributes": {k: list(v) for k, v in sorted(app.attributes.items())},
        "role": "the same application role the old name_id has at the SP; nothing more",
    }
    return [artifact("saml-assertion-mapping", "application/json", json_text(doc),
                     f"Assertion mapping of {a.name} at {app.name}")]


def bearer_move(f: IdentityFacts, a: AgentSpecData, app: SamlAppFacts) -> list[Artifact]:
    """RFC 7522 -> the agent's own OAuth grant: same token endpoint, no SAML assertion any more."""
    endpoint = app.token_endpoint or "${TOKEN_ENDPOINT}"
    old = http_request("POST", endpoint, {"grant_type": SAML2_BEARER, "assertion": "${BASE64URL_SAML_ASSERTION}",
                                          "scope": "${SCOPES}"},
                       f"Today: {f.name} presents a SAML assertion as its grant (RFC 7522) - to be retired",
                       kind="oauth-token-request", headers=FORM)
    new_form = {"grant_type": "client_credentials", "client_id": var(a, "CLIENT_ID"),
                "client_assertion_type": JWT_BEARER_ASSERTION, "client_assertion": var(a, "CLIENT_ASSERTION")}
    if a.credential == "client_secret":
        new_form.pop("client_assertion_type")
        new_form.pop("client_assertion")
        new_form["client_secret"] = var(a, "CLIENT_SECRET")
    if a.scopes:
        new_form["scope"] = " ".join(a.scopes)
    new = http_request("POST", endpoint, new_form,
                       f"From now on: {a.name} asks for its token with its own credential", kind="oauth-token-request",
                       headers=FORM)
    return [old, new]


def revoke(f: IdentityFacts, app: SamlAppFacts) -> Artifact:
    doc = {"service_provider": app.entity_id, "remove": {"name_id": app.name_id or f.name},
           "grant": app.grant}
    if app.grant == "saml2-bearer":
        doc["also"] = "remove the trust that accepts assertions about this subject as an OAuth grant"
    return artifact("saml-assertion-mapping", "application/json", json_text(doc),
                    f"Remove {f.name} from {app.name}")
