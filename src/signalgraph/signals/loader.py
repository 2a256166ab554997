"""Signals through the load engine: the record format, the signal row, the signal writer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psycopg

from signalgraph.db.months import month_of
from signalgraph.links.store import needs_lookup
from signalgraph.load.batches import Batch
from signalgraph.load.fields import Limits
from signalgraph.load.options import IngestOptions, IngestProgress, IngestResult
from signalgraph.load.run import ingest
from signalgraph.partitions import Partitions
from signalgraph.signals.records import RECORD_FORMAT_VERSION, SIGNAL_CSV, SignalRecord, validate
from signalgraph.signals.rows import SignalRow
from signalgraph.signals.writer import SignalWriter

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SignalLoader:
    """Signals: validated by the record format, written with fingerprints and partitions."""

    run_kind = "ingest"
    record_format = RECORD_FORMAT_VERSION
    counter_names: tuple[str, ...] = ("duplicates", "near_duplicates")
    csv_columns = SIGNAL_CSV
    keeps_repeated_keys = True  # `raw` keeps the source's payload, all of it

    def validate(
        self, value: dict[str, Any], *, observed_at: datetime, limits: Limits
    ) -> SignalRecord:
        """Return the validated signal record."""
        return validate(value, observed_at=observed_at, limits=limits)

    def row(
        self, *, seq: int, file: str | None, line: int, record: SignalRecord, raw: bytes
    ) -> SignalRow:
        """Return a signal row; its input bytes are kept only if its links need a lookup."""
        # Links naming another source or a signal id are checked against the database by
        # the writer, which may still reject the record.
        kept = raw if needs_lookup(record) else None
        return SignalRow(seq=seq, file=file, line=line, record=record, raw=kept)

    def writer(
        self,
        conn: psycopg.Connection[Any],
        *,
        workspace_id: uuid.UUID,
        source_id: uuid.UUID,
        run_id: uuid.UUID,
        scope: Scope,
    ) -> SignalWriter:
        """Return a SignalWriter for one run."""
        return SignalWriter(
            conn,
            workspace_id=workspace_id,
            source_id=source_id,
            run_id=run_id,
            near_distance=scope.settings.near_duplicate_distance,
            min_tokens=scope.settings.near_duplicate_min_tokens,
        )

    def before_batch(self, scope: Scope, batch: Batch) -> list[str]:
        """Create the monthly partitions the batch's signals need."""
        # Records published before 1970 get ids (and so partitions) at 1970-01.
        months = {month_of(max(row.record.published_at, _EPOCH)) for row in batch.rows}
        return Partitions(scope).ensure_for(months)


def ingest_signals(
    scope: Scope,
    inputs: Any,
    *,
    source: str,
    options: IngestOptions | None = None,
    progress: Callable[[IngestProgress], None] | None = None,
) -> IngestResult:
    """Ingest signals from files (paths, "-" for stdin) or an iterable of dicts into `source`."""
    return ingest(
        scope, inputs, source=source, loader=SignalLoader(), options=options, progress=progress
    )
