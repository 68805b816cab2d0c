"""The playbook checked by real peers: what the plan says to send is accepted and does what it says.

- every RFC 7591 body registers at a real OpenID provider (oidc-provider on loopback, HTTPS with
  a throwaway CA), and msal obtains a token for each registered client it can authenticate as;
- the RFC 8693 token exchange of an on-behalf-of agent yields a token naming user and actor;
- replaying the plan's SCIM requests against real scim2-server services leaves them in the
  planned state (agents present, memberships moved, old accounts inactive, then deleted).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Annotated, Any

import msal
import pytest
import requests
from scim2_models import URN, Context, EnterpriseUser, Group, PatchOp, Required, Resource, User

from nhiplan.core import services
from nhiplan.core.render.canonical import plan_document
from tests.peers import playbook_estate as estate
from tests.peers.oidc_peer import start_oidc_provider
from tests.peers.scim_peer import start_scim_server

PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
SCIM_JSON = {"Content-Type": "application/scim+json"}


class Agent(Resource[Any]):
    """The draft Agent resource (draft-abbey-scim-agent-extension), as far as the plan writes it."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:Agent")
    name: Annotated[str | None, Required.true] = None
    display_name: str | None = None
    active: bool | None = None
    description: str | None = None
    agent_type: str | None = None


def fill(text: str, values: dict[str, str]) -> str:
    """Replace ${NAME} placeholders as an engineer would; every one must be known."""
    missing = sorted({m for m in PLACEHOLDER.findall(text) if m not in values})
    assert not missing, f"placeholders the test cannot fill: {missing}"
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def fill_json(doc: Any, values: dict[str, str]) -> Any:
    return json.loads(fill(json.dumps(doc), values))


def make_plan(tmp: Path, scim: dict | None, target: str = "generic") -> dict:
    store = services.init_project(tmp / "estate.nhiplan", name="Peers", client="Acme")
    try:
        estate.build(store, scim)
        return plan_document(services.make_plan(store, target))
    finally:
        store.close()


# -- OpenID provider -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def generic_plan(tmp_path_factory) -> dict:
    return make_plan(tmp_path_factory.mktemp("plan"), estate.offline_scim())


@pytest.fixture(scope="module")
def provider(generic_plan, tmp_path_factory):
    scopes = set()
    for s in generic_plan["steps"]:
        for a in s["artifacts"]:
            if a["kind"] == "rfc7591-registration":
                scopes.update(json.loads(a["content"]).get("scope", "").split())
    p = start_oidc_provider(tmp_path_factory.mktemp("oidc"), sorted(scopes))
    yield p
    p.stop()


def run_key_commands(step: dict, workdir: Path) -> dict[str, str]:
    """Run the step's shell artifacts as written, in a fresh folder; collect the .env files they write."""
    workdir.mkdir(parents=True, exist_ok=True)
    values: dict[str, str] = {}
    for a in step["artifacts"]:
        if a["kind"] == "shell":
            subprocess.run(["bash", "-c", a["content"]], cwd=workdir, check=True, capture_output=True, timeout=60)
    for env in workdir.glob("*.env"):
        for line in env.read_text().splitlines():
            k, _, v = line.partition("=")
            values[k] = v
    return values


@pytest.fixture(scope="module")
def registered(generic_plan, provider, tmp_path_factory) -> dict[str, dict]:
    """agent -> {body, response, values, workdir}: every plan's registration body, registered."""
    session = provider.session()
    endpoint = provider.discovery()["registration_endpoint"]
    out = {}
    for step in generic_plan["steps"]:
        if step["kind"] != "provision":
            continue
        workdir = tmp_path_factory.mktemp(step["agent"])
        values = run_key_commands(step, workdir)
        # The federated agent's keys are its workload platform's; any https JWKS URI registers.
        values["WORKLOAD_ISSUER_JWKS_URI"] = "https://k8s01.corp.acme.test/openid/v1/jwks"
        (art,) = [a for a in step["artifacts"] if a["kind"] == "rfc7591-registration"]
        body = json.loads(fill(art["content"], values))
        r = session.post(endpoint, json=body, timeout=10)
        assert r.status_code == 201, (step["agent"], r.status_code, r.text)
        out[step["agent"]] = {"body": body, "response": r.json(), "values": values, "workdir": workdir}
    return out


