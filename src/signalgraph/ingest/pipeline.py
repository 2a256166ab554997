"""Ingest runs: inputs are read in bounded batches, each batch written in one transaction."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from signalgraph.db.engine import act_for_run, dedicated_connection
from signalgraph.db.errors import translate_driver_errors
from signalgraph.db.months import ensure_audit_months_once, month_of
from signalgraph.errors import NotFound, SignalgraphError, UsageError
from signalgraph.ids import utcnow, uuid7
from signalgraph.ingest.readers import (
    FORMATS,
    CountingReader,
    InputInfo,
    InputRecord,
    describe_input,
    read_input,
    read_objects,
)
from signalgraph.ingest.records import (
    RECORD_FORMAT_VERSION,
    SIGNAL_CSV,
    CsvColumns,
    Limits,
    Rejection,
    input_value,
    validate,
)
from signalgraph.ingest.writer import Batch, BatchWriter, RejectRow, RetryBatch, Row, WriteResult
from signalgraph.links.store import needs_lookup
from signalgraph.runs import finish_run, record_run, start_run
from signalgraph.sources import ensure_source, find_source

if TYPE_CHECKING:
    import psycopg

    from signalgraph.db.scope import Scope

MAX_RETRIES = 8
READER_GRACE_S = 5.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Every ingest run counts these; each kind of record adds its own (Loader.counter_names).
COUNTER_NAMES = ("seen", "inserted", "updated", "unchanged", "rejected", "nul_stripped", "bytes")


class Writer(Protocol):
    """Writes batches of one kind of record for one run (see BatchWriter)."""

    conn: psycopg.Connection[Any]
    workspace_id: uuid.UUID
    run_id: uuid.UUID

    def prefilter(self, rows: Sequence[Row], connection: psycopg.Connection[Any]) -> None:
        """Do work ahead of the write, off the write path (may be nothing)."""

    def write(self, batch: Batch) -> WriteResult:
        """Store one batch inside the caller's transaction; raise RetryBatch on a lost race."""


class Loader(Protocol):
    """What one kind of record needs from the ingest pipeline."""

    run_kind: str
    # Counters of this kind of record beside the common ones (shown with zeros too).
    counter_names: tuple[str, ...]
    csv_columns: CsvColumns  # which CSV cells hold JSON or epoch times
    keeps_repeated_keys: bool  # a repeated JSON key: kept verbatim (True) or a reject

    def validate(self, value: dict[str, Any], *, observed_at: datetime, limits: Limits) -> Any:
        """Return the record to store (with .external_id), or raise Rejection."""

    def writer(
        self,
        conn: psycopg.Connection[Any],
        *,
        workspace_id: uuid.UUID,
        source_id: uuid.UUID,
        run_id: uuid.UUID,
        scope: Scope,
    ) -> Writer:
        """Return the batch writer for one run."""

    def before_batch(self, scope: Scope, batch: Batch) -> list[str]:
        """Prepare the database for a batch outside its transaction; return what was made."""


class SignalLoader:
    """Signals: validated by the record format, written with fingerprints and partitions."""

    run_kind = "ingest"
    counter_names: tuple[str, ...] = ("duplicates", "near_duplicates")
    csv_columns = SIGNAL_CSV
    keeps_repeated_keys = True  # `raw` keeps the source's payload, all of it

    def validate(self, value: dict[str, Any], *, observed_at: datetime, limits: Limits) -> Any:
        """Return the validated signal record."""
        return validate(value, observed_at=observed_at, limits=limits)

    def writer(
        self,
        conn: psycopg.Connection[Any],
        *,
        workspace_id: uuid.UUID,
        source_id: uuid.UUID,
        run_id: uuid.UUID,
        scope: Scope,
    ) -> Writer:
        """Return a BatchWriter for signals."""
        return BatchWriter(
            conn,
            workspace_id=workspace_id,
            source_id=source_id,
            run_id=run_id,
            near_distance=scope.settings.near_duplicate_distance,
            min_tokens=scope.settings.near_duplicate_min_tokens,
        )

    def before_batch(self, scope: Scope, batch: Batch) -> list[str]:
        """Create the monthly partitions the batch's signals need."""
        # Records published before 1970 get ids (and so partitions) at 1970-01.
        months = {month_of(max(row.record.published_at, _EPOCH)) for row in batch.rows}
        from signalgraph.partitions import Partitions

        return Partitions(scope).ensure_for(months)


