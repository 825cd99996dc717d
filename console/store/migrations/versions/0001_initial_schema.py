"""Initial schema: the op log, chain heads, site identity and the incident projection.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("key_number", sa.Integer(), nullable=False),
        sa.Column("origin_site", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("priority", sa.String(length=4), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=True),
        sa.Column("policy", sa.String(length=200), nullable=True),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("dedup_key", sa.String(length=255), nullable=True),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("esc_loop", sa.Integer(), nullable=False),
        sa.Column("esc_level", sa.Integer(), nullable=False),
        sa.Column("conflicted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fold_state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index("ix_incident_dedup", ["dedup_key", "status"], unique=False)
        batch_op.create_index("ix_incident_next_due", ["next_due_at"], unique=False)
        batch_op.create_index(
            "ix_incident_open", ["status", "severity", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_incident_origin_number", ["origin_site", "key_number"], unique=False
        )
        batch_op.create_index("ix_incident_service", ["service", "status"], unique=False)
        batch_op.create_index("ix_incident_team", ["team", "status"], unique=False)

    op.create_table(
        "local_site",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("created_hlc", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("site"),
    )
    op.create_table(
        "op_log",
        sa.Column("op_id", sa.String(length=36), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hlc", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("schema", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("op_id"),
        sa.UniqueConstraint("site", "seq", name="uq_op_log_site_seq"),
    )
    with op.batch_alter_table("op_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_op_log_entity_order", ["entity", "hlc", "site", "seq"], unique=False
        )

    op.create_table(
        "site_head",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("hlc", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("site"),
    )
    op.create_table(
        "incident_note",
        sa.Column("op_id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("hlc", sa.String(length=24), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("op_id"),
    )
    with op.batch_alter_table("incident_note", schema=None) as batch_op:
        batch_op.create_index(
            "ix_incident_note_order", ["incident_id", "hlc", "site", "seq"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("incident_note", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_note_order")

    op.drop_table("incident_note")
    op.drop_table("site_head")
    with op.batch_alter_table("op_log", schema=None) as batch_op:
        batch_op.drop_index("ix_op_log_entity_order")

    op.drop_table("op_log")
    op.drop_table("local_site")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_team")
        batch_op.drop_index("ix_incident_service")
        batch_op.drop_index("ix_incident_origin_number")
        batch_op.drop_index("ix_incident_open")
        batch_op.drop_index("ix_incident_next_due")
        batch_op.drop_index("ix_incident_dedup")

    op.drop_table("incident")
