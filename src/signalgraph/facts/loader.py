"""Fact and relation statements through the load engine.

Validation checks what a statement says on its own (signalgraph.facts.statements); the
writers (signalgraph.facts.writer) resolve what needs the database once per batch.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from signalgraph.facts.statements import FactIn, RelationIn, validate_fact, validate_relation
from signalgraph.facts.writer import FactWriter, RelationWriter
from signalgraph.load.batches import Batch, Row
from signalgraph.load.fields import Limits
from signalgraph.load.values import CsvColumns

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope


class _StatementLoader:
    run_kind = "statements-ingest"
    # Runs record their input format's version; every kind has recorded 2 so far (one
    # value was shared with signals), kept so that run parameters stay as they were.
    record_format = 2
    counter_names: tuple[str, ...] = ()
    csv_columns = CsvColumns()
    keeps_repeated_keys = False  # a statement says one thing: a repeated key is ambiguous

    def row(self, *, seq: int, file: str | None, line: int, record: Any, raw: bytes) -> Row:
        """Return the statement's row, with its input bytes (the writer may still reject it)."""
        # References, sources and types are checked by the writer.
        return Row(seq=seq, file=file, line=line, record=record, raw=raw)

    def before_batch(self, scope: Scope, batch: Batch) -> list[str]:
        """Nothing to prepare."""
        return []


class FactLoader(_StatementLoader):
    """Fact statements for the load engine."""

    run_kind = "facts-ingest"
    counter_names: tuple[str, ...] = ("unknown_properties",)
    csv_columns = CsvColumns(times=("as_of",))

    def validate(self, value: dict[str, Any], *, observed_at: datetime, limits: Limits) -> FactIn:
        """Return the validated statement."""
        return validate_fact(value, observed_at=observed_at, limits=limits)

    def writer(
        self,
        conn: psycopg.Connection[Any],
        *,
        workspace_id: uuid.UUID,
        source_id: uuid.UUID,
        run_id: uuid.UUID,
        scope: Scope,
    ) -> FactWriter:
        """Return the writer for one run."""
        return FactWriter(conn, workspace_id, source_id, run_id)


class RelationLoader(_StatementLoader):
    """Relation statements for the load engine."""

    run_kind = "relations-ingest"
    counter_names: tuple[str, ...] = ()
    csv_columns = CsvColumns(json=("properties",), times=("valid_from", "valid_to"))

    def validate(
        self, value: dict[str, Any], *, observed_at: datetime, limits: Limits
    ) -> RelationIn:
        """Return the validated statement."""
        return validate_relation(value, limits=limits)

    def writer(
        self,
        conn: psycopg.Connection[Any],
        *,
        workspace_id: uuid.UUID,
        source_id: uuid.UUID,
        run_id: uuid.UUID,
        scope: Scope,
    ) -> RelationWriter:
        """Return the writer for one run."""
        return RelationWriter(conn, workspace_id, source_id, run_id)
