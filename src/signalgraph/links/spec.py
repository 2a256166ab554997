"""Links as they arrive: validation of `links` items, and the reference-text rule.

A link item is `{type, to: {external_id, source?} | {signal_id}}` or `{type, reference}`.
A reference text ("amends the Master Agreement of 2021-03-04") is reduced to the words
a title must hold and, when it has one, a date (see docs/links.md, "Reference texts").
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from signalgraph.blank import is_blank
from signalgraph.links.vocabulary import LINK_TYPES

MAX_LINKS = 1000
MAX_KEY_CHARS = 1000
MAX_SOURCE_CHARS = 200
MAX_REFERENCE_CHARS = 1000

# Words that say how a document is referred to, not which one it is.
FILLER_WORDS = frozenset(
    """a an the of to and or as by on in at for from with under per re this that which its
    dated date effective between no nr number see amend amends amended amending supersede
    supersedes superseded superseding replace replaces replaced replacing reply replies
    replying refer refers referred referring reference references referencing attached
    attachment""".split()
)
# Contract abbreviations are expanded on both sides (reference and title).
ABBREVIATIONS = {
    "msa": ("master", "services", "agreement"),
    "sow": ("statement", "work"),
    "nda": ("non", "disclosure", "agreement"),
    "mou": ("memorandum", "understanding"),
    "sla": ("service", "level", "agreement"),
    "dpa": ("data", "processing", "agreement"),
    "loi": ("letter", "intent"),
}
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_PATTERNS = (
    # 2021-03-04, 2021/03/04, 2021.03.04
    (re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b"), ("y", "m", "d")),
    # March 4, 2021 / Mar. 4th 2021
    (
        re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I),
        ("month", "d", "y"),
    ),
    # 4 March 2021 / 4th of March, 2021
    (
        re.compile(
            rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\.?,?\s+(\d{{4}})\b", re.I
        ),
        ("d", "month", "y"),
    ),
)
_NOT_WORD = re.compile(r"[^\w]+|_+")


class LinkError(ValueError):
    """A link item that cannot be stored: the field (`links[2].type`) and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Reference:
    """A reference text reduced to what matching needs."""

    text: str
    normalized: str
    words: tuple[str, ...]
    day: date | None


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """One validated link item: a type and a key, a signal id, or a reference."""

    type: str
    external_id: str | None = None
    source: str | None = None  # a source name; None: the linking signal's source
    signal_id: uuid.UUID | None = None
    reference: Reference | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the link item as it would be written in a record."""
        if self.reference is not None:
            return {"type": self.type, "reference": self.reference.text}
        if self.signal_id is not None:
            return {"type": self.type, "to": {"signal_id": str(self.signal_id)}}
        to: dict[str, Any] = {"external_id": self.external_id}
        if self.source is not None:
            to["source"] = self.source
        return {"type": self.type, "to": to}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def normalize_text(text: str) -> str:
    """Return text folded for comparison: NFKC, casefolded, words separated by one space."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def expand_words(words: Iterable[str]) -> list[str]:
    """Return the words with known abbreviations (MSA, SOW, NDA…) spelled out."""
    expanded: list[str] = []
    for word in words:
        expanded.extend(ABBREVIATIONS.get(word, (word,)))
    return expanded


def title_words(title: str | None) -> frozenset[str]:
    """Return the words of a title as reference matching sees them."""
    if not title:
        return frozenset()
    return frozenset(expand_words(normalize_text(title).split()))


def find_date(text: str) -> tuple[date | None, tuple[int, int] | None]:
    """Return the first date written in text (ISO or with a month name) and its span."""
    found: list[tuple[int, int, dict[str, str]]] = []
    for pattern, names in _DATE_PATTERNS:
        match = pattern.search(text)
        if match is not None:
            values = dict(zip(names, match.groups(), strict=True))
            found.append((match.start(), match.end(), values))
    if not found:
        return None, None
    start, end, values = min(found, key=lambda item: item[0])
    month = int(values["m"]) if "m" in values else _MONTHS[values["month"].lower()]
    try:
        return date(int(values["y"]), month, int(values["d"])), (start, end)
    except ValueError as exc:  # the datetime module's words are not the input's
        raise ValueError(f"{text[start:end]!r} is not a date") from exc


def parse_reference(text: str) -> Reference:
    """Return the reference's normalised text, the words a title must hold, and its date."""
    day, span = find_date(text)
    rest = text if span is None else text[: span[0]] + " " + text[span[1] :]
    words = [w for w in normalize_text(rest).split() if w not in FILLER_WORDS]
    unique = tuple(dict.fromkeys(expand_words(words)))
    return Reference(text=text, normalized=normalize_text(text), words=unique, day=day)


def reference_matches(reference_words: Iterable[str], day: date | None, title: str | None,
                      published: date) -> bool:  # fmt: skip
    """Return whether a signal (title, published day) is what a reference names."""
    words = set(reference_words)
    if not words or not words <= title_words(title):
        return False
    return day is None or day == published