def test_every_registration_body_is_accepted(registered):
    assert set(registered) == {"payroll-reader", "payroll-approver", "batch-agent", "fed-agent"}
    for agent, reg in registered.items():
        body, resp = reg["body"], reg["response"]
        assert resp["client_name"] == agent
        assert resp["token_endpoint_auth_method"] == body["token_endpoint_auth_method"]
        assert resp["grant_types"] == body["grant_types"]
        assert resp.get("scope") == body.get("scope")
    assert registered["batch-agent"]["response"]["tls_client_auth_subject_dn"] == "CN=batch-agent"
    assert registered["payroll-approver"]["response"]["grant_types"] == [
        "client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]


def _msal_app(provider, agent: str, reg: dict) -> msal.ConfidentialClientApplication:
    resp = reg["response"]
    method = resp["token_endpoint_auth_method"]
    if method == "private_key_jwt":
        key = (reg["workdir"] / f"{agent}.key.pem").read_text()
        thumb = reg["values"][f"{agent.upper().replace('-', '_')}_CERT_SHA1"]
        credential: Any = {"private_key": key, "thumbprint": thumb}
    else:
        assert method == "client_secret_post"
        credential = resp["client_secret"]
    return msal.ConfidentialClientApplication(resp["client_id"], client_credential=credential,
                                              oidc_authority=provider.issuer, http_client=provider.session())


def test_msal_obtains_a_token_for_each_registered_client(provider, registered):
    got = []
    for agent, reg in registered.items():
        body = reg["body"]
        if body["token_endpoint_auth_method"] == "tls_client_auth" or "jwks_uri" in body:
            continue  # mTLS needs a client-certificate channel; the federated client its platform's token
        scopes = reg["body"]["scope"].split()
        result = _msal_app(provider, agent, reg).acquire_token_for_client(scopes=scopes)
        assert "access_token" in result, (agent, result)
        assert set(result["scope"].split()) == set(scopes)
        got.append(agent)
    assert sorted(got) == ["payroll-approver", "payroll-reader"]


def test_token_exchange_names_user_and_agent(provider, registered, generic_plan):
    agent = "payroll-approver"
    reg = registered[agent]
    client_id, secret = reg["response"]["client_id"], reg["response"]["client_secret"]
    session = provider.session()
    token_endpoint = provider.discovery()["token_endpoint"]
    own = _msal_app(provider, agent, reg).acquire_token_for_client(scopes=["payroll.approve"])
    assert "access_token" in own, own

    def user_token(may_act: str) -> str:
        r = session.post(provider.issuer + "/test/user-token", timeout=5, json={
            "client_id": client_id, "sub": "alice", "may_act": {"sub": may_act}, "scope": "payroll.approve"})
        r.raise_for_status()
        return r.json()["access_token"]

    (step,) = [s for s in generic_plan["steps"] if s["id"].endswith(f"#token-exchange:{agent}")]
    (req,) = [json.loads(a["content"]) for a in step["artifacts"] if a["kind"] == "oauth-token-request"]
    claims = [json.loads(a["content"]) for a in step["artifacts"] if a["kind"] == "jwt-claims"]
    values = {"TOKEN_ENDPOINT": token_endpoint, "PAYROLL_APPROVER_CLIENT_ID": client_id,
              "PAYROLL_APPROVER_CLIENT_SECRET": secret, "PAYROLL_APPROVER_ACCESS_TOKEN": own["access_token"],
              "USER_ACCESS_TOKEN": user_token(client_id), "USER_SUB": "alice"}
    assert fill_json(claims[0], values) == {"may_act": {"sub": client_id}}
    r = session.post(fill(req["url"], values), data=fill_json(req["body"], values), timeout=10)
    assert r.status_code == 200, r.text
    exchanged = r.json()
    assert exchanged["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    intro = session.post(provider.discovery()["introspection_endpoint"], timeout=10, data={
        "token": exchanged["access_token"], "client_id": client_id, "client_secret": secret}).json()
    expected = fill_json(claims[-1], values)
    assert intro["active"] is True
    assert intro["sub"] == expected["sub"] == "alice"
    assert intro["act"] == expected["act"] == {"sub": client_id}
    assert intro["scope"] == expected["scope"]
    # A user token that lets someone else act is refused.
    values["USER_ACCESS_TOKEN"] = user_token("some-other-agent")
    refused = session.post(fill(req["url"], values), data=fill_json(req["body"], values), timeout=10)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


# -- SCIM --------------------------------------------------------------------------------------

def seed(server, users: dict[str, list[str]]) -> tuple[dict[str, dict], dict[str, dict]]:
    """The downstream service as it is before the migration: the old accounts in their groups."""
    made_users = {}
    for u in sorted(users):
        r = requests.post(server.base_url + "/Users", headers=SCIM_JSON, timeout=5,
                          json={"schemas": [USER_URN], "userName": u, "active": True})
        assert r.status_code == 201, r.text
        made_users[u] = r.json()
    made_groups = {}
    for g in sorted({g for gs in users.values() for g in gs}):
        members = [{"value": made_users[u]["id"]} for u in sorted(users) if g in users[u]]
        r = requests.post(server.base_url + "/Groups", headers=SCIM_JSON, timeout=5,
                          json={"schemas": [GROUP_URN], "displayName": g, "members": members})
        assert r.status_code == 201, r.text
        made_groups[g] = r.json()
    return made_users, made_groups


