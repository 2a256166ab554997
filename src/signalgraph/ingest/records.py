"""The signal record: validation of one input object into what is stored, or a reason not to.

Record format version 2 (documented in docs/ingest.md): version 1 plus optional `links`.
Known fields map to columns; anything else is kept in `raw`, never dropped.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson

from signalgraph.blank import is_blank
from signalgraph.ingest.json_text import (
    REPEATED_KEY_REASON,
    JsonProblem,
    parse_cell,
    too_deep_reason,
)
from signalgraph.links.spec import LinkError, LinkSpec, parse_links

RECORD_FORMAT_VERSION = 2
KNOWN_FIELDS = frozenset(
    {
        "external_id",
        "kind",
        "title",
        "text",
        "url",
        "author",
        "lang",
        "published_at",
        "metadata",
        "mentions",
        "links",
        "raw",
    }
)
TEXT_FIELDS = ("title", "text", "url", "author", "lang")
DEFAULT_KIND = "document"
MAX_KEY_CHARS = 1000
MAX_SHORT_CHARS = 200
MAX_MENTIONS = 10_000
UNKNOWN_FIELDS_KEY = "_unknown_fields"
# Where a record whose JSON repeats a key keeps its input as it arrived (see docs/ingest.md).
VERBATIM_KEY = "_verbatim"
# Epoch numbers above this are milliseconds, not seconds (10**11 s is the year 5138).
EPOCH_MILLIS_ABOVE = 10**11
_NUL_JSON = b"\\u0000"


@dataclass(slots=True)
class Mention:
    """A name or identifier a signal refers to (an NER tag, a party, an author)."""

    type: str
    text: str
    identifiers: dict[str, Any]
    start: int | None
    end: int | None
    confidence: float | None

    def as_dict(self) -> dict[str, Any]:
        """Return the mention as it is stored in revisions."""
        return {
            "type": self.type,
            "text": self.text,
            "identifiers": self.identifiers,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
        }


@dataclass(slots=True)
class SignalRecord:
    """A validated record, ready to be fingerprinted and stored."""

    external_id: str
    kind: str
    title: str | None
    text: str | None
    url: str | None
    author: str | None
    lang: str | None
    published_at: datetime
    metadata: dict[str, Any]
    mentions: list[Mention]
    raw: Any
    record_hash: bytes
    nul_stripped: bool = False
    links: list[LinkSpec] = field(default_factory=list)


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


def _type_name(value: Any) -> str:
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


def _string(field: str, value: Any, limits: Limits, *, max_chars: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejection(field, f"expected a string, got {_type_name(value)}")
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
                f"expected an ISO 8601 time or epoch number, got {_type_name(value)}",
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


def _mentions(value: Any) -> list[Mention]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Rejection("mentions", f"expected an array, got {_type_name(value)}")
    if len(value) > MAX_MENTIONS:
        raise Rejection("mentions", f"has {len(value):,} items; the limit is {MAX_MENTIONS:,}")
    mentions = []
    for index, item in enumerate(value):
        where = f"mentions[{index}]"
        if not isinstance(item, dict):
            raise Rejection(where, f"expected an object, got {_type_name(item)}")
        kind = item.get("type")
        text = item.get("text")
        if not isinstance(kind, str) or not kind.strip():
            raise Rejection(f"{where}.type", "expected a non-empty string")
        if not isinstance(text, str) or not text.strip():
            raise Rejection(f"{where}.text", "expected a non-empty string")
        identifiers = item.get("identifiers") or {}
        if not isinstance(identifiers, dict):
            raise Rejection(f"{where}.identifiers", "expected an object of scheme: value")
        for scheme, ident in identifiers.items():
            values = ident if isinstance(ident, list) else [ident]
            if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
                raise Rejection(
                    f"{where}.identifiers.{scheme}", "expected a string or an array of strings"
                )
        start = _offset(item.get("start"), f"{where}.start")
        end = _offset(item.get("end"), f"{where}.end")
        if start is not None and end is not None and end < start:
            raise Rejection(f"{where}.end", f"end {end} is before start {start}")
        confidence = item.get("confidence")
        if confidence is not None:
            if isinstance(confidence, bool) or not isinstance(confidence, int | float):
                raise Rejection(f"{where}.confidence", "expected a number between 0 and 1")
            if not 0 <= confidence <= 1:
                raise Rejection(f"{where}.confidence", f"{confidence} is not between 0 and 1")
            confidence = float(confidence)
        mentions.append(Mention(kind.strip(), text.strip(), identifiers, start, end, confidence))
    return mentions


def _offset(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Rejection(field, f"expected a non-negative integer, got {_type_name(value)}")
    if not 0 <= value < 2**31:
        raise Rejection(field, f"{value} is out of range")
    return value


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


def require_external_id(value: dict[str, Any]) -> str:
    """Return the record's external_id, or raise Rejection saying what is wrong with it."""
    external_id = value.get("external_id")
    if external_id is None:
        raise Rejection("external_id", "is missing; every record needs a unique external_id")
    if not isinstance(external_id, str):
        raise Rejection(
            "external_id", f"expected a non-empty string, got {_type_name(external_id)}"
        )
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


