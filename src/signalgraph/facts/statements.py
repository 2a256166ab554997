"""Fact and relation statements: what one input record says, checked on its own.

Validation needs no database; the writer (signalgraph.facts.writer) resolves what does.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signalgraph.facts.refs import EntityRef, parse_ref
from signalgraph.facts.values import ValueProblem, parse_time
from signalgraph.load.fields import (
    Limits,
    Rejection,
    canonical_json,
    canonical_without_nul,
    text_field,
    type_name,
)
from signalgraph.load.json_text import REPEATED_KEY_REASON, JsonProblem, parse_cell

PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_.:\-]{0,99}$")
PREDICATE = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
MAX_UNIT_CHARS = 50
# external_id is accepted and ignored: the CSV and Parquet readers require the column.
FACT_FIELDS = frozenset(
    {"entity", "property", "value", "unit", "as_of", "source", "confidence", "signal",
     "external_id"}
)  # fmt: skip
RELATION_FIELDS = frozenset(
    {"subject", "predicate", "object", "valid_from", "valid_to", "source", "confidence",
     "signal", "properties", "external_id"}
)  # fmt: skip


def _unknown_fields(value: dict[str, Any], known: frozenset[str]) -> None:
    extra = sorted(set(value) - known)
    if extra:
        raise Rejection(extra[0], f"unknown field; expected {', '.join(sorted(known))}")


def _blank(value: Any) -> Any:
    """Return None for an empty cell (CSV inputs), else the value."""
    return None if isinstance(value, str) and not value.strip() else value


def _confidence(value: Any) -> float | None:
    value = _blank(value)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError as exc:
            raise Rejection("confidence", f"{value[:40]!r} is not a number from 0 to 1") from exc
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejection("confidence", f"expected a number from 0 to 1, got {type_name(value)}")
    if not 0 <= value <= 1:
        raise Rejection("confidence", f"{value} is not between 0 and 1")
    return float(value)


def _signal(value: Any) -> uuid.UUID | None:
    value = _blank(value)
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise Rejection("signal", f"{str(value)[:80]!r} is not a signal id") from exc


def _time(field: str, value: Any) -> datetime | None:
    value = _blank(value)
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueProblem as exc:
        raise Rejection(field, str(exc)) from exc


def _source(value: Any, limits: Limits) -> str | None:
    name = text_field("source", _blank(value), limits, max_chars=200)
    return name.strip() if name and name.strip() else None


def digest(parts: list[Any]) -> bytes:
    return hashlib.sha256(canonical_json(parts)).digest()


@dataclass(slots=True)
class FactIn:
    """A fact statement validated on its own, not yet resolved."""

    external_id: str  # the batch key: one statement as written
    entity: EntityRef
    property: str
    value: Any
    unit: str | None
    as_of: datetime | None
    observed_at: datetime  # the valid time of a statement that gives none
    source: str | None
    confidence: float | None
    signal: uuid.UUID | None
    nul_stripped: bool = False


@dataclass(slots=True)
class RelationIn:
    """A relation statement validated on its own, not yet resolved."""

    external_id: str
    subject: EntityRef
    predicate: str
    object: EntityRef
    valid_from: datetime | None
    valid_to: datetime | None
    source: str | None
    confidence: float | None
    signal: uuid.UUID | None
    properties: dict[str, Any]
    nul_stripped: bool = False


def validate_fact(value: dict[str, Any], *, observed_at: datetime, limits: Limits) -> FactIn:
    """Return the statement, or raise Rejection naming the field and the reason."""
    value, canonical, nul_stripped = canonical_without_nul(value, limits)
    _unknown_fields(value, FACT_FIELDS)
    entity = parse_ref("entity", value.get("entity"))
    prop = value.get("property")
    if not isinstance(prop, str) or not prop.strip():
        raise Rejection("property", f"expected a property name, got {type_name(prop)}")
    prop = prop.strip().lower()
    if not PROPERTY_NAME.match(prop):
        raise Rejection(
            "property",
            f"{prop[:80]!r} is not a property name (letters, digits, _ . : -; 100 at most)",
        )
    if value.get("value") is None:
        raise Rejection("value", "is missing")
    if len(canonical) > limits.max_field_bytes:
        raise Rejection("value", f"the statement is larger than {limits.max_field_bytes:,} bytes")
    unit = text_field("unit", _blank(value.get("unit")), limits, max_chars=MAX_UNIT_CHARS)
    as_of = _time("as_of", value.get("as_of"))
    source = _source(value.get("source"), limits)
    written = [entity.key, prop, value["value"], unit, as_of.isoformat() if as_of else None, source]
    return FactIn(
        external_id=digest(written).hex(),
        entity=entity,
        property=prop,
        value=value["value"],
        unit=unit,
        as_of=as_of,
        observed_at=observed_at,
        source=source,
        confidence=_confidence(value.get("confidence")),
        signal=_signal(value.get("signal")),
        nul_stripped=nul_stripped,
    )


def validate_relation(value: dict[str, Any], *, limits: Limits) -> RelationIn:
    """Return the statement, or raise Rejection naming the field and the reason."""
    value, canonical, nul_stripped = canonical_without_nul(value, limits)
    _unknown_fields(value, RELATION_FIELDS)
    subject = parse_ref("subject", value.get("subject"))
    predicate = value.get("predicate")
    if not isinstance(predicate, str) or not PREDICATE.match(predicate.strip()):
        shown = predicate[:80] if isinstance(predicate, str) else type_name(predicate)
        raise Rejection("predicate", f"{shown!r} is not a snake_case predicate (works_at, …)")
    predicate = predicate.strip()
    target = parse_ref("object", value.get("object"))
    valid_from = _time("valid_from", value.get("valid_from"))
    valid_to = _time("valid_to", value.get("valid_to"))
    if valid_from and valid_to and valid_to < valid_from:
        raise Rejection("valid_to", "is before valid_from")
    properties = _blank(value.get("properties")) or {}
    if isinstance(properties, str):  # a JSON object in a CSV cell
        try:
            parsed = parse_cell(properties)
        except JsonProblem as problem:
            raise Rejection("properties", problem.reason) from problem
        if parsed.repeated_key is not None:
            raise Rejection(f"properties.{parsed.repeated_key}", REPEATED_KEY_REASON)
        properties = parsed.value
    if not isinstance(properties, dict):
        raise Rejection("properties", f"expected an object, got {type_name(properties)}")
    if len(canonical) > limits.max_field_bytes:
        raise Rejection(
            "properties", f"the statement is larger than {limits.max_field_bytes:,} bytes"
        )
    source = _source(value.get("source"), limits)
    written = [
        subject.key, predicate, target.key, valid_from.isoformat() if valid_from else None,
        valid_to.isoformat() if valid_to else None, source, properties,
    ]  # fmt: skip
    return RelationIn(
        external_id=digest(written).hex(),
        subject=subject,
        predicate=predicate,
        object=target,
        valid_from=valid_from,
        valid_to=valid_to,
        source=source,
        confidence=_confidence(value.get("confidence")),
        signal=_signal(value.get("signal")),
        properties=properties,
        nul_stripped=nul_stripped,
    )
