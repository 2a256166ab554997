"""Entity records: what one source knows about one entity, loaded by the load engine.

`{external_id, type, name, aliases: [], identifiers: {scheme: value or [values]},
properties: {...}}`, idempotent by (workspace, source, external_id). Identifiers are
normalised per scheme; invalid ones are kept in the properties and flagged, never used
to link.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
import psycopg

from signalgraph.blank import is_blank
from signalgraph.ids import uuid7
from signalgraph.load.batches import Batch, RetryBatch, Row, WriteResult, json_list
from signalgraph.load.fields import (
    Limits,
    Rejection,
    canonical_without_nul,
    require_external_id,
    text_field,
    type_name,
)
from signalgraph.load.rejects import copy_rejects
from signalgraph.load.values import CsvColumns
from signalgraph.resolve.compare import blocking_keys, make_profile
from signalgraph.resolve.identifiers import normalize_identifiers
from signalgraph.schema import BUILTIN_ENTITY_TYPES

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope

INVALID_KEY = "_invalid_identifiers"
MAX_NAME_CHARS = 1000
# Standard properties that are identifiers too.
IDENTIFYING_PROPERTIES = {"email": "email", "phone": "phone", "website": "domain"}


@dataclass(slots=True)
class EntityRecordIn:
    """A validated entity record."""

    external_id: str
    type: str
    name: str
    aliases: list[str]
    identifiers: dict[str, list[str]]
    invalid: dict[str, list[str]]
    properties: dict[str, Any]
    record_hash: bytes
    nul_stripped: bool = False


def validate_entity_record(
    value: dict[str, Any], *, limits: Limits, types: frozenset[str]
) -> EntityRecordIn:
    """Return the record to store, or raise Rejection naming the field and the reason."""
    value, canonical, nul_stripped = canonical_without_nul(value, limits)
    external_id = require_external_id(value)
    kind = value.get("type")
    if kind is None:
        raise Rejection("type", f"is missing; expected one of {', '.join(sorted(types))}")
    if not isinstance(kind, str):
        raise Rejection("type", f"expected a string, got {type_name(kind)}")
    kind = kind.strip().lower()
    if kind not in types:
        raise Rejection(
            "type",
            f"unknown entity type {kind!r}; known: {', '.join(sorted(types))} "
            "(add one with `signalgraph entities types --add NAME`)",
        )
    name = text_field("name", value.get("name"), limits, max_chars=MAX_NAME_CHARS)
    if name is None or is_blank(name):
        raise Rejection("name", "is missing or empty")
    aliases_in = value.get("aliases") or []
    if isinstance(aliases_in, str):
        aliases_in = [aliases_in]
    if not isinstance(aliases_in, list) or not all(isinstance(a, str) for a in aliases_in):
        raise Rejection("aliases", "expected an array of strings")
    aliases = [a.strip() for a in aliases_in if not is_blank(a) and a.strip() != name.strip()]
    identifiers_in = value.get("identifiers") or {}
    if not isinstance(identifiers_in, dict):
        raise Rejection("identifiers", f"expected an object, got {type_name(identifiers_in)}")
    properties = value.get("properties") or {}
    if not isinstance(properties, dict):
        raise Rejection("properties", f"expected an object, got {type_name(properties)}")
    merged = dict(identifiers_in)
    for prop, scheme in IDENTIFYING_PROPERTIES.items():
        if isinstance(properties.get(prop), str) and scheme not in merged:
            merged[scheme] = properties[prop]
    identifiers, invalid = normalize_identifiers(merged)
    if invalid:
        properties = {**properties, INVALID_KEY: invalid}
    return EntityRecordIn(
        external_id=external_id,
        type=kind,
        name=name.strip(),
        aliases=aliases,
        identifiers=identifiers,
        invalid=invalid,
        properties=properties,
        record_hash=hashlib.sha256(canonical).digest(),
        nul_stripped=nul_stripped,
    )


class EntityRecordLoader:
    """Entity records for the load engine."""

    run_kind = "entities-ingest"
    # Runs record their input format's version; every kind has recorded 2 so far (one
    # value was shared with signals), kept so that run parameters stay as they were.
    record_format = 2
    counter_names: tuple[str, ...] = ("invalid_identifiers",)
    # docs/resolution.md: in CSV these columns hold JSON; an aliases cell may be one name.
    csv_columns = CsvColumns(json=("identifiers", "properties"), json_or_text=("aliases",))
    keeps_repeated_keys = False  # no raw payload: a repeated key would lose a value

    def __init__(self, types: frozenset[str]) -> None:
        self.types = types

    def validate(
        self, value: dict[str, Any], *, observed_at: datetime, limits: Limits
    ) -> EntityRecordIn:
        """Return the validated entity record."""
        return validate_entity_record(value, limits=limits, types=self.types)

    def row(self, *, seq: int, file: str | None, line: int, record: Any, raw: bytes) -> Row:
        """Return the record's row (without its input bytes: the writer rejects nothing)."""
        return Row(seq=seq, file=file, line=line, record=record)

    def writer(
        self,
        conn: psycopg.Connection[Any],
        *,
        workspace_id: uuid.UUID,
        source_id: uuid.UUID,
        run_id: uuid.UUID,
        scope: Scope,
    ) -> EntityRecordWriter:
        """Return the writer for one run."""
        return EntityRecordWriter(conn, workspace_id, source_id, run_id)

    def before_batch(self, scope: Scope, batch: Batch) -> list[str]:
        """Nothing to prepare for entity records."""
        return []


