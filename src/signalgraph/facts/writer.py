# ruff: noqa: S608 -- SQL is built from constant fragments; values are bound parameters.
"""Batch writers for fact and relation statements.

Each batch resolves its references, sources, signals and property types with one query
per kind, turns what does not resolve into rejects naming the field, and stores the rest
with one INSERT … SELECT: a statement seen before only moves its `last_seen`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import psycopg

from signalgraph.facts.refs import EntityRef, resolve_refs
from signalgraph.facts.registry import LOCK_SHARED_SQL
from signalgraph.facts.statements import FactIn, RelationIn, digest
from signalgraph.facts.values import (
    STORED_VALUE_SQL,
    TypedValue,
    ValueProblem,
    problem_reason,
    typed_columns,
    typed_value,
)
from signalgraph.ids import uuid7
from signalgraph.load.batches import Batch, RejectRow, RetryBatch, Row, WriteResult
from signalgraph.load.fields import Rejection, canonical_json
from signalgraph.load.rejects import copy_rejects


class _StatementWriter:
    """Resolution and the idempotent insert shared by facts and relations."""

    table = ""
    columns: tuple[tuple[str, str], ...] = ()
    # Columns stored from an expression over the input row `d` instead of as given.
    expressions: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        workspace_id: uuid.UUID,
        source_id: uuid.UUID,
        run_id: uuid.UUID,
    ) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.source_id = source_id
        self.run_id = run_id

    def prefilter(self, rows: Sequence[Row], connection: psycopg.Connection[Any]) -> None:
        """Nothing to precompute."""

    def _sources(self, names: set[str]) -> dict[str, uuid.UUID]:
        if not names:
            return {}
        return dict(
            self.conn.execute(
                "SELECT name, id FROM source WHERE workspace_id = %s AND name = ANY(%s)",
                (self.workspace_id, sorted(names)),
            ).fetchall()
        )

    def _signals(self, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        if not ids:
            return set()
        return {
            found
            for (found,) in self.conn.execute(
                "SELECT id FROM signal WHERE workspace_id = %s AND id = ANY(%s)",
                (self.workspace_id, sorted(ids)),
            )
        }

    def _common(self, rows: Sequence[Row]) -> tuple[dict[str, uuid.UUID], set[uuid.UUID]]:
        sources = self._sources({r.record.source for r in rows if r.record.source})
        signals = self._signals({r.record.signal for r in rows if r.record.signal})
        return sources, signals

    def _check_common(
        self, record: Any, sources: dict[str, uuid.UUID], signals: set[uuid.UUID]
    ) -> uuid.UUID:
        if record.signal is not None and record.signal not in signals:
            raise Rejection("signal", f"signal {record.signal} does not exist in this workspace")
        if record.source is None:
            return self.source_id
        found = sources.get(record.source)
        if found is None:
            raise Rejection("source", f"source {record.source!r} does not exist")
        return found

    def _insert(self, payload: list[dict[str, Any]]) -> int:
        """Insert new statements, move last_seen of known ones; return how many were new."""
        if not payload:
            return 0
        payload.sort(key=lambda p: p["hash"])  # one lock order for concurrent writers
        names = ", ".join(name for name, _ in self.columns)
        values = ", ".join(self.expressions.get(name, f"d.{name}") for name, _ in self.columns)
        typed = ", ".join(f"{name} {kind}" for name, kind in self.columns)
        # Table and column names come from the class, never from input.
        statement = (
            f"INSERT INTO {self.table} (workspace_id, id, run_id, statement_hash, {names}) "
            f"SELECT %(ws)s, d.id, %(run)s, decode(d.hash, 'hex'), {values} "
            f"FROM jsonb_to_recordset(%(rows)s::jsonb) AS d(id uuid, hash text, {typed}) "
            f"ON CONFLICT ON CONSTRAINT uq_{self.table}_workspace_id_statement_hash "
            f"DO UPDATE SET last_seen = now() RETURNING (xmax = 0)"
        )
        try:
            results = self.conn.execute(
                statement,
                {
                    "ws": self.workspace_id,
                    "run": self.run_id,
                    "rows": canonical_json(payload).decode("utf-8", "surrogatepass"),
                },
            ).fetchall()
        except psycopg.errors.DeadlockDetected as exc:
            raise RetryBatch(str(exc)) from exc
        return sum(1 for (new,) in results if new)

    def _finish(
        self, batch: Batch, accepted: list[Row], rejects: list[RejectRow], payload: list[Any]
    ) -> WriteResult:
        batch.rows = accepted
        batch.rejects.extend(rejects)
        unique = {p["hash"]: p for p in payload}
        inserted = self._insert(list(unique.values()))
        if batch.rejects:
            copy_rejects(self.conn, self.workspace_id, self.run_id, batch.rejects)
        return WriteResult(
            inserted=inserted, unchanged=len(accepted) - inserted, rejected=len(batch.rejects)
        )


def _reject(row: Row, field: str | None, reason: str) -> RejectRow:
    assert row.raw is not None, "the statement loaders keep every row's input bytes"
    return RejectRow(row.file, row.line, field, reason, row.raw)


def _written(ref: EntityRef, entity_id: uuid.UUID) -> Any:
    # An id is hashed as the full id it names (a prefix and the full id are one statement);
    # identifiers in their normalised form.
    return str(entity_id) if ref.kind == "id" else ref.key


class FactWriter(_StatementWriter):
    """Writes batches of fact statements."""

    table = "fact"
    columns = (
        ("entity_id", "uuid"), ("entity_ref", "jsonb"), ("property", "text"),
        ("value_type", "text"), ("value", "jsonb"), ("value_num", "numeric"),
        ("value_text", "text"), ("value_date", "date"), ("currency", "text"), ("unit", "text"),
        ("as_of", "timestamptz"), ("dated", "boolean"), ("source_id", "uuid"),
        ("signal_id", "uuid"), ("confidence", "float8"),
    )  # fmt: skip
    expressions: ClassVar[dict[str, str]] = {"value": STORED_VALUE_SQL.format(t="d")}

    def write(self, batch: Batch) -> WriteResult:
        """Resolve the batch's references, reject what does not resolve, store the rest."""
        names = sorted({r.record.property for r in batch.rows})
        self.conn.execute(LOCK_SHARED_SQL, (self.workspace_id, names))
        registry = {
            name: (kind, unit)
            for name, kind, unit in self.conn.execute(
                "SELECT name, type, unit FROM fact_property WHERE workspace_id = %s "
                "AND name = ANY(%s)",
                (self.workspace_id, names),
            )
        }
        entities = resolve_refs(self.conn, self.workspace_id, (r.record.entity for r in batch.rows))
        sources, signals = self._common(batch.rows)
        accepted: list[Row] = []
        rejects: list[RejectRow] = []
        payload: list[dict[str, Any]] = []
        unknown = 0
        for row in batch.rows:
            fact: FactIn = row.record
            try:
                entity_id = entities[fact.entity]
                if isinstance(entity_id, str):
                    raise Rejection("entity", entity_id)
                source_id = self._check_common(fact, sources, signals)
                kind, default_unit = registry.get(fact.property, (None, None))
                unit = fact.unit or default_unit
                try:
                    typed: TypedValue = typed_value(kind, fact.value, unit)
                except ValueProblem as exc:
                    raise Rejection("value", problem_reason(fact.property, kind, exc)) from exc
            except Rejection as rejection:
                rejects.append(_reject(row, rejection.field, rejection.reason))
                continue
            unknown += kind is None
            accepted.append(row)
            as_of = fact.as_of or fact.observed_at
            statement = [
                _written(fact.entity, entity_id), fact.property, fact.value, fact.unit,
                fact.as_of.isoformat() if fact.as_of else None, str(source_id),
            ]  # fmt: skip
            payload.append(
                {
                    "id": str(uuid7()),
                    "hash": digest(statement).hex(),
                    "entity_id": str(entity_id),
                    "entity_ref": fact.entity.written,
                    "property": fact.property,
                    **typed_columns(typed, unit),
                    "as_of": as_of.isoformat(),
                    "dated": fact.as_of is not None,
                    "source_id": str(source_id),
                    "signal_id": str(fact.signal) if fact.signal else None,
                    "confidence": fact.confidence,
                }
            )
        result = self._finish(batch, accepted, rejects, payload)
        result.extra = {"unknown_properties": unknown}
        return result