def parse_link_type(value: Any, field: str) -> str:
    """Return a link type, or raise LinkError naming the field."""
    if not isinstance(value, str):
        raise LinkError(field, f"expected one of {', '.join(LINK_TYPES)}, got {_json_type(value)}")
    kind = value.strip().lower().replace("-", "_")
    if kind not in LINK_TYPES:
        raise LinkError(
            field, f"{_shown(value)} is not a link type; expected one of {', '.join(LINK_TYPES)}"
        )
    return kind


def _text(value: Any, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise LinkError(field, f"expected a non-empty string, got {_json_type(value)}")
    if is_blank(value):
        raise LinkError(field, "is empty")
    if len(value) > limit:
        raise LinkError(field, f"is {len(value):,} characters; the limit is {limit:,}")
    if "\x00" in value:
        raise LinkError(field, "contains a NUL character (\\u0000), which PostgreSQL cannot store")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LinkError(field, "contains invalid Unicode (a lone surrogate)") from exc
    return value


def parse_signal_id(value: Any, field: str) -> uuid.UUID:
    """Return a signal id (a UUID), or raise LinkError naming the field."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        raise LinkError(field, f"expected a signal id (a UUID), got {_json_type(value)}")
    try:
        return uuid.UUID(value.strip())
    except ValueError as exc:
        raise LinkError(field, f"{_shown(value)} is not a signal id (a UUID)") from exc


def parse_target(value: Any, field: str, *, type_: str) -> LinkSpec:
    """Return the link to a signal key `{external_id, source?}` or `{signal_id}`."""
    if not isinstance(value, dict):
        raise LinkError(
            field, f"expected an object {{external_id, source}} or {{signal_id}}, got "
            f"{_json_type(value)}"
        )  # fmt: skip
    unknown = sorted(set(value) - {"external_id", "source", "signal_id"})
    if unknown:
        raise LinkError(
            f"{field}.{unknown[0]}", "unknown field; expected external_id, source or signal_id"
        )
    if "signal_id" in value:
        if "external_id" in value or "source" in value:
            raise LinkError(field, "give either signal_id or external_id (with source), not both")
        return LinkSpec(type_, signal_id=parse_signal_id(value["signal_id"], f"{field}.signal_id"))
    if "external_id" not in value:
        raise LinkError(field, "needs external_id (with an optional source) or signal_id")
    external_id = _text(value["external_id"], f"{field}.external_id", MAX_KEY_CHARS)
    source = value.get("source")
    if source is not None:
        source = _text(source, f"{field}.source", MAX_SOURCE_CHARS)
    return LinkSpec(type_, external_id=external_id, source=source)


def parse_reference_field(value: Any, field: str) -> Reference:
    """Return a parsed reference text, or raise LinkError naming the field."""
    text = _text(value, field, MAX_REFERENCE_CHARS)
    try:
        reference = parse_reference(text)
    except ValueError as exc:
        raise LinkError(field, str(exc)) from exc
    if not reference.words:
        raise LinkError(
            field, "names no document: give words of its title (and a date), not only a date"
        )
    return reference


def parse_links(value: Any, *, external_id: str) -> list[LinkSpec]:
    """Return the validated `links` of a record, or raise LinkError naming the item's field."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise LinkError("links", f"expected an array, got {_json_type(value)}")
    if len(value) > MAX_LINKS:
        raise LinkError("links", f"has {len(value):,} items; the limit is {MAX_LINKS:,}")
    links: dict[Any, LinkSpec] = {}
    for index, item in enumerate(value):
        where = f"links[{index}]"
        if not isinstance(item, dict):
            raise LinkError(where, f"expected an object, got {_json_type(item)}")
        unknown = sorted(set(item) - {"type", "to", "reference"})
        if unknown:
            raise LinkError(
                f"{where}.{unknown[0]}", "unknown field; expected type, to or reference"
            )
        if "type" not in item:
            raise LinkError(f"{where}.type", f"is missing; expected one of {', '.join(LINK_TYPES)}")
        kind = parse_link_type(item["type"], f"{where}.type")
        has_to, has_reference = item.get("to") is not None, item.get("reference") is not None
        if has_to == has_reference:
            raise LinkError(
                where, "needs either `to` (a signal key) or `reference` (a text naming it)"
            )
        if has_to:
            spec = parse_target(item["to"], f"{where}.to", type_=kind)
            if spec.source is None and spec.external_id == external_id:
                raise LinkError(f"{where}.to", "a signal cannot link to itself")
            key: Any = (kind, spec.source, spec.external_id, spec.signal_id)
        else:
            reference = parse_reference_field(item["reference"], f"{where}.reference")
            spec = LinkSpec(kind, reference=reference)
            key = (kind, reference.normalized)
        links.setdefault(key, spec)  # the same link twice is one link
    return list(links.values())
