"""Detection rules (Sigma) that fire when a migrated or retired account authenticates again.

A Sigma rule has no notion of "after date X": the rule is deployed at the account's
cutover (its step comes after the last cutover in the plan), so from then on every
match is an alert. The rule id is a uuid5 of the identity key, stable across plans.
"""

from __future__ import annotations

import json
import uuid

from ..model import Artifact
from ..snapshot import IdentityFacts
from .common import artifact
from .directory import is_entra

# Namespace of the Sigma rule ids: uuid5(namespace, identity key) keeps them stable.
SIGMA_NAMESPACE = uuid.UUID("6f0c5c1e-8a53-4d8e-9b8e-2f1f7a1c9b10")

# Windows security events in which an account authenticates: logon, Kerberos TGT and service
# ticket requests, NTLM credential validation.
AUTH_EVENT_IDS = [4624, 4768, 4769, 4776]


def rule_id(f: IdentityFacts) -> str:
    return str(uuid.uuid5(SIGMA_NAMESPACE, f.key))


def _q(text: str) -> str:
    """A YAML double-quoted scalar: JSON's string escapes are a subset of YAML's."""
    return json.dumps(text, ensure_ascii=False)


def sigma_rule(f: IdentityFacts, why: str) -> Artifact:
    """`why` is 'split' or 'retire' (or 'replaced' for a kept account moved to a gMSA/dMSA).

    Written from a fixed layout rather than through a YAML emitter: one rule per retired or
    split account, and at 100k accounts the emitter would dominate the plan's build time.
    """
    after = {"split": "its consumers moved to agent identities",
             "retire": "it was retired",
             "replaced": "it was replaced by a managed service account"}[why]
    description = (f"{f.name} ({f.key}) must not authenticate after its cutover: {after}. "
                   "Deploy at the cutover; any match means a consumer was missed or the account is abused.")
    if is_entra(f):
        logsource = ["  product: azure", "  service: signinlogs"]
        selection = [f"    ServicePrincipalName: {_q(f.name)}"]
    else:
        logsource = ["  product: windows", "  service: security"]
        selection = ["    EventID:", *(f"      - {e}" for e in AUTH_EVENT_IDS), f"    TargetUserName: {_q(f.name)}"]
    lines = [
        f"title: {_q('Authentication by decommissioned service account ' + f.name)}",
        f"id: {rule_id(f)}",
        "status: stable",
        f"description: {_q(description)}",
        "references:",
        "  - https://owasp.org/www-project-non-human-identities-top-10/",
        "author: nhiplan",
        "tags:",
        "  - attack.initial-access",
        "  - attack.persistence",
        "  - attack.t1078.002",
        "logsource:", *logsource,
        "detection:",
        "  selection:", *selection,
        "  condition: selection",
        "falsepositives:",
        "  - The documented rollback of this migration step",
        "level: high",
    ]
    return artifact("sigma-rule", "application/yaml", "\n".join(lines) + "\n", "Sigma rule")
