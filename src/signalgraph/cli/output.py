"""Output shared by every command: rich tables on a terminal, JSON for scripts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    REJECTS = 3


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON to stdout instead of a table.")
]
WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace to act in \\[env: SIGNALGRAPH_WORKSPACE; default: default].",
        show_default=False,
    ),
]

# Piped output is read by people too: give tables room instead of folding them at 80.
stdout = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
stderr = Console(stderr=True, soft_wrap=True)


def _default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "as_dict"):
        return value.as_dict()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def to_json(value: Any, *, indent: bool = True) -> bytes:
    """Serialise `value` (dataclasses, UUIDs, datetimes included) to JSON bytes."""
    option = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z
    if indent:
        option |= orjson.OPT_INDENT_2
    try:
        return orjson.dumps(value, default=_default, option=option)
    except TypeError:
        # Integers beyond 64 bits are valid JSON that orjson will not write.
        import json

        return json.dumps(
            value, default=_stdlib_default, indent=2 if indent else None, ensure_ascii=False
        ).encode("utf-8", "backslashreplace")


def _stdlib_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | uuid.UUID):
        return str(value)
    return _default(value)


def print_json(value: Any) -> None:
    """Write `value` as JSON to stdout."""
    sys.stdout.buffer.write(to_json(value) + b"\n")
    sys.stdout.flush()


def print_items(items: Iterable[Any], next_cursor: str | None = None, **extra: Any) -> None:
    """Write a listing as JSON: {"items": [...], "next_cursor": cursor or null}.

    Every list command prints this one shape (docs/operations.md, "JSON output"); `extra`
    adds documented keys beside the two (`lists show` adds the list it shows).
    """
    print_json({"items": list(items), "next_cursor": next_cursor, **extra})


def print_ndjson_line(value: Any) -> None:
    """Write `value` as one compact JSON line to stdout."""
    sys.stdout.buffer.write(to_json(value, indent=False) + b"\n")


# Counts and sizes read better with thousands separators; ids, ports and years do not.
_GROUPED = ("rows", "bytes", "tuples", "scans", "seen", "inserted", "updated", "unchanged",
            "duplicates", "rejected", "signals", "originals", "mentions", "size", "count",
            "records", "sources", "runs")  # fmt: skip


def format_cell(value: Any, key: str = "", *, full_ids: bool = False) -> str:
    """Render one value for a table cell (thousands separators only for counts; short ids
    unless `full_ids`)."""
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, uuid.UUID):
        if full_ids:
            return str(value)
        # Tables show the short id (every command accepts it); --json has full ids.
        from signalgraph.ids import short_id

        return short_id(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}" if any(part in key for part in _GROUPED) else str(value)
    if isinstance(value, Mapping | list):
        return to_json(value, indent=False).decode()
    return str(value)


def print_table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    empty: str = "nothing to show",
) -> None:
    """Print rows as a rich table (or a note when there are none)."""
    materialised = list(rows)
    if not materialised:
        if empty:
            stderr.print(f"[dim]{empty}[/dim]")
        return
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in materialised:
        table.add_row(*(format_cell(row.get(column), column) for column in columns))
    stdout.print(table)


def print_record(record: Mapping[str, Any], *, title: str | None = None) -> None:
    """Print one record as a two-column table of field and value."""
    table = Table(title=title, title_justify="left", show_header=False, box=None)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in record.items():
        table.add_row(key.replace("_", " "), format_cell(value, key, full_ids=True))
    stdout.print(table)


def note(message: str) -> None:
    """Print a progress or status message to stderr."""
    stderr.print(message, highlight=False)


def parse_time_option(value: str | None, option: str) -> dt.datetime | None:
    """Return the time a --since/--until style option names (ISO 8601, or a date)."""
    from signalgraph.errors import UsageError
    from signalgraph.ids import utcnow
    from signalgraph.load.fields import Rejection, parse_published_at

    if value is None:
        return None
    try:
        return parse_published_at(value, utcnow())
    except Rejection as exc:
        raise UsageError(f"{option}: {exc.reason}") from exc


def parse_assignments(values: list[str], option: str = "--set") -> dict[str, str]:
    """Return {FIELD: VALUE} from repeated FIELD=VALUE options, or raise UsageError."""
    from signalgraph.errors import UsageError

    fields: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"{option} {item[:60]!r} is not FIELD=VALUE")
        fields[name.strip()] = value
    return fields


def print_result(value: Any, *, json: bool, message: str) -> None:
    """Print a command's result: as JSON with --json, else its one-line message."""
    if json:
        print_json(value)
    else:
        note(message)
