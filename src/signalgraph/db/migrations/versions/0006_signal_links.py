"""signal links: amends / supersedes / replies_to / references / attachment_of, dangling until found

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from signalgraph.db.audit_ddl import audit_triggers_sql, drop_audit_triggers_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signal_link",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("from_signal_id", sa.Uuid(), nullable=False),
        sa.Column("from_source_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("target_source_id", sa.Uuid(), nullable=True),
        sa.Column("target_external_id", sa.Text(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("reference_normalized", sa.Text(), nullable=True),
        sa.Column("reference_words", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("reference_date", sa.Date(), nullable=True),
        sa.Column("status", sa.Text(), server_default="dangling", nullable=False),
        sa.Column("target_signal_id", sa.Uuid(), nullable=True),
        sa.Column("candidates", postgresql.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), server_default="record", nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'resolved') = (target_signal_id IS NOT NULL)",
            name=op.f("ck_signal_link_resolved_has_target"),
        ),
        sa.CheckConstraint(
            "origin IN ('record', 'user')", name=op.f("ck_signal_link_origin_known")
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('key', 'reference', 'analyst')",
            name=op.f("ck_signal_link_resolution_known"),
        ),
        sa.CheckConstraint(
            "status IN ('resolved', 'dangling', 'ambiguous')",
            name=op.f("ck_signal_link_status_known"),
        ),
        sa.CheckConstraint(
            "type IN ('amends', 'supersedes', 'replies_to', 'references', 'attachment_of')",
            name=op.f("ck_signal_link_type_known"),
        ),
        sa.CheckConstraint(
            "(target_source_id IS NOT NULL AND target_external_id IS NOT NULL AND reference IS "
            "NULL AND reference_normalized IS NULL) OR (target_source_id IS NULL AND "
            "target_external_id IS NULL AND reference IS NOT NULL AND reference_normalized IS "
            "NOT NULL)",
            name=op.f("ck_signal_link_key_or_reference"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "from_signal_id"],
            ["signal_key.workspace_id", "signal_key.signal_id"],
            name="fk_signal_link_from_signal_id_signal_key",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "from_source_id"],
            ["source.workspace_id", "source.id"],
            name="fk_signal_link_from_source_id_source",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "target_signal_id"],
            ["signal_key.workspace_id", "signal_key.signal_id"],
            name="fk_signal_link_target_signal_id_signal_key",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "target_source_id"],
            ["source.workspace_id", "source.id"],
            name="fk_signal_link_target_source_id_source",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_signal_link")),
    )
    op.create_index(
        "ix_signal_link_waiting_key",
        "signal_link",
        ["workspace_id", "target_source_id", "target_external_id"],
        unique=False,
        postgresql_where=sa.text("status <> 'resolved'"),
    )
    op.create_index(
        "ix_signal_link_waiting_reference",
        "signal_link",
        ["workspace_id", "from_source_id", "reference_date"],
        unique=False,
        postgresql_where=sa.text("status <> 'resolved' AND reference_normalized IS NOT NULL"),
    )
    op.create_index(
        "ix_signal_link_workspace_id_status_id",
        "signal_link",
        ["workspace_id", "status", "id"],
        unique=False,
    )
    op.create_index(
        "ix_signal_link_workspace_id_target_signal_id",
        "signal_link",
        ["workspace_id", "target_signal_id"],
        unique=False,
        postgresql_where=sa.text("target_signal_id IS NOT NULL"),
    )
    op.create_index(
        "uq_signal_link_key",
        "signal_link",
        ["workspace_id", "from_signal_id", "type", "target_source_id", "target_external_id"],
        unique=True,
    )
    op.create_index(
        "uq_signal_link_reference",
        "signal_link",
        ["workspace_id", "from_signal_id", "type", "reference_normalized"],
        unique=True,
    )
    for statement in audit_triggers_sql("signal_link", "id", ("id",)):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_audit_triggers_sql("signal_link"):
        op.execute(statement)
    op.drop_table("signal_link")
