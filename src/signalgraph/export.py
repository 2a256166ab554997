"""Writing rows out to files: the formats a suffix names, and values as CSV cells.

Every command that writes rows (lists export, entities clusters) chooses its format and
renders values here, so a CSV holds `true`/`false` and ISO 8601 times everywhere, and an
unknown suffix is refused instead of guessed.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

from signalgraph.errors import UsageError

SUFFIXES = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}
ROW_FORMATS = ("ndjson", "csv")


def format_of(target: str | Path | None, fmt: str | None, *, command: str) -> str:
    """Return the row format to write: `fmt` if given, else the one the file's suffix names."""
    if fmt is not None:
        if fmt not in ROW_FORMATS:
            raise UsageError(
                f"{command}: unknown format {fmt!r}", hint=f"expected {' or '.join(ROW_FORMATS)}"
            )
        return fmt
    if target is None or str(target) == "-":
        return "ndjson"
    suffix = Path(str(target)).suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    known = ", ".join(SUFFIXES)
    raise UsageError(
        f"{command}: cannot write {Path(str(target)).name!r}: the suffix {suffix or '(none)'} "
        f"names no format it writes",
        hint=f"use a file ending in {known}, or give --format csv|ndjson",
    )


def csv_cell(value: Any) -> str:
    """Return a value as one CSV cell: empty for null, true/false, ISO 8601 times, JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC) if value.tzinfo is not None else value
        return moment.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal | int | float | str):
        return str(value)
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z).decode()


def write_rows(
    rows: Iterable[Mapping[str, Any]], handle: IO[str], fmt: str, columns: Sequence[str]
) -> int:
    """Write rows as CSV (the given columns, with a header) or NDJSON; return how many."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_cell(row.get(column)) for column in columns])
            count += 1
        return count
    for row in rows:
        line = orjson.dumps(dict(row), option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)
        handle.write(line.decode() + "\n")
        count += 1
    return count
