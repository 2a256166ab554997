"""Keyset pagination: pages of rows after an opaque cursor, stable under concurrent inserts.

A page ends with a cursor holding the sort key of its last row; the next page asks for
rows strictly after that key. No offsets: a row inserted meanwhile never shifts a page,
so nothing is skipped or repeated.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson

from signalgraph.bounds import PAGE_SIZE
from signalgraph.errors import UsageError

T = TypeVar("T")
MAX_LIMIT = PAGE_SIZE[1]


@dataclass
class Page(Generic[T]):
    """One page of results and the cursor of the next (None on the last page)."""

    items: list[T]
    next_cursor: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]


def encode_cursor(kind: str, key: Sequence[Any]) -> str:
    """Return the opaque cursor of a sort key for one kind of listing."""
    payload = orjson.dumps({"k": kind, "v": [str(v) if v is not None else None for v in key]})
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> list[str | None]:
    """Return the sort key in a cursor, or raise UsageError for a cursor of another listing."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(payload, dict) or payload.get("k") != kind:
            raise ValueError("another listing's cursor")
        values = payload["v"]
        if not isinstance(values, list):
            raise ValueError("no key")
        return [v if v is None else str(v) for v in values]
    except (ValueError, KeyError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise UsageError(
            f"cursor {cursor[:40]!r} is not a cursor of this listing",
            hint="pass the next_cursor printed by the previous page of the same command",
        ) from exc


def cursor_id(kind: str, cursor: str | None) -> uuid.UUID | None:
    """Return the id in a one-column (id) cursor, or None without a cursor."""
    if cursor is None:
        return None
    values = decode_cursor(kind, cursor)
    try:
        if len(values) != 1:
            raise ValueError("one value expected")
        return uuid.UUID(str(values[0]))
    except ValueError as exc:
        raise UsageError(f"cursor {cursor[:40]!r} is damaged") from exc


def check_limit(limit: int) -> int:
    """Return a page size, or raise UsageError when it is out of range."""
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit {limit} is out of range", hint=f"expected 1 to {MAX_LIMIT}")
    return limit
