"""foundation: workspace, source, run, reject

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _uuid7() -> uuid.UUID:
    # Inlined on purpose: a migration must not change when library code does.
    import os

    ms = int(datetime.now(UTC).timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (ms << 80) | (0x7 << 76) | ((rand >> 68) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    )
    return uuid.UUID(int=value)


def _now() -> sa.TextClause:
    return sa.text("now()")


def _jsonb() -> sa.TextClause:
    return sa.text("'{}'::jsonb")


def upgrade() -> None:
    op.create_table(
        "workspace",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("settings", postgresql.JSONB(), server_default=_jsonb(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name="ck_workspace_name_length"),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_workspace"),
        sa.UniqueConstraint("name", name="uq_workspace_name"),
    )
    op.create_table(
        "source",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), server_default="generic", nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("config", postgresql.JSONB(), server_default=_jsonb(), nullable=False),
        sa.Column("trust_rank", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name="ck_source_name_length"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.workspace_id"],
            name="fk_source_workspace_id_workspace",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name="pk_source"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_source_workspace_id_name"),
    )
    op.create_table(
        "run",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("params", postgresql.JSONB(), server_default=_jsonb(), nullable=False),
        sa.Column("counters", postgresql.JSONB(), server_default=_jsonb(), nullable=False),
        sa.Column("progress", postgresql.JSONB(), server_default=_jsonb(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("host", sa.Text(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled', 'abandoned')",
            name="ck_run_status_known",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "source_id"],
            ["source.workspace_id", "source.id"],
            name="fk_run_workspace_id_source",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.workspace_id"],
            name="fk_run_workspace_id_workspace",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name="pk_run"),
    )
    op.create_index(
        "ix_run_workspace_id_created_at",
        "run",
        ["workspace_id", sa.text("created_at DESC"), "id"],
    )
    op.create_index(
        "ix_run_running_heartbeat",
        "run",
        ["workspace_id", "heartbeat_at"],
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "reject",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("line", sa.BigInteger(), nullable=True),
        sa.Column("field", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "run_id"],
            ["run.workspace_id", "run.id"],
            name="fk_reject_workspace_id_run",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name="pk_reject"),
    )
    op.create_index(
        "ix_reject_workspace_id_run_id_line", "reject", ["workspace_id", "run_id", "file", "line"]
    )
    # Every database starts with the workspace commands fall back to.
    op.execute(
        sa.text("INSERT INTO workspace (workspace_id, name, description) VALUES (:id, :n, :d)")
        .bindparams(sa.bindparam("id", type_=sa.Uuid()))
        .bindparams(id=_uuid7(), n="default", d="created by the first migration")
    )


def downgrade() -> None:
    op.drop_table("reject")
    op.drop_table("run")
    op.drop_table("source")
    op.drop_table("workspace")
