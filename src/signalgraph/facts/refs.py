"""Entity references in statements, and their set-based resolution per batch.

A statement names its entity by id (full, a prefix, or a merged-away id), by identifier
(`{"ticker": "MRNA"}`, normalised like entity records), or by a source record
(`{"source": "harmonic", "external_id": "123"}`). Each kind is resolved with one query
per batch.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg

from signalgraph import lookup
from signalgraph.blank import is_blank
from signalgraph.errors import UsageError
from signalgraph.load.fields import Rejection, type_name
from signalgraph.load.json_text import REPEATED_KEY_REASON, JsonProblem, parse_cell
from signalgraph.resolve.identifiers import InvalidIdentifier, normalize_identifier

MAX_SHOWN = 5


@dataclass(frozen=True, slots=True)
class EntityRef:
    """An entity reference as written, parsed (not yet resolved)."""

    kind: str  # id, identifier or record
    key: str  # what identifies the reference within a batch
    keys: tuple[str, ...] = ()  # identifier record keys ("id:ticker:MRNA")
    source: str | None = None
    external_id: str | None = None
    # The reference as written, kept with the statement when it is not an id.
    written: Any = field(default=None, compare=False, hash=False)

    @property
    def shown(self) -> str:
        """Return the reference for messages."""
        if self.kind == "id":
            return self.key
        if self.kind == "record":
            return f"{self.source}/{self.external_id}"
        return ", ".join(k.removeprefix("id:") for k in self.keys)


_REF_HINT = 'give an entity id, an identifier {"ticker": "MRNA"} or {"source": S, "external_id": X}'


def parse_ref(field: str, value: Any) -> EntityRef:
    """Return the parsed reference, or raise Rejection naming the field."""
    if value is None:
        raise Rejection(field, f"is missing; {_REF_HINT}")
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):  # a reference object in a CSV cell
            try:
                parsed = parse_cell(text)
            except JsonProblem as problem:
                raise Rejection(field, problem.reason) from problem
            if parsed.repeated_key is not None:
                raise Rejection(f"{field}.{parsed.repeated_key}", REPEATED_KEY_REASON)
            return parse_ref(field, parsed.value)
        scheme, colon, given = text.partition(":")
        if colon and given and scheme.replace("_", "").isalnum():  # "ticker:MRNA"
            return parse_ref(field, {scheme: given})
        try:
            typed = lookup.parse_id(value, "entity")
        except UsageError as exc:
            raise Rejection(field, f"{value[:80]!r} is not an entity id; {_REF_HINT}") from exc
        # Statements in files name entities by full id or prefix (short ids are for typing).
        return EntityRef("id", str(typed.full) if typed.full is not None else str(typed.prefix))
    if not isinstance(value, dict) or not value:
        raise Rejection(field, f"expected an id or an object, got {type_name(value)}")
    if "source" in value or "external_id" in value:
        source, external_id = value.get("source"), value.get("external_id")
        if set(value) != {"source", "external_id"}:
            raise Rejection(field, "a source record reference has exactly source and external_id")
        if isinstance(external_id, int) and not isinstance(external_id, bool):
            external_id = str(external_id)
        if not isinstance(source, str) or is_blank(source):
            raise Rejection(field, "source must be a source name")
        if not isinstance(external_id, str) or is_blank(external_id):
            raise Rejection(field, "external_id must be a non-empty string")
        written = {"source": source, "external_id": external_id}
        return EntityRef(
            "record", f"r\x1f{source}\x1f{external_id}", source=source,
            external_id=external_id, written=written,
        )  # fmt: skip
    if set(value) == {"id"} and isinstance(value["id"], str):
        return parse_ref(field, value["id"])
    keys = []
    for scheme, given in sorted(value.items()):
        try:
            keys.append(normalize_identifier(scheme, given).key)
        except InvalidIdentifier as exc:
            raise Rejection(field, f"{scheme}: {exc}") from exc
        except (TypeError, AttributeError) as exc:
            raise Rejection(field, f"{scheme}: expected a string value") from exc
    ordered = tuple(sorted(set(keys)))
    return EntityRef("identifier", "i\x1f" + "\x1f".join(ordered), keys=ordered, written=value)


def _bounds(prefix: str) -> tuple[str, str]:
    digits = prefix.replace("-", "")
    return str(uuid.UUID(digits.ljust(32, "0"))), str(uuid.UUID(digits.ljust(32, "f")))


_BY_ID = """
SELECT r.key, array_agg(e.id ORDER BY e.id)
FROM jsonb_to_recordset(%s::jsonb) AS r(key text, lo uuid, hi uuid)
CROSS JOIN LATERAL (SELECT id FROM entity
                    WHERE workspace_id = %s AND id BETWEEN r.lo AND r.hi
                    ORDER BY id LIMIT 2) e
GROUP BY r.key
"""

# A batch's keys probe the indexes one by one (the batch on the outer side of LATERAL
# subqueries the planner cannot flatten): a table without statistics otherwise looks
# as if its workspace prefix matched a handful of rows, and is read whole per batch.
_BY_IDENTIFIER = """
SELECT b.key,
       array_agg(DISTINCT coalesce(d.to_id, m.entity_id)) FILTER (WHERE m.entity_id IS NOT NULL),
       count(*) FILTER (WHERE m.entity_id IS NULL)
