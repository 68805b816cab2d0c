"""Step generators: the migration steps of one identity, by its decision.

Each decision yields a chain of steps whose kinds appear in KIND_ORDER's order
(so that accounts moved together in one wave can be aligned kind by kind):

- split  -> prepare; per agent provision, credential, grant, cutover; verify; detect; disable; remove
- keep   -> prepare; rotation; reconfigure; verify
- retire -> prepare; detect; disable; remove

Protocol-specific content (registration bodies, rotation configs, detection
rules) comes from core.playbook.artifacts; this module decides *which* steps an
identity needs, their phase, owner, risk, verification and rollback.
"""

from __future__ import annotations

from ..decisions import AgentSpecData
from . import artifacts as art
from .model import Step
from .snapshot import IdentityFacts

KIND_ORDER = ("prepare", "provision", "credential", "grant", "rotation", "cutover", "reconfigure", "verify",
              "detect", "disable", "remove")
KIND_PHASE = {
    "prepare": "prepare", "provision": "provision", "credential": "credential", "grant": "grant",
    "rotation": "credential", "cutover": "cutover", "reconfigure": "cutover", "verify": "verify",
    "detect": "verify", "disable": "decommission", "remove": "decommission",
}
PRIVILEGED_GROUPS = {"domain admins", "enterprise admins", "administrators", "schema admins", "account operators",
                     "backup operators", "server operators", "print operators", "dnsadmins",
                     "group policy creator owners", "key admins", "enterprise key admins"}
DELEGATION_FLAGS = {"TRUSTED_FOR_DELEGATION", "TRUSTED_TO_AUTH_FOR_DELEGATION"}
DEFAULT_OWNER = "IAM team"
DEFAULT_WATCH = "30d"


def step_id(identity: str, kind: str, agent: str | None = None) -> str:
    """Stable across re-generation: derived from the identity key and the step kind only."""
    return f"{identity}#{kind}" + (f":{agent}" if agent else "")


def identity_risk(f: IdentityFacts) -> str:
    """How much can go wrong when this account changes: privileges, delegation, consumers."""
    if set(f.flags) & DELEGATION_FLAGS or {g.lower() for g in f.groups} & PRIVILEGED_GROUPS:
        return "high"
    if len(f.consumers) >= 5:
        return "high"
    if f.consumers or f.spns:
        return "medium"
    return "low"


def _lower(risk: str) -> str:
    return {"high": "medium", "medium": "low", "low": "low"}[risk]


def _owner(f: IdentityFacts, agent: AgentSpecData | None = None) -> str:
    if agent and agent.owner:
        return agent.owner
    return f.owner or DEFAULT_OWNER


def _consumers_text(names: list[str]) -> str:
    if not names:
        return "no recorded consumers"
    shown = ", ".join(names[:8])
    return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "")


def steps_for(f: IdentityFacts, target: str, watch: str = DEFAULT_WATCH) -> list[Step]:
    assert f.decision is not None
    d = f.decision.decision
    if d == "split":
        return _split_steps(f, target, watch)
    if d == "keep":
        return _keep_steps(f)
    if d == "retire":
        return _retire_steps(f, watch)
    return []


def _prepare(f: IdentityFacts, what: str) -> Step:
    return Step(
        id=step_id(f.key, "prepare"), identity=f.key, kind="prepare", phase="prepare", protocol="directory",
        title=f"Confirm owner and consumers of {f.name}",
        description=(f"{what} Confirm with {_owner(f)} that {f.name} is used by {_consumers_text(f.consumer_names)} "
                     f"and nothing else; record the change ticket."),
        owner=_owner(f), risk="low",
        verification=f"The owner has confirmed the consumer list of {f.name} in the change ticket.",
        rollback="Nothing to roll back: this step changes no system.",
        artifacts=[art.inventory_query(f)],
    )


def _agents_or_default(f: IdentityFacts) -> list[AgentSpecData]:
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


