"""Tables of the replicated log: the ops, each site's chain head, and who we are."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel


class OpLogRow(SQLModel, table=True):
    """Append-only: a row is written once and never updated or deleted.

    Clustered by (site, seq), each site's chain in order (WITHOUT ROWID on
    SQLite): an append writes the row once, not a row plus a (site, seq) index.
    """

    __tablename__ = "op_log"
    __table_args__ = (
        UniqueConstraint("op_id", name="uq_op_log_op_id"),
        Index("ix_op_log_entity_order", "entity", "hlc", "site", "seq"),
        {"sqlite_with_rowid": False},
    )

    op_id: str = Field(max_length=36)
    site: str = Field(primary_key=True, max_length=64)
    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    hlc: str = Field(max_length=24)
    actor: str = Field(max_length=200)
    entity: str = Field(max_length=64)
    kind: str = Field(max_length=64)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    schema_version: int = Field(sa_column=Column("schema", Integer, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class SiteHead(SQLModel, table=True):
    """Per site, the highest contiguous seq held and its hash: the version
    vector a peer syncs against, and the tip the next local op chains to."""

    __tablename__ = "site_head"

    site: str = Field(primary_key=True, max_length=64)
    seq: int = 0
    hash: str = Field(max_length=64)
    hlc: str = Field(default="", max_length=24)


class LocalSite(SQLModel, table=True):
    """This store's own identity: one row, made when the store is created."""

    __tablename__ = "local_site"

    site: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=16)
    created_hlc: str = Field(max_length=24)
