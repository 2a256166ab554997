"""Field helpers every kind of record validates with: rejections, limits, keys, times, NULs.

A loader's `validate` turns one input object into the record it stores or raises
`Rejection` naming the field and the reason; these helpers give every kind the same
rules and the same messages.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from signalgraph.blank import is_blank
from signalgraph.load.json_text import too_deep_reason

MAX_KEY_CHARS = 1000
# Epoch numbers above this are milliseconds, not seconds (10**11 s is the year 5138).
EPOCH_MILLIS_ABOVE = 10**11
_NUL_JSON = b"\\u0000"


class Rejection(Exception):
    """Why one record was refused: the field (if one) and the reason."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits and policies applied while validating."""

    max_field_bytes: int = 1 << 20
    nul_policy: str = "reject"  # or "strip"


def type_name(value: Any) -> str:
    """Return the JSON type name of a value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def text_field(
    field: str, value: Any, limits: Limits, *, max_chars: int | None = None
) -> str | None:
    """Return a string field (or None), or raise Rejection for a wrong type or size."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejection(field, f"expected a string, got {type_name(value)}")
    if max_chars is not None and len(value) > max_chars:
        raise Rejection(field, f"is {len(value):,} characters; the limit is {max_chars:,}")
    # Characters are at most 4 bytes: only measure bytes when it could matter.
    if len(value) * 4 > limits.max_field_bytes:
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > limits.max_field_bytes:
            raise Rejection(
                field,
                f"is {size:,} bytes; the limit is {limits.max_field_bytes:,} (max_field_bytes)",
            )
    return value


def parse_published_at(value: Any, observed_at: datetime) -> datetime:
    """Return an aware UTC datetime from ISO 8601 text, epoch seconds or milliseconds."""
    if value is None:
        return observed_at
    try:
        if isinstance(value, bool):
            raise Rejection(
                "published_at", "expected an ISO 8601 time or epoch number, got boolean"
            )
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)
        elif isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise Rejection("published_at", f"{value} is not a time")
            seconds = value / 1000 if abs(value) > EPOCH_MILLIS_ABOVE else value
            moment = datetime.fromtimestamp(seconds, tz=UTC)
        elif isinstance(value, str):
            text = value.strip()
            if not text:
                raise Rejection("published_at", "is an empty string")
            moment = datetime.fromisoformat(text)
        else:
            raise Rejection(
                "published_at",
                f"expected an ISO 8601 time or epoch number, got {type_name(value)}",
            )
    except (OverflowError, OSError) as exc:
        raise Rejection("published_at", f"{value!r} is out of range") from exc
    except ValueError as exc:
        if not isinstance(value, str):  # an epoch number beyond the years 1 to 9999
            raise Rejection("published_at", f"{value!r} is out of range") from exc
        raise Rejection("published_at", _time_problem(value, exc)) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise Rejection("published_at", f"{value!r} is out of range") from exc


_TIME_PARTS = ("year", "month", "day", "hour", "minute", "second")


def _time_problem(value: str, exc: ValueError) -> str:
    """Say what is wrong with a time text in its terms, not the datetime module's."""
    shown = repr(value[:80])
    detail = str(exc)
    if detail.startswith("offset"):
        return f"{shown} has a time zone offset out of range (it must be under 24 hours)"
    part = next((name for name in _TIME_PARTS if detail.startswith(name)), None)
    if part is not None:
        return f"{shown} is not a valid time: {part} out of range"
    return f"{shown} is not an ISO 8601 time"


def canonical_json(value: Any) -> bytes:
    """Serialise a JSON value with sorted keys (integers beyond 64 bits included).

    Raises Rejection for text PostgreSQL cannot store (lone UTF-16 surrogates).
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError as exc:
        if "surrogate" in str(exc):
            raise Rejection(None, "contains invalid Unicode (a lone surrogate)") from exc
        if "Recursion limit" in str(exc):  # the readers refuse these first; callers may not
            raise Rejection(None, too_deep_reason()) from exc
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        ).encode("utf-8", "surrogatepass")


def _contains_nul(value: Any) -> bool:
    # Iterative: a recursive walk would exhaust the stack on deeply nested input.
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _strip_nul(value: Any) -> Any:
    """Return a copy of a JSON value without NUL characters in its strings and keys."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if not isinstance(value, (dict, list)):
        return value
    result: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any]] = [(value, result)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            copy: Any = item
            if isinstance(item, str):
                copy = item.replace("\x00", "")
            elif isinstance(item, (dict, list)):
                copy = {} if isinstance(item, dict) else []
                stack.append((item, copy))
            if isinstance(target, dict):
                target[key.replace("\x00", "") if isinstance(key, str) else key] = copy
            else:
                target.append(copy)
    return result


def _nul_field(value: dict[str, Any]) -> str:
    for key, item in value.items():
        if _contains_nul(key) or _contains_nul(item):
            return key
    return "record"


def canonical_without_nul(
    value: dict[str, Any], limits: Limits
) -> tuple[dict[str, Any], bytes, bool]:
    """Return (value, its canonical JSON, whether NULs were stripped) or reject NULs."""
    canonical = canonical_json(value)
    # The escape is a cheap hint; a literal backslash-u-0000 in text is not a NUL.
    if _NUL_JSON not in canonical or not _contains_nul(value):
        return value, canonical, False
    if limits.nul_policy != "strip":
        raise Rejection(
            _nul_field(value),
            "contains a NUL character (\\u0000), which PostgreSQL text cannot store; "
            "fix the input or ingest with --nul strip",
        )
    value = _strip_nul(value)
    return value, canonical_json(value), True


def require_external_id(value: dict[str, Any]) -> str:
    """Return the record's external_id, or raise Rejection saying what is wrong with it."""
    external_id = value.get("external_id")
    if external_id is None:
        raise Rejection("external_id", "is missing; every record needs a unique external_id")
    if not isinstance(external_id, str):
        raise Rejection("external_id", f"expected a non-empty string, got {type_name(external_id)}")
    if is_blank(external_id):
        raise Rejection("external_id", blank_reason(external_id))
    if len(external_id) > MAX_KEY_CHARS:
        raise Rejection(
            "external_id", f"is {len(external_id):,} characters; the limit is {MAX_KEY_CHARS:,}"
        )
    return external_id


def blank_reason(text: str) -> str:
    """Return the reject reason for a blank key (empty, spaces or invisible characters)."""
    if not text:
        return "is empty"
    return "is empty: it holds only spaces or invisible (zero-width) characters"
