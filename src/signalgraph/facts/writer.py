"""Batch writers for fact and relation statements.

Each batch resolves its references, sources, signals and property types with one query
per kind, turns what does not resolve into rejects naming the field, and stores the rest
with one INSERT … SELECT: a statement seen before only moves its `last_seen`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import psycopg

from signalgraph.facts.refs import EntityRef, resolve_refs
from signalgraph.facts.registry import LOCK_SHARED_SQL
from signalgraph.facts.statements import FactIn, RelationIn, digest
from signalgraph.facts.values import (
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

_SOURCES = "SELECT name, id FROM source WHERE workspace_id = %s AND name = ANY(%s)"
# One primary-key probe per id (the ids on the outer side of a LATERAL subquery): with
# `id = ANY(ids)` a signal table without statistics is read by its workspace prefix.
_SIGNALS = """
SELECT s.id FROM unnest(%(ids)s::uuid[]) AS i(id)
CROSS JOIN LATERAL (SELECT s.id FROM signal s WHERE s.workspace_id = %(ws)s AND s.id = i.id
                    LIMIT 1) AS s
"""
_PROPERTIES = (
    "SELECT name, type, unit FROM fact_property WHERE workspace_id = %s AND name = ANY(%s)"
)

# New statements are inserted, known ones (same hash) only move last_seen; RETURNING
# tells which were new. The value's JSON form is STORED_VALUE_SQL (facts/values.py).
INSERT_FACTS = """
INSERT INTO fact (workspace_id, id, run_id, statement_hash, entity_id, entity_ref, property,
    value_type, value, value_num, value_text, value_date, currency, unit, as_of, dated,
    source_id, signal_id, confidence)
SELECT %(ws)s, d.id, %(run)s, decode(d.hash, 'hex'), d.entity_id, d.entity_ref, d.property,
    d.value_type,
    CASE WHEN d.value_type IN ('number', 'integer') THEN to_jsonb(d.value_num)
         WHEN d.value_type = 'money'
         THEN jsonb_build_object('amount', d.value_num, 'currency', d.currency)
         ELSE d.value END,
    d.value_num, d.value_text, d.value_date, d.currency, d.unit, d.as_of, d.dated, d.source_id,
    d.signal_id, d.confidence
FROM jsonb_to_recordset(%(rows)s::jsonb) AS d(id uuid, hash text, entity_id uuid,
    entity_ref jsonb, property text, value_type text, value jsonb, value_num numeric,
    value_text text, value_date date, currency text, unit text, as_of timestamptz,
    dated boolean, source_id uuid, signal_id uuid, confidence float8)
ON CONFLICT ON CONSTRAINT uq_fact_workspace_id_statement_hash
DO UPDATE SET last_seen = now() RETURNING (xmax = 0)
"""

INSERT_RELATIONS = """
INSERT INTO relation (workspace_id, id, run_id, statement_hash, subject_id, subject_ref,
    predicate, object_id, object_ref, valid_from, valid_to, source_id, signal_id, confidence,
    properties)
SELECT %(ws)s, d.id, %(run)s, decode(d.hash, 'hex'), d.subject_id, d.subject_ref, d.predicate,
    d.object_id, d.object_ref, d.valid_from, d.valid_to, d.source_id, d.signal_id, d.confidence,
    d.properties
FROM jsonb_to_recordset(%(rows)s::jsonb) AS d(id uuid, hash text, subject_id uuid,
    subject_ref jsonb, predicate text, object_id uuid, object_ref jsonb, valid_from timestamptz,
    valid_to timestamptz, source_id uuid, signal_id uuid, confidence float8, properties jsonb)
ON CONFLICT ON CONSTRAINT uq_relation_workspace_id_statement_hash
DO UPDATE SET last_seen = now() RETURNING (xmax = 0)
"""


class _StatementWriter:
    """Resolution and the idempotent insert shared by facts and relations."""

    # INSERT_FACTS or INSERT_RELATIONS: new statements in, known ones' last_seen moved.
    insert_sql = ""

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
                _SOURCES,
                (self.workspace_id, sorted(names)),
            ).fetchall()
        )

    def _signals(self, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        if not ids:
            return set()
        return {
            found
            for (found,) in self.conn.execute(
                _SIGNALS, {"ws": self.workspace_id, "ids": sorted(ids)}
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
        try:
            results = self.conn.execute(
                self.insert_sql,
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

    insert_sql = INSERT_FACTS

    def write(self, batch: Batch) -> WriteResult:
        """Resolve the batch's references, reject what does not resolve, store the rest."""
        names = sorted({r.record.property for r in batch.rows})
        self.conn.execute(LOCK_SHARED_SQL, (self.workspace_id, names))
        registry = {
            name: (kind, unit)
            for name, kind, unit in self.conn.execute(_PROPERTIES, (self.workspace_id, names))
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

    insert_sql = INSERT_RELATIONS

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