def _split_steps(f: IdentityFacts, target: str, watch: str) -> list[Step]:
    agents = _agents_or_default(f)
    risk = identity_risk(f)
    steps = [_prepare(f, f"{f.name} is split into {len(agents)} agent identities.")]
    for a in agents:
        who = f"agent {a.name} ({a.purpose})" if a.purpose else f"agent {a.name}"
        steps.append(Step(
            id=step_id(f.key, "provision", a.name), identity=f.key, agent=a.name, kind="provision",
            phase="provision", protocol="oidc",
            title=f"Register {a.name} as an OAuth client at the {target} identity provider",
            description=(f"Create a distinct identity for {who}, acting {a.delegation}, so its actions are "
                         f"attributable to it and not to {f.name}."),
            owner=_owner(f, a), risk="low",
            verification=f"The provider lists a client named {a.name}; its client_id is recorded in the ticket.",
            rollback=f"Delete the client {a.name} at the provider (nothing uses it yet).",
            artifacts=art.registration(f, a, target),
        ))
        steps.append(Step(
            id=step_id(f.key, "credential", a.name), identity=f.key, agent=a.name, kind="credential",
            phase="credential", protocol="oidc",
            title=f"Give {a.name} a {a.credential} credential with {a.lifetime} tokens",
            description=art.credential_text(a),
            owner=_owner(f, a), risk="medium" if a.credential == "client_secret" else "low",
            verification=f"A client-credentials token request by {a.name} succeeds and its lifetime is {a.lifetime}.",
            rollback=f"Revoke the credential of {a.name} at the provider.",
            artifacts=art.credential(f, a, target),
        ))
        steps.append(Step(
            id=step_id(f.key, "grant", a.name), identity=f.key, agent=a.name, kind="grant", phase="grant",
            protocol="oidc",
            title=f"Grant {a.name} only {', '.join(a.scopes) or 'the scopes it needs'}",
            description=(f"Action classes: {', '.join(a.action_classes) or 'none'}. "
                         + ("It acts on behalf of users through token exchange (RFC 8693): the user's token is "
                            "the subject_token and the agent's own token the actor_token, so the issued token "
                            "carries an act claim naming the agent."
                            if a.delegation == "on-behalf-of" else "It acts autonomously, in its own name.")),
            owner=_owner(f, a), risk=_lower(risk),
            verification=f"A token issued to {a.name} carries exactly the scopes {', '.join(a.scopes) or '(none)'}.",
            rollback=f"Remove the grants of {a.name}.",
            artifacts=art.grant(f, a, target),
        ))
        steps.append(Step(
            id=step_id(f.key, "cutover", a.name), identity=f.key, agent=a.name, kind="cutover", phase="cutover",
            protocol="oidc",
            title=f"Move {_consumers_text(a.consumers)} from {f.name} to {a.name}",
            description=(f"Reconfigure the workload to authenticate as {a.name} and stop using {f.name}'s "
                         f"credential. Every request now carries the agent's identity and a correlation id."),
            owner=_owner(f, a), risk=risk,
            verification=(f"Sign-in and audit logs of the target show {a.name} (not {f.name}) for "
                          f"{_consumers_text(a.consumers)}; the workload's health checks pass."),
            rollback=f"Point the workload back at {f.name}'s credential (still valid until the disable step).",
            artifacts=art.cutover(f, a),
        ))
    steps.append(Step(
        id=step_id(f.key, "verify"), identity=f.key, kind="verify", phase="verify", protocol="oidc",
        title=f"Verify that nothing authenticates as {f.name} any more",
        description=f"Watch sign-ins of {f.name} for {watch} after the last cutover.",
        owner=_owner(f), risk="low",
        verification=f"No logon or token for {f.name} in the watch period.",
        rollback="Nothing to roll back: this step only observes.",
        artifacts=[art.logon_query(f)],
    ))
    steps.extend(_detect_disable_remove(f, watch, risk, "split"))
    return steps