@dataclass
class IngestProgress:
    """A snapshot of a running ingest, for progress bars: what is written so far.

    `bytes_read` is how far into `input_name` the written records reach (the reader runs
    a batch or so ahead of that), out of `bytes_total` (the file's size, compressed or
    not; None for standard input).
    """

    counters: dict[str, int]
    input_name: str | None
    bytes_read: int
    bytes_total: int | None
    elapsed_s: float


@dataclass
class IngestResult:
    """What an ingest run did."""

    run_id: uuid.UUID | None
    status: str
    counters: dict[str, int]
    inputs: list[dict[str, Any]]
    duration_s: float
    dry_run: bool = False
    error: str | None = None
    partitions_created: list[str] = field(default_factory=list)

    @property
    def rows_per_s(self) -> float:
        """Return records seen per second."""
        return self.counters.get("seen", 0) / self.duration_s if self.duration_s else 0.0

    @property
    def exit_code(self) -> int:
        """Return 0 (all stored), 3 (completed with rejects) or 1 (failed)."""
        if self.status != "succeeded":
            return 1
        return 3 if self.counters.get("rejected", 0) else 0

    def as_dict(self) -> dict[str, Any]:
        """Return the result as a plain dict."""
        return asdict(self) | {"rows_per_s": round(self.rows_per_s, 1), "exit_code": self.exit_code}


def _json_dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        import json

        return json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")


def _as_inputs(inputs: Any) -> tuple[list[str] | None, Iterable[Any] | None]:
    if isinstance(inputs, str | Path):
        return [str(inputs)], None
    if isinstance(inputs, Sequence) and inputs and all(isinstance(i, str | Path) for i in inputs):
        return [str(i) for i in inputs], None
    if isinstance(inputs, dict):
        return None, [inputs]
    return None, inputs


@dataclass(frozen=True, kw_only=True)
class IngestOptions:
    """How one ingest run reads and writes (the `signalgraph ingest` options)."""

    fmt: str = "auto"  # auto, ndjson, csv or parquet
    batch_size: int | None = None  # records per transaction (default: the setting)
    max_rejects: int | None = None  # stop the run (failed) past this many rejects
    dry_run: bool = False  # read, check and count; store nothing
    create_source: bool = False  # add the source if it does not exist
    nul_policy: str | None = None  # reject or strip NUL characters (default: the setting)
    actor: str | None = None  # who is acting, for the audit trail

    def check(self) -> None:
        """Raise UsageError for an option out of its range."""
        if self.fmt not in FORMATS:
            raise UsageError(
                f"unknown format {self.fmt!r}", hint=f"expected one of {', '.join(FORMATS)}"
            )
        if self.batch_size is not None and self.batch_size < 1:
            raise UsageError("--batch-size must be at least 1")
        if self.max_rejects is not None and self.max_rejects < 0:
            raise UsageError("--max-rejects must be 0 or more")
        if self.nul_policy not in {None, "reject", "strip"}:
            raise UsageError("--nul must be 'reject' or 'strip'")


