"""Step generators: the migration steps of one identity, by its decision.

Each decision yields a chain of steps whose kinds appear in KIND_ORDER's order, so that
accounts moved together in one wave (a dependency cycle) can be aligned kind by kind:

- split  -> prepare; saml-trust; per agent: provision, credential, scim-provision, grant,
            token-exchange, scim-groups, saml, cutover; then verify; detect; disable; unbind;
            scim-deactivate; saml-revoke; watch; remove; scim-delete
- keep   -> prepare; rotation; reconfigure; verify; and, when the account moves to a gMSA or
            dMSA, the old account's detect; disable; unbind; watch; remove
- retire -> prepare; detect; disable; unbind; scim-deactivate; saml-revoke; watch; remove; scim-delete

Steps that do not apply are left out (no SCIM step without downstream SCIM accounts, no
token exchange for an autonomous agent, no unbind without SPNs or delegation ...).
Protocol content comes from core.playbook.protocols; this module decides which steps an
identity needs, their phase, owner, risk, verification and rollback, and the findings that
the choices behind them deserve.
"""

from __future__ import annotations

import re

from ..decisions import AgentSpecData
from .model import PlanFinding, Step
from .protocols import detection, directory, oidc, rotation, saml, scim
from .protocols.directory import MANAGED_AD_KINDS
from .snapshot import IdentityFacts

KIND_ORDER = ("prepare", "saml-trust", "provision", "credential", "scim-provision", "grant", "token-exchange",
              "scim-groups", "saml", "rotation", "cutover", "reconfigure", "verify", "detect", "disable", "unbind",
              "scim-deactivate", "saml-revoke", "watch", "remove", "scim-delete")
KIND_PHASE = {
    "prepare": "prepare", "saml-trust": "provision", "provision": "provision", "credential": "credential",
    "scim-provision": "provision", "grant": "grant", "token-exchange": "grant", "scim-groups": "grant",
    "saml": "grant", "rotation": "credential", "cutover": "cutover", "reconfigure": "cutover", "verify": "verify",
    "detect": "verify", "disable": "decommission", "unbind": "decommission", "scim-deactivate": "decommission",
    "saml-revoke": "decommission", "watch": "decommission", "remove": "decommission", "scim-delete": "decommission",
}
KIND_PROTOCOL = {
    "prepare": "directory", "saml-trust": "saml", "provision": "oidc", "credential": "oidc",
    "scim-provision": "scim", "grant": "oidc", "token-exchange": "oidc", "scim-groups": "scim", "saml": "saml",
    "rotation": "rotation", "cutover": "oidc", "reconfigure": "rotation", "verify": "oidc", "detect": "detection",
    "disable": "directory", "unbind": "directory", "scim-deactivate": "scim", "saml-revoke": "saml",
    "watch": "directory", "remove": "directory", "scim-delete": "scim",
}
PRIVILEGED_GROUPS = {"domain admins", "enterprise admins", "administrators", "schema admins", "account operators",
                     "backup operators", "server operators", "print operators", "dnsadmins",
                     "group policy creator owners", "key admins", "enterprise key admins"}
DELEGATION_FLAGS = set(directory.DELEGATION_FLAGS)
DEFAULT_OWNER = "IAM team"
SECURITY_OWNER = "Security operations"
DEFAULT_WATCH = "30d"
DEFAULT_ROTATION = {"every": "30d", "via": "vault"}
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def step_id(identity: str, kind: str, agent: str | None = None) -> str:
    """Stable across re-generation: derived from the identity key and the step kind only."""
    return f"{identity}#{kind}" + (f":{agent}" if agent else "")


def identity_risk(f: IdentityFacts) -> str:
    """How much can go wrong when this account changes: privileges, delegation, consumers."""
    if set(f.flags) & DELEGATION_FLAGS or {g.lower() for g in f.groups} & PRIVILEGED_GROUPS:
        return "high"
    if len(f.consumers) >= 5:
        return "high"
    if f.consumers or f.spns or f.scim_accounts or f.saml_apps:
        return "medium"
    return "low"


def _lower(risk: str) -> str:
    return {"high": "medium", "medium": "low", "low": "low"}[risk]


def _at_least_medium(risk: str) -> str:
    return "medium" if risk == "low" else risk


def _owner(f: IdentityFacts, agent: AgentSpecData | None = None) -> str:
    if agent and agent.owner:
        return agent.owner
    return f.owner or DEFAULT_OWNER


