"""What a kind of record plugs into the load engine: a Loader, and the Writer it makes.

Signals, entity records, facts and relations are loaders, each in its own package; the
engine (signalgraph.load.run) reads, validates, batches and counts, and never knows
which kind it drives.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from signalgraph.load.batches import Batch, Row, WriteResult
from signalgraph.load.fields import Limits
from signalgraph.load.values import CsvColumns

if TYPE_CHECKING:
    import psycopg

    from signalgraph.db.scope import Scope


class Record(Protocol):
    """What the engine reads of a validated record (the rest is the writer's business)."""

    @property
    def external_id(self) -> str:
        """Return the record's key: a batch holds each key once."""

    @property
    def nul_stripped(self) -> bool:
        """Return whether NUL characters were stripped from the record (counted)."""


class Writer(Protocol):
    """Writes batches of one kind of record for one run."""

    conn: psycopg.Connection[Any]
    workspace_id: uuid.UUID
    run_id: uuid.UUID

    def prefilter(self, rows: Sequence[Row], connection: psycopg.Connection[Any]) -> None:
        """Do work ahead of the write, off the write path (may be nothing)."""

    def write(self, batch: Batch) -> WriteResult:
        """Store one batch inside the caller's transaction; raise RetryBatch on a lost race."""


class Loader(Protocol):
    """What one kind of record needs from the load engine."""

    run_kind: str
    # The version of the input format, recorded in the run's parameters.
    record_format: int
    # Counters of this kind of record beside the common ones (shown with zeros too).
    counter_names: tuple[str, ...]
    csv_columns: CsvColumns  # which CSV cells hold JSON or epoch times
    keeps_repeated_keys: bool  # a repeated JSON key: kept verbatim (True) or a reject

    def validate(self, value: dict[str, Any], *, observed_at: datetime, limits: Limits) -> Record:
        """Return the record to store, or raise Rejection."""

    def row(self, *, seq: int, file: str | None, line: int, record: Any, raw: bytes) -> Row:
        """Return the row that carries a valid record to the writer.

        The row keeps `raw` (the input bytes) only when the writer may still reject the
        record: rejects are kept verbatim.
        """

    def writer(
        self,
        conn: psycopg.Connection[Any],
        *,
        workspace_id: uuid.UUID,
        source_id: uuid.UUID,
        run_id: uuid.UUID,
        scope: Scope,
    ) -> Writer:
        """Return the batch writer for one run."""

    def before_batch(self, scope: Scope, batch: Batch) -> list[str]:
        """Prepare the database for a batch outside its transaction; return what was made."""
