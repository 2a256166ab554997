"""Find one object from the id a user typed: a full id, a prefix, or the short id of tables.

Ids are UUIDv7: their first characters are a time, so ids made on the same day share a
long prefix, while their last characters are random. Tables therefore print the *short
id*, the last 8 hexadecimal characters, and every command accepts a full id, a prefix
of at least 4 characters, or a short id (4 to 12 characters, matched as a prefix or a
suffix). Every lookup goes through `find` here, so every command says the same thing
when an id is malformed, unknown or ambiguous.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from signalgraph.errors import NotFound, UsageError

MIN_TYPED_CHARS = 4
# A suffix can only be the last group of a UUID (12 characters, no dash).
MAX_SUFFIX_CHARS = 12
SHOWN_CANDIDATES = 5
_HEX = re.compile(r"^[0-9a-f]+$")
_DASHES = frozenset({8, 13, 18, 23})


@dataclass(frozen=True, slots=True)
class TypedId:
    """What a typed id can mean: one full id, or a prefix and perhaps a suffix."""

    text: str
    full: uuid.UUID | None = None
    prefix: str | None = None  # hexadecimal digits, no dashes
    suffix: str | None = None

    def condition(self, column: Any) -> Any:
        """Return the SQL condition "column is an id this text can mean"."""
        if self.full is not None:
            return column == self.full
        options = []
        if self.prefix is not None:
            low, high = _prefix_bounds(self.prefix)
            # A range on the uuid column uses its index, where a text cast would not.
            options.append(column >= low if high is None else sa.and_(column >= low, column < high))
        if self.suffix is not None:
            options.append(sa.func.right(sa.cast(column, sa.Text), len(self.suffix)) == self.suffix)
        return sa.or_(*options)


def _prefix_bounds(digits: str) -> tuple[uuid.UUID, uuid.UUID | None]:
    low = uuid.UUID(digits.ljust(32, "0"))
    above = int(digits, 16) + 1
    if above >= 16 ** len(digits):
        return low, None
    return low, uuid.UUID(f"{above:0{len(digits)}x}".ljust(32, "0"))


def parse_id(value: str | uuid.UUID, noun: str) -> TypedId:
    """Return what a typed id can mean, or raise UsageError for text that is no id."""
    if isinstance(value, uuid.UUID):
        return TypedId(str(value), full=value)
    text = value.strip().lower()
    digits = text.replace("-", "")
    if len(digits) == 32 and _HEX.match(digits):
        try:
            return TypedId(text, full=uuid.UUID(digits))
        except ValueError:
            pass
    if MIN_TYPED_CHARS <= len(digits) < 32 and _HEX.match(digits) and _dashes_fit(text):
        suffix = text if "-" not in text and len(text) <= MAX_SUFFIX_CHARS else None
        return TypedId(text, prefix=digits, suffix=suffix)
    article = "an" if noun[:1] in "aeiou" else "a"
    raise UsageError(
        f"{value[:80]!r} is not {article} {noun} id",
        hint="give the full id, its first 4 characters or more, or the short id printed in tables",
    )


def _dashes_fit(text: str) -> bool:
    """Return True for bare hexadecimal, or dashes where a UUID has them (8-4-4-4-12)."""
    return "-" not in text or all(
        (char == "-") == (index in _DASHES) for index, char in enumerate(text)
    )


def find(
    connection: Connection,
    query: sa.Select[Any],
    column: Any,
    value: str | uuid.UUID,
    *,
    noun: str,
    hint: str | None = None,
) -> Row[Any]:
    """Return the one row of `query` whose `column` is the typed id, or raise.

    `query` already limits the rows to the workspace (and to live rows where that
    matters); NotFound and an ambiguous-id UsageError say the same in every command.
    """
    typed = parse_id(value, noun)
    rows = connection.execute(query.where(typed.condition(column)).limit(SHOWN_CANDIDATES)).all()
    if not rows:
        raise NotFound(f"{noun} {typed.text} does not exist in this workspace", hint=hint)
    if len(rows) > 1:
        raise ambiguous(noun, typed.text, [row._mapping[column] for row in rows])
    return rows[0]


def ambiguous(noun: str, text: str, candidates: Sequence[Any]) -> UsageError:
    """Return the error for a typed id that matches several objects."""
    shown = ", ".join(str(candidate) for candidate in candidates[:SHOWN_CANDIDATES])
    more = " or more" if len(candidates) >= SHOWN_CANDIDATES else ""
    return UsageError(
        f"{noun} id {text!r} matches {len(candidates)}{more} {noun}s ({shown})",
        hint="give more characters, or the full id",
    )
