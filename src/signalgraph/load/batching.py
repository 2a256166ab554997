"""A run's inputs read into batches: each record validated by the loader or kept as a reject."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from signalgraph.load.batches import Batch, RejectRow
from signalgraph.load.fields import Limits, Rejection
from signalgraph.load.inputs import CountingReader, InputInfo, InputRecord
from signalgraph.load.loader import Loader
from signalgraph.load.readers import read_input, read_objects
from signalgraph.load.values import input_value


class BatchReader:
    """Reads inputs as records and groups them into batches bounded in records and bytes."""

    def __init__(
        self,
        loader: Loader,
        *,
        fmt: str,
        limits: Limits,
        batch_size: int,
        batch_max_bytes: int,
        max_record_bytes: int,
    ) -> None:
        self.loader = loader
        self.fmt = fmt
        self.limits = limits
        self.batch_size = batch_size
        self.batch_max_bytes = batch_max_bytes
        self.max_record_bytes = max_record_bytes
        # Where reading is: the input's name, its byte counter and its size.
        self._input_name: str | None = None
        self._counter: CountingReader | None = None
        self._input_size: int | None = None

    def files(self, paths: list[str], infos: list[InputInfo]) -> Iterator[tuple[InputRecord, bool]]:
        """Yield every record of the files (and whether it came from CSV)."""
        for path, info in zip(paths, infos, strict=True):
            self._input_name = info.name
            self._input_size = info.size
            for record, counter in read_input(
                path,
                info,
                fmt=self.fmt,
                max_record_bytes=self.max_record_bytes,
                batch_rows=min(self.batch_size, 10_000),
            ):
                self._counter = counter
                yield record, info.format == "csv"

    def objects(self, objects: Iterable[Any]) -> Iterator[tuple[InputRecord, bool]]:
        """Yield one record per Python object."""
        self._input_name = "<python objects>"
        for record in read_objects(objects):
            yield record, False

    def batches(
        self,
        records: Iterator[tuple[InputRecord, bool]],
        *,
        observed_at: datetime,
        stop: threading.Event | None = None,
    ) -> Iterator[Batch]:
        """Group records into batches of at most batch_size records or batch_max_bytes."""
        loader = self.loader
        batch = Batch()
        keys: set[str] = set()
        seq = 0
        for record, from_csv in records:
            if stop is not None and stop.is_set():
                return
            batch.bytes += len(record.raw)
            if record.reason is not None:
                batch.rejects.append(
                    RejectRow(record.file, record.line, record.field, record.reason, record.raw)
                )
            else:
                assert record.value is not None
                try:
                    value = input_value(
                        record.value,
                        repeated=record.repeated_key,
                        raw=record.raw,
                        csv=loader.csv_columns if from_csv else None,
                        keep_repeated=loader.keeps_repeated_keys,
                    )
                    valid = loader.validate(value, observed_at=observed_at, limits=self.limits)
                except Rejection as rejection:
                    batch.rejects.append(
                        RejectRow(
                            record.file, record.line, rejection.field, rejection.reason, record.raw
                        )
                    )
                else:
                    if valid.external_id in keys:
                        # A key twice in one batch: write what came before it first.
                        yield self._closed(batch)
                        batch, keys = Batch(), set()
                    keys.add(valid.external_id)
                    seq += 1
                    batch.nul_stripped += valid.nul_stripped
                    row = loader.row(
                        seq=seq, file=record.file, line=record.line, record=valid, raw=record.raw
                    )
                    batch.rows.append(row)
            if batch.seen >= self.batch_size or batch.bytes >= self.batch_max_bytes:
                yield self._closed(batch)
                batch, keys = Batch(), set()
        if batch.seen:
            yield self._closed(batch)

    def _closed(self, batch: Batch) -> Batch:
        """Note where in its input a batch ends, for progress once it is written."""
        batch.input_end = (
            self._input_name,
            self._counter.count if self._counter else 0,
            self._input_size,
        )
        return batch
