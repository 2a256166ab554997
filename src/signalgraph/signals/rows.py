"""The row that carries a signal through its batch: fingerprints and duplicate pointers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from signalgraph.ids import uuid7
from signalgraph.load.batches import Row

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class SignalRow(Row):
    """One validated signal on its way into the database (`record` is a SignalRecord)."""

    prev_hash: bytes | None = None  # the stored record hash of an updated row
    stored_at: datetime | None = None  # when an updated row was first stored
    content_hash: bytes | None = None
    url_normalized: str | None = None
    url_hash: bytes | None = None
    simhash: int | None = None
    tokens: int = 0
    sketch: bytes | None = None  # short texts only (fingerprint.word_sketch)
    fingerprinted: bool = False
    duplicate_of: uuid.UUID | None = None
    near_duplicate_of: uuid.UUID | None = None
    near_distance: int | None = None


def signal_rows(rows: Sequence[Row]) -> Sequence[SignalRow]:
    """Return a batch's rows as what they are: the signal loader makes every row a SignalRow."""
    return cast("Sequence[SignalRow]", rows)


def signal_id_for(published_at: datetime) -> uuid.UUID:
    """Return a new signal id whose time part is the published time (clamped to 1970)."""
    return uuid7(max(published_at, _EPOCH))