FROM jsonb_array_elements_text(%(keys)s::jsonb) AS b(key)
CROSS JOIN LATERAL (
    SELECT er.entity_id FROM record_key k
    CROSS JOIN LATERAL (SELECT er.entity_id FROM entity_record er
                        WHERE er.workspace_id = k.workspace_id AND er.id = k.record_id
                        LIMIT 1) AS er
    WHERE k.workspace_id = %(ws)s AND k.key = b.key
    OFFSET 0
) AS m
LEFT JOIN LATERAL (SELECT d.to_id FROM entity_redirect d
                   WHERE d.workspace_id = %(ws)s AND d.from_id = m.entity_id
                   LIMIT 1) AS d ON true
GROUP BY b.key
"""

_BY_RECORD = """
SELECT r.source, r.external_id, s.id IS NOT NULL, er.id IS NOT NULL,
       coalesce(d.to_id, er.entity_id)
FROM jsonb_to_recordset(%(records)s::jsonb) AS r(source text, external_id text)
LEFT JOIN source s ON s.workspace_id = %(ws)s AND s.name = r.source
LEFT JOIN LATERAL (SELECT er.id, er.entity_id FROM entity_record er
                   WHERE er.workspace_id = %(ws)s AND er.source_id = s.id
                     AND er.external_id = r.external_id
                   LIMIT 1) AS er ON true
LEFT JOIN LATERAL (SELECT d.to_id FROM entity_redirect d
                   WHERE d.workspace_id = %(ws)s AND d.from_id = er.entity_id
                   LIMIT 1) AS d ON true
"""


def resolve_refs(
    conn: psycopg.Connection[Any], workspace_id: uuid.UUID, refs: Iterable[EntityRef]
) -> dict[EntityRef, uuid.UUID | str]:
    """Return each reference's entity id, or the reason it does not resolve."""
    unique = list(dict.fromkeys(refs))
    found: dict[EntityRef, uuid.UUID | str] = {}
    by_kind: dict[str, list[EntityRef]] = defaultdict(list)
    for ref in unique:
        by_kind[ref.kind].append(ref)
    if by_kind["id"]:
        rows = [
            {"key": ref.key, "lo": lo, "hi": hi}
            for ref in by_kind["id"]
            for lo, hi in [_bounds(ref.key)]
        ]
        matches = dict(conn.execute(_BY_ID, (orjson.dumps(rows).decode(), workspace_id)))
        for ref in by_kind["id"]:
            ids = matches.get(ref.key, [])
            if not ids:
                found[ref] = f"entity {ref.key} does not exist in this workspace"
            elif len(ids) > 1:
                found[ref] = f"entity id prefix {ref.key!r} is ambiguous; give more characters"
            else:
                found[ref] = ids[0]
    if by_kind["identifier"]:
        wanted = sorted({key for ref in by_kind["identifier"] for key in ref.keys})
        per_key = {
            key: (set(ids or []), unresolved)
            for key, ids, unresolved in conn.execute(
                _BY_IDENTIFIER, {"ws": workspace_id, "keys": orjson.dumps(wanted).decode()}
            )
        }
        for ref in by_kind["identifier"]:
            candidates: set[uuid.UUID] = set()
            waiting = 0
            for key in ref.keys:
                ids, unresolved = per_key.get(key, (set(), 0))
                candidates |= ids
                waiting += unresolved
            if len(candidates) == 1:
                found[ref] = next(iter(candidates))
            elif candidates:
                shown = ", ".join(str(c) for c in sorted(candidates)[:MAX_SHOWN])
                found[ref] = (
                    f"identifier {ref.shown} is ambiguous: it matches {len(candidates)} "
                    f"entities ({shown}); give the entity id"
                )
            elif waiting:
                found[ref] = (
                    f"identifier {ref.shown} is only on records not resolved yet; "
                    "run `signalgraph resolve` first"
                )
            else:
                found[ref] = f"no entity has the identifier {ref.shown}"
    if by_kind["record"]:
        records = [{"source": r.source, "external_id": r.external_id} for r in by_kind["record"]]
        answers = {
            (source, external_id): (has_source, has_record, entity_id)
            for source, external_id, has_source, has_record, entity_id in conn.execute(
                _BY_RECORD, {"ws": workspace_id, "records": orjson.dumps(records).decode()}
            )
        }
        for ref in by_kind["record"]:
            has_source, has_record, entity_id = answers[(ref.source, ref.external_id)]
            if not has_source:
                found[ref] = f"source {ref.source!r} does not exist"
            elif not has_record:
                found[ref] = f"source {ref.source!r} has no record {ref.external_id!r}"
            elif entity_id is None:
                found[ref] = (
                    f"record {ref.shown} is not resolved to an entity yet; "
                    "run `signalgraph resolve` first"
                )
            else:
                found[ref] = entity_id
    return found
