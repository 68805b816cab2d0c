"""SCIM 2.0 artifacts (RFC 7643 / 7644): downstream applications that hold the old account.

Each artifact is one request, as JSON: {method, path, base_url, body?, response?}.
`path` is relative to the service's SCIM base URL; `response` names the placeholders
that the response fills, e.g. {"${WEB_AGENT_SCIM_ID_PAYROLL}": "id"}, for later requests.

- provision: POST /Users (core User + enterprise extension, userType "Agent") or, where the
  service offers the draft agent resource, POST /Agents;
- memberships: PATCH /Groups/{id} add the agent (only the groups its spec names, or all of
  them for the only agent of a split);
- deprovision: PATCH /Groups/{id} remove the old account, PATCH /Users/{id} active=false;
  after the watch period DELETE /Users/{id}.
"""

from __future__ import annotations

from ...decisions import AgentSpecData
from ..model import Artifact
from ..snapshot import IdentityFacts, ScimAccountFacts, ScimGroupFacts
from .common import artifact, env_name, json_text

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
AGENT = "urn:ietf:params:scim:schemas:core:2.0:Agent"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MEDIA_TYPE = "application/scim+json"


def app_tag(acc: ScimAccountFacts) -> str:
    return env_name(acc.application_name)


def base_url(acc: ScimAccountFacts) -> str:
    return acc.base_url or "${SCIM_BASE_URL_" + app_tag(acc) + "}"


def old_id(acc: ScimAccountFacts) -> str:
    return acc.scim_id or "${OLD_SCIM_ID_" + app_tag(acc) + "}"


def group_id(acc: ScimAccountFacts, g: ScimGroupFacts) -> str:
    return g.scim_id or "${SCIM_GROUP_ID_" + app_tag(acc) + "_" + env_name(g.name) + "}"


def agent_id_var(a: AgentSpecData, acc: ScimAccountFacts) -> str:
    return "${" + f"{env_name(a.name)}_SCIM_ID_{app_tag(acc)}" + "}"


def request(acc: ScimAccountFacts, method: str, path: str, body: dict | None, title: str,
            response: dict[str, str] | None = None) -> Artifact:
    doc: dict[str, object] = {"method": method, "path": path, "base_url": base_url(acc)}
    if body is not None:
        doc["body"] = body
    if response:
        doc["response"] = response
    return artifact("scim-request", MEDIA_TYPE, json_text(doc), title)


def agent_resource(f: IdentityFacts, a: AgentSpecData, acc: ScimAccountFacts) -> tuple[str, dict]:
    """(endpoint, body) of the agent's representation at one service."""
    description = a.purpose or f"agent split from {f.name}"
    if acc.agents_endpoint:
        body: dict[str, object] = {
            "schemas": [AGENT], "name": a.name, "displayName": a.name, "active": True,
            "description": description, "agentType": "Autonomous" if a.delegation == "autonomous" else "Delegated",
            "externalId": a.name,
        }
        return "/Agents", body
    body = {
        "schemas": [USER, ENTERPRISE], "userName": a.name, "externalId": a.name, "displayName": a.name,
        "userType": "Agent", "title": description[:255], "active": True,
        ENTERPRISE: {"organization": f.authority, "department": "AI agents"},
    }
    return "/Users", body


def provision(f: IdentityFacts, a: AgentSpecData) -> list[Artifact]:
    out = []
    for acc in f.scim_accounts:
        endpoint, body = agent_resource(f, a, acc)
        out.append(request(acc, "POST", endpoint, body,
                           f"Create {a.name} in {acc.application_name} (its id is {agent_id_var(a, acc)})",
                           response={agent_id_var(a, acc): "id"}))
    return out


def groups_for(f: IdentityFacts, a: AgentSpecData, acc: ScimAccountFacts) -> list[ScimGroupFacts]:
    """The old account's groups in one service that move to agent `a`.

    A group goes to the agents whose scopes name it (compared as names: "payroll-readers" names
    "Payroll Readers"); a group no agent names goes to the only agent of a split, and to nobody
    when there are several (a finding says so).
    """
    assert f.decision is not None
    agents = f.decision.agents
    named = {env_name(s) for s in a.scopes}
    claimed = {env_name(s) for other in agents for s in other.scopes}
    out = []
    for g in acc.groups:
        name = env_name(g.name)
        if name in named or (name not in claimed and len(agents) <= 1):
            out.append(g)
    return out


def unassigned_groups(f: IdentityFacts) -> list[tuple[ScimAccountFacts, ScimGroupFacts]]:
    assert f.decision is not None
    agents = f.decision.agents
    if len(agents) <= 1:
        return []
    claimed = {env_name(s) for other in agents for s in other.scopes}
    return [(acc, g) for acc in f.scim_accounts for g in acc.groups if env_name(g.name) not in claimed]


def memberships(f: IdentityFacts, a: AgentSpecData) -> list[Artifact]:
    out = []
    for acc in f.scim_accounts:
        for g in groups_for(f, a, acc):
            out.append(request(acc, "PATCH", f"/Groups/{group_id(acc, g)}", {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": agent_id_var(a, acc)}]}],
            }, f"Add {a.name} to group {g.name} in {acc.application_name}"))
    return out


def member_groups(f: IdentityFacts, a: AgentSpecData) -> list[str]:
    return [f"{g.name} ({acc.application_name})" for acc in f.scim_accounts for g in groups_for(f, a, acc)]


def deactivate(f: IdentityFacts) -> list[Artifact]:
    out = []
    for acc in f.scim_accounts:
        for g in acc.groups:
            out.append(request(acc, "PATCH", f"/Groups/{group_id(acc, g)}", {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "remove", "path": f'members[value eq "{old_id(acc)}"]'}],
            }, f"Remove {acc.user_name} from group {g.name} in {acc.application_name}"))
        out.append(request(acc, "PATCH", f"/Users/{old_id(acc)}", {
            "schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}],
        }, f"Deactivate {acc.user_name} in {acc.application_name}"))
    return out


def reactivate_text(f: IdentityFacts) -> str:
    return ("PATCH each account back to active=true and add it to its groups again: "
            + "; ".join(f"{acc.application_name}: /Users/{old_id(acc)}"
                        + (f" and groups {', '.join(g.name for g in acc.groups)}" if acc.groups else "")
                        for acc in f.scim_accounts) + ".")


def delete(f: IdentityFacts) -> list[Artifact]:
    return [request(acc, "DELETE", f"/Users/{old_id(acc)}", None,
                    f"Delete {acc.user_name} from {acc.application_name}") for acc in f.scim_accounts]


def lookup_note(f: IdentityFacts) -> str:
    """Where placeholders for unknown ids come from."""
    missing = [acc for acc in f.scim_accounts if not acc.scim_id]
    if not missing:
        return ""
    return (" Ids the import did not record: look each one up first with GET /Users?filter=userName eq "
            "\"<name>\" (" + ", ".join(f"{acc.user_name} in {acc.application_name} is {old_id(acc)}"
                                       for acc in missing) + ").")
