"""Alembic environment: runs on the connection signalgraph hands it, in one transaction."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from signalgraph.db.migrate import include_object
from signalgraph.schema import SCHEMA, metadata

config = context.config

if context.is_offline_mode():
    raise SystemExit("signalgraph migrations run online only: use `signalgraph db upgrade`")

connection = config.attributes.get("connection")
if connection is None:
    raise SystemExit("signalgraph migrations run through `signalgraph db upgrade`")

connection.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
connection.execute(sa.text(f"SET LOCAL search_path TO {SCHEMA}, public"))

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table_schema=SCHEMA,
    include_object=include_object,
    compare_type=True,
)

with context.begin_transaction():
    context.run_migrations()