def _list_text(names: list[str], empty: str = "no recorded consumers") -> str:
    if not names:
        return empty
    shown = ", ".join(names[:8])
    return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "")


def _placeholders_text(description: str, artifacts: list) -> str:
    """Name every ${NAME} the artifacts use, so the step says what the engineer fills in."""
    found: list[str] = []
    for art in artifacts:
        for name in PLACEHOLDER.findall(art.content):
            if name not in found:
                found.append(name)
    missing = [n for n in found if "${" + n + "}" not in description]
    if not missing:
        return description
    return description + " Values to fill in: " + ", ".join("${" + n + "}" for n in missing) + "."


def _step(f: IdentityFacts, kind: str, *, title: str, description: str, risk: str, verification: str,
          rollback: str, artifacts: list, agent: AgentSpecData | None = None, owner: str | None = None,
          protocol: str | None = None) -> Step:
    description = _placeholders_text(description, artifacts)
    return Step(
        id=step_id(f.key, kind, agent.name if agent else None), identity=f.key, kind=kind,
        phase=KIND_PHASE[kind], protocol=protocol or KIND_PROTOCOL[kind], title=title, description=description,
        owner=owner or _owner(f, agent), risk=risk, verification=verification, rollback=rollback,
        agent=agent.name if agent else None, artifacts=list(artifacts),
    )


def steps_for(f: IdentityFacts, target: str, watch: str = DEFAULT_WATCH) -> list[Step]:
    assert f.decision is not None
    d = f.decision.decision
    if d == "split":
        return _split_steps(f, target, watch)
    if d == "keep":
        return _keep_steps(f, watch)
    if d == "retire":
        return _retire_steps(f, watch)
    return []


def agents_of(f: IdentityFacts) -> list[AgentSpecData]:
    assert f.decision is not None
    if f.decision.agents:
        return f.decision.agents
    # A split without agent specs still needs one identity per consumer to be useful;
    # name them after the consumers so the plan can be carried out and refined.
    base = f.name.rstrip("$").replace("_", "-").lower()
    if not f.consumer_names:
        return [AgentSpecData(name=f"{base}-agent", purpose=f"replaces {f.name}", action_classes=["read"])]
    return [AgentSpecData(name=f"{base}-{c.split('.')[0].lower()}", purpose=f"workload on {c}",
                          action_classes=["read"], consumers=[c]) for c in f.consumer_names]


# -- shared steps ----------------------------------------------------------------------------

def _prepare(f: IdentityFacts, what: str) -> Step:
    apps = [f"{acc.application_name} (SCIM)" for acc in f.scim_accounts] + [f"{app.name} (SAML)"
                                                                             for app in f.saml_apps]
    return _step(
        f, "prepare", title=f"Confirm owner and consumers of {f.name}",
        description=(f"{what} Confirm with {_owner(f)} that {f.name} is used by {_list_text(f.consumer_names)}"
                     + (f" and known to {_list_text(apps)}" if apps else "")
                     + " and nothing else; record the change ticket and the current state (artifact)."),
        risk="low", verification=f"The owner has confirmed the consumer list of {f.name} in the change ticket.",
        rollback="Nothing to roll back: this step changes no system.",
        artifacts=[directory.inventory_query(f)])


def _detect(f: IdentityFacts, why: str) -> Step:
    return _step(
        f, "detect", title=f"Alert if {f.name} authenticates after its cutover",
        description=("Deploy the Sigma rule to the SIEM now, after the last cutover: from here on any "
                     f"authentication by {f.name} is either a missed consumer or abuse, and raises an alert."),
        owner=SECURITY_OWNER, risk="low",
        verification=f"The rule is live; a test authentication of {f.name} in a test window raised an alert.",
        rollback="Disable the rule.", artifacts=[detection.sigma_rule(f, why)])


