"""Input readers: files, gzip and standard input in NDJSON, CSV or Parquet, as positioned records.

A reader never holds a whole file: it yields one `InputRecord` at a time with where it
came from (file and line, or row), its bytes as they arrived, and the parsed object (or
why it could not be parsed).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import shutil
import sys
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from signalgraph.errors import InputError, UsageError

FORMATS = ("auto", "ndjson", "csv", "parquet")
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_BOM = b"\xef\xbb\xbf"
_SNIFF_BYTES = 64 * 1024
_EXTENSIONS = {
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "ndjson",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(slots=True)
class InputRecord:
    """One record as read: its position, its bytes, and its parsed value or the problem."""

    file: str | None
    line: int
    raw: bytes
    value: dict[str, Any] | None = None
    field: str | None = None
    reason: str | None = None


@dataclass
class InputInfo:
    """What is known about one input before reading it."""

    name: str
    format: str
    compressed: bool
    size: int | None
    csv_header: list[str] | None = field(default=None)
    csv_delimiter: str = ","

    def as_dict(self) -> dict[str, Any]:
        """Return the input description as a plain dict (stored in run params)."""
        return {
            "name": self.name,
            "format": self.format,
            "compressed": self.compressed,
            "size": self.size,
            "csv_header": self.csv_header,
            "csv_delimiter": self.csv_delimiter,
        }


class CountingReader(io.RawIOBase):
    """Wrap a binary stream and count the bytes read from it (for progress)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size


def _looks_binary(head: bytes) -> bool:
    """Return True when the first bytes are not text (NUL bytes, or mostly undecodable)."""
    sample = head[:4096]
    if b"\x00" in sample:
        return True
    text = sample.decode("utf-8", errors="replace")
    odd = sum(1 for char in text if char == "\ufffd" or (char < " " and char not in "\t\n\r"))
    return odd > max(len(text) // 10, 8)


def _format_for(name: str, head: bytes, compressed: bool) -> str:
    path = Path(name)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _EXTENSIONS:
        return _EXTENSIONS[suffixes[-1]]
    return _sniff(name, head)


def _sniff(name: str, head: bytes) -> str:
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    text = head[len(_BOM) :] if head.startswith(_BOM) else head
    stripped = text.lstrip()
    if not stripped:
        raise InputError(f"{name} is empty")
    if _looks_binary(text):
        raise InputError(
            f"{name} does not look like NDJSON, CSV or Parquet (it holds binary data)",
            hint="give --format if the file name does not say what it is",
        )
    if stripped.startswith(b"{"):
        return "ndjson"
    if stripped.startswith(b"["):
        raise InputError(
            f"{name} looks like one JSON array; signalgraph reads NDJSON (one object per line)",
            hint="convert it, for example with: jq -c '.[]' FILE > FILE.ndjson",
        )
    return "csv"


def describe_input(path: str) -> InputInfo:
    """Check an input exists and is readable, and work out its format, without reading it all."""
    if path == "-":
        return InputInfo(name="<stdin>", format="auto", compressed=False, size=None)
    file = Path(path)
    if not file.exists():
        raise InputError(f"{path}: no such file")
    if file.is_dir():
        raise InputError(f"{path} is a directory, not a file")
    try:
        with file.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"{path} cannot be read: {exc.strerror}") from exc
    if not head:
        raise InputError(f"{path} is empty")
    compressed = head.startswith(_GZIP_MAGIC)
    if compressed:
        try:
            with gzip.open(file, "rb") as handle:
                head = handle.read(_SNIFF_BYTES)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path} is not a readable gzip file: {exc}") from exc
        if not head:
            raise InputError(f"{path} is empty (after decompression)")
    info = InputInfo(
        name=path,
        format=_format_for(path, head, compressed),
        compressed=compressed,
        size=file.stat().st_size,
    )
    if info.format in {"ndjson", "csv"}:
        stripped = head[len(_BOM) :] if head.startswith(_BOM) else head
        if _looks_binary(stripped):
            raise InputError(
                f"{path} does not look like {info.format.upper()} (it holds binary data)",
                hint="give --format if the file name does not say what it is",
            )
        if info.format == "ndjson" and stripped.lstrip().startswith(b"["):
            _sniff(path, stripped)  # explains the JSON array
    _check_columns(file, info, head)
    return info


def _delimiter(name: str) -> str:
    return "\t" if name.lower().removesuffix(".gz").endswith(".tsv") else ","


