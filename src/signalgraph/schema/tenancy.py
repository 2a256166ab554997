"""Tenancy tables: workspaces and the sources signals come from."""

from __future__ import annotations

import sqlalchemy as sa

from signalgraph.schema.base import (
    created_at_column,
    id_column,
    jsonb_column,
    metadata,
    updated_at_column,
    workspace_fk,
    workspace_id_column,
)

workspace = sa.Table(
    "workspace",
    metadata,
    # The workspace's own id is its workspace_id: one name for the tenant key everywhere.
    sa.Column("workspace_id", sa.Uuid, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    jsonb_column("settings"),
    created_at_column(),
    sa.Column("archived_at", sa.DateTime(timezone=True)),
    sa.PrimaryKeyConstraint("workspace_id"),
    # Lookup by name (`--workspace NAME`) on every command.
    sa.UniqueConstraint("name"),
    sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
)

source = sa.Table(
    "source",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False, server_default="generic"),
    sa.Column("description", sa.Text),
    jsonb_column("config"),
    # Higher rank wins when sources disagree (facts precedence uses it).
    sa.Column("trust_rank", sa.Integer, nullable=False, server_default="0"),
    created_at_column(),
    updated_at_column(),
    sa.Column("archived_at", sa.DateTime(timezone=True)),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    workspace_fk(),
    # `--source NAME` lookups, and one source per name in a workspace.
    sa.UniqueConstraint("workspace_id", "name"),
    sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
)