def _decommission(f: IdentityFacts, watch: str, risk: str, why: str, disable_artifacts: list | None = None,
                  disable_text: str = "") -> list[Step]:
    """disable -> unbind -> scim-deactivate -> saml-revoke -> watch -> remove -> scim-delete."""
    steps = [_step(
        f, "disable", title=f"Disable {f.name}",
        description=(disable_text or "Disable the account (do not delete it yet).")
        + (" Its consumers were moved to the agent identities." if why == "split" else ""),
        risk=risk, verification=f"{f.name} is disabled; no consumer reports an authentication failure.",
        rollback=directory.enable_back(f),
        artifacts=disable_artifacts if disable_artifacts is not None else directory.disable(f))]
    if directory.needs_unbind(f):
        steps.append(_step(
            f, "unbind", title=f"Remove the SPNs and delegation rights of {f.name}",
            description=("A disabled account that keeps its SPNs can still be Kerberoasted and its delegation "
                         "settings still mean something: take them off now"
                         + (f" ({_list_text(f.spns, '')})" if f.spns else "") + ". The export records them."),
            risk=risk, verification=(f"{f.name} has no servicePrincipalName and no msDS-AllowedToDelegateTo; "
                                     "setspn -Q for each former SPN finds no account."),
            rollback=directory.unbind_rollback(f), artifacts=directory.unbind(f)))
    if f.scim_accounts:
        steps.append(_step(
            f, "scim-deactivate",
            title=f"Deactivate {f.name} in {_list_text([a.application_name for a in f.scim_accounts], '')}",
            description=("Take the old account out of its groups and set active=false in every application that "
                         "holds it (SCIM); it stays there, inactive, for the watch period." + scim.lookup_note(f)),
            risk=risk,
            verification=("GET /Users/{id} in each application shows active=false and no group lists the old "
                          "account as a member."),
            rollback=scim.reactivate_text(f), artifacts=scim.deactivate(f)))
    if f.saml_apps:
        steps.append(_step(
            f, "saml-revoke", title=f"Remove {f.name} from {_list_text([a.name for a in f.saml_apps], '')}",
            description=("Delete the old subject's mapping at each service provider that trusted it through SAML, "
                         "and any SAML bearer-grant trust for it."),
            risk=risk, verification="An assertion naming the old subject is refused by each service provider.",
            rollback="Restore the removed mapping (recorded in the ticket).",
            artifacts=[saml.revoke(f, app) for app in f.saml_apps]))
    steps.append(_step(
        f, "watch", title=f"Keep {f.name} disabled for {watch} and watch for attempts",
        description=(f"For {watch}, check daily for attempts to use the disabled account (artifact) and for alerts "
                     "of the detection rule. An attempt names a consumer that was missed: move it, and restart the "
                     "watch."),
        risk="low", verification=f"{watch} passed with no attempt and no alert.",
        rollback="Nothing to roll back: this step only observes.", artifacts=[directory.watch_query(f)]))
    steps.append(_step(
        f, "remove", title=f"Delete {f.name} after {watch} disabled",
        description="Delete the account once the watch period passed without an attempt or alert.",
        risk=_at_least_medium(risk),
        verification=f"{f.name} no longer exists in the directory.",
        rollback=directory.restore_text(f), artifacts=directory.remove(f)))
    if f.scim_accounts:
        steps.append(_step(
            f, "scim-delete",
            title=f"Delete {f.name}'s accounts from {_list_text([a.application_name for a in f.scim_accounts], '')}",
            description="After the watch period, delete the deactivated accounts (SCIM DELETE).",
            risk=_at_least_medium(risk), verification="GET /Users/{id} answers 404 in each application.",
            rollback=("Re-create the account with POST /Users from the copy recorded before deactivation, and add it "
                      "to its groups again."),
            artifacts=scim.delete(f)))
    return steps


# -- split -----------------------------------------------------------------------------------

def _split_steps(f: IdentityFacts, target: str, watch: str) -> list[Step]:
    agents = agents_of(f)
    risk = identity_risk(f)
    steps = [_prepare(f, f"{f.name} is split into {len(agents)} agent identities "
                         f"({', '.join(a.name for a in agents)}).")]
    if f.saml_apps:
        steps.append(_step(
            f, "saml-trust",
            title=f"Register {_list_text([a.name for a in f.saml_apps], '')} at the {target} identity provider",
            description=("The service providers that trust the old account through SAML are registered at the "
                         "target identity provider from their metadata, and get that provider's metadata, so it can "
                         "issue assertions about the agents."),
            risk="low", verification="Each service provider appears at the identity provider with its entity ID and "
                                     "assertion consumer service from the metadata.",
            rollback="Delete the new service-provider registrations (nothing uses them yet).",
            artifacts=[x for app in f.saml_apps for x in saml.trust(app, target)]))
    for a in agents:
        steps.extend(_agent_steps(f, a, target, risk))
    steps.append(_step(
        f, "verify", title=f"Verify that the agents work and nothing authenticates as {f.name}",
        description=(f"After the last cutover: every agent of {f.name} obtains its token and its consumers' "
                     f"health checks pass, and {f.name}'s own authentications have stopped (artifact: the domain "
                     "controllers' events, which lastLogonTimestamp lags by up to 14 days)."),
        risk="low", verification=f"No authentication of {f.name} since its last cutover; all agents healthy.",
        rollback="Nothing to roll back: this step only observes.", artifacts=[directory.logon_query(f)]))
    steps.append(_detect(f, "split"))
    steps.extend(_decommission(f, watch, risk, "split"))
    return steps


