"""audit: uuid7() in SQL, the partitioned audit_event table, audit triggers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from signalgraph.db.audit_ddl import (
    UUID7_FUNCTION,
    audit_function_sql,
    audit_triggers_sql,
    drop_audit_triggers_sql,
)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Table, the uuid column naming the changed object (None: keyed by a name), the key
# columns besides workspace_id.
AUDITED: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("workspace", "workspace_id", ()),
    ("source", "id", ("id",)),
    ("entity_type", None, ("name",)),
    ("entity", "id", ("id",)),
    ("entity_record", "id", ("id",)),
    ("entity_redirect", "from_id", ("from_id",)),
    ("judgement", "id", ("id",)),
    ("merge", "id", ("id",)),
    ("review_item", "id", ("id",)),
    ("flag", "id", ("id",)),
    ("resolution_model", None, ("entity_type",)),
)


def upgrade() -> None:
    op.execute(UUID7_FUNCTION)
    op.create_table(
        "audit_event",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "action IN ('insert', 'update', 'delete')",
            name=op.f("ck_audit_event_action_known"),
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_audit_event")),
        postgresql_partition_by="RANGE (id)",
    )
    op.create_index(
        "ix_audit_event_workspace_id_actor_id",
        "audit_event",
        ["workspace_id", "actor", "id"],
        unique=False,
    )
    op.create_index(
        "ix_audit_event_workspace_id_object_id_id",
        "audit_event",
        ["workspace_id", "object_id", "id"],
        unique=False,
    )
    # Events of months without a partition land here; the first audited change of a run
    # creates the current month's partition (signalgraph.audit.ensure_partitions).
    op.execute("CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT")
    op.execute(audit_function_sql())
    for table, object_column, keys in AUDITED:
        for statement in audit_triggers_sql(table, object_column, keys):
            op.execute(statement)


def downgrade() -> None:
    for table, _, _ in AUDITED:
        for statement in drop_audit_triggers_sql(table):
            op.execute(statement)
    op.execute("DROP FUNCTION IF EXISTS audit_changes()")
    bind = op.get_bind()
    detached = bind.execute(
        sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename ~ '^audit_event_detached_p[0-9]{6}(_[0-9]+)?$'"
        )
    ).scalars()
    for name in list(detached):
        op.execute(f'DROP TABLE "{name}"')
    op.drop_table("audit_event")
    op.execute("DROP FUNCTION IF EXISTS uuid7()")
