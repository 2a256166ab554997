"""Runs (units of work) and the input records they rejected."""

from __future__ import annotations

import sqlalchemy as sa

from signalgraph.schema.base import (
    created_at_column,
    id_column,
    jsonb_column,
    metadata,
    workspace_fk,
    workspace_id_column,
)

RUN_STATUSES = ("pending", "running", "succeeded", "failed", "cancelled", "abandoned")

run = sa.Table(
    "run",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("source_id", sa.Uuid),
    jsonb_column("params"),
    jsonb_column("counters"),
    jsonb_column("progress"),
    sa.Column("error", sa.Text),
    sa.Column("actor", sa.Text),
    sa.Column("host", sa.Text),
    sa.Column("pid", sa.Integer),
    created_at_column(),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    workspace_fk(),
    # Sources are archived, never deleted, so runs keep pointing at them.
    sa.ForeignKeyConstraint(["workspace_id", "source_id"], ["source.workspace_id", "source.id"]),
    sa.CheckConstraint(
        "status IN (" + ", ".join(f"'{status}'" for status in RUN_STATUSES) + ")",
        name="status_known",
    ),
    # `runs list`: newest first within a workspace, keyset-paginated on (created_at, id).
    sa.Index("ix_run_workspace_id_created_at", "workspace_id", sa.text("created_at DESC"), "id"),
    # Finding stale running runs (abandoned detection) without scanning finished ones.
    sa.Index(
        "ix_run_running_heartbeat",
        "workspace_id",
        "heartbeat_at",
        postgresql_where=sa.text("status = 'running'"),
    ),
)

reject = sa.Table(
    "reject",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("run_id", sa.Uuid, nullable=False),
    sa.Column("file", sa.Text),
    # Line for line-based inputs (NDJSON, CSV), row for tables (Parquet), index for iterables.
    sa.Column("line", sa.BigInteger),
    sa.Column("field", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
    # The record exactly as it arrived, so it can be exported, fixed and re-ingested.
    sa.Column("raw", sa.LargeBinary, nullable=False),
    created_at_column(),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    sa.ForeignKeyConstraint(
        ["workspace_id", "run_id"], ["run.workspace_id", "run.id"], ondelete="CASCADE"
    ),
    # `rejects list --run` and `rejects export`, in input order.
    sa.Index("ix_reject_workspace_id_run_id_line", "workspace_id", "run_id", "file", "line"),
)