class Ingest:
    """One ingest run of files, standard input or Python objects into one source."""

    def __init__(
        self,
        scope: Scope,
        *,
        source: str,
        options: IngestOptions | None = None,
        loader: Loader | None = None,
        progress: Callable[[IngestProgress], None] | None = None,
    ) -> None:
        options = options or IngestOptions()
        options.check()
        fmt, batch_size, dry_run = options.fmt, options.batch_size, options.dry_run
        self.scope = scope
        self.loader: Loader = loader or SignalLoader()
        self.settings = scope.settings
        self.source_name = source
        self.fmt = fmt
        self.batch_size = batch_size or self.settings.batch_size
        self.max_rejects = options.max_rejects
        self.dry_run = dry_run
        self.create_source = options.create_source
        self.limits = Limits(
            max_field_bytes=self.settings.max_field_bytes,
            nul_policy=options.nul_policy or self.settings.nul_policy,
        )
        self.progress = progress
        self.actor = options.actor
        self.counters = dict.fromkeys(
            [*COUNTER_NAMES[:4], *self.loader.counter_names, *COUNTER_NAMES[4:]], 0
        )
        self.partitions_created: list[str] = []
        self._started = 0.0
        self._input_name: str | None = None
        self._counter: CountingReader | None = None
        # Where the last committed batch ends: input name, byte position, input size.
        self._written: tuple[str | None, int, int | None] = (None, 0, None)
        self._input_size: int | None = None

    # -- entry point -------------------------------------------------------------------

    @translate_driver_errors()
    def run(self, inputs: Any) -> IngestResult:
        """Ingest every input; return the run's result (rejects do not raise)."""
        paths, objects = _as_inputs(inputs)
        infos = [describe_input(path, self.fmt) for path in paths] if paths is not None else []
        if paths is not None and paths.count("-") > 1:
            raise UsageError("standard input (-) can be given only once")
        workspace_id, source_id = self._source()
        observed_at = utcnow()
        params = {
            "inputs": [info.as_dict() for info in infos] or [{"name": "<python objects>"}],
            "format": self.fmt,
            "batch_size": self.batch_size,
            "max_rejects": self.max_rejects,
            "dry_run": self.dry_run,
            "record_format": RECORD_FORMAT_VERSION,
        }
        self._started = time.perf_counter()
        if not self.dry_run:
            ensure_audit_months_once(self.scope)
        conn: psycopg.Connection[Any] = dedicated_connection(self.scope.url, self.settings)
        try:
            from psycopg.types.json import set_json_dumps

            set_json_dumps(_json_dumps, context=conn)
            if source_id is None:
                source_id = uuid7()
                conn.execute(
                    "INSERT INTO source (workspace_id, id, name) VALUES (%s, %s, %s)",
                    (workspace_id, source_id, self.source_name),
                )
            run_id = self._start_run(conn, workspace_id, source_id, params)
            act_for_run(conn, run_id, self.actor)
            if not self.dry_run:
                conn.commit()  # settings made in a transaction last only if it commits
            writer = self.loader.writer(
                conn,
                workspace_id=workspace_id,
                source_id=source_id,
                run_id=run_id,
                scope=self.scope,
            )
            status, error = "succeeded", None
            try:
                records = (
                    self._file_records(paths, infos)
                    if paths is not None
                    else self._object_records(objects or [])
                )
                stopped = self._consume(records, writer, observed_at)
                if stopped:
                    status, error = "failed", stopped
                self._after_run(writer)
            except BaseException as exc:
                conn.rollback()
                status = "cancelled" if isinstance(exc, KeyboardInterrupt) else "failed"
                error = str(exc) or type(exc).__name__
                self._finish(conn, workspace_id, run_id, status, error, infos)
                raise
            self._finish(conn, workspace_id, run_id, status, error, infos)
        finally:
            conn.close()
        return IngestResult(
            run_id=None if self.dry_run else run_id,
            status=status,
            counters=dict(self.counters),
            inputs=[info.as_dict() for info in infos],
            duration_s=time.perf_counter() - self._started,
            dry_run=self.dry_run,
            error=error,
            partitions_created=self.partitions_created,
        )

    def _source(self) -> tuple[uuid.UUID, uuid.UUID | None]:
        """Return the workspace id and the source's id (None: made later, in a dry run)."""
        source_id: uuid.UUID | None
        with self.scope.transaction() as lookup_conn:
            workspace_id = self.scope.workspace_id_in(lookup_conn)
            try:
                found = find_source(
                    lookup_conn, workspace_id, self.source_name,
                    workspace_name=self.scope.workspace_name,
                )  # fmt: skip
                if found.archived_at is not None:
                    raise UsageError(
                        f"source {self.source_name!r} is archived; nothing was ingested",
                        hint=f"restore it first with `signalgraph source restore "
                        f"{self.source_name}`",
                    )
                source_id = found.id
            except NotFound:
                if not self.create_source:
                    raise
                # A dry run creates the source only inside its rolled-back transaction.
                source_id = (
                    None
                    if self.dry_run
                    else ensure_source(lookup_conn, workspace_id, self.source_name).id
                )
        return workspace_id, source_id

    # -- runs ----------------------------------------------------------------------------

    def _start_run(
        self,
        conn: psycopg.Connection[Any],
        workspace_id: uuid.UUID,
        source_id: uuid.UUID,
        params: dict[str, Any],
    ) -> uuid.UUID:
        run_id = start_run(
            conn, workspace_id, self.loader.run_kind,
            source_id=source_id, params=params, actor=self.actor,
        )  # fmt: skip
        if not self.dry_run:
            conn.commit()
        return run_id

    def _finish(
        self,
        conn: psycopg.Connection[Any],
        workspace_id: uuid.UUID,
        run_id: uuid.UUID,
        status: str,
        error: str | None,
        infos: list[InputInfo],
    ) -> None:
        if self.dry_run:
            conn.rollback()
            return
        # Formats and CSV headers are only known once read; export needs the headers.
        inputs = {"inputs": [info.as_dict() for info in infos]} if infos else {}
        finish_run(conn, workspace_id, run_id, status, error=error, params=inputs)
        conn.commit()

    # -- reading ---------------------------------------------------------------------------

    def _file_records(
        self, paths: list[str], infos: list[InputInfo]
    ) -> Iterator[tuple[InputRecord, bool]]:
        for path, info in zip(paths, infos, strict=True):
            self._input_name = info.name
            self._input_size = info.size
            for record, counter in read_input(
                path,
                info,
                fmt=self.fmt,
                max_record_bytes=self.settings.max_record_bytes,
                batch_rows=min(self.batch_size, 10_000),
            ):
                self._counter = counter
                yield record, info.format == "csv"

    def _object_records(self, objects: Iterable[Any]) -> Iterator[tuple[InputRecord, bool]]:
        self._input_name = "<python objects>"
        for record in read_objects(objects):
            yield record, False

    def _batches(
        self,
        records: Iterator[tuple[InputRecord, bool]],
        observed_at: Any,
        stop: threading.Event | None = None,
    ) -> Iterator[Batch]:
        """Group records into batches of at most batch_size records or batch_max_bytes."""
        batch = Batch()
        keys: set[str] = set()
        seq = 0
        # A writer that may still reject any row needs every row's input bytes.
        keep_raw: bool = getattr(self.loader, "rejects_in_writer", False)
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
                        csv=self.loader.csv_columns if from_csv else None,
                        keep_repeated=self.loader.keeps_repeated_keys,
                    )
                    signal = self.loader.validate(
                        value, observed_at=observed_at, limits=self.limits
                    )
                except Rejection as rejection:
                    batch.rejects.append(
                        RejectRow(
                            record.file, record.line, rejection.field, rejection.reason, record.raw
                        )
                    )
                else:
                    if signal.external_id in keys:
                        # A key twice in one batch: write what came before it first.
                        yield self._closed(batch)
                        batch, keys = Batch(), set()
                    keys.add(signal.external_id)
                    seq += 1
                    batch.nul_stripped += getattr(signal, "nul_stripped", False)
                    batch.rows.append(
                        Row(
                            seq=seq,
                            file=record.file,
                            line=record.line,
                            record=signal,
                            raw=record.raw if keep_raw or needs_lookup(signal) else None,
                        )
                    )
            if batch.seen >= self.batch_size or batch.bytes >= self.settings.batch_max_bytes:
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

    def _consume(
        self,
        records: Iterator[tuple[InputRecord, bool]],
        writer: Writer,
        observed_at: Any,
    ) -> str | None:
        """Write batches as a reader thread prepares them; return why the run stopped, if so."""
        prepared: queue.Queue[Batch | BaseException | None] = queue.Queue(maxsize=1)
        stop = threading.Event()

        def produce() -> None:
            try:
                with dedicated_connection(self.scope.url, self.settings) as lookup:
                    for batch in self._batches(records, observed_at, stop):
                        # Skip fingerprinting records stored unchanged; the writer
                        # re-checks every key inside its transaction anyway.
                        writer.prefilter(batch.rows, lookup)
                        lookup.rollback()
                        while not stop.is_set():
                            try:
                                prepared.put(batch, timeout=0.2)
                                break
                            except queue.Full:
                                continue
                        if stop.is_set():
                            return
                prepared.put(None)
            except BaseException as exc:  # handed to the writing thread, re-raised there
                prepared.put(exc)

        reader = threading.Thread(target=produce, name="signalgraph-ingest-reader", daemon=True)
        reader.start()
        try:
            while True:
                item = prepared.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                self._flush(item, writer)
                stopped = self._over_reject_limit()
                if stopped:
                    return stopped
            return self._over_reject_limit()
        finally:
            stop.set()
            # The reader stops at its next record; one blocked on a silent input (a pipe
            # that sends nothing) is a daemon thread and is left behind after a while.
            deadline = time.monotonic() + READER_GRACE_S
            while reader.is_alive() and time.monotonic() < deadline:
                try:
                    prepared.get(timeout=0.05)
                except queue.Empty:
                    pass

    def _after_run(self, writer: Writer) -> None:
        """Let the writer finish what needs every batch committed (a writer may have nothing)."""
        finish: Callable[[], None] | None = getattr(writer, "after_run", None)
        if finish is None or self.dry_run:
            return
        finish()
        writer.conn.commit()

    def _over_reject_limit(self) -> str | None:
        if self.max_rejects is not None and self.counters["rejected"] > self.max_rejects:
            return (
                f"stopped after {self.counters['rejected']} rejected records "
                f"(more than --max-rejects {self.max_rejects}); records accepted so far are kept"
            )
        return None

    # -- writing ---------------------------------------------------------------------------

    def _flush(self, batch: Batch, writer: Writer) -> None:
        conn = writer.conn
        if not self.dry_run:
            self.partitions_created += self.loader.before_batch(self.scope, batch)
        for _attempt in range(MAX_RETRIES):
            try:
                result = writer.write(batch)
                # A kind's counters, and whatever else its writer counted (links…).
                counts = {
                    name: value
                    for name, value in result.counters().items()
                    if name in self.counters or name in result.extra
                } | {"seen": batch.seen, "bytes": batch.bytes, "nul_stripped": batch.nul_stripped}
                progress = self._snapshot(counts, batch.input_end)
                record_run(
                    conn, writer.workspace_id, writer.run_id, counters=counts,
                    progress={k: v for k, v in asdict(progress).items() if k != "counters"},
                )  # fmt: skip
                if not self.dry_run:
                    conn.commit()
                break
            except RetryBatch:
                if self.dry_run:
                    raise
                conn.rollback()
        else:
            raise SignalgraphError(
                f"gave up on a batch after {MAX_RETRIES} attempts: other writers kept "
                "changing the same keys"
            )
        for name, value in counts.items():
            self.counters[name] = self.counters.get(name, 0) + value
        self._written = batch.input_end
        if self.progress is not None:
            self.progress(self._snapshot({}))

    def _snapshot(
        self,
        pending: dict[str, int],
        written: tuple[str | None, int, int | None] | None = None,
    ) -> IngestProgress:
        names = dict.fromkeys([*self.counters, *pending])
        counters = {k: self.counters.get(k, 0) + pending.get(k, 0) for k in names}
        name, position, size = written or self._written
        return IngestProgress(
            counters=counters,
            input_name=name,
            bytes_read=position,
            bytes_total=size,
            elapsed_s=round(time.perf_counter() - self._started, 3),
        )


def ingest(
    scope: Scope,
    inputs: Any,
    *,
    source: str,
    options: IngestOptions | None = None,
    loader: Loader | None = None,
    progress: Callable[[IngestProgress], None] | None = None,
) -> IngestResult:
    """Ingest files (paths, "-" for stdin) or an iterable of dicts into `source`."""
    return Ingest(scope, source=source, options=options, loader=loader, progress=progress).run(
        inputs
    )
