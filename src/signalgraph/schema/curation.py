"""Curation: lists of entities and signals, analyst annotations, comments, custom fields.

Everything here points at an entity by the id it was written with and is canonicalised
at read time through `entity_redirect`, so a merge rewrites nothing and an unmerge gives
each side back exactly what it had. Ingestion never writes these tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from signalgraph.schema.base import (
    created_at_column,
    id_column,
    jsonb_column,
    metadata,
    updated_at_column,
    workspace_fk,
    workspace_id_column,
)

FIELD_TYPES = ("string", "number", "integer", "boolean", "date", "enum")

curated_list = sa.Table(
    "curated_list",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("created_by", sa.Text),
    created_at_column(),
    updated_at_column(),
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    workspace_fk(),
    sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
    # `lists show NAME`: one live list per name (a deleted one frees its name).
    sa.Index(
        "uq_curated_list_live_name",
        "workspace_id",
        "name",
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    ),
)

list_member = sa.Table(
    "list_member",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("list_id", sa.Uuid, nullable=False),
    # Exactly one of the two, each with a real foreign key.
    sa.Column("entity_id", sa.Uuid),
    sa.Column("signal_id", sa.Uuid),
    sa.Column("note", sa.Text),
    sa.Column("position", sa.Integer),
    sa.Column("added_by", sa.Text),
    created_at_column(),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    sa.CheckConstraint("num_nonnulls(entity_id, signal_id) = 1", name="one_member"),
    sa.ForeignKeyConstraint(
        ["workspace_id", "list_id"],
        ["curated_list.workspace_id", "curated_list.id"],
        ondelete="CASCADE",
    ),
    sa.ForeignKeyConstraint(["workspace_id", "entity_id"], ["entity.workspace_id", "entity.id"]),
    # signal_key is the unpartitioned key table of signals (one row per live signal).
    sa.ForeignKeyConstraint(
        ["workspace_id", "signal_id"], ["signal_key.workspace_id", "signal_key.signal_id"]
    ),
    # `lists show`: a list's members in order; no entity or signal twice as written.
    sa.UniqueConstraint("workspace_id", "list_id", "entity_id"),
    sa.UniqueConstraint("workspace_id", "list_id", "signal_id"),
    # The lists an entity or a signal is in (dossier, `--list` filters).
    sa.Index(
        "ix_list_member_workspace_id_entity_id",
        "workspace_id",
        "entity_id",
        postgresql_where=sa.text("entity_id IS NOT NULL"),
    ),
    sa.Index(
        "ix_list_member_workspace_id_signal_id",
        "workspace_id",
        "signal_id",
        postgresql_where=sa.text("signal_id IS NOT NULL"),
    ),
)

annotation = sa.Table(
    "annotation",
    metadata,
    workspace_id_column(),
    # The entity id the analyst wrote to (the canonical one at the time).
    sa.Column("entity_id", sa.Uuid, nullable=False),
    # NULL means "not set": a merge then takes the other side's value.
    sa.Column("rank", sa.Integer),
    sa.Column("stage", sa.Text),
    sa.Column("hidden", sa.Boolean),
    sa.Column("tags", ARRAY(sa.Text), nullable=False, server_default="{}"),
    # Custom fields defined in annotation_field: {name: value}.
    jsonb_column("fields"),
    sa.Column("updated_by", sa.Text),
    created_at_column(),
    updated_at_column(),
    sa.PrimaryKeyConstraint("workspace_id", "entity_id"),
    sa.ForeignKeyConstraint(["workspace_id", "entity_id"], ["entity.workspace_id", "entity.id"]),
    # Entity filters: stage = X, rank <= N, tag = T.
    sa.Index(
        "ix_annotation_workspace_id_stage",
        "workspace_id",
        "stage",
        postgresql_where=sa.text("stage IS NOT NULL"),
    ),
    sa.Index(
        "ix_annotation_workspace_id_rank",
        "workspace_id",
        "rank",
        postgresql_where=sa.text("rank IS NOT NULL"),
    ),
    sa.Index("ix_annotation_tags", "tags", postgresql_using="gin"),
)

annotation_comment = sa.Table(
    "annotation_comment",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("entity_id", sa.Uuid, nullable=False),
    sa.Column("author", sa.Text),
    sa.Column("text", sa.Text, nullable=False),
    created_at_column(),
    sa.Column("edited_at", sa.DateTime(timezone=True)),
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    sa.ForeignKeyConstraint(["workspace_id", "entity_id"], ["entity.workspace_id", "entity.id"]),
    sa.CheckConstraint("length(text) BETWEEN 1 AND 20000", name="text_length"),
    # An entity's comments (and its merged ids'), in time order.
    sa.Index("ix_annotation_comment_workspace_id_entity_id", "workspace_id", "entity_id"),
)

annotation_field = sa.Table(
    "annotation_field",
    metadata,
    workspace_id_column(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("allowed_values", ARRAY(sa.Text)),
    sa.Column("description", sa.Text),
    sa.Column("created_by", sa.Text),
    created_at_column(),
    sa.PrimaryKeyConstraint("workspace_id", "name"),
    workspace_fk(),
    sa.CheckConstraint(
        "type IN ('string', 'number', 'integer', 'boolean', 'date', 'enum')", name="type_known"
    ),
    sa.CheckConstraint("(type = 'enum') = (allowed_values IS NOT NULL)", name="enum_has_values"),
)