def _agent_steps(f: IdentityFacts, a: AgentSpecData, target: str, risk: str) -> list[Step]:
    who = f"agent {a.name} ({a.purpose})" if a.purpose else f"agent {a.name}"
    cred = oidc.effective_credential(a, target)
    keys = (f" Run the key commands on the agent's host first; they write {a.name}.env with the values of "
            f"{oidc.var(a, 'KID')} and {oidc.var(a, 'JWK_N')}." if cred == "private_key_jwt" else
            " Run the key commands on the agent's host first and have the internal CA sign the request."
            if cred == "mtls" else "")
    steps = [
        _step(f, "provision", agent=a,
              title=f"Register {a.name} as an OAuth client at the {target} identity provider",
              description=(f"Create a distinct identity for {who}, acting {a.delegation}, so that its actions are "
                           f"attributable to it and not to {f.name}." + keys
                           + f" The provider's answer gives {oidc.var(a, 'CLIENT_ID')}."),
              risk="low",
              verification=f"The provider lists a client named {a.name}; its client_id is recorded in the ticket.",
              rollback=f"Delete the client {a.name} at the provider (nothing uses it yet).",
              artifacts=oidc.registration(f, a, target)),
        _step(f, "credential", agent=a, title=f"Give {a.name} its {cred} credential and {a.lifetime} tokens",
              description=oidc.credential_text(a, target),
              risk="medium" if cred == "client_secret" else "low",
              verification=(f"The token request (artifact) by {a.name} succeeds and the token expires after "
                            f"{a.lifetime}."),
              rollback=f"Revoke the credential of {a.name} at the provider.",
              artifacts=oidc.credential(f, a, target)),
    ]
    if f.scim_accounts:
        steps.append(_step(
            f, "scim-provision", agent=a,
            title=f"Provision {a.name} into {_list_text([acc.application_name for acc in f.scim_accounts], '')}",
            description=(f"Each application that holds {f.name} gets {a.name} as its own account (SCIM POST; the "
                         "agent resource where the service offers /Agents, else a User marked userType Agent)."
                         " Each response's id fills the placeholder the artifact names."),
            risk="low", verification=f"GET of each new resource returns {a.name}, active.",
            rollback=f"DELETE the new {a.name} resources (nothing uses them yet).",
            artifacts=scim.provision(f, a)))
    steps.append(_step(
        f, "grant", agent=a, title=f"Grant {a.name} only {', '.join(a.scopes) or 'the scopes it needs'}",
        description=(f"Action classes: {', '.join(a.action_classes) or 'none'}. The grants are the subset the "
                     f"agent's spec names, not everything {f.name} could do."),
        risk=_lower(risk),
        verification=f"A token issued to {a.name} carries exactly the scopes {', '.join(a.scopes) or '(none)'}.",
        rollback=f"Remove the grants of {a.name}.", artifacts=oidc.grant(f, a, target)))
    if a.delegation == "on-behalf-of":
        steps.append(_step(
            f, "token-exchange", agent=a, title=f"Let {a.name} act on behalf of users (token exchange)",
            description=oidc.token_exchange_text(a, target), risk=_at_least_medium(_lower(risk)),
            verification=(f"An exchanged token names the user as subject and {a.name} as the "
                          + {"generic": "actor (act claim)", "keycloak": "authorized party (azp)",
                             "okta": "client (cid)", "entra": "client application (azp)"}[target]
                          + ", with only the agent's scopes; an exchange for a user whose token does not allow the "
                            "agent is refused."),
            rollback=f"Remove the token-exchange grant type (or OBO permission) from {a.name}.",
            artifacts=oidc.token_exchange(f, a, target)))
    groups = scim.member_groups(f, a)
    if groups:
        steps.append(_step(
            f, "scim-groups", agent=a, title=f"Add {a.name} to {_list_text(groups, '')}",
            description=(f"Group memberships move from {f.name} to the agent that needs them: a group goes to the "
                         "agents whose scopes name it, or to the only agent of the split."),
            risk=_lower(risk), verification=f"Each group lists {a.name} as a member.",
            rollback=f"PATCH each group to remove {a.name}.", artifacts=scim.memberships(f, a)))
    if f.saml_apps:
        bearer = [app.name for app in f.saml_apps if app.grant == "saml2-bearer"]
        steps.append(_step(
            f, "saml", agent=a,
            title=(f"Map {a.name} at {_list_text([app.name for app in f.saml_apps], '')}"
                   + (" and replace the SAML bearer grant" if bearer else "")),
            description=("Each service provider maps the agent's NameID to the role the old account had, and "
                         "nothing more."
                         + (f" At {', '.join(bearer)} the old account used a SAML assertion as its OAuth grant "
                            f"(RFC 7522); {a.name} asks for its token with its own credential instead."
                            if bearer else "")),
            risk=_lower(risk),
            verification=(f"An assertion (or token) for {a.name} gives it access at each application with the old "
                          "role."),
            rollback=f"Remove {a.name}'s mapping at each service provider.",
            artifacts=[x for app in f.saml_apps for x in saml.mapping(f, a, app)]))
    steps.append(_step(
        f, "cutover", agent=a, title=f"Move {_list_text(a.consumers)} from {f.name} to {a.name}",
        description=(f"Reconfigure the workload to authenticate as {a.name} and stop using {f.name}'s credential. "
                     "Every request now carries the agent's identity and a correlation id."),
        risk=risk,
        verification=(f"Sign-in and audit logs of the target show {a.name} (not {f.name}) for "
                      f"{_list_text(a.consumers)}; the workload's health checks pass."),
        rollback=f"Point the workload back at {f.name}'s credential (still valid until the disable step).",
        artifacts=oidc.cutover(f, a, target)))
    return steps


