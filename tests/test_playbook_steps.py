"""Playbook steps and artifacts per decision, protocol and target, checked by the standards' own tools:
SCIM bodies by scim2-models, SAML metadata by the OASIS schema, Sigma rules by pySigma (and a
Splunk conversion), JSON bodies by parsing; plus the rotation configs, directory clean-up,
findings and the ordering of the estate's steps."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import xmlschema
import yaml
from scim2_models import Context, EnterpriseUser, Group, PatchOp, User
from sigma.backends.splunk import SplunkBackend
from sigma.collection import SigmaCollection

from nhiplan.core import services
from nhiplan.core.decisions import AgentSpecData, DecisionData
from nhiplan.core.playbook.builder import build_plan
from nhiplan.core.playbook.model import PHASES, PROTOCOLS, TARGETS
from nhiplan.core.playbook.snapshot import IdentityFacts, Snapshot
from nhiplan.core.playbook.steps import KIND_ORDER, KIND_PHASE
from nhiplan.core.render.canonical import plan_document, to_yaml
from tests.peers import playbook_estate as estate
from tests.test_playbook_peers import Agent

SAML_XSD = Path(__file__).parent / "data" / "saml" / "saml-schema-metadata-2.0.xsd"
PLAN_SCHEMA = Path(__file__).parent.parent / "resources" / "plan.schema.json"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
D = estate.DOMAIN


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, dict]:
    """The estate's plan for every target (one project, four renderings)."""
    tmp = tmp_path_factory.mktemp("plans")
    store = services.init_project(tmp / "estate.nhiplan", name="Steps", client="Acme")
    try:
        estate.build(store, estate.offline_scim())
        return {t: plan_document(services.make_plan(store, t)) for t in TARGETS}
    finally:
        store.close()


def steps_by_id(doc: dict) -> dict[str, dict]:
    return {s["id"]: s for s in doc["steps"]}


def artifacts(doc: dict, kind: str) -> list[dict]:
    return [a for s in doc["steps"] for a in s["artifacts"] if a["kind"] == kind]


@pytest.mark.parametrize("target", TARGETS)
def test_every_step_is_complete_and_its_kinds_follow_kind_order(plans, target):
    doc = plans[target]
    position = {s["id"]: i for i, s in enumerate(doc["steps"])}
    wave = {s["id"]: s["wave"] for s in doc["steps"]}
    chains: dict[tuple[str, str | None], list[str]] = {}
    for s in doc["steps"]:
        assert s["phase"] in PHASES and s["protocol"] in PROTOCOLS and s["phase"] == KIND_PHASE[s["kind"]]
        assert s["risk"] in ("low", "medium", "high")
        assert s["owner"] and s["verification"] and s["rollback"] and s["title"] and s["artifacts"]
        assert len(s["depends_on"]) == len(s["because"]) and all(s["because"])
        for d in s["depends_on"]:
            assert wave[d] < s["wave"] and position[d] < position[s["id"]]
        chains.setdefault((s["identity"], s.get("agent")), []).append(s["kind"])
        for a in s["artifacts"]:
            assert a["content"].endswith("\n") and a["media_type"]
            if a["media_type"] in ("application/json", "application/scim+json"):
                json.loads(a["content"])
            # Every placeholder an artifact uses is named by the step's text.
            for name in PLACEHOLDER.findall(a["content"]):
                assert "${" + name + "}" in s["description"], (s["id"], name)
    for key, kinds in chains.items():  # steps appear in wave order: each chain runs along KIND_ORDER
        order = [KIND_ORDER.index(k) for k in kinds]
        assert order == sorted(set(order)), key


@pytest.mark.parametrize("target", TARGETS)
def test_plans_match_the_published_plan_schema(plans, target):
    jsonschema.validate(yaml.safe_load(to_yaml(plans[target])), json.loads(PLAN_SCHEMA.read_text()))


