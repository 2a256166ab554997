"""CSV input: rows mapped to records by the header's column names.

The header is checked before anything is written (a missing external_id column or a
column named twice refuses the file); a row that cannot be read is rejected alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO, Any

from signalgraph.errors import InputError
from signalgraph.load.inputs import InputInfo, InputRecord


def delimiter_for(name: str) -> str:
    """Return the delimiter a file's name implies (tab for .tsv)."""
    return "\t" if name.lower().removesuffix(".gz").endswith(".tsv") else ","


def check_head(name: str, head: bytes) -> None:
    """Refuse a file whose first bytes hold no usable header (see check_header)."""
    text = head.decode("utf-8", "replace")
    delimiter = delimiter_for(name)
    # newline="" lets the csv module end the header at LF, CRLF or a lone CR.
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(rows, [])
    except csv.Error as exc:
        raise InputError(f"{name}: the CSV header cannot be read: {csv_problem(exc)}") from exc
    check_header(name, header, delimiter)


def check_header(name: str, header: list[str], delimiter: str) -> list[str]:
    """Return the CSV header's column names, or raise InputError for a missing or repeated one."""
    columns = [column.strip() for column in header]
    if "external_id" not in columns:
        raise InputError(
            f"{name}: the CSV header has no external_id column",
            hint=f"the first line is: {_shorten(delimiter.join(header))}",
        )
    seen: set[str] = set()
    for number, column in enumerate(columns, start=1):
        if column in seen:
            shown = f"the column {column!r}" if column else "an unnamed column"
            first = columns.index(column) + 1
            raise InputError(
                f"{name}: the CSV header names {shown} twice (columns {first} and {number})",
                hint="rename or remove one; a row can hold only one value per column name",
            )
        seen.add(column)
    return columns


def csv_problem(exc: csv.Error) -> str:
    """Return a CSV parser error in the input's terms rather than the parser's."""
    text = str(exc)
    if "expected after" in text:
        return 'a quote inside a field (quote the field and double the quote: "")'
    if "field larger than field limit" in text:
        return "a field is larger than the record size limit (max_record_bytes)"
    if "new-line character seen in unquoted field" in text:
        return "a line break inside an unquoted field"
    return text


class _Lines:
    """The text lines of a CSV input, with push-back and a record of the lines consumed."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self._pending: list[str] = []
        self.consumed: list[str] = []
        self.consumed_chars = 0
        self.number = 0  # physical lines read so far

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._pending.pop() if self._pending else self._text.readline()
        if not line:
            raise StopIteration
        self.number += 1
        self.consumed.append(line)
        self.consumed_chars += len(line)
        return line

    def start_record(self) -> None:
        self.consumed = []
        self.consumed_chars = 0

    def push_back(self, lines: list[str]) -> None:
        self.number -= len(lines)
        self._pending.extend(reversed(lines))


class _RunawayRecord(Exception):
    """A quoted field ran past the record size limit: a quote was never closed."""


def read_csv(stream: IO[bytes], info: InputInfo, *, max_record_bytes: int) -> Iterator[InputRecord]:
    """Yield one record per CSV row, mapping columns by the header's names.

    An unbalanced quote would swallow the rest of the file into one field; when a record
    runs past max_record_bytes (or the end of the input) inside quotes, its first line
    is rejected and reading starts again on the line after it.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    delimiter = delimiter_for(info.name)
    info.csv_delimiter = delimiter
    csv.field_size_limit(max(max_record_bytes, 131_072))
    lines = _Lines(text)

    def guarded() -> Iterator[str]:
        for line in lines:
            if lines.consumed_chars > max_record_bytes:
                raise _RunawayRecord
            yield line

    def reader() -> Iterator[list[str]]:
        return csv.reader(guarded(), delimiter=delimiter, strict=True)

    rows = reader()
    try:
        header = next(rows)
    except StopIteration:
        raise InputError(f"{info.name} is empty") from None
    except _RunawayRecord as exc:
        raise InputError(
            f"{info.name}: the CSV header cannot be read: a quoted field is never closed"
        ) from exc
    except csv.Error as exc:
        raise InputError(f"{info.name}: the CSV header cannot be read: {csv_problem(exc)}") from exc
    header = check_header(info.name, header, delimiter)
    info.csv_header = header
    while True:
        lines.start_record()
        first_line = lines.number + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except (csv.Error, _RunawayRecord) as exc:
            consumed = list(lines.consumed)
            if len(consumed) > 1:
                lines.push_back(consumed[1:])
            raw = consumed[0].rstrip("\r\n").encode("utf-8", "surrogateescape") if consumed else b""
            reason = (
                "a quoted field is never closed"
                if isinstance(exc, _RunawayRecord) or len(consumed) > 1
                else f"malformed CSV: {csv_problem(exc)}"
            )
            yield InputRecord(info.name, first_line, raw, reason=reason)
            rows = reader()
            continue
        record = _csv_record(info, header, row, lines.number, _record_bytes(lines.consumed))
        if record is not None:
            yield record


def _record_bytes(lines: list[str]) -> bytes:
    """Return a CSV record's input bytes, as they arrived, without its line end."""
    text = "".join(lines)
    text = text[:-2] if text.endswith("\r\n") else text[:-1] if text[-1:] in "\r\n" else text
    return text.encode("utf-8", "surrogateescape")


def _csv_record(
    info: InputInfo, header: list[str], row: list[str], line: int, raw: bytes
) -> InputRecord | None:
    """Turn one parsed CSV row into a record (None for a blank row)."""
    if not row or (len(row) == 1 and not row[0].strip()):
        return None
    if len(row) != len(header):
        return InputRecord(
            info.name, line, raw, reason=f"row has {len(row)} fields, the header has {len(header)}"
        )
    value: dict[str, Any] = {}
    for column, cell in zip(header, row, strict=True):
        if _has_surrogates(cell):
            return InputRecord(info.name, line, raw, field=column, reason="invalid UTF-8")
        value[column] = cell if cell != "" else None
    return InputRecord(info.name, line, raw, value=value)


def _shorten(text: str, limit: int = 120) -> str:
    """Return printable text of at most `limit` characters, for messages."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _has_surrogates(text: str) -> bool:
    if text.isascii():
        return False
    return any("\udc80" <= char <= "\udcff" for char in text)
