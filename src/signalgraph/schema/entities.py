"""Entities and their resolution: records, keys, redirects, judgements, merges, review, flags.

An entity's id never changes and never disappears: a merge adds a redirect from the
absorbed id to the survivor. Records (what one source knows about one entity) point at
their entity; mentions point at a record, so moving records is all a merge or a split
does, and undoing it moves them back.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from signalgraph.schema.base import (
    created_at_column,
    id_column,
    jsonb_column,
    metadata,
    updated_at_column,
    workspace_fk,
    workspace_id_column,
)

BUILTIN_ENTITY_TYPES = (
    "company",
    "person",
    "organization",
    "product",
    "drug",
    "place",
    "topic",
    "other",
)
JUDGEMENTS = ("same", "different", "unsure")

entity_type = sa.Table(
    "entity_type",
    metadata,
    workspace_id_column(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    created_at_column(),
    sa.PrimaryKeyConstraint("workspace_id", "name"),
    workspace_fk(),
)

entity = sa.Table(
    "entity",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    created_at_column(),
    updated_at_column(),
    sa.Column("archived_at", sa.DateTime(timezone=True)),
    sa.Column("archive_reason", sa.Text),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    workspace_fk(),
)

entity_record = sa.Table(
    "entity_record",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("source_id", sa.Uuid, nullable=False),
    sa.Column("external_id", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("aliases", ARRAY(sa.Text), nullable=False, server_default="{}"),
    # Normalised, {scheme: [values]}.
    jsonb_column("identifiers"),
    jsonb_column("properties"),
    sa.Column("record_hash", sa.LargeBinary, nullable=False),
    sa.Column("entity_id", sa.Uuid),
    # How the record got its entity: method, score, probability, features, candidate.
    sa.Column("resolution", JSONB),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("run_id", sa.Uuid),
    created_at_column(),
    updated_at_column(),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    # Idempotent ingest of entity records, like signals.
    sa.UniqueConstraint("workspace_id", "source_id", "external_id"),
    sa.ForeignKeyConstraint(["workspace_id", "source_id"], ["source.workspace_id", "source.id"]),
    sa.ForeignKeyConstraint(["workspace_id", "entity_id"], ["entity.workspace_id", "entity.id"]),
    # An entity's records (dossier, merge, split).
    sa.Index("ix_entity_record_workspace_id_entity_id", "workspace_id", "entity_id"),
    # The resolution queue: unresolved records, oldest first.
    sa.Index(
        "ix_entity_record_unresolved",
        "workspace_id",
        "type",
        "created_at",
        postgresql_where=sa.text("entity_id IS NULL"),
    ),
)

record_key = sa.Table(
    "record_key",
    metadata,
    workspace_id_column(),
    # "id:scheme:value", "n:normalised name", "t:token", "p:…" person keys, …
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("record_id", sa.Uuid, nullable=False),
    # Candidate search: every record sharing a key, by one index range scan.
    sa.PrimaryKeyConstraint("workspace_id", "key", "record_id"),
    sa.ForeignKeyConstraint(
        ["workspace_id", "record_id"],
        ["entity_record.workspace_id", "entity_record.id"],
        ondelete="CASCADE",
    ),
    # Replacing a changed record's keys.
    sa.Index("ix_record_key_workspace_id_record_id", "workspace_id", "record_id"),
)

entity_redirect = sa.Table(
    "entity_redirect",
    metadata,
    workspace_id_column(),
    sa.Column("from_id", sa.Uuid, nullable=False),
    sa.Column("to_id", sa.Uuid, nullable=False),
    sa.Column("merge_id", sa.Uuid, nullable=False),
    created_at_column(),
    # Always points at the final survivor (chains are compressed on merge), so resolving
    # an id is one probe.
    sa.PrimaryKeyConstraint("workspace_id", "from_id"),
    sa.ForeignKeyConstraint(
        ["workspace_id", "from_id"],
        ["entity.workspace_id", "entity.id"],
        name="fk_entity_redirect_from_id_entity",
    ),
    sa.ForeignKeyConstraint(
        ["workspace_id", "to_id"],
        ["entity.workspace_id", "entity.id"],
        name="fk_entity_redirect_to_id_entity",
    ),
    # Everything that redirects to an entity (its merge history, its aliases).
    sa.Index("ix_entity_redirect_workspace_id_to_id", "workspace_id", "to_id"),
)

judgement = sa.Table(
    "judgement",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("entity_a", sa.Uuid, nullable=False),
    sa.Column("entity_b", sa.Uuid, nullable=False),
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("actor", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("origin", sa.Text, nullable=False, server_default="user"),
    created_at_column(),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    sa.CheckConstraint("decision IN ('same', 'different', 'unsure')", name="decision_known"),
    sa.CheckConstraint("entity_a < entity_b", name="pair_ordered"),
    sa.ForeignKeyConstraint(
        ["workspace_id", "entity_a"],
        ["entity.workspace_id", "entity.id"],
        name="fk_judgement_entity_a_entity",
    ),
    sa.ForeignKeyConstraint(
        ["workspace_id", "entity_b"],
        ["entity.workspace_id", "entity.id"],
        name="fk_judgement_entity_b_entity",
    ),
    # Judgements touching an entity (either side).
    sa.Index("ix_judgement_workspace_id_entity_a", "workspace_id", "entity_a"),
    sa.Index("ix_judgement_workspace_id_entity_b", "workspace_id", "entity_b"),
)

merge = sa.Table(
    "merge",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("kind", sa.Text, nullable=False),  # merge or split
    sa.Column("survivor_id", sa.Uuid, nullable=False),
    sa.Column("absorbed_id", sa.Uuid, nullable=False),
    # Exactly what moved, so an undo restores the prior state.
    sa.Column("records", ARRAY(sa.Uuid), nullable=False, server_default="{}"),
    jsonb_column("redirects", "[]"),
    sa.Column("judgement_id", sa.Uuid),
    sa.Column("actor", sa.Text),
    sa.Column("reason", sa.Text),
    created_at_column(),
    sa.Column("undone_at", sa.DateTime(timezone=True)),
    sa.Column("undone_by", sa.Text),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    sa.CheckConstraint("kind IN ('merge', 'split')", name="kind_known"),
    # Merge history of an entity, as survivor or as the absorbed one.
    sa.Index("ix_merge_workspace_id_survivor_id", "workspace_id", "survivor_id"),
    sa.Index("ix_merge_workspace_id_absorbed_id", "workspace_id", "absorbed_id"),
)

review_item = sa.Table(
    "review_item",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("entity_a", sa.Uuid, nullable=False),
    sa.Column("entity_b", sa.Uuid, nullable=False),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("weight", sa.Float, nullable=False),
    jsonb_column("features"),
    # How much a decision would change: records and mentions involved, times uncertainty.
    sa.Column("priority", sa.Float, nullable=False),
    # pending; decided (someone judged the pair); settled (the pair became one entity
    # some other way, see resolution and merge_id); obsolete (before 0014: the same).
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("judgement_id", sa.Uuid),
    sa.Column("run_id", sa.Uuid),
    created_at_column(),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    # Why it left the queue (judged, merged), who or what took it out, and the merge.
    sa.Column("resolution", sa.Text),
    sa.Column("decided_by", sa.Text),
    sa.Column("merge_id", sa.Uuid),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    sa.CheckConstraint(
        "status IN ('pending', 'decided', 'settled', 'obsolete')", name="status_known"
    ),
    # One pending item per pair.
    sa.Index(
        "uq_review_item_pending_pair",
        "workspace_id",
        "entity_a",
        "entity_b",
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    ),
    # `review list`: most useful first.
    sa.Index(
        "ix_review_item_pending_priority",
        "workspace_id",
        sa.text("priority DESC"),
        postgresql_where=sa.text("status = 'pending'"),
    ),
)

flag = sa.Table(
    "flag",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False, server_default="warning"),
    sa.Column("object_type", sa.Text, nullable=False),
    sa.Column("object_id", sa.Uuid, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    jsonb_column("details"),
    sa.Column("actor", sa.Text),
    sa.Column("run_id", sa.Uuid),
    created_at_column(),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("resolved_by", sa.Text),
    sa.Column("resolution_note", sa.Text),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    sa.CheckConstraint("severity IN ('info', 'warning', 'error')", name="severity_known"),
    # Flags on one object (a dossier's open flags).
    sa.Index("ix_flag_workspace_id_object_id", "workspace_id", "object_id"),
    # `flags list --open`, newest first.
    sa.Index(
        "ix_flag_open",
        "workspace_id",
        sa.text("created_at DESC"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    ),
)

resolution_model = sa.Table(
    "resolution_model",
    metadata,
    workspace_id_column(),
    sa.Column("entity_type", sa.Text, nullable=False),
    jsonb_column("params"),
    sa.Column("pairs", sa.Integer, nullable=False, server_default="0"),
    sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("workspace_id", "entity_type"),
    workspace_fk(),
)
