"""Signals (partitioned by month through their UUIDv7 id), keys, fingerprints, mentions, revisions.

The signal id is a UUIDv7 whose time part is the published time, and `signal`,
`mention` and `signal_revision` are range-partitioned on it with the same monthly
bounds, so every key holds its partition key and a month can be moved or detached as
one unit. `signal_key` and `fingerprint` are not partitioned: they answer "have we seen
this key / this content" with one index probe, whatever the number of months.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

from signalgraph.schema.base import (
    created_at_column,
    jsonb_column,
    metadata,
    updated_at_column,
    workspace_id_column,
)

PARTITIONED_TABLES = ("signal", "mention", "signal_revision")

# Full-text search vector of a signal: title (weight A) and text (weight B), stemmed in
# the signal's language (`ts_config(lang)`, a SQL function made by migration 0008).
# Capped so a huge text never exceeds what a tsvector can hold.
SEARCH_EXPRESSION = (
    "setweight(to_tsvector(ts_config(lang), left(coalesce(title, ''), 10000)), 'A') || "
    "setweight(to_tsvector(ts_config(lang), left(coalesce(text, ''), 100000)), 'B')"
)

# A fingerprint that new signals are compared with for near duplicates.
REPRESENTATIVE = "duplicate_of IS NULL AND near_duplicate_of IS NULL AND simhash IS NOT NULL"

signal_key = sa.Table(
    "signal_key",
    metadata,
    workspace_id_column(),
    sa.Column("signal_id", sa.Uuid, nullable=False),
    sa.Column("source_id", sa.Uuid, nullable=False),
    sa.Column("external_id", sa.Text, nullable=False),
    # sha256 of the record's canonical JSON: equal means "the same content again".
    sa.Column("record_hash", sa.LargeBinary, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
    created_at_column(),
    updated_at_column(),
    sa.PrimaryKeyConstraint("workspace_id", "signal_id"),
    # Idempotency: one signal per (workspace, source, external id), across partitions.
    sa.UniqueConstraint("workspace_id", "source_id", "external_id"),
    # No foreign keys here or on fingerprint: they would fire a trigger per row on the
    # hottest insert path. Only the ingest writer writes these rows, in the same
    # transaction as their signal; `signalgraph db check --deep` verifies the references.
)

fingerprint = sa.Table(
    "fingerprint",
    metadata,
    workspace_id_column(),
    sa.Column("signal_id", sa.Uuid, nullable=False),
    sa.Column("content_hash", sa.LargeBinary),
    sa.Column("url_normalized", sa.Text),
    sa.Column("url_hash", sa.LargeBinary),
    sa.Column("simhash", sa.BigInteger),
    sa.Column("band0", sa.Integer),
    sa.Column("band1", sa.Integer),
    sa.Column("band2", sa.Integer),
    sa.Column("band3", sa.Integer),
    sa.Column("tokens", sa.Integer, nullable=False, server_default="0"),
    # Copies of signal.duplicate_of and signal.near_duplicate_of: a new signal is matched
    # to representatives only (neither pointer set), so a group of copies is a star
    # around its first signal, never a chain, and its size never multiplies the work.
    sa.Column("duplicate_of", sa.Uuid),
    sa.Column("near_duplicate_of", sa.Uuid),
    # Short texts only: their words, names and figures marked (fingerprint.word_sketch),
    # to confirm a near-duplicate pair.
    sa.Column("word_sketch", sa.LargeBinary),
    created_at_column(),
    sa.PrimaryKeyConstraint("workspace_id", "signal_id"),
    # One original per content and per URL: the exact-duplicate lookup, and the guard
    # that makes two concurrent ingests of the same text agree on the original.
    sa.Index(
        "uq_fingerprint_original_content",
        "workspace_id",
        "content_hash",
        unique=True,
        postgresql_where=sa.text("duplicate_of IS NULL AND content_hash IS NOT NULL"),
    ),
    sa.Index(
        "uq_fingerprint_original_url",
        "workspace_id",
        "url_hash",
        unique=True,
        postgresql_where=sa.text("duplicate_of IS NULL AND url_hash IS NOT NULL"),
    ),
    # Near-duplicate candidates: any pair within Hamming distance 3 shares a band. Per
    # band value, the most recently published representatives come first (signal ids
    # are UUIDv7 of the published time), read backwards up to the cap.
    *(
        sa.Index(
            f"ix_fingerprint_representative_band{band}",
            "workspace_id",
            f"band{band}",
            "signal_id",
            postgresql_where=sa.text(REPRESENTATIVE),
        )
        for band in range(4)
    ),
)

signal = sa.Table(
    "signal",
    metadata,
    workspace_id_column(),
    sa.Column("id", sa.Uuid, nullable=False),
    sa.Column("source_id", sa.Uuid, nullable=False),
    sa.Column("external_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("text", sa.Text),
    sa.Column("url", sa.Text),
    sa.Column("author", sa.Text),
    sa.Column("lang", sa.Text),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    jsonb_column("metadata"),
    sa.Column("raw", JSONB),
    sa.Column("duplicate_of", sa.Uuid),
    sa.Column("near_duplicate_of", sa.Uuid),
    sa.Column("near_distance", sa.SmallInteger),
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
    sa.Column("run_id", sa.Uuid, nullable=False),
    created_at_column(),
    updated_at_column(),
    sa.Column("search", TSVECTOR, sa.Computed(SEARCH_EXPRESSION, persisted=True)),
    sa.PrimaryKeyConstraint("workspace_id", "id"),
    # `signals search`: the signals whose words match a full-text query.
    sa.Index("ix_signal_search", "search", postgresql_using="gin"),
    # A phrase search: the signals holding one of its adjacent word pairs (migration 0012
    # makes word_pair_buckets; query/phrases.py builds the condition).
    sa.Index(
        "ix_signal_search_pairs", sa.text("word_pair_buckets(search)"), postgresql_using="gin"
    ),
    # `signals list`: newest first, per workspace and per source.
    sa.Index("ix_signal_workspace_id_published_at", "workspace_id", "published_at"),
    sa.Index(
        "ix_signal_workspace_id_source_id_published_at",
        "workspace_id",
        "source_id",
        "published_at",
    ),
    # `signals duplicates`: the members of each group.
    sa.Index(
        "ix_signal_duplicate_of",
        "workspace_id",
        "duplicate_of",
        postgresql_where=sa.text("duplicate_of IS NOT NULL"),
    ),
    sa.Index(
        "ix_signal_near_duplicate_of",
        "workspace_id",
        "near_duplicate_of",
        postgresql_where=sa.text("near_duplicate_of IS NOT NULL"),
    ),
    postgresql_partition_by="RANGE (id)",
)

mention = sa.Table(
    "mention",
    metadata,
    workspace_id_column(),
    sa.Column("signal_id", sa.Uuid, nullable=False),
    sa.Column("ordinal", sa.Integer, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    jsonb_column("identifiers"),
    sa.Column("span_start", sa.Integer),
    sa.Column("span_end", sa.Integer),
    sa.Column("confidence", sa.Float),
    # The entity record this mention was resolved into (its entity follows merges).
    sa.Column("record_id", sa.Uuid),
    created_at_column(),
    # The signal's published_at, kept with each mention (the writer sets both together).
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("workspace_id", "signal_id", "ordinal"),
    # Signals mentioning an entity, newest first: its records' mentions walked in the
    # order of the signal list, so a much-mentioned entity's page reads a page of rows.
    sa.Index(
        "ix_mention_workspace_id_record_id_published_at_signal_id",
        "workspace_id",
        "record_id",
        sa.text("published_at DESC"),
        sa.text("signal_id DESC"),
    ),
    # The mention resolution queue.
    sa.Index(
        "ix_mention_unresolved",
        "workspace_id",
        "type",
        postgresql_where=sa.text("record_id IS NULL"),
    ),
    sa.CheckConstraint(
        "span_start IS NULL OR span_end IS NULL OR span_start <= span_end", name="span_order"
    ),
    postgresql_partition_by="RANGE (signal_id)",
)

signal_revision = sa.Table(
    "signal_revision",
    metadata,
    workspace_id_column(),
    sa.Column("signal_id", sa.Uuid, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("text", sa.Text),
    sa.Column("url", sa.Text),
    sa.Column("author", sa.Text),
    sa.Column("lang", sa.Text),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    jsonb_column("metadata"),
    sa.Column("raw", JSONB),
    sa.Column("mentions", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("record_hash", sa.LargeBinary, nullable=False),
    sa.Column("run_id", sa.Uuid, nullable=False),
    sa.Column("replaced_by_run_id", sa.Uuid, nullable=False),
    sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("workspace_id", "signal_id", "revision"),
    postgresql_partition_by="RANGE (signal_id)",
)

# Kept by row triggers on `signal` (migration 0011): the signals whose published time is
# not their id's time (re-dated by a later revision, or before 1970), so that a date
# window can read a range of ids (a few monthly partitions) plus these.
signal_moved = sa.Table(
    "signal_moved",
    metadata,
    workspace_id_column(),
    sa.Column("signal_id", sa.Uuid, nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("workspace_id", "signal_id"),
    # A date window: the listed signals published in it.
    sa.Index("ix_signal_moved_workspace_id_published_at", "workspace_id", "published_at"),
)