def test_split_chain_has_every_protocol_step(plans):
    steps = steps_by_id(plans["generic"])
    p = f"{D}/svc_payroll"
    shared = ["prepare", "saml-trust", "verify", "detect", "disable", "unbind", "scim-deactivate", "saml-revoke",
              "watch", "remove", "scim-delete"]
    for kind in shared:
        assert f"{p}#{kind}" in steps, kind
    for kind in ("provision", "credential", "scim-provision", "grant", "scim-groups", "saml", "cutover"):
        assert f"{p}#{kind}:payroll-reader" in steps and f"{p}#{kind}:payroll-approver" in steps, kind
    # Token exchange only for the agent that acts on behalf of users.
    assert f"{p}#token-exchange:payroll-approver" in steps and f"{p}#token-exchange:payroll-reader" not in steps
    # Nothing that does not apply: svc_fed has no SCIM, no SAML, no SPNs.
    fed = [s["kind"] for s in plans["generic"]["steps"] if s["identity"] == f"{D}/svc_fed"]
    assert not {"scim-provision", "scim-deactivate", "saml", "unbind", "token-exchange"} & set(fed)


def test_generic_registration_bodies_follow_rfc7591_and_the_agent_spec(plans):
    bodies = {json.loads(a["content"])["client_name"]: json.loads(a["content"])
              for a in artifacts(plans["generic"], "rfc7591-registration")}
    reader, approver = bodies["payroll-reader"], bodies["payroll-approver"]
    assert reader["token_endpoint_auth_method"] == "private_key_jwt" and reader["jwks"]["keys"][0]["kty"] == "RSA"
    assert reader["grant_types"] == ["client_credentials"]
    assert reader["scope"] == "payroll.read payroll-readers"  # the spec's subset, not the old account's all
    assert approver["token_endpoint_auth_method"] == "client_secret_post"
    assert "urn:ietf:params:oauth:grant-type:token-exchange" in approver["grant_types"]
    assert bodies["batch-agent"]["tls_client_auth_subject_dn"] == "CN=batch-agent"
    assert bodies["fed-agent"]["jwks_uri"] == "${WORKLOAD_ISSUER_JWKS_URI}"
    # The client secret is flagged as a last resort.
    assert any(f["code"] == "agent-client-secret" and "payroll-approver" in f["message"]
               for f in plans["generic"]["findings"])


def test_entra_requests(plans):
    doc = plans["entra"]
    requests = [json.loads(a["content"]) for a in artifacts(doc, "graph-request")]
    urls = [(r["method"], r["url"]) for r in requests]
    assert ("POST", "/v1.0/applications") in urls and ("POST", "/v1.0/servicePrincipals") in urls
    assert ("POST", "/v1.0/servicePrincipals/microsoft.graph.agentIdentity") in urls
    fic = [r for r in requests if r["url"].endswith("/federatedIdentityCredentials")]
    assert fic and fic[0]["body"]["audiences"] == ["api://AzureADTokenExchange"]
    assert any(r["url"].endswith("/appRoleAssignments") for r in requests)
    assert any(r["url"] == "/v1.0/oauth2PermissionGrants" for r in requests)  # on-behalf-of
    lifetimes = [json.loads(r["body"]["definition"][0]) for r in requests
                 if r["url"] == "/v1.0/policies/tokenLifetimePolicies"]
    assert {"Version": 1, "AccessTokenLifetime": "00:10:00"} in [x["TokenLifetimePolicy"] for x in lifetimes]
    assert any(f["code"] == "lifetime-floor" and "payroll-approver" in f["message"] for f in doc["findings"])