def _detect_disable_remove(f: IdentityFacts, watch: str, risk: str, why: str) -> list[Step]:
    return [
        Step(
            id=step_id(f.key, "detect"), identity=f.key, kind="detect", phase="verify", protocol="detection",
            title=f"Alert if {f.name} authenticates after its cutover",
            description=("Deploy the detection rule to the SIEM so that any use of the old account after "
                         "its cutover date raises an alert."),
            owner="Security operations", risk="low",
            verification="The rule is deployed and a test event for the account raises an alert.",
            rollback="Disable the rule.",
            artifacts=[art.sigma_rule(f)],
        ),
        Step(
            id=step_id(f.key, "disable"), identity=f.key, kind="disable", phase="decommission",
            protocol="directory",
            title=f"Disable {f.name}",
            description=(f"Disable the account (do not delete yet) and keep it disabled for {watch}."
                         + (" Its consumers were moved to the agent identities." if why == "split" else "")),
            owner=_owner(f), risk=risk,
            verification=f"{f.name} is disabled; no consumer reports an authentication failure.",
            rollback=f"Enable {f.name} again.",
            artifacts=art.disable(f),
        ),
        Step(
            id=step_id(f.key, "remove"), identity=f.key, kind="remove", phase="decommission", protocol="directory",
            title=f"Delete {f.name} after {watch} disabled",
            description="Delete the account, its SPNs and its delegation settings once the watch period passed "
                        "without an alert.",
            owner=_owner(f), risk="medium" if risk == "low" else risk,
            verification=f"{f.name} no longer exists in the directory; its SPNs resolve to no account.",
            rollback="Restore the account from the AD Recycle Bin (Restore-ADObject) within the tombstone lifetime.",
            artifacts=art.remove(f),
        ),
    ]


def _keep_steps(f: IdentityFacts) -> list[Step]:
    assert f.decision is not None
    rotation = f.decision.rotation or {"every": "30d", "via": "vault"}
    risk = identity_risk(f)
    return [
        _prepare(f, f"{f.name} stays a service account; its credential is put under rotation."),
        Step(
            id=step_id(f.key, "rotation"), identity=f.key, kind="rotation", phase="credential", protocol="rotation",
            title=f"Rotate {f.name}'s credential every {rotation['every']} via {rotation['via']}",
            description=(f"Hand the credential of {f.name} to {rotation['via']}, which rotates it every "
                         f"{rotation['every']}; consumers read it from there instead of a stored copy."),
            owner=_owner(f), risk=_lower(risk),
            verification=f"{rotation['via']} shows a successful rotation of {f.name} and the new password works.",
            rollback=f"Remove {f.name} from {rotation['via']}'s rotation; set a known password by hand.",
            artifacts=art.rotation(f, rotation),
        ),
        Step(
            id=step_id(f.key, "reconfigure"), identity=f.key, kind="reconfigure", phase="cutover",
            protocol="directory",
            title=f"Point consumers of {f.name} at the rotated credential and harden it",
            description=(f"Consumers ({_consumers_text(f.consumer_names)}) fetch the credential at start-up. "
                         + art.hardening_text(f)),
            owner=_owner(f), risk=risk,
            verification=f"After a forced rotation every consumer of {f.name} still authenticates.",
            rollback="Restore the previous consumer configuration and flags (recorded in the ticket).",
            artifacts=art.hardening(f),
        ),
        Step(
            id=step_id(f.key, "verify"), identity=f.key, kind="verify", phase="verify", protocol="rotation",
            title=f"Verify the rotation of {f.name}",
            description="Force one rotation and watch the consumers for failures.",
            owner=_owner(f), risk="low",
            verification=f"pwdLastSet of {f.name} changed and no authentication failures followed.",
            rollback="Nothing to roll back: this step only observes.",
            artifacts=[art.logon_query(f)],
        ),
    ]


def _retire_steps(f: IdentityFacts, watch: str) -> list[Step]:
    risk = identity_risk(f)
    return [_prepare(f, f"{f.name} is retired without a replacement."),
            *_detect_disable_remove(f, watch, risk, "retire")]
