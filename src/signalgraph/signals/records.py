"""The signal record: validation of one input object into what is stored, or a reason not to.

Record format version 2 (documented in docs/ingest.md): version 1 plus optional `links`.
Known fields map to columns; anything else is kept in `raw`, never dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from signalgraph.links.spec import LinkError, LinkSpec, parse_links
from signalgraph.load.fields import (
    Limits,
    Rejection,
    canonical_without_nul,
    parse_published_at,
    require_external_id,
    text_field,
    type_name,
)
from signalgraph.load.values import CsvColumns

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
MAX_SHORT_CHARS = 200
MAX_MENTIONS = 10_000
UNKNOWN_FIELDS_KEY = "_unknown_fields"


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


def _mentions(value: Any) -> list[Mention]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Rejection("mentions", f"expected an array, got {type_name(value)}")
    if len(value) > MAX_MENTIONS:
        raise Rejection("mentions", f"has {len(value):,} items; the limit is {MAX_MENTIONS:,}")
    mentions = []
    for index, item in enumerate(value):
        where = f"mentions[{index}]"
        if not isinstance(item, dict):
            raise Rejection(where, f"expected an object, got {type_name(item)}")
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
        raise Rejection(field, f"expected a non-negative integer, got {type_name(value)}")
    if not 0 <= value < 2**31:
        raise Rejection(field, f"{value} is out of range")
    return value


def validate(value: dict[str, Any], *, observed_at: datetime, limits: Limits) -> SignalRecord:
    """Return the record as stored, or raise Rejection naming the field and the reason."""
    value, canonical, nul_stripped = canonical_without_nul(value, limits)
    external_id = require_external_id(value)
    kind = text_field("kind", value.get("kind"), limits, max_chars=MAX_SHORT_CHARS) or DEFAULT_KIND
    title = text_field("title", value.get("title"), limits)
    text = text_field("text", value.get("text"), limits)
    url = text_field("url", value.get("url"), limits)
    author = text_field("author", value.get("author"), limits)
    lang = text_field("lang", value.get("lang"), limits, max_chars=MAX_SHORT_CHARS)
    published_at = parse_published_at(value.get("published_at"), observed_at)
    metadata = value.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise Rejection("metadata", f"expected an object, got {type_name(metadata)}")
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


SIGNAL_CSV = CsvColumns(json=("metadata", "mentions", "links", "raw"), times=("published_at",))
