"""NDJSON input: one JSON object per line, lines ending in LF, CRLF or a lone CR."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from signalgraph.load.inputs import InputRecord
from signalgraph.load.json_text import JsonProblem, ParsedJson, parse_json

_BOM = b"\xef\xbb\xbf"


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
