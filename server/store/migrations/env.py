"""Alembic runs here on a connection the Store hands it (see ``database._upgrade``)."""

from __future__ import annotations

from alembic import context

from server.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
