"""Parquet input: one record per row, read a row group slice at a time."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

from signalgraph.errors import InputError
from signalgraph.load.inputs import InputRecord, too_deep


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
            refused = too_deep(name, row, value)
            if refused is not None:
                yield refused
                continue
            raw = orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS)
            yield InputRecord(name, row, raw, value=value)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


@contextmanager
def spooled_file(stream: IO[bytes]) -> Iterator[Path]:
    """Copy a non-seekable stream to a temporary file (Parquet needs to seek)."""
    with tempfile.NamedTemporaryFile(prefix="signalgraph-", suffix=".parquet") as handle:
        shutil.copyfileobj(stream, handle, length=1 << 20)
        handle.flush()
        yield Path(handle.name)