class RelationWriter(_StatementWriter):
    """Writes batches of relation statements."""

    table = "relation"
    columns = (
        ("subject_id", "uuid"), ("subject_ref", "jsonb"), ("predicate", "text"),
        ("object_id", "uuid"), ("object_ref", "jsonb"), ("valid_from", "timestamptz"),
        ("valid_to", "timestamptz"), ("source_id", "uuid"), ("signal_id", "uuid"),
        ("confidence", "float8"), ("properties", "jsonb"),
    )  # fmt: skip

    def write(self, batch: Batch) -> WriteResult:
        """Resolve both ends of each relation, reject what does not resolve, store the rest."""
        ends = resolve_refs(
            self.conn,
            self.workspace_id,
            [ref for r in batch.rows for ref in (r.record.subject, r.record.object)],
        )
        sources, signals = self._common(batch.rows)
        accepted: list[Row] = []
        rejects: list[RejectRow] = []
        payload: list[dict[str, Any]] = []
        for row in batch.rows:
            relation: RelationIn = row.record
            try:
                subject_id = ends[relation.subject]
                if isinstance(subject_id, str):
                    raise Rejection("subject", subject_id)
                object_id = ends[relation.object]
                if isinstance(object_id, str):
                    raise Rejection("object", object_id)
                source_id = self._check_common(relation, sources, signals)
            except Rejection as rejection:
                rejects.append(_reject(row, rejection.field, rejection.reason))
                continue
            accepted.append(row)
            statement = [
                _written(relation.subject, subject_id), relation.predicate,
                _written(relation.object, object_id),
                relation.valid_from.isoformat() if relation.valid_from else None,
                relation.valid_to.isoformat() if relation.valid_to else None,
                str(source_id), relation.properties,
            ]  # fmt: skip
            payload.append(
                {
                    "id": str(uuid7()),
                    "hash": digest(statement).hex(),
                    "subject_id": str(subject_id),
                    "subject_ref": relation.subject.written,
                    "predicate": relation.predicate,
                    "object_id": str(object_id),
                    "object_ref": relation.object.written,
                    "valid_from": relation.valid_from.isoformat() if relation.valid_from else None,
                    "valid_to": relation.valid_to.isoformat() if relation.valid_to else None,
                    "source_id": str(source_id),
                    "signal_id": str(relation.signal) if relation.signal else None,
                    "confidence": relation.confidence,
                    "properties": relation.properties,
                }
            )
        return self._finish(batch, accepted, rejects, payload)
