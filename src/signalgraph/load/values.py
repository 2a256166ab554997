"""A read record's value made ready to validate: CSV cells read, a repeated key settled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from signalgraph.load.fields import Rejection
from signalgraph.load.json_text import REPEATED_KEY_REASON, JsonProblem, parse_cell

# Where a record whose JSON repeats a key keeps its input as it arrived (see docs/ingest.md).
VERBATIM_KEY = "_verbatim"


@dataclass(frozen=True, slots=True)
class CsvColumns:
    """How one kind of record reads CSV cells: which hold JSON, which may be epoch times."""

    json: tuple[str, ...] = ()
    # JSON when the cell starts with "[", else one plain value (an aliases cell "Helix Tx").
    json_or_text: tuple[str, ...] = ()
    times: tuple[str, ...] = ()


def coerce_csv_value(
    value: dict[str, Any], columns: CsvColumns
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