# -- keep ------------------------------------------------------------------------------------

def _keep_steps(f: IdentityFacts, watch: str) -> list[Step]:
    assert f.decision is not None
    if f.kind in MANAGED_AD_KINDS and not f.decision.rotation:
        return _keep_managed_steps(f)
    policy = f.decision.rotation or DEFAULT_ROTATION
    via, every = policy["via"], policy["every"]
    risk = identity_risk(f)
    managed = via in ("gmsa", "dmsa")
    through = rotation.VIA_TEXT.get(via, via)
    steps = [_prepare(f, f"{f.name} stays a service account; its credential is put under rotation.")]
    if managed:
        account = rotation.managed_account_name(f, via)
        steps.append(_step(
            f, "rotation", title=f"Create {account}, whose password the domain rotates every {every}",
            description=(f"{f.name} moves to {through} {account}: no one knows or stores its password, and the "
                         f"domain changes it every {every}. Its SPNs go with it."),
            risk=_lower(risk),
            verification=f"Test-ADServiceAccount {account.rstrip('$')} returns True on every consumer host.",
            rollback=f"Remove {account} (Remove-ADServiceAccount); {f.name} is untouched so far.",
            artifacts=rotation.rotation(f, policy)))
    else:
        steps.append(_step(
            f, "rotation", title=f"Rotate {f.name}'s credential every {every} via {via}",
            description=(f"Hand the credential of {f.name} to {through}, which rotates it every {every}; consumers "
                         "read it from there instead of a stored copy. The artifacts are the configuration itself."),
            risk=_lower(risk),
            verification=f"{through} shows a successful rotation of {f.name} and the new password works.",
            rollback=f"Remove {f.name} from {through}'s rotation; set a known password by hand.",
            artifacts=rotation.rotation(f, policy)))
    steps.append(_step(
        f, "reconfigure", title=(f"Run the consumers of {f.name} as {rotation.managed_account_name(f, via)}"
                                 if managed else f"Point consumers of {f.name} at the rotated credential and harden it"),
        description=(f"Consumers ({_list_text(f.consumer_names)}) "
                     + ("run their services as the managed account." if managed
                        else "fetch the credential at start-up. " + directory.hardening_text(f))),
        risk=risk,
        verification=(f"After a forced rotation every consumer of {f.name} still authenticates." if not managed
                      else "Every consumer service runs as the managed account and passes its health check."),
        rollback="Restore the previous consumer configuration and flags (recorded in the ticket and the export).",
        artifacts=rotation.consumer_config(f, policy) + ([] if managed else directory.hardening(f)),
        protocol="directory"))
    steps.append(_step(
        f, "verify", title=f"Verify the rotation of {f.name}",
        description=("Force one rotation and watch the consumers for failures." if not managed else
                     f"Watch that nothing authenticates as {f.name} any more (artifact)."),
        risk="low",
        verification=(f"pwdLastSet of {f.name} changed and no authentication failures followed." if not managed else
                      f"No authentication of {f.name} since the consumers moved."),
        rollback="Nothing to roll back: this step only observes.", artifacts=[directory.logon_query(f)],
        protocol="rotation"))
    if managed:
        steps.append(_detect(f, "replaced"))
        if via == "dmsa":
            steps.extend(_decommission(
                f, watch, risk, "keep", disable_artifacts=[rotation.dmsa_complete(f)],
                disable_text=f"Complete the dMSA migration: the domain disables {f.name}, superseded by the dMSA."))
        else:
            steps.extend(_decommission(f, watch, risk, "keep"))
    return steps


