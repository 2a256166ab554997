"""Client-made identifiers: UUIDv7 (RFC 9562), time-ordered, no sequences."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

_MAX_MS = (1 << 48) - 1


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def _ms(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("uuid7 needs a timezone-aware datetime")
    # Integer arithmetic: float timestamps lose the millisecond far from 1970.
    return (at - _EPOCH) // _ONE_MS


def uuid7(at: datetime | None = None) -> uuid.UUID:
    """Return a new UUIDv7 whose 48-bit time part is `at` (default: now) in Unix milliseconds."""
    ms = _ms(at if at is not None else datetime.now(UTC))
    if not 0 <= ms <= _MAX_MS:
        raise ValueError(f"time {at!r} is outside the UUIDv7 range (1970 to year 10889)")
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = rand >> 68  # 12 bits
    rand_b = rand & ((1 << 62) - 1)  # 62 bits
    value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)


def uuid7_floor(at: datetime) -> uuid.UUID:
    """Return the smallest UUIDv7 at or after `at`'s millisecond (a range bound)."""
    ms = _ms(at)
    if not 0 <= ms <= _MAX_MS:
        raise ValueError(f"time {at!r} is outside the UUIDv7 range")
    return uuid.UUID(int=ms << 80)


def uuid7_time(value: uuid.UUID) -> datetime:
    """Return the time encoded in a UUIDv7."""
    return _EPOCH + (value.int >> 80) * _ONE_MS


# Tables print the last characters of ids: the first ones of a UUIDv7 are a time that
# ids made on the same day share (see signalgraph.lookup for how ids are typed back).
SHORT_ID_CHARS = 8


def short_id(value: uuid.UUID | str | None) -> str:
    """Return the short form of an id printed in tables (its last 8 characters)."""
    if value is None:
        return "-"
    return str(value)[-SHORT_ID_CHARS:]


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)
