"""Alembic runs migrations on the connection the store hands it."""

from alembic import context
from sqlmodel import SQLModel

import console.store.tables  # noqa: F401
import sync.tables  # noqa: F401  (registers the op log tables)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