def _keep_managed_steps(f: IdentityFacts) -> list[Step]:
    """A gMSA / sMSA / dMSA kept as it is: the domain already rotates its password, so the work
    is to confirm the rotation interval and that only its consumers may retrieve the password."""
    readers = _list_text(f.consumer_names)
    return [
        _prepare(f, f"{f.name} is a managed service account; the domain already rotates its password."),
        _step(
            f, "rotation", title=f"Confirm the domain rotates {f.name}'s password and who may read it",
            description=(f"{f.name} needs no secret manager: the domain changes its password on its own. Check the "
                         f"rotation interval and that only its consumers ({readers}) may retrieve the password."),
            risk="low",
            verification=("ManagedPasswordIntervalInDays is within policy and "
                          "PrincipalsAllowedToRetrieveManagedPassword lists only the consumers."),
            rollback="Nothing to roll back: this step only reads the account.",
            artifacts=[directory.inventory_query(f)], protocol="directory"),
        _step(
            f, "verify", title=f"Verify that only the consumers of {f.name} authenticate as it",
            description="Watch the account's logons for hosts that are not its consumers.",
            risk="low",
            verification=f"Every logon of {f.name} in the last 7 days comes from {readers}.",
            rollback="Nothing to roll back: this step only observes.", artifacts=[directory.logon_query(f)],
            protocol="rotation"),
    ]


# -- retire ----------------------------------------------------------------------------------

def _retire_steps(f: IdentityFacts, watch: str) -> list[Step]:
    risk = identity_risk(f)
    return [_prepare(f, f"{f.name} is retired without a replacement."), _detect(f, "retire"),
            *_decommission(f, watch, risk, "retire")]


# -- findings --------------------------------------------------------------------------------

def plan_findings(f: IdentityFacts, target: str) -> list[PlanFinding]:
    """What the board should know about the steps chosen for this identity."""
    assert f.decision is not None
    out: list[PlanFinding] = []
    if f.decision.decision == "split":
        agents = agents_of(f)
        for a in agents:
            cred = oidc.effective_credential(a, target)
            if cred != a.credential:
                out.append(PlanFinding(
                    id=f"credential-fallback:{f.key}:{a.name}", subject=f.key, code="credential-fallback",
                    tag="NHI4", severity="low",
                    message=f"agent {a.name} of {f.name} asked for {a.credential}, which {target} does not offer for "
                            f"client authentication; the plan uses {cred}."))
            if target == "entra" and oidc.seconds(a.lifetime) < oidc.ENTRA_MIN_LIFETIME_S:
                out.append(PlanFinding(
                    id=f"lifetime-floor:{f.key}:{a.name}", subject=f.key, code="lifetime-floor", tag="NHI7",
                    severity="low",
                    message=f"agent {a.name} of {f.name} asked for {a.lifetime} tokens; Entra's minimum is 10 "
                            "minutes, so the plan sets 10 minutes."))
        for acc, g in scim.unassigned_groups(f):
            out.append(PlanFinding(
                id=f"scim-group-unassigned:{f.key}:{acc.application}:{g.key}", subject=f.key,
                code="scim-group-unassigned", tag="NHI5", severity="medium",
                message=f"{f.name} is a member of {g.name} in {acc.application_name}, which no agent's scopes name; "
                        "the plan moves it to no agent. Name it in the scopes of the agent that needs it."))
    return out
