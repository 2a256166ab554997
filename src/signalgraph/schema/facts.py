"""Facts and relations: append-only statements about entities, with provenance.

A statement points at the entity id it was written for and is never rewritten: reads
follow `entity_redirect` to the canonical entity, so a merge needs no rewrite and an
unmerge (which deletes the redirect) restores the prior state by itself. Re-ingesting a
statement only moves its `last_seen` (unique statement hash).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from signalgraph.schema.base import (
    created_at_column,
    id_column,
    jsonb_column,
    metadata,
    workspace_fk,
    workspace_id_column,
)

PROPERTY_TYPES = ("number", "integer", "string", "date", "money", "boolean", "json")


def _seen_columns() -> list[sa.Column[object]]:
    # first_seen is the recorded time (when signalgraph learnt it); as_of the valid time.
    return [
        sa.Column(
            "first_seen", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "last_seen", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


fact_property = sa.Table(
    "fact_property",
    metadata,
    workspace_id_column(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("unit", sa.Text),
    created_at_column(),
    sa.PrimaryKeyConstraint("workspace_id", "name"),
    workspace_fk(),
    sa.CheckConstraint(
        "type IN ('number', 'integer', 'string', 'date', 'money', 'boolean', 'json')",
        name="type_known",
    ),
)

fact = sa.Table(
    "fact",
    metadata,
    workspace_id_column(),
    id_column(),
    # The entity as resolved when written (never rewritten; canonicalised at read time).
    sa.Column("entity_id", sa.Uuid, nullable=False),
    # The reference as written when it was not an id ({"ticker": …}, a source record).
    sa.Column("entity_ref", JSONB),
    sa.Column("property", sa.Text, nullable=False),
    sa.Column("value_type", sa.Text, nullable=False),
    sa.Column("value", JSONB, nullable=False),
    # Typed copies, so conditions compare in SQL (`revenue > 10M`, dates, text).
    sa.Column("value_num", sa.Numeric),
    sa.Column("value_text", sa.Text),
    sa.Column("value_date", sa.Date),
    sa.Column("currency", sa.Text),
    sa.Column("unit", sa.Text),
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    # False when the statement gave no as_of (dated by its first observation): its
    # recency is then when it was last seen.
    sa.Column("dated", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("source_id", sa.Uuid, nullable=False),
    sa.Column("run_id", sa.Uuid),
    # No foreign key: signals are partitioned and months can be detached.
    sa.Column("signal_id", sa.Uuid),
    sa.Column("confidence", sa.Float),
    sa.Column("statement_hash", sa.LargeBinary, nullable=False),
    *_seen_columns(),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    sa.ForeignKeyConstraint(["workspace_id", "entity_id"], ["entity.workspace_id", "entity.id"]),
    sa.ForeignKeyConstraint(["workspace_id", "source_id"], ["source.workspace_id", "source.id"]),
    sa.CheckConstraint("confidence BETWEEN 0 AND 1", name="confidence_range"),
    # Idempotent ingest: the same statement again only moves last_seen.
    sa.UniqueConstraint("workspace_id", "statement_hash"),
    # current(), history() and as-of reads of one entity's properties.
    sa.Index(
        "ix_fact_workspace_id_entity_id_property", "workspace_id", "entity_id", "property", "as_of"
    ),
    # series(), percentile() and fact conditions (`revenue > 10M`) over one property.
    sa.Index("ix_fact_workspace_id_property_as_of", "workspace_id", "property", "as_of"),
)

# Derived from `fact` by triggers (migration 0009), never written by the library: the
# winning statement per canonical entity and property, so a fact condition is an index
# range scan instead of a precedence sort over every statement of the property.
fact_current = sa.Table(
    "fact_current",
    metadata,
    workspace_id_column(),
    sa.Column("entity_id", sa.Uuid, nullable=False),  # canonical (merges followed)
    sa.Column("property", sa.Text, nullable=False),
    sa.Column("fact_id", sa.Uuid, nullable=False),
    sa.Column("value_num", sa.Numeric),
    sa.Column("value_text", sa.Text),
    sa.Column("value_date", sa.Date),
    sa.PrimaryKeyConstraint("workspace_id", "entity_id", "property"),
    workspace_fk(),
    # Fact conditions (`revenue > 10M`); a text condition (`country = 'DE'`) reads the
    # property's rows through the same index's prefix (text values can be too long for a
    # B-tree entry).
    sa.Index("ix_fact_current_workspace_id_property_value_num", "workspace_id", "property",
             "value_num"),
)  # fmt: skip

# Also derived by triggers: the winning numeric statement per canonical entity, property
# and UTC day, with the entity's type and archived state, so a day's percentile ranking
# reads its peers from one index instead of ranking every statement of the day.
fact_daily = sa.Table(
    "fact_daily",
    metadata,
    workspace_id_column(),
    sa.Column("entity_id", sa.Uuid, nullable=False),  # canonical (merges followed)
    sa.Column("property", sa.Text, nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("fact_id", sa.Uuid, nullable=False),
    sa.Column("value_num", sa.Numeric, nullable=False),
    sa.Column("entity_type", sa.Text, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("workspace_id", "entity_id", "property", "day"),
    workspace_fk(),
    # percentile(): a day's peers of one type counted, and ranked from the top.
    sa.Index(
        "ix_fact_daily_workspace_id_property_day_entity_type_value_num",
        "workspace_id",
        "property",
        "day",
        "entity_type",
        sa.text("value_num DESC"),
        postgresql_where=sa.text("NOT archived"),
    ),
)

relation = sa.Table(
    "relation",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("subject_id", sa.Uuid, nullable=False),
    sa.Column("subject_ref", JSONB),
    sa.Column("predicate", sa.Text, nullable=False),
    sa.Column("object_id", sa.Uuid, nullable=False),
    sa.Column("object_ref", JSONB),
    sa.Column("valid_from", sa.DateTime(timezone=True)),
    sa.Column("valid_to", sa.DateTime(timezone=True)),
    sa.Column("source_id", sa.Uuid, nullable=False),
    sa.Column("run_id", sa.Uuid),
    sa.Column("signal_id", sa.Uuid),
    sa.Column("confidence", sa.Float),
    jsonb_column("properties"),
    sa.Column("statement_hash", sa.LargeBinary, nullable=False),
    *_seen_columns(),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    sa.ForeignKeyConstraint(
        ["workspace_id", "subject_id"],
        ["entity.workspace_id", "entity.id"],
        name="fk_relation_subject_id_entity",
    ),
    sa.ForeignKeyConstraint(
        ["workspace_id", "object_id"],
        ["entity.workspace_id", "entity.id"],
        name="fk_relation_object_id_entity",
    ),
    sa.ForeignKeyConstraint(["workspace_id", "source_id"], ["source.workspace_id", "source.id"]),
    sa.CheckConstraint("confidence BETWEEN 0 AND 1", name="confidence_range"),
    sa.CheckConstraint("valid_to >= valid_from", name="valid_range"),
    sa.CheckConstraint("predicate ~ '^[a-z][a-z0-9_]*$'", name="predicate_snake_case"),
    sa.UniqueConstraint("workspace_id", "statement_hash"),
    # relations.of(entity): outgoing, then incoming.
    sa.Index(
        "ix_relation_workspace_id_subject_id_predicate", "workspace_id", "subject_id", "predicate"
    ),
    sa.Index(
        "ix_relation_workspace_id_object_id_predicate", "workspace_id", "object_id", "predicate"
    ),
)
