"""baseline schema

Revision ID: 0001_baseline
Revises: 
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa


revision = '0001_baseline'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=512), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_subject'), ['subject'], unique=False)

    op.create_table('import_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_kind', sa.String(length=32), nullable=False),
    sa.Column('family', sa.String(length=16), nullable=False),
    sa.Column('origin', sa.String(length=255), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.Column('diff', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_run'))
    )
    with op.batch_alter_table('import_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_run_origin'), ['origin'], unique=False)

    op.create_table('project_info',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_project_info'))
    )
    op.create_table('edge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('src', sa.String(length=512), nullable=False),
    sa.Column('dst', sa.String(length=512), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('import_run_id', sa.Integer(), nullable=True),
    sa.Column('origin', sa.String(length=255), nullable=True),
    sa.Column('source_record', sa.Text(), nullable=True),
    sa.Column('author', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['import_run_id'], ['import_run.id'], name=op.f('fk_edge_import_run_id_import_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_edge'))
    )
    with op.batch_alter_table('edge', schema=None) as batch_op:
        batch_op.create_index('ix_edge_dst_kind', ['dst', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_edge_import_run_id'), ['import_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_edge_origin'), ['origin'], unique=False)
        batch_op.create_index('ix_edge_src_kind', ['src', 'kind'], unique=False)

    op.create_table('finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=512), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('tag', sa.String(length=16), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('import_run_id', sa.Integer(), nullable=True),
    sa.Column('origin', sa.String(length=255), nullable=True),
    sa.Column('source_record', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['import_run_id'], ['import_run.id'], name=op.f('fk_finding_import_run_id_import_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding'))
    )
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_origin'), ['origin'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_subject'), ['subject'], unique=False)

    op.create_table('identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('authority', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=512), nullable=True),
    sa.Column('dn', sa.Text(), nullable=True),
    sa.Column('upn', sa.String(length=512), nullable=True),
    sa.Column('sid', sa.String(length=184), nullable=True),
    sa.Column('guid', sa.String(length=64), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_last_set', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('spns', sa.JSON(), nullable=False),
    sa.Column('emails', sa.JSON(), nullable=False),
    sa.Column('external_ids', sa.JSON(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('classification', sa.Text(), nullable=False),
    sa.Column('first_seen_run', sa.Integer(), nullable=True),
    sa.Column('last_seen_run', sa.Integer(), nullable=True),
    sa.Column('vanished', sa.Boolean(), nullable=False),
    sa.Column('needs_review', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['first_seen_run'], ['import_run.id'], name=op.f('fk_identity_first_seen_run_import_run')),
    sa.ForeignKeyConstraint(['last_seen_run'], ['import_run.id'], name=op.f('fk_identity_last_seen_run_import_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity')),
    sa.UniqueConstraint('key', name=op.f('uq_identity_key'))
    )
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_authority'), ['authority'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_guid'), ['guid'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_sid'), ['sid'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_upn'), ['upn'], unique=False)

    op.create_table('node',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('authority', sa.String(length=255), nullable=False),
    sa.Column('dn', sa.Text(), nullable=True),
    sa.Column('sid', sa.String(length=184), nullable=True),
    sa.Column('guid', sa.String(length=64), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('import_run_id', sa.Integer(), nullable=True),
    sa.Column('source_record', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['import_run_id'], ['import_run.id'], name=op.f('fk_node_import_run_id_import_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_node')),
    sa.UniqueConstraint('key', name=op.f('uq_node_key'))
    )
    with op.batch_alter_table('node', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_node_guid'), ['guid'], unique=False)
        batch_op.create_index(batch_op.f('ix_node_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_node_sid'), ['sid'], unique=False)

    op.create_table('credential',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('credential_id', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('import_run_id', sa.Integer(), nullable=True),
    sa.Column('origin', sa.String(length=255), nullable=True),
    sa.Column('source_record', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['identity_id'], ['identity.id'], name=op.f('fk_credential_identity_id_identity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['import_run_id'], ['import_run.id'], name=op.f('fk_credential_import_run_id_import_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential'))
    )
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_identity_id'), ['identity_id'], unique=False)

    op.create_table('decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=255), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rotation', sa.JSON(), nullable=True),
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['identity.id'], name=op.f('fk_decision_identity_id_identity'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision')),
    sa.UniqueConstraint('identity_id', name=op.f('uq_decision_identity_id'))
    )
    op.create_table('sighting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=False),
    sa.Column('import_run_id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=255), nullable=False),
    sa.Column('source_kind', sa.String(length=32), nullable=False),
    sa.Column('source_record', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['identity.id'], name=op.f('fk_sighting_identity_id_identity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['import_run_id'], ['import_run.id'], name=op.f('fk_sighting_import_run_id_import_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sighting'))
    )
    with op.batch_alter_table('sighting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sighting_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sighting_import_run_id'), ['import_run_id'], unique=False)

    op.create_table('agent_spec',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('delegation', sa.String(length=16), nullable=False),
    sa.Column('action_classes', sa.JSON(), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('credential', sa.String(length=32), nullable=False),
    sa.Column('lifetime', sa.String(length=16), nullable=False),
    sa.Column('owner', sa.String(length=255), nullable=True),
    sa.Column('consumers', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_agent_spec_decision_id_decision'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_spec'))
    )
    with op.batch_alter_table('agent_spec', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_spec_decision_id'), ['decision_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('agent_spec', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_spec_decision_id'))

    op.drop_table('agent_spec')
    with op.batch_alter_table('sighting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sighting_import_run_id'))
        batch_op.drop_index(batch_op.f('ix_sighting_identity_id'))

    op.drop_table('sighting')
    op.drop_table('decision')
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_identity_id'))

    op.drop_table('credential')
    with op.batch_alter_table('node', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_node_sid'))
        batch_op.drop_index(batch_op.f('ix_node_kind'))
        batch_op.drop_index(batch_op.f('ix_node_guid'))

    op.drop_table('node')
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_upn'))
        batch_op.drop_index(batch_op.f('ix_identity_sid'))
        batch_op.drop_index(batch_op.f('ix_identity_name'))
        batch_op.drop_index(batch_op.f('ix_identity_kind'))
        batch_op.drop_index(batch_op.f('ix_identity_guid'))
        batch_op.drop_index(batch_op.f('ix_identity_authority'))

    op.drop_table('identity')
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_subject'))
        batch_op.drop_index(batch_op.f('ix_finding_origin'))

    op.drop_table('finding')
    with op.batch_alter_table('edge', schema=None) as batch_op:
        batch_op.drop_index('ix_edge_src_kind')
        batch_op.drop_index(batch_op.f('ix_edge_origin'))
        batch_op.drop_index(batch_op.f('ix_edge_import_run_id'))
        batch_op.drop_index('ix_edge_dst_kind')

    op.drop_table('edge')
    op.drop_table('project_info')
    with op.batch_alter_table('import_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_run_origin'))

    op.drop_table('import_run')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_subject'))
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))

    op.drop_table('audit_event')

