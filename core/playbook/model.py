"""Plan data types: plain data that renderers turn into files.

The canonical form is `Plan.to_document()`: a dict whose key order is fixed
here, so YAML and JSON renderings are byte-identical for the same input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_ID = "nhiplan/plan/v1"
PHASES = ("prepare", "provision", "credential", "grant", "cutover", "verify", "decommission")
PROTOCOLS = ("oidc", "saml", "scim", "rotation", "directory", "detection")
RISKS = ("low", "medium", "high")
TARGETS = ("generic", "entra", "okta", "keycloak")


@dataclass
class Artifact:
    kind: str  # e.g. rfc7591-registration, sigma-rule, vault-config, powershell
    media_type: str
    content: str
    title: str = ""

    def to_document(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "media_type": self.media_type}
        if self.title:
            d["title"] = self.title
        d["content"] = self.content
        return d


@dataclass
class Step:
    id: str
    identity: str
    kind: str  # the step kind within its identity: provision, cutover, disable ...
    phase: str
    protocol: str
    title: str
    description: str
    owner: str
    risk: str
    verification: str
    rollback: str
    agent: str | None = None
    wave: int = 0
    depends_on: list[str] = field(default_factory=list)
    because: list[str] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)

    def to_document(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "identity": self.identity}
        if self.agent:
            d["agent"] = self.agent
        d.update({
            "wave": self.wave, "phase": self.phase, "protocol": self.protocol, "kind": self.kind,
            "title": self.title, "description": self.description, "owner": self.owner,
            "depends_on": list(self.depends_on), "because": list(self.because), "risk": self.risk,
            "verification": self.verification, "rollback": self.rollback,
            "artifacts": [a.to_document() for a in self.artifacts],
        })
        return d


@dataclass
class PlanFinding:
    id: str
    subject: str
    code: str
    tag: str
    severity: str
    message: str

    def to_document(self) -> dict[str, Any]:
        return {"id": self.id, "subject": self.subject, "code": self.code, "tag": self.tag,
                "severity": self.severity, "message": self.message}


@dataclass
class Wave:
    number: int
    steps: list[str]
    identities: list[str]
    note: str = ""

    def to_document(self) -> dict[str, Any]:
        d: dict[str, Any] = {"wave": self.number, "steps": list(self.steps), "identities": list(self.identities)}
        if self.note:
            d["note"] = self.note
        return d


@dataclass
class Plan:
    project: dict[str, Any]
    generated_from: dict[str, Any]
    options: dict[str, Any]
    identities: list[dict[str, Any]]
    waves: list[Wave]
    steps: list[Step]
    findings: list[PlanFinding]
    summary: dict[str, Any]

    def to_document(self) -> dict[str, Any]:
        """The canonical document without `integrity` (render.canonical adds it)."""
        return {
            "schema": SCHEMA_ID,
            "project": dict(self.project),
            "generated_from": dict(self.generated_from),
            "options": dict(self.options),
            "summary": dict(self.summary),
            "identities": [dict(i) for i in self.identities],
            "waves": [w.to_document() for w in self.waves],
            "steps": [s.to_document() for s in self.steps],
            "findings": [f.to_document() for f in self.findings],
        }