def test_keycloak_and_okta_clients(plans):
    kc = {json.loads(a["content"])["body"]["clientId"]: json.loads(a["content"])["body"]
          for a in artifacts(plans["keycloak"], "keycloak-admin-request")
          if json.loads(a["content"])["method"] == "POST"}
    assert kc["payroll-reader"]["clientAuthenticatorType"] == "client-jwt"
    assert json.loads(kc["payroll-reader"]["attributes"]["jwks.string"])["keys"][0]["kid"] == "${PAYROLL_READER_KID}"
    assert kc["batch-agent"]["clientAuthenticatorType"] == "client-x509"
    assert kc["fed-agent"]["clientAuthenticatorType"] == "federated-jwt"
    assert kc["payroll-approver"]["attributes"]["standard.token.exchange.enabled"] == "true"
    assert kc["payroll-reader"]["attributes"]["access.token.lifespan"] == "900"
    okta = [json.loads(a["content"]) for a in artifacts(plans["okta"], "okta-request")]
    apps = {r["body"]["label"]: r["body"] for r in okta if r["url"] == "/api/v1/apps"}
    assert apps["batch-agent"]["credentials"]["oauthClient"]["token_endpoint_auth_method"] == "private_key_jwt"
    rules = [r["body"] for r in okta if r["url"].endswith("/rules")]
    assert {r["actions"]["token"]["accessTokenLifetimeMinutes"] for r in rules} == {15, 5, 60, 10}
    fallbacks = {f["message"].split()[1] for f in plans["okta"]["findings"] if f["code"] == "credential-fallback"}
    assert fallbacks == {"batch-agent", "fed-agent"}


def test_scim_bodies_validate_with_scim2_models(plans):
    seen = set()
    for target in TARGETS:
        for a in artifacts(plans[target], "scim-request"):
            req = json.loads(a["content"])
            method, path, body = req["method"], req["path"], req.get("body")
            if method == "POST" and path == "/Users":
                user = User[EnterpriseUser].model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
                assert user.user_type == "Agent" and user.active is True
            elif method == "POST" and path == "/Agents":
                assert Agent.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST).name == "batch-agent"
            elif method == "PATCH" and path.startswith("/Groups/"):
                PatchOp[Group].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
            elif method == "PATCH" and path.startswith("/Users/"):
                op = PatchOp[User].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
                assert op.operations[0].path == "active" and op.operations[0].value is False
            else:
                assert method == "DELETE" and body is None, req
            seen.add((method, path.split("/")[1]))
    assert seen == {("POST", "Users"), ("POST", "Agents"), ("PATCH", "Groups"), ("PATCH", "Users"),
                    ("DELETE", "Users")}


def test_saml_metadata_validates_against_the_oasis_schema(plans):
    schema = xmlschema.XMLSchema(str(SAML_XSD))
    docs = [a["content"] for t in TARGETS for a in artifacts(plans[t], "saml-metadata")]
    assert len(docs) == 2 * len(TARGETS)
    for doc in docs:
        schema.validate(doc)
    expenses = next(d for d in docs if "expenses" in d)
    parsed = schema.to_dict(expenses)
    sp = parsed["md:SPSSODescriptor"][0]
    assert parsed["@entityID"] == "https://expenses.acme.test/saml/metadata"
    assert sp["md:AssertionConsumerService"][0]["@Location"] == "https://expenses.acme.test/saml/acs"
    names = [r["@Name"] for r in sp["md:AttributeConsumingService"][0]["md:RequestedAttribute"]]
    assert names == ["role", "urn:oid:1.3.6.1.4.1.5923.1.1.1.7"]
    # The schema does reject what is not metadata: an SP without an assertion consumer service.
    assert not schema.is_valid(re.sub(r"<md:AssertionConsumerService[^>]*/>", "", expenses))


