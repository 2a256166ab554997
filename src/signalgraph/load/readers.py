"""Input readers: files, gzip and standard input in NDJSON, CSV or Parquet, as positioned records.

A reader never holds a whole file: it yields one `InputRecord` at a time with where it
came from (file and line, or row), its bytes as they arrived, and the parsed object (or
why it could not be parsed).
"""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

from signalgraph.errors import InputError, UsageError
from signalgraph.load.csv_input import check_head, read_csv
from signalgraph.load.inputs import CountingReader, InputInfo, InputRecord, too_deep
from signalgraph.load.ndjson import read_ndjson
from signalgraph.load.parquet import read_parquet, spooled_file

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


def describe_input(path: str, *, fmt: str = "auto") -> InputInfo:
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


def read_objects(objects: Iterable[Any]) -> Iterator[InputRecord]:
    """Yield one record per Python object (dicts are records; anything else is rejected)."""
    for index, value in enumerate(objects, start=1):
        refused = too_deep(None, index, value)
        if refused is not None:
            yield refused
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
