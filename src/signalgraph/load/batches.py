"""Batches on their way into the database: valid rows, refused records, what a batch did."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson


class RetryBatch(Exception):
    """The batch lost a race with another writer; roll back and run it again."""


@dataclass(slots=True)
class Row:
    """One valid record on its way into the database, with where it came from.

    A kind of record that needs more per row (signals: fingerprints, duplicate pointers)
    extends this class; its loader builds the rows (`Loader.row`).
    """

    seq: int  # the record's place among the run's valid records
    file: str | None
    line: int
    record: Any  # the loader's record: a SignalRecord, an entity record, a statement
    # The input bytes, kept only for records the writer may still reject (see Loader.row).
    raw: bytes | None = None
    status: str = "pending"  # then new, updated or unchanged, as the writer finds it
    id: uuid.UUID | None = None  # the id the record is stored under, once known


@dataclass(slots=True)
class RejectRow:
    """One refused input record, kept verbatim."""

    file: str | None
    line: int
    field: str | None
    reason: str
    raw: bytes


@dataclass
class Batch:
    """A batch of input records: the valid ones and the refused ones."""

    rows: list[Row] = field(default_factory=list)
    rejects: list[RejectRow] = field(default_factory=list)
    bytes: int = 0
    nul_stripped: int = 0
    # Where the batch ends in its input (name, byte position, input size), for progress.
    input_end: tuple[str | None, int, int | None] = (None, 0, None)

    @property
    def seen(self) -> int:
        """Return how many input records the batch holds."""
        return len(self.rows) + len(self.rejects)


@dataclass
class WriteResult:
    """What one batch did: the common counts, and the kind's own in `extra`."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def counters(self) -> dict[str, int]:
        """Return the counts as run counters."""
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            **self.extra,
        }


def json_list(values: Iterable[str]) -> str:
    """Return values as one JSON array (cheaper to send than a Python list adapted by element)."""
    return orjson.dumps(list(values)).decode()