def test_saml_bearer_grant_moves_to_the_agents_own_grant(plans):
    step = steps_by_id(plans["generic"])[f"{D}/svc_payroll#saml:payroll-reader"]
    forms = [json.loads(a["content"])["body"] for a in step["artifacts"] if a["kind"] == "oauth-token-request"]
    assert forms[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:saml2-bearer"
    assert forms[1]["grant_type"] == "client_credentials" and forms[1]["client_id"] == "${PAYROLL_READER_CLIENT_ID}"
    mapping = [json.loads(a["content"]) for a in step["artifacts"] if a["kind"] == "saml-assertion-mapping"]
    assert mapping == [{"service_provider": "https://expenses.acme.test/saml/metadata",
                        "replaces": {"name_id": "svc_payroll",
                                     "format": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"},
                        "name_id": {"value": "payroll-reader",
                                    "format": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"},
                        "attributes": {"role": ["approver"], "urn:oid:1.3.6.1.4.1.5923.1.1.1.7": ["expenses:submit"]},
                        "role": "the same application role the old name_id has at the SP; nothing more"}]


def test_sigma_rules_load_and_convert(plans):
    rules = artifacts(plans["generic"], "sigma-rule")
    assert len(rules) == 5  # three splits, one retire, one kept account moved to a gMSA
    backend = SplunkBackend()
    for a in rules:
        collection = SigmaCollection.from_yaml(a["content"])
        assert not collection.errors
        (rule,) = collection.rules
        assert rule.level.name == "HIGH" and str(rule.logsource.product) == "windows"
        (query,) = backend.convert(collection)
        user = yaml.safe_load(a["content"])["detection"]["selection"]["TargetUserName"]
        assert f'TargetUserName="{user}"' in query and "EventID IN (4624, 4768, 4769, 4776)" in query


def test_rotation_configurations_carry_the_policy_cadence(plans):
    steps = steps_by_id(plans["generic"])
    vault = "".join(a["content"] for a in steps[f"{D}/svc_sql#rotation"]["artifacts"])
    assert "vault write ldap/static-role/svc_sql dn=CN=svc_sql,OU=svc,DC=corp,DC=acme,DC=test username=svc_sql" in vault
    assert "rotation_period=720h" in vault and 'path "ldap/static-cred/svc_sql"' in vault
    assert "auth/approle/role/svc_sql-sql01 token_policies=svc_sql-read secret_id_ttl=720h token_ttl=15m" in vault
    assert "bindpass=-" in vault  # the bind password is read from stdin
    doppler = "".join(a["content"] for a in steps[f"{D}/svc_files#rotation"]["artifacts"])
    assert "--max-age 168h" in doppler and "-DaysInterval 7" in doppler and "Set-ADAccountPassword" in doppler
    onepw = "".join(a["content"] for a in steps[f"{D}/svc_share#rotation"]["artifacts"])
    assert "op service-account create" in onepw and "--expires-in 336h" in onepw and ":read_items" in onepw
    gmsa = "".join(a["content"] for a in steps[f"{D}/svc_gm#rotation"]["artifacts"])
    assert "-ManagedPasswordIntervalInDays 30" in gmsa and "ServicePrincipalNames @{Add='HTTP/gm01" in gmsa
    # The gMSA replaces the account: the old one is watched, disabled, stripped of its SPN and deleted.
    for kind in ("detect", "disable", "unbind", "watch", "remove"):
        assert f"{D}/svc_gm#{kind}" in steps
    assert f"{D}/svc_sql#disable" not in steps  # a plain keep keeps its account


def test_directory_steps_remove_spns_and_delegation(plans):
    steps = steps_by_id(plans["generic"])
    unbind = steps[f"{D}/svc_payroll#unbind"]["artifacts"][0]["content"]
    assert "-ServicePrincipalNames @{Remove='HTTP/payroll01.corp.acme.test'}" in unbind
    assert "-TrustedToAuthForDelegation $false" in unbind and "-Clear 'msDS-AllowedToDelegateTo'" in unbind
    assert steps[f"{D}/svc_payroll#unbind"]["risk"] == "high"  # delegation flag: high-risk account


def test_estate_ordering(plans):
    steps = steps_by_id(plans["generic"])
    p = f"{D}/svc_payroll"
    wave = {i: s["wave"] for i, s in steps.items()}
    # svc_payroll delegates to svc_sql (kept): its cutovers wait for the rotation.
    for agent in ("payroll-reader", "payroll-approver"):
        cut = steps[f"{p}#cutover:{agent}"]
        assert f"{D}/svc_sql#rotation" in cut["depends_on"]
        assert "svc_payroll delegates to svc_sql" in cut["because"][cut["depends_on"].index(f"{D}/svc_sql#rotation")]
    last_cutover = max(wave[f"{p}#cutover:payroll-reader"], wave[f"{p}#cutover:payroll-approver"])
    assert last_cutover < wave[f"{p}#verify"] < wave[f"{p}#detect"] < wave[f"{p}#disable"]
    assert wave[f"{p}#disable"] < wave[f"{p}#scim-deactivate"] < wave[f"{p}#watch"] < wave[f"{p}#remove"] \
        < wave[f"{p}#scim-delete"]
    assert wave[f"{p}#scim-provision:payroll-reader"] < wave[f"{p}#scim-groups:payroll-reader"]


def test_group_no_agent_names_is_a_finding(plans):
    (finding,) = [f for f in plans["generic"]["findings"] if f["code"] == "scim-group-unassigned"]
    assert "All Staff" in finding["message"] and finding["severity"] == "medium"
    steps = steps_by_id(plans["generic"])
    groups = steps[f"{D}/svc_payroll#scim-groups:payroll-reader"]
    assert groups["title"] == "Add payroll-reader to Payroll Readers (hr.acme.test)"


def test_same_records_give_byte_identical_plans(tmp_path):
    out = []
    for name in ("a", "b"):
        store = services.init_project(tmp_path / f"{name}.nhiplan", name="Same", client="Acme")
        try:
            estate.build(store, estate.offline_scim())
            out.append(to_yaml(plan_document(services.make_plan(store, "entra"))))
        finally:
            store.close()
    assert out[0] == out[1]


def _facts(name: str, decision: DecisionData, **kw) -> IdentityFacts:
    base = dict(key=f"{D}/{name}", name=name, kind="service_account", authority=D, enabled=True, last_used=None,
                password_last_set=None, flags=[], spns=[], sources=["ldif"], credentials=[], consumers=[],
                consumer_names=[], groups=[], owner=None, dn=f"CN={name},OU=svc,DC=corp,DC=acme,DC=test", upn=None,
                needs_review=None, decision=decision)
    base.update(kw)
    return IdentityFacts(**base)


def test_dmsa_migration_and_entra_service_principal_retirement():
    facts = {
        f"{D}/svc_dm": _facts("svc_dm", DecisionData("keep", rotation={"every": "60d", "via": "dmsa"}),
                              consumers=["host:app01"], consumer_names=["app01.corp.acme.test"]),
        f"{D}/old-sp": _facts("old-sp", DecisionData("retire"), kind="service_principal", sources=["entra"]),
        f"{D}/svc_default": _facts("svc_default", DecisionData("split"), consumers=["host:a", "host:b"],
                                   consumer_names=["a.corp.acme.test", "b.corp.acme.test"]),
    }
    doc = plan_document(build_plan(Snapshot(project={"name": "x"}, identities=facts, dependencies=[])))
    steps = steps_by_id(doc)
    rot = steps[f"{D}/svc_dm#rotation"]["artifacts"][0]["content"]
    assert "-CreateDelegatedServiceAccount" in rot and "Start-ADServiceAccountMigration" in rot
    assert "-ManagedPasswordIntervalInDays 60" in rot
    assert "Complete-ADServiceAccountMigration" in steps[f"{D}/svc_dm#disable"]["artifacts"][0]["content"]
    sp = json.loads(steps[f"{D}/old-sp#disable"]["artifacts"][0]["content"])
    assert sp == {"method": "PATCH", "url": "/v1.0/servicePrincipals/${OLD_SP_ID}", "body": {"accountEnabled": False}}
    rule = yaml.safe_load(steps[f"{D}/old-sp#detect"]["artifacts"][0]["content"])
    assert rule["logsource"] == {"product": "azure", "service": "signinlogs"}
    SigmaCollection.from_yaml(steps[f"{D}/old-sp#detect"]["artifacts"][0]["content"])
    # A split without agent specs gets one agent per consumer.
    assert {s["agent"] for s in doc["steps"] if s["kind"] == "provision"} == {"svc-default-a", "svc-default-b"}


def test_agent_spec_credentials_reach_every_target():
    a = AgentSpecData(name="x-agent", scopes=["s.read"], credential="mtls", lifetime="2h")
    facts = {f"{D}/svc_x": _facts("svc_x", DecisionData("split", agents=[a]))}
    for target in TARGETS:
        doc = plan_document(build_plan(Snapshot(project={}, identities=facts, dependencies=[]), target=target))
        text = json.dumps(doc)
        assert "x-agent" in text and "s.read" in text