def type_name(value: Any) -> str:
    """Return the JSON type name of a value, for messages."""
    return _type_name(value)


def text_field(
    field: str, value: Any, limits: Limits, *, max_chars: int | None = None
) -> str | None:
    """Return a string field (or None), or raise Rejection for a wrong type or size."""
    return _string(field, value, limits, max_chars=max_chars)


def validate(value: dict[str, Any], *, observed_at: datetime, limits: Limits) -> SignalRecord:
    """Return the record as stored, or raise Rejection naming the field and the reason."""
    value, canonical, nul_stripped = canonical_without_nul(value, limits)
    external_id = require_external_id(value)
    kind = _string("kind", value.get("kind"), limits, max_chars=MAX_SHORT_CHARS) or DEFAULT_KIND
    title = _string("title", value.get("title"), limits)
    text = _string("text", value.get("text"), limits)
    url = _string("url", value.get("url"), limits)
    author = _string("author", value.get("author"), limits)
    lang = _string("lang", value.get("lang"), limits, max_chars=MAX_SHORT_CHARS)
    published_at = parse_published_at(value.get("published_at"), observed_at)
    metadata = value.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise Rejection("metadata", f"expected an object, got {_type_name(metadata)}")
    mentions = _mentions(value.get("mentions"))
    try:
        links = parse_links(value.get("links"), external_id=external_id)
    except LinkError as exc:
        raise Rejection(exc.field, exc.reason) from exc
    unknown = {key: item for key, item in value.items() if key not in KNOWN_FIELDS}
    if "raw" in value and value["raw"] is not None:
        raw = value["raw"]
        if unknown:
            raw = (
                {**raw, UNKNOWN_FIELDS_KEY: unknown}
                if isinstance(raw, dict)
                else {"raw": raw, UNKNOWN_FIELDS_KEY: unknown}
            )
    else:
        raw = value
    if len(canonical) > limits.max_field_bytes * 8:
        raise Rejection(
            None, f"record is {len(canonical):,} bytes as JSON; the limit is 8 x max_field_bytes"
        )
    return SignalRecord(
        external_id=external_id,
        kind=kind,
        title=title,
        text=text,
        url=url,
        author=author,
        lang=lang,
        published_at=published_at,
        metadata=metadata,
        mentions=mentions,
        raw=raw,
        record_hash=hashlib.sha256(canonical).digest(),
        nul_stripped=nul_stripped,
        links=links,
    )


@dataclass(frozen=True, slots=True)
class CsvColumns:
    """How one kind of record reads CSV cells: which hold JSON, which may be epoch times."""

    json: tuple[str, ...] = ()
    # JSON when the cell starts with "[", else one plain value (an aliases cell "Helix Tx").
    json_or_text: tuple[str, ...] = ()
    times: tuple[str, ...] = ()


SIGNAL_CSV = CsvColumns(json=("metadata", "mentions", "links", "raw"), times=("published_at",))


def coerce_csv_value(
    value: dict[str, Any], columns: CsvColumns = SIGNAL_CSV
) -> tuple[dict[str, Any], str | None]:
    """Turn CSV cells into record values; return them and where a JSON cell repeats a key."""
    coerced = dict(value)
    repeated: str | None = None
    for name in (*columns.json, *columns.json_or_text):
        cell = coerced.get(name)
        if not isinstance(cell, str):
            continue
        if name in columns.json_or_text and not cell.lstrip().startswith("["):
            continue
        try:
            parsed = parse_cell(cell)
        except JsonProblem as problem:
            raise Rejection(name, problem.reason) from problem
        coerced[name] = parsed.value
        if parsed.repeated_key is not None and repeated is None:
            repeated = f"{name}.{parsed.repeated_key}"
    for name in columns.times:
        cell = coerced.get(name)
        digits = cell.strip().lstrip("-") if isinstance(cell, str) else ""
        # Epoch seconds have 9+ digits; 8 digits is a compact date (20260304).
        if len(digits) >= 9 and digits.isdigit():
            coerced[name] = int(str(cell).strip())
    return coerced, repeated


def input_value(
    value: dict[str, Any],
    *,
    repeated: str | None,
    raw: bytes,
    csv: CsvColumns | None,
    keep_repeated: bool,
) -> dict[str, Any]:
    """Return a read record's value to validate: CSV cells read, a repeated key settled.

    A JSON parser keeps one value of a repeated key; with `keep_repeated` the input as
    it arrived is added under VERBATIM_KEY so the other value is not lost, else the
    record is rejected naming the key.
    """
    if csv is not None:
        value, repeated = coerce_csv_value(value, csv)
    if repeated is None:
        return value
    if not keep_repeated:
        raise Rejection(repeated, REPEATED_KEY_REASON)
    return {**value, VERBATIM_KEY: raw.decode("utf-8", "replace")}