def validate_scim(method: str, path: str, body: dict | None) -> None:
    """Every body the plan sends is a valid SCIM message (scim2-models)."""
    if method == "DELETE":
        assert body is None
        return
    if method == "POST" and path == "/Users":
        User[EnterpriseUser].model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    elif method == "POST" and path == "/Agents":
        Agent.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    elif method == "PATCH" and path.startswith("/Groups/"):
        PatchOp[Group].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    elif method == "PATCH" and path.startswith("/Users/"):
        PatchOp[User].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    else:
        raise AssertionError(f"unexpected SCIM request {method} {path}")


def members(server, group_id: str) -> set[str]:
    return {m["value"] for m in requests.get(f"{server.base_url}/Groups/{group_id}", timeout=5).json().get("members")
            or []}


def test_replaying_the_scim_steps_leaves_the_services_in_the_planned_state(tmp_path):
    hr = start_scim_server(tmp_path / "hr")
    ops = None
    try:
        ops = start_scim_server(tmp_path / "ops", agents=True, reference=hr)
        hr_users, hr_groups = seed(hr, estate.HR_USERS)
        ops_users, ops_groups = seed(ops, estate.OPS_USERS)
        plan = make_plan(tmp_path, {
            estate.HR: (hr.base_url, hr_users, hr_groups, ["/Users", "/Groups"]),
            estate.OPS: (ops.base_url, ops_users, ops_groups, ["/Users", "/Groups", "/Agents"])})
        servers = {hr.base_url: hr, ops.base_url: ops}
        olds = {"svc_payroll": (hr, hr_users["svc_payroll@corp.acme.test"]["id"]),
                "svc_old": (hr, hr_users["svc_old@corp.acme.test"]["id"]),
                "svc_batch": (ops, ops_users["svc_batch@corp.acme.test"]["id"])}
        values: dict[str, str] = {}
        sent = 0
        for step in plan["steps"]:
            for art in step["artifacts"]:
                if art["kind"] != "scim-request":
                    continue
                assert art["media_type"] == "application/scim+json"
                req = json.loads(art["content"])
                assert req["base_url"] in servers, "the plan names the service's real base URL"
                validate_scim(req["method"], req["path"], req.get("body"))
                path = fill(req["path"], values)
                body = fill_json(req["body"], values) if "body" in req else None
                r = requests.request(req["method"], req["base_url"] + path, json=body, headers=SCIM_JSON, timeout=5)
                assert r.status_code in (200, 201, 204), (step["id"], req, r.status_code, r.text)
                for placeholder, field in (req.get("response") or {}).items():
                    values[PLACEHOLDER.fullmatch(placeholder).group(1)] = r.json()[field]
                sent += 1
            if step["kind"] == "watch":
                name = step["identity"].split("/")[-1]
                if name in olds:  # during the watch the old account exists, inactive, in no group
                    server, old_id = olds[name]
                    account = requests.get(f"{server.base_url}/Users/{old_id}", timeout=5).json()
                    assert account["active"] is False
                    groups = requests.get(server.base_url + "/Groups", timeout=5).json()["Resources"]
                    assert all(old_id not in {m["value"] for m in g.get("members") or []} for g in groups)
        assert sent >= 15

        # HR: two new agent users, each in the group its scopes name; the unnamed group lost its members.
        def user_id(server, name: str) -> str:
            found = requests.get(server.base_url + "/Users", params={"filter": f'userName eq "{name}"'},
                                 timeout=5).json()["Resources"]
            assert len(found) == 1 and found[0]["active"] is True and found[0]["userType"] == "Agent"
            return found[0]["id"]

        reader, approver = user_id(hr, "payroll-reader"), user_id(hr, "payroll-approver")
        assert members(hr, hr_groups["Payroll Readers"]["id"]) == {reader}
        assert members(hr, hr_groups["Payroll Approvers"]["id"]) == {approver}
        assert members(hr, hr_groups["All Staff"]["id"]) == set()
        # Ops offers /Agents: the agent is an Agent resource, and took over the only group.
        agents = requests.get(ops.base_url + "/Agents", timeout=5).json()["Resources"]
        assert [(a["name"], a["active"]) for a in agents] == [("batch-agent", True)]
        assert members(ops, ops_groups["Operators"]["id"]) == {agents[0]["id"]}
        # After the watch every old account is gone.
        for server, old_id in olds.values():
            assert requests.get(f"{server.base_url}/Users/{old_id}", timeout=5).status_code == 404
        assert {v for k, v in values.items()} == {reader, approver, agents[0]["id"]}
    finally:
        hr.stop()
        if ops is not None:
            ops.stop()
