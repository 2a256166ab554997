"""What the readers yield: positioned records, what is known of an input, a byte counter."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import IO, Any

from signalgraph.load.json_text import JsonProblem, check_depth


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


def too_deep(name: str | None, position: int, value: Any) -> InputRecord | None:
    """Return a reject for a value nested past the limit (it cannot be written as JSON)."""
    try:
        check_depth(value)
    except JsonProblem as problem:
        return InputRecord(name, position, b"", field=problem.field, reason=problem.reason)
    return None
