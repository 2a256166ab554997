"""Ranges of the PostgreSQL integer columns and parameters values are bound to.

A value outside its column's range fails in PostgreSQL as "integer out of range";
checked here first, it is a usage error naming what was wrong.
"""

from __future__ import annotations

import re
from typing import Any

from signalgraph.errors import UsageError

INT16 = (-(2**15), 2**15 - 1)
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
# Rows in one page of a paged listing (pages.check_limit).
PAGE_SIZE = (1, 10_000)
# A row count for LIMIT (a bigint): within an int4, so the +1 and x2 listings add to it
# for lookahead still fit.
ROW_LIMIT = (1, INT32[1])
# statement_timeout is an integer number of milliseconds.
STATEMENT_TIMEOUT_MS = (1, INT32[1])
STATEMENT_TIMEOUT_S = (0.1, INT32[1] / 1000)
# --max-rejects: a count compared in Python, kept within what a bigint holds.
REJECT_COUNT = (0, INT64[1])
# Records per transaction (ingest, resolve): also the most the batch_size setting allows.
BATCH_SIZE = (1, 1_000_000)
# Connections one ingest writes over.
WORKERS = (1, 64)


def out_of_range(value: float, bounds: tuple[float, float]) -> str | None:
    """Return why `value` is outside `bounds` (NaN always is), or None when it is inside."""
    low, high = bounds
    if low <= value <= high:
        return None
    text = str(value)
    shown = text if len(text) <= 30 else f"{text[:27]}..."
    return f"{shown} is out of range; expected {low} to {high}"


def check_int(what: str, value: Any, bounds: tuple[int, int] = INT32) -> int:
    """Return an integer within bounds (ints or their decimal text), or raise UsageError."""
    if isinstance(value, bool):
        raise UsageError(f"{what} expects an integer, got a boolean")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,400}", text):
            raise UsageError(f"{what} expects an integer, got {value[:40]!r}")
        value = int(text)
    if not isinstance(value, int):
        raise UsageError(f"{what} expects an integer, got {type(value).__name__}")
    problem = out_of_range(value, bounds)
    if problem is not None:
        message, _, hint = problem.partition("; ")
        raise UsageError(f"{what} {message}", hint=hint)
    return value
