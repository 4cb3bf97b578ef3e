"""Alembic environment: always run against the connection that ``ops_store.migrate`` hands over."""

from alembic import context

from lifecycle.ops_store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