# One probe of the unique key per record (the batch outside a LATERAL subquery): with
# `IN (SELECT …batch…)` a table without statistics is read by its workspace prefix.
_KEYS = """
SELECT b.external_id, r.id, r.record_hash
FROM jsonb_array_elements_text(%(keys)s::jsonb) AS b(external_id)
CROSS JOIN LATERAL (
    SELECT r.id, r.record_hash FROM entity_record r
    WHERE r.workspace_id = %(ws)s AND r.source_id = %(source)s
      AND r.external_id = b.external_id
    LIMIT 1
) AS r
"""

_DELETE_KEYS = """
DELETE FROM record_key k
USING (SELECT k.key, k.record_id
       FROM jsonb_array_elements_text(%(ids)s::jsonb) AS b(id)
       CROSS JOIN LATERAL (SELECT k.key, k.record_id FROM record_key k
                           WHERE k.workspace_id = %(ws)s AND k.record_id = b.id::uuid
                           OFFSET 0) AS k) AS gone
WHERE k.workspace_id = %(ws)s AND k.key = gone.key AND k.record_id = gone.record_id
"""

_UPDATE = """
UPDATE entity_record r SET type = d.type, name = d.name, aliases = d.aliases,
    identifiers = d.identifiers, properties = d.properties, record_hash = decode(d.hash, 'hex'),
    run_id = %(run)s, updated_at = now()
FROM (SELECT d.*, x.tid
      FROM jsonb_to_recordset(%(rows)s::jsonb) AS d(id uuid, type text, name text,
          aliases text[], identifiers jsonb, properties jsonb, hash text, old text)
      CROSS JOIN LATERAL (SELECT x.ctid AS tid FROM entity_record x
                          WHERE x.workspace_id = %(ws)s AND x.id = d.id LIMIT 1) AS x) AS d
WHERE r.ctid = d.tid
  AND r.record_hash = decode(d.old, 'hex')
"""


