"""Input readers: files, gzip and standard input in NDJSON, CSV or Parquet, as positioned records.

A reader never holds a whole file: it yields one `InputRecord` at a time with where it
came from (file and line, or row), its bytes as they arrived, and the parsed object (or
why it could not be parsed).
"""

from __future__ import annotations

import gzip
import io
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
from signalgraph.ingest.json_text import JsonProblem, ParsedJson, check_depth, parse_json

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
    repeated_key: str | None = None  # where an object of the record held a key twice


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


def _looks_binary(head: bytes, *, any_nul: bool) -> bool:
    """Return True when the first bytes are not text (mostly undecodable or control bytes).

    When the content alone decides the format (`any_nul`), one NUL byte is enough; a
    file named .ndjson or .csv may hold a stray NUL, rejected or stripped with its record.
    """
    sample = head[:4096]
    if any_nul and b"\x00" in sample:
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
    if _looks_binary(text, any_nul=True):
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


def describe_input(path: str, fmt: str = "auto") -> InputInfo:
    """Check an input exists and is readable, and work out its format, without reading it all.

    A format given (`fmt` other than auto) is taken as said: the content is not sniffed.
    """
    if path == "-":
        return InputInfo(name="<stdin>", format=fmt, compressed=False, size=None)
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
        format=fmt if fmt != "auto" else _format_for(path, head, compressed),
        compressed=compressed,
        size=file.stat().st_size,
    )
    if info.format in {"ndjson", "csv"} and fmt == "auto":
        stripped = head[len(_BOM) :] if head.startswith(_BOM) else head
        if _looks_binary(stripped, any_nul=False):
            raise InputError(
                f"{path} does not look like {info.format.upper()} (it holds binary data)",
                hint="give --format if the file name does not say what it is",
            )
        if info.format == "ndjson" and stripped.lstrip().startswith(b"["):
            _sniff(path, stripped)  # explains the JSON array
    _check_columns(file, info, head)
    return info


def _check_columns(file: Path, info: InputInfo, head: bytes) -> None:
    """Refuse, before anything is written, a table input without an external_id column."""
    if info.format == "csv":
        from signalgraph.ingest.csv_input import check_head

        check_head(info.name, head[len(_BOM) :] if head.startswith(_BOM) else head)
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
    for line_number, (text, size) in enumerate(_lines(stream, max_record_bytes), start=1):
        if size > max_record_bytes:
            yield InputRecord(
                name,
                line_number,
                text,
                reason=f"record is {size:,} bytes; the limit is {max_record_bytes:,} "
                "(max_record_bytes); the first bytes are kept here",
            )
            continue
        line = text[len(_BOM) :] if line_number == 1 and text.startswith(_BOM) else text
        if not line.strip():
            continue
        yield parse_json_record(line, name, line_number)


def _lines(stream: IO[bytes], limit: int) -> Iterator[tuple[bytes, int]]:
    """Yield each line without its end and its size; a line over `limit` is cut to it.

    A line ends with LF, CRLF or a lone CR (old Mac files). A CR cannot be inside a
    JSON line: in strings it must be escaped, between tokens no writer puts one.
    """
    read = getattr(stream, "read1", stream.read)
    parts: list[bytes] = []  # the start of the current line, at most limit + 1 bytes
    kept = size = 0
    carry = b""
    while True:
        chunk = read(1 << 16)
        if chunk:
            chunk, carry = carry + chunk, b""
            if chunk.endswith(b"\r"):  # its LF may be the next chunk's first byte
                chunk, carry = chunk[:-1], b"\r"
        elif carry:
            chunk, carry = b"\n", b""
        else:
            break
        complete, rest = _split_lines(chunk)
        for piece in complete:
            line = piece
            if parts:  # the line began in an earlier chunk
                size += len(piece)
                parts.append(piece[: max(limit + 1 - kept, 0)])
                line = b"".join(parts)
                parts, kept = [], 0
            else:
                size = len(piece)
            yield (line[:limit] if size > limit else line), size
            size = 0
        if rest:
            size += len(rest)
            if kept <= limit:
                parts.append(rest[: limit + 1 - kept])
                kept += len(parts[-1])
    if parts:
        line = b"".join(parts)
        yield (line[:limit] if size > limit else line), size


def _split_lines(chunk: bytes) -> tuple[list[bytes], bytes]:
    """Split a chunk at LF, CRLF and lone CR: its complete lines and the unfinished rest."""
    pieces = chunk.split(b"\n")
    rest = pieces.pop()
    if b"\r" not in chunk:
        return pieces, rest
    complete: list[bytes] = []
    for piece in pieces:
        line = piece[:-1] if piece.endswith(b"\r") else piece
        if b"\r" in line:
            complete.extend(line.split(b"\r"))
        else:
            complete.append(line)
    *more, rest = rest.split(b"\r")
    return [*complete, *more], rest


def parse_json_record(record: bytes, name: str | None, line: int) -> InputRecord:
    """Parse one JSON object from bytes into an InputRecord (or explain why not)."""
    try:
        parsed = _parse_line(record)
    except JsonProblem as problem:
        return InputRecord(name, line, record, field=problem.field, reason=problem.reason)
    value = parsed.value
    if not isinstance(value, dict):
        kind = type(value).__name__
        kind = {"list": "an array", "str": "a string", "NoneType": "null"}.get(kind, f"a {kind}")
        return InputRecord(name, line, record, reason=f"expected a JSON object, got {kind}")
    return InputRecord(name, line, record, value=value, repeated_key=parsed.repeated_key)


def _parse_line(record: bytes) -> ParsedJson:
    """Parse a line, reading a raw NUL byte as the escape \\u0000.

    A raw NUL is not JSON; as the escape it meets the --nul policy like any NUL
    character, and the reject names the field holding it.
    """
    if b"\x00" not in record or b"\\\x00" in record:
        return parse_json(record)
    try:
        return parse_json(record.replace(b"\x00", b"\\u0000"))
    except JsonProblem:
        return parse_json(record)  # raises the input's own error, not the escaped text's


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
            too_deep = _too_deep(name, row, value)
            if too_deep is not None:
                yield too_deep
                continue
            raw = orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS)
            yield InputRecord(name, row, raw, value=value)


def _too_deep(name: str | None, position: int, value: Any) -> InputRecord | None:
    """Return a reject for a value nested past the limit (it cannot be written as JSON)."""
    try:
        check_depth(value)
    except JsonProblem as problem:
        return InputRecord(name, position, b"", field=problem.field, reason=problem.reason)
    return None


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def read_objects(objects: Iterable[Any]) -> Iterator[InputRecord]:
    """Yield one record per Python object (dicts are records; anything else is rejected)."""
    for index, value in enumerate(objects, start=1):
        too_deep = _too_deep(None, index, value)
        if too_deep is not None:
            yield too_deep
            continue
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
            from signalgraph.ingest.csv_input import read_csv

            for record in read_csv(stream, info, max_record_bytes=max_record_bytes):
                yield record, counter
        elif path != "-" and not info.compressed:
            for record in read_parquet(Path(path), info.name, batch_rows=batch_rows):
                yield record, counter
        else:
            with spooled_file(stream) as spooled:
                for record in read_parquet(spooled, info.name, batch_rows=batch_rows):
                    yield record, counter
