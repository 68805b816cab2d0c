"""The project store: SQLAlchemy 2 typed models for the domain words of DESIGN.md.

One project is one database (a SQLite file by default). Schema changes ship as
alembic migrations in core/store/migrations and run when a project opens, so
these classes and the newest migration must always agree (a test checks).

Graph nodes share one key space: identities use their plain key
(``corp.example.test/svc_sql``), other nodes a prefixed one
(``group:corp.example.test/sql admins``, ``host:db01.corp.example.test``). Edges
refer to nodes by key so that the graph can be built with one scan.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are UTC everywhere; SQLite forgets the zone, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime()}


class ProjectInfo(Base):
    """Key/value facts about the project: name, client, created."""

    __tablename__ = "project_info"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ImportRun(Base):
    """One import (a set of files, or one live pull), written in one transaction."""

    __tablename__ = "import_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_kind: Mapped[str] = mapped_column(String(32))  # ldif, ldap, scim-json ...
    family: Mapped[str] = mapped_column(String(16))  # ad, entra, scim
    origin: Mapped[str] = mapped_column(String(255), index=True)  # family:authority - what a re-import replaces
    source: Mapped[str] = mapped_column(Text)  # file paths or URL (never credentials)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    diff: Mapped[dict[str, Any]] = mapped_column(default=dict)  # new/changed/vanished since the last run


class Identity(Base):
    """A non-human account (or a person, who owns, sponsors and delegates)."""

    __tablename__ = "identity"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(512), index=True)
    authority: Mapped[str] = mapped_column(String(255), index=True)
    display_name: Mapped[str | None] = mapped_column(String(512))
    dn: Mapped[str | None] = mapped_column(Text)
    upn: Mapped[str | None] = mapped_column(String(512), index=True)
    sid: Mapped[str | None] = mapped_column(String(184), index=True)
    guid: Mapped[str | None] = mapped_column(String(64), index=True)
    enabled: Mapped[bool | None] = mapped_column(Boolean)
    created: Mapped[datetime | None]
    last_used: Mapped[datetime | None]
    password_last_set: Mapped[datetime | None]
    expires: Mapped[datetime | None]
    description: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    spns: Mapped[list[Any]] = mapped_column(default=list)
    emails: Mapped[list[Any]] = mapped_column(default=list)
    external_ids: Mapped[list[Any]] = mapped_column(default=list)
    sources: Mapped[list[Any]] = mapped_column(default=list)  # source kinds it was seen in
    classification: Mapped[str] = mapped_column(Text, default="")
    first_seen_run: Mapped[int | None] = mapped_column(ForeignKey("import_run.id"))
    last_seen_run: Mapped[int | None] = mapped_column(ForeignKey("import_run.id"))
    vanished: Mapped[bool] = mapped_column(Boolean, default=False)  # gone from its last re-import
    needs_review: Mapped[str | None] = mapped_column(Text)  # why a decided identity must be looked at again

    credentials: Mapped[list[Credential]] = relationship(
        back_populates="identity", cascade="all, delete-orphan", order_by="Credential.credential_id"
    )
    sightings: Mapped[list[Sighting]] = relationship(
        back_populates="identity", cascade="all, delete-orphan", order_by="Sighting.id"
    )
    decision: Mapped[Decision | None] = relationship(back_populates="identity", uselist=False)


class Sighting(Base):
    """Provenance of an identity: one source record that showed it, in one import run.

    Keeps the raw payload (minus secrets) beside the normalised columns.
    """

    __tablename__ = "sighting"
    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"), index=True)
    import_run_id: Mapped[int] = mapped_column(ForeignKey("import_run.id"), index=True)
    origin: Mapped[str] = mapped_column(String(255))
    source_kind: Mapped[str] = mapped_column(String(32))
    source_record: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)

    identity: Mapped[Identity] = relationship(back_populates="sightings")


class Node(Base):
    """A graph node that is not an identity: group, computer, host, application, resource."""

    __tablename__ = "node"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(512))
    authority: Mapped[str] = mapped_column(String(255))
    dn: Mapped[str | None] = mapped_column(Text)
    sid: Mapped[str | None] = mapped_column(String(184), index=True)
    guid: Mapped[str | None] = mapped_column(String(64), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id"))
    source_record: Mapped[str | None] = mapped_column(Text)


class Credential(Base):
    """Credential metadata: kind, id, dates. Never a secret value."""

    __tablename__ = "credential"
    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    credential_id: Mapped[str] = mapped_column(String(255))
    created: Mapped[datetime | None]
    expires: Mapped[datetime | None]
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id"))
    origin: Mapped[str | None] = mapped_column(String(255))
    source_record: Mapped[str | None] = mapped_column(Text)

    identity: Mapped[Identity] = relationship(back_populates="credentials")


class Edge(Base):
    """A directed relation between two node keys; `kind` names an entry of core.edge_kinds."""

    __tablename__ = "edge"
    __table_args__ = (Index("ix_edge_src_kind", "src", "kind"), Index("ix_edge_dst_kind", "dst", "kind"))
    id: Mapped[int] = mapped_column(primary_key=True)
    src: Mapped[str] = mapped_column(String(512))
    dst: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(64))
    # none_as_null: most edges have no attributes; SQL NULL skips a JSON round trip per edge.
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id"), index=True)
    origin: Mapped[str | None] = mapped_column(String(255), index=True)  # null for manual edges
    source_record: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(255))  # who added a manual edge
    reason: Mapped[str | None] = mapped_column(Text)


class Finding(Base):
    """Something noticed about a node: a leaked secret, a cycle, a risky flag."""

    __tablename__ = "finding"
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(512), index=True)  # node key
    code: Mapped[str] = mapped_column(String(64))
    tag: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id"))
    origin: Mapped[str | None] = mapped_column(String(255), index=True)
    source_record: Mapped[str | None] = mapped_column(Text)


class Decision(Base):
    """What the architect decided for an identity, and why."""

    __tablename__ = "decision"
    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"), unique=True)
    decision: Mapped[str] = mapped_column(String(16))  # split | keep | retire | undecided
    reason: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(255))
    decided_at: Mapped[datetime]
    rotation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # keep: {every, via}
    origin: Mapped[str] = mapped_column(String(32), default="user")  # user | recommendation | file

    identity: Mapped[Identity] = relationship(back_populates="decision")
    agents: Mapped[list[AgentSpec]] = relationship(
        back_populates="decision", cascade="all, delete-orphan", order_by="AgentSpec.position"
    )


class AgentSpec(Base):
    """One per-agent identity that a split creates: the four axes a service account lacks."""

    __tablename__ = "agent_spec"
    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(255))  # who the agent is
    purpose: Mapped[str] = mapped_column(Text, default="")
    delegation: Mapped[str] = mapped_column(String(16), default="autonomous")  # on whose behalf
    action_classes: Mapped[list[Any]] = mapped_column(default=list)  # which class of action
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    credential: Mapped[str] = mapped_column(String(32), default="private_key_jwt")
    lifetime: Mapped[str] = mapped_column(String(16), default="15m")  # how long credentials live
    owner: Mapped[str | None] = mapped_column(String(255))
    consumers: Mapped[list[Any]] = mapped_column(default=list)

    decision: Mapped[Decision] = relationship(back_populates="agents")


class AuditEvent(Base):
    """Every change to decisions and manual edges: who, when, before, after, why."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(512), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
