"""Signal links: one signal amends, supersedes, replies to, references or is attached to another.

A link names its target by key (source + external id) or only by a reference text ("the
Master Agreement of 2021-03-04"). Until a matching signal is stored the link waits,
`dangling` (or `ambiguous`, with every candidate kept); ingest resolves it. Both ends
point at `signal_key`, the unpartitioned key table, so the foreign keys hold whatever
the month of either signal.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from signalgraph.links.vocabulary import LINK_ORIGINS, LINK_STATUSES, LINK_TYPES
from signalgraph.schema.base import (
    created_at_column,
    id_column,
    metadata,
    updated_at_column,
    workspace_id_column,
)


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


signal_link = sa.Table(
    "signal_link",
    metadata,
    workspace_id_column(),
    id_column(),
    sa.Column("from_signal_id", sa.Uuid, nullable=False),
    # The source of the linking signal (never changes): reference texts are matched
    # within it, and a key without a source names a signal of it.
    sa.Column("from_source_id", sa.Uuid, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    # The target as named: a key ...
    sa.Column("target_source_id", sa.Uuid),
    sa.Column("target_external_id", sa.Text),
    # ... or a reference text, its normalised form, the words a title must hold, its date.
    sa.Column("reference", sa.Text),
    sa.Column("reference_normalized", sa.Text),
    sa.Column("reference_words", ARRAY(sa.Text)),
    sa.Column("reference_date", sa.Date),
    sa.Column("status", sa.Text, nullable=False, server_default="dangling"),
    sa.Column("target_signal_id", sa.Uuid),
    # Every signal an ambiguous reference could mean, for an analyst to pick from.
    sa.Column("candidates", ARRAY(sa.Uuid), nullable=False, server_default="{}"),
    # How the target was found: key, reference or analyst.
    sa.Column("resolution", sa.Text),
    sa.Column("resolved_by", sa.Text),
    sa.Column("origin", sa.Text, nullable=False, server_default="record"),
    sa.Column("run_id", sa.Uuid),
    created_at_column(),
    updated_at_column(),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    sa.ForeignKeyConstraint(
        ["workspace_id", "from_signal_id"],
        ["signal_key.workspace_id", "signal_key.signal_id"],
        name="fk_signal_link_from_signal_id_signal_key",
        ondelete="CASCADE",
    ),
    # Detaching the target's month turns the link back to dangling first (partitions.py).
    sa.ForeignKeyConstraint(
        ["workspace_id", "target_signal_id"],
        ["signal_key.workspace_id", "signal_key.signal_id"],
        name="fk_signal_link_target_signal_id_signal_key",
    ),
    sa.ForeignKeyConstraint(
        ["workspace_id", "from_source_id"],
        ["source.workspace_id", "source.id"],
        name="fk_signal_link_from_source_id_source",
    ),
    sa.ForeignKeyConstraint(
        ["workspace_id", "target_source_id"],
        ["source.workspace_id", "source.id"],
        name="fk_signal_link_target_source_id_source",
    ),
    sa.CheckConstraint(f"type IN ({_quoted(LINK_TYPES)})", name="type_known"),
    sa.CheckConstraint(f"status IN ({_quoted(LINK_STATUSES)})", name="status_known"),
    sa.CheckConstraint(f"origin IN ({_quoted(LINK_ORIGINS)})", name="origin_known"),
    sa.CheckConstraint(
        "resolution IS NULL OR resolution IN ('key', 'reference', 'analyst')",
        name="resolution_known",
    ),
    sa.CheckConstraint(
        "(target_source_id IS NOT NULL AND target_external_id IS NOT NULL AND reference IS NULL"
        " AND reference_normalized IS NULL)"
        " OR (target_source_id IS NULL AND target_external_id IS NULL AND reference IS NOT NULL"
        " AND reference_normalized IS NOT NULL)",
        name="key_or_reference",
    ),
    sa.CheckConstraint(
        "(status = 'resolved') = (target_signal_id IS NOT NULL)", name="resolved_has_target"
    ),
    # One link per (from, type, target as named): re-ingesting changes nothing. Not
    # partial (NULLs never conflict: a row has a key or a reference), so that either also
    # serves "links of a signal" (outgoing, step (b)) and the cascade from signal_key.
    sa.Index(
        "uq_signal_link_key",
        "workspace_id",
        "from_signal_id",
        "type",
        "target_source_id",
        "target_external_id",
        unique=True,
    ),
    sa.Index(
        "uq_signal_link_reference",
        "workspace_id",
        "from_signal_id",
        "type",
        "reference_normalized",
        unique=True,
    ),
    # Batch resolution step (a): links waiting for a key the batch just stored; also the
    # per-batch "is anything waiting for this source?" probe.
    sa.Index(
        "ix_signal_link_waiting_key",
        "workspace_id",
        "target_source_id",
        "target_external_id",
        postgresql_where=sa.text("status <> 'resolved'"),
    ),
    # Batch resolution step (c): reference texts of this source waiting, by date.
    sa.Index(
        "ix_signal_link_waiting_reference",
        "workspace_id",
        "from_source_id",
        "reference_date",
        postgresql_where=sa.text("status <> 'resolved' AND reference_normalized IS NOT NULL"),
    ),
    # Links into a signal (`links of`, `signals show`).
    sa.Index(
        "ix_signal_link_workspace_id_target_signal_id",
        "workspace_id",
        "target_signal_id",
        postgresql_where=sa.text("target_signal_id IS NOT NULL"),
    ),
    # `links list --status S`, newest first.
    sa.Index("ix_signal_link_workspace_id_status_id", "workspace_id", "status", "id"),
)