def _check_columns(file: Path, info: InputInfo, head: bytes) -> None:
    """Refuse, before anything is written, a table input without an external_id column."""
    if info.format == "csv":
        first = head[len(_BOM) :] if head.startswith(_BOM) else head
        line = first.split(b"\n", 1)[0].decode("utf-8", "replace")
        header = next(csv.reader([line], delimiter=_delimiter(info.name)), [])
        if "external_id" not in [column.strip() for column in header]:
            raise InputError(
                f"{info.name}: the CSV header has no external_id column",
                hint=f"the first line is: {_shorten(line)}",
            )
    elif info.format == "parquet" and not info.compressed:
        for _ in read_parquet(file, info.name, batch_rows=1, schema_only=True):
            pass


@contextmanager
def open_input(path: str, info: InputInfo) -> Iterator[tuple[IO[bytes], CountingReader]]:
    """Open an input for binary reading, decompressing gzip; yield it and its byte counter."""
    if path == "-":
        raw_stream: IO[bytes] = sys.stdin.buffer
        counter = CountingReader(raw_stream)
        buffered = io.BufferedReader(counter, buffer_size=1 << 16)
        head = buffered.peek(2)[:2]
        if head.startswith(_GZIP_MAGIC):
            info.compressed = True
            yield gzip.GzipFile(fileobj=buffered, mode="rb"), counter  # type: ignore[misc]
        else:
            yield buffered, counter
        return
    with Path(path).open("rb") as handle:
        counter = CountingReader(handle)
        buffered = io.BufferedReader(counter, buffer_size=1 << 16)
        if info.compressed:
            with gzip.GzipFile(fileobj=buffered, mode="rb") as unzipped:
                yield unzipped, counter  # type: ignore[misc]
        else:
            yield buffered, counter


def read_ndjson(stream: IO[bytes], name: str, *, max_record_bytes: int) -> Iterator[InputRecord]:
    """Yield one record per non-blank line; a line is parsed as one JSON object."""
    line_number = 0
    while True:
        line = stream.readline(max_record_bytes + 1)
        if not line:
            return
        line_number += 1
        if len(line) > max_record_bytes and not line.endswith(b"\n"):
            size = len(line)
            while True:  # skip the rest of the oversized line without keeping it
                rest = stream.readline(1 << 20)
                size += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            yield InputRecord(
                name,
                line_number,
                line[:max_record_bytes],
                reason=f"record is {size:,} bytes; the limit is {max_record_bytes:,} "
                "(max_record_bytes); the first bytes are kept here",
            )
            continue
        if line_number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        record = line.rstrip(b"\r\n")
        if not record.strip():
            continue
        yield parse_json_record(record, name, line_number)


# orjson turns integers beyond 64 bits into floats (losing digits). A parsed float that
# large sends the line to the standard library parser, which keeps integers exact.
_HUGE = float(2**63)


def _has_huge_float(value: Any) -> bool:
    if isinstance(value, float):
        return abs(value) >= _HUGE
    if isinstance(value, dict):
        return any(_has_huge_float(item) for item in value.values() if not isinstance(item, str))
    if isinstance(value, list):
        return any(_has_huge_float(item) for item in value if not isinstance(item, str))
    return False


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_record(record: bytes, name: str | None, line: int) -> InputRecord:
    """Parse one JSON object from bytes into an InputRecord (or explain why not)."""
    try:
        value = orjson.loads(record)
        if _has_huge_float(value):
            value = json.loads(
                record.decode("utf-8"), parse_float=_finite, parse_constant=_no_constants
            )
    except UnicodeDecodeError as bad:
        return InputRecord(name, line, record, reason=f"invalid UTF-8 at byte {bad.start + 1}")
    except orjson.JSONDecodeError as exc:
        return InputRecord(name, line, record, reason=_json_problem(record, exc))
    except ValueError as exc:
        return InputRecord(name, line, record, reason=f"invalid JSON: {exc}")
    if not isinstance(value, dict):
        kind = type(value).__name__
        kind = {"list": "an array", "str": "a string", "NoneType": "null"}.get(kind, f"a {kind}")
        return InputRecord(name, line, record, reason=f"expected a JSON object, got {kind}")
    return InputRecord(name, line, record, value=value)