class EntityRecordWriter:
    """Writes batches of entity records and their candidate-search keys."""

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
        """Nothing to precompute: entity records are cheap to prepare."""

    def write(self, batch: Batch) -> WriteResult:
        """Store new records, update changed ones (their keys too), flag invalid identifiers."""
        found = {
            external_id: (record_id, bytes(record_hash))
            for external_id, record_id, record_hash in self.conn.execute(
                _KEYS,
                {
                    "ws": self.workspace_id,
                    "source": self.source_id,
                    "keys": json_list(r.record.external_id for r in batch.rows),
                },
            )
        }
        new: list[Row] = []
        updated: list[tuple[Row, bytes]] = []
        unchanged = 0
        for row in batch.rows:
            record: EntityRecordIn = row.record
            stored = found.get(record.external_id)
            if stored is None:
                row.id = uuid7()
                new.append(row)
            elif stored[1] == record.record_hash:
                unchanged += 1
            else:
                row.id = stored[0]
                updated.append((row, stored[1]))
        try:
            if new:
                self._copy_records(new)
            if updated:
                self._update(updated)
            written = new + [row for row, _ in updated]
            self._copy_keys(written)
            self._flag_invalid(written)
        except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected) as exc:
            raise RetryBatch(str(exc)) from exc
        if batch.rejects:
            copy_rejects(self.conn, self.workspace_id, self.run_id, batch.rejects)
        result = WriteResult(
            inserted=len(new),
            updated=len(updated),
            unchanged=unchanged,
            rejected=len(batch.rejects),
        )
        invalid = sum(1 for row in new + [r for r, _ in updated] if row.record.invalid)
        result.extra = {"invalid_identifiers": invalid}
        return result

    def _copy_records(self, rows: Sequence[Row]) -> None:
        with self.conn.cursor().copy(
            "COPY entity_record (workspace_id, id, source_id, external_id, type, name, aliases, "
            "identifiers, properties, record_hash, run_id) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(
                ["uuid", "uuid", "uuid", "text", "text", "text", "text[]", "jsonb", "jsonb",
                 "bytea", "uuid"]
            )  # fmt: skip
            for row in rows:
                record: EntityRecordIn = row.record
                copy.write_row(
                    (
                        self.workspace_id,
                        row.id,
                        self.source_id,
                        record.external_id,
                        record.type,
                        record.name,
                        record.aliases,
                        record.identifiers,
                        record.properties,
                        record.record_hash,
                        self.run_id,
                    )
                )

    def _update(self, rows: Sequence[tuple[Row, bytes]]) -> None:
        payload = [
            {
                "id": str(row.id),
                "type": row.record.type,
                "name": row.record.name,
                "aliases": row.record.aliases,
                "identifiers": row.record.identifiers,
                "properties": row.record.properties,
                "hash": row.record.record_hash.hex(),
                "old": old.hex(),
            }
            for row, old in rows
        ]
        changed = self.conn.execute(
            _UPDATE,
            {"rows": orjson.dumps(payload).decode(), "ws": self.workspace_id, "run": self.run_id},
        ).rowcount
        if changed != len(rows):
            raise RetryBatch("a record was changed by another writer meanwhile")
        self.conn.execute(
            _DELETE_KEYS,
            {"ws": self.workspace_id, "ids": json_list(str(row.id) for row, _ in rows)},
        )

    def _copy_keys(self, rows: Sequence[Row]) -> None:
        with self.conn.cursor().copy(
            "COPY record_key (workspace_id, key, record_id) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["uuid", "text", "uuid"])
            for row in rows:
                record: EntityRecordIn = row.record
                assert row.id is not None
                profile = make_profile(
                    row.id,
                    None,
                    record.type,
                    record.name,
                    record.aliases,
                    record.identifiers,
                    record.properties,
                )
                for key in blocking_keys(profile):
                    copy.write_row((self.workspace_id, key, row.id))

    def _flag_invalid(self, rows: Sequence[Row]) -> None:
        flagged = [row for row in rows if row.record.invalid]
        if not flagged:
            return
        with self.conn.cursor().copy(
            "COPY flag (workspace_id, id, kind, severity, object_type, object_id, message, "
            "details, run_id) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(
                ["uuid", "uuid", "text", "text", "text", "uuid", "text", "jsonb", "uuid"]
            )
            for row in flagged:
                record: EntityRecordIn = row.record
                schemes = ", ".join(sorted(record.invalid))
                copy.write_row(
                    (
                        self.workspace_id,
                        uuid7(),
                        "invalid_identifier",
                        "warning",
                        "entity_record",
                        row.id,
                        f"{record.external_id}: invalid {schemes} kept as a property, not used "
                        "to link",
                        {"invalid": record.invalid, "external_id": record.external_id},
                        self.run_id,
                    )
                )


def known_types(extra: Sequence[str]) -> frozenset[str]:
    """Return the built-in entity types plus a workspace's own."""
    return frozenset(BUILTIN_ENTITY_TYPES) | frozenset(extra)
