"""The audit trail: one event per changed row, written by triggers in the same statement.

Events are range-partitioned by month on their UUIDv7 id (made in SQL by `uuid7()` at
the time of the change), like signals, so old months can be detached.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from signalgraph.schema.base import created_at_column, metadata, workspace_id_column

AUDIT_ACTIONS = ("insert", "update", "delete")

audit_event = sa.Table(
    "audit_event",
    metadata,
    workspace_id_column(),
    sa.Column("id", sa.Uuid, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    # The table changed, and the id of the changed row (NULL for rows keyed by a name).
    sa.Column("object_type", sa.Text, nullable=False),
    sa.Column("object_id", sa.Uuid),
    # The entity (or object) the changed row is about: a membership's, a comment's, a
    # fact's entity, a flag's object (migration 0013).
    sa.Column("subject_id", sa.Uuid),
    # Only the fields that changed: before (update, delete) and after (insert, update).
    sa.Column("before", JSONB),
    sa.Column("after", JSONB),
    sa.Column("run_id", sa.Uuid),
    created_at_column(),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    sa.CheckConstraint("action IN ('insert', 'update', 'delete')", name="action_known"),
    # `audit list --object ID`: the history of one object, newest first.
    sa.Index("ix_audit_event_workspace_id_object_id_id", "workspace_id", "object_id", "id"),
    # `audit list --object ENTITY`: everything about one entity, newest first.
    sa.Index(
        "ix_audit_event_workspace_id_subject_id_id",
        "workspace_id",
        "subject_id",
        "id",
        postgresql_where=sa.text("subject_id IS NOT NULL"),
    ),
    # `audit list --actor A`: what one person did, newest first.
    sa.Index("ix_audit_event_workspace_id_actor_id", "workspace_id", "actor", "id"),
    postgresql_partition_by="RANGE (id)",
)