def _json_problem(record: bytes, exc: orjson.JSONDecodeError) -> str:
    try:
        record.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"invalid UTF-8 at byte {bad.start + 1}"
    detail = str(exc).split(": line", 1)[0]
    return f"invalid JSON: {detail} (column {exc.colno})"


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
    delimiter = _delimiter(info.name)
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
    except (csv.Error, _RunawayRecord) as exc:
        raise InputError(f"{info.name}: the CSV header cannot be read: {exc}") from exc
    header = [column.strip() for column in header]
    if "external_id" not in header:
        raise InputError(
            f"{info.name}: the CSV header has no external_id column",
            hint=f"the first line is: {_shorten(delimiter.join(header))}",
        )
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
                else f"malformed CSV: {exc}"
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


def read_parquet(
    path: Path, name: str, *, batch_rows: int, schema_only: bool = False
) -> Iterator[InputRecord]:
    """Yield one record per Parquet row, reading a row group slice at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{name} is not a readable Parquet file: {exc}") from exc
    if "external_id" not in parquet.schema_arrow.names:
        raise InputError(
            f"{name}: the Parquet file has no external_id column",
            hint=f"the columns are: {', '.join(parquet.schema_arrow.names)}",
        )
    if schema_only:
        return
    row = 0
    for batch in parquet.iter_batches(batch_size=batch_rows):
        for value in batch.to_pylist():
            row += 1
            raw = orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS)
            yield InputRecord(name, row, raw, value=value)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def read_objects(objects: Iterable[Any]) -> Iterator[InputRecord]:
    """Yield one record per Python object (dicts are records; anything else is rejected)."""
    for index, value in enumerate(objects, start=1):
        try:
            raw = orjson.dumps(value, default=repr, option=orjson.OPT_NON_STR_KEYS)
        except TypeError as exc:
            raw = repr(value).encode("utf-8", "backslashreplace")
            reason = (
                "contains invalid Unicode (a lone surrogate)"
                if "surrogate" in str(exc)
                else f"cannot be stored as JSON: {exc}"
            )
            yield InputRecord(None, index, raw, reason=reason)
            continue
        if isinstance(value, dict):
            yield InputRecord(None, index, raw, value=value)
        else:
            yield InputRecord(
                None, index, raw, reason=f"expected a dict, got {type(value).__name__}"
            )


@contextmanager
def spooled_file(stream: IO[bytes]) -> Iterator[Path]:
    """Copy a non-seekable stream to a temporary file (Parquet needs to seek)."""
    with tempfile.NamedTemporaryFile(prefix="signalgraph-", suffix=".parquet") as handle:
        shutil.copyfileobj(stream, handle, length=1 << 20)
        handle.flush()
        yield Path(handle.name)


def read_input(
    path: str, info: InputInfo, *, fmt: str, max_record_bytes: int, batch_rows: int
) -> Iterator[tuple[InputRecord, CountingReader]]:
    """Yield every record of one input with the byte counter of the underlying file."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"expected one of {', '.join(FORMATS)}")
    try:
        yield from _read_opened(path, info, fmt=fmt, max_record_bytes=max_record_bytes,
                                batch_rows=batch_rows)  # fmt: skip
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        detail = str(exc) or type(exc).__name__
        raise InputError(
            f"{info.name}: the compressed data is damaged or ends early ({detail})",
            hint="records read before the damage are stored; fix the file and ingest it again",
        ) from exc


def _read_opened(
    path: str, info: InputInfo, *, fmt: str, max_record_bytes: int, batch_rows: int
) -> Iterator[tuple[InputRecord, CountingReader]]:
    with open_input(path, info) as (stream, counter):
        chosen = fmt if fmt != "auto" else info.format
        if chosen == "auto":  # standard input: look at the first bytes
            peek = getattr(stream, "peek", None)
            head = peek(_SNIFF_BYTES) if peek is not None else b""
            if not head:
                raise InputError(f"{info.name} is empty")
            chosen = _sniff(info.name, head)
        info.format = chosen
        if chosen == "ndjson":
            for record in read_ndjson(stream, info.name, max_record_bytes=max_record_bytes):
                yield record, counter
        elif chosen == "csv":
            for record in read_csv(stream, info, max_record_bytes=max_record_bytes):
                yield record, counter
        elif path != "-" and not info.compressed:
            for record in read_parquet(Path(path), info.name, batch_rows=batch_rows):
                yield record, counter
        else:
            with spooled_file(stream) as spooled:
                for record in read_parquet(spooled, info.name, batch_rows=batch_rows):
                    yield record, counter
