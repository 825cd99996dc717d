"""The op log keyed by (site, seq), and notes read from it instead of a copy.

A write touched nine b-tree pages, four of them copies: `op_log` kept a rowid
table beside its (site, seq) and op id indexes, and `incident_note` held each
note op a second time with two indexes of its own. `op_log` becomes a
clustered (site, seq) table (WITHOUT ROWID on SQLite), op ids stay unique,
and a note is read from the op that made it.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

COLUMNS = "op_id, site, seq, hlc, actor, entity, kind, payload, schema, prev_hash, hash"


def _op_log(name: str, *keys: sa.Constraint, **options: bool) -> None:
    op.create_table(
        name,
        sa.Column("op_id", sa.String(length=36), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hlc", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("schema", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        *keys,
        **options,
    )


def _move_op_log(*keys: sa.Constraint, **options: bool) -> None:
    _op_log("op_log_moved", *keys, **options)
    op.execute(f"INSERT INTO op_log_moved ({COLUMNS}) SELECT {COLUMNS} FROM op_log")
    op.drop_index("ix_op_log_entity_order", table_name="op_log")
    op.drop_table("op_log")
    op.rename_table("op_log_moved", "op_log")
    op.create_index("ix_op_log_entity_order", "op_log", ["entity", "hlc", "site", "seq"])


def upgrade() -> None:
    _move_op_log(sa.PrimaryKeyConstraint("site", "seq", name="pk_op_log"),
                 sa.UniqueConstraint("op_id", name="uq_op_log_op_id"), sqlite_with_rowid=False)
    op.drop_index("ix_incident_note_order", table_name="incident_note")
    op.drop_table("incident_note")


def downgrade() -> None:
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
    op.create_index("ix_incident_note_order", "incident_note", ["incident_id", "hlc", "site", "seq"])
    _move_op_log(sa.PrimaryKeyConstraint("op_id"),
                 sa.UniqueConstraint("site", "seq", name="uq_op_log_site_seq"))
    # The notes come back by `sunrelay db rebuild`.
