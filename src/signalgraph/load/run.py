"""Load runs: inputs are read in bounded batches, each batch written in one transaction.

The run is recorded through signalgraph.runs (start, counters per batch, finish) and
loads into a source found or made through signalgraph.sources; what a record is and how
it is stored is the loader's (signalgraph.load.loader).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from signalgraph.db.engine import act_for_run, dedicated_connection
from signalgraph.db.errors import translate_driver_errors
from signalgraph.db.months import ensure_audit_months_once
from signalgraph.errors import NotFound, SignalgraphError, UsageError
from signalgraph.ids import utcnow, uuid7
from signalgraph.load.batches import Batch, RetryBatch
from signalgraph.load.batching import BatchReader
from signalgraph.load.fields import Limits
from signalgraph.load.inputs import InputInfo, InputRecord
from signalgraph.load.loader import Loader, Writer
from signalgraph.load.options import IngestOptions, IngestProgress, IngestResult
from signalgraph.load.pool import Prepared, write_all, writer_count
from signalgraph.load.readers import describe_input
from signalgraph.runs import finish_run, record_run, start_run
from signalgraph.sources import ensure_source, find_source

if TYPE_CHECKING:
    import psycopg

    from signalgraph.db.scope import Scope

MAX_RETRIES = 8
READER_GRACE_S = 5.0
# A dry run makes the source on the run's own connection, rolled back with the run.
INSERT_SOURCE = "INSERT INTO source (workspace_id, id, name) VALUES (%s, %s, %s)"
# Every ingest run counts these; each kind of record adds its own (Loader.counter_names).
COUNTER_NAMES = ("seen", "inserted", "updated", "unchanged", "rejected", "nul_stripped", "bytes")


def _json_dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        import json

        return json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")


def _keys(batch: Batch) -> frozenset[str]:
    """Return the external ids of a batch's records (statements have none)."""
    return frozenset(
        key for row in batch.rows if (key := getattr(row.record, "external_id", None)) is not None
    )


def _as_inputs(inputs: Any) -> tuple[list[str] | None, Iterable[Any] | None]:
    if isinstance(inputs, str | Path):
        return [str(inputs)], None
    if isinstance(inputs, Sequence) and inputs and all(isinstance(i, str | Path) for i in inputs):
        return [str(i) for i in inputs], None
    if isinstance(inputs, dict):
        return None, [inputs]
    return None, inputs


class Ingest:
    """One ingest run of files, standard input or Python objects into one source."""

    def __init__(
        self,
        scope: Scope,
        *,
        source: str,
        loader: Loader,
        options: IngestOptions | None = None,
        progress: Callable[[IngestProgress], None] | None = None,
    ) -> None:
        options = options or IngestOptions()
        options.check()
        fmt, batch_size, dry_run = options.fmt, options.batch_size, options.dry_run
        self.scope = scope
        self.loader = loader
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
        # A dry run keeps every batch in one transaction, so it writes on one connection.
        self.workers = (
            1
            if dry_run
            else writer_count(
                options.workers or self.settings.ingest_workers,
                cap=self.settings.ingest_workers_max,
            )
        )
        # Batch results arrive from several writer threads.
        self._lock = threading.Lock()
        self._ddl_lock = threading.Lock()
        self._done: set[int] = set()
        self._ends: dict[int, tuple[str | None, int, int | None]] = {}
        self._next = 0
        self.counters = dict.fromkeys(
            [*COUNTER_NAMES[:4], *self.loader.counter_names, *COUNTER_NAMES[4:]], 0
        )
        self.partitions_created: list[str] = []
        self.reader = BatchReader(
            loader,
            fmt=fmt,
            limits=self.limits,
            batch_size=self.batch_size,
            batch_max_bytes=self.settings.batch_max_bytes,
            max_record_bytes=self.settings.max_record_bytes,
        )
        self._started = 0.0
        # Where the last committed batch ends: input name, byte position, input size.
        self._written: tuple[str | None, int, int | None] = (None, 0, None)

    # -- entry point -------------------------------------------------------------------

    @translate_driver_errors()
    def run(self, inputs: Any) -> IngestResult:
        """Ingest every input; return the run's result (rejects do not raise)."""
        paths, objects = _as_inputs(inputs)
        infos = [describe_input(path, fmt=self.fmt) for path in paths] if paths is not None else []
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
            "record_format": self.loader.record_format,
            "workers": self.workers,
        }
        self._started = time.perf_counter()
        if not self.dry_run:
            ensure_audit_months_once(self.scope.engine, self.scope.done)
        conn: psycopg.Connection[Any] = self._connection()
        extra: list[psycopg.Connection[Any]] = []
        try:
            if source_id is None:
                source_id = uuid7()
                conn.execute(INSERT_SOURCE, (workspace_id, source_id, self.source_name))
            run_id = self._start_run(conn, workspace_id, source_id, params)
            act_for_run(conn, run_id, self.actor)
            if not self.dry_run:
                conn.commit()  # settings made in a transaction last only if it commits
            for _ in range(self.workers - 1):
                extra.append(self._connection())
                act_for_run(extra[-1], run_id, self.actor)
                extra[-1].commit()
            writers = [
                self.loader.writer(
                    each,
                    workspace_id=workspace_id,
                    source_id=source_id,
                    run_id=run_id,
                    scope=self.scope,
                )
                for each in [conn, *extra]
            ]
            writer = writers[0]
            status, error = "succeeded", None
            try:
                records = (
                    self.reader.files(paths, infos)
                    if paths is not None
                    else self.reader.objects(objects or [])
                )
                stopped = self._consume(records, writers, observed_at)
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
            for each in extra:
                each.close()
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

    def _connection(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] = dedicated_connection(self.scope.url, self.settings)
        from psycopg.types.json import set_json_dumps

        set_json_dumps(_json_dumps, context=conn)
        return conn

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

    # -- reading and writing ---------------------------------------------------------------

    def _consume(
        self,
        records: Iterator[tuple[InputRecord, bool]],
        writers: Sequence[Writer],
        observed_at: datetime,
    ) -> str | None:
        """Write batches as a reader thread prepares them; return why the run stopped, if so."""
        stop = threading.Event()
        prepared: Prepared[Batch] = Prepared(len(writers), stop)

        def produce() -> None:
            try:
                with dedicated_connection(self.scope.url, self.settings) as lookup:
                    for batch in self.reader.batches(records, observed_at=observed_at, stop=stop):
                        # Skip fingerprinting records stored unchanged; the writer
                        # re-checks every key inside its transaction anyway.
                        writers[0].prefilter(batch.rows, lookup)
                        lookup.rollback()
                        # Only several writers need a batch's keys (to keep their order).
                        keys = _keys(batch) if len(writers) > 1 else frozenset()
                        if not prepared.put(batch, keys):
                            return
                prepared.finish()
            except BaseException as exc:  # handed to the writing threads, re-raised there
                prepared.finish(exc)

        def write(rank: int, batch: Batch, writer: Writer) -> str | None:
            self._flush(rank, batch, writer)
            return self._over_reject_limit()

        reader = threading.Thread(target=produce, name="signalgraph-ingest-reader", daemon=True)
        reader.start()
        try:
            return write_all(prepared, writers, write, stop) or self._over_reject_limit()
        finally:
            stop.set()
            # The reader stops at its next record; one blocked on a silent input (a pipe
            # that sends nothing) is a daemon thread and is left behind after a while.
            deadline = time.monotonic() + READER_GRACE_S
            while reader.is_alive() and time.monotonic() < deadline:
                prepared.drain()
                reader.join(0.05)

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

    def _flush(self, rank: int, batch: Batch, writer: Writer) -> None:
        conn = writer.conn
        if not self.dry_run:
            # Partition DDL, one writer at a time. Not under self._lock: the DDL waits for
            # the other writers' transactions, which take self._lock before they commit.
            with self._ddl_lock:
                created = self.loader.before_batch(self.scope, batch)
            with self._lock:
                self.partitions_created += created
        for _attempt in range(MAX_RETRIES):
            try:
                result = writer.write(batch)
                # A kind's counters, and whatever else its writer counted (links…).
                counts = {
                    name: value
                    for name, value in result.counters().items()
                    if name in self.counters or name in result.extra
                } | {"seen": batch.seen, "bytes": batch.bytes, "nul_stripped": batch.nul_stripped}
                with self._lock:
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
        with self._lock:
            for name, value in counts.items():
                self.counters[name] = self.counters.get(name, 0) + value
            # Written so far: up to the end of the last batch all of whose forerunners are.
            self._done.add(rank)
            self._ends[rank] = batch.input_end
            while self._next in self._done:
                self._done.discard(self._next)
                self._written = self._ends.pop(self._next)
                self._next += 1
            if self._next == 0:  # a later batch first: its input, from its start
                self._written = (batch.input_end[0], 0, batch.input_end[2])
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
    loader: Loader,
    options: IngestOptions | None = None,
    progress: Callable[[IngestProgress], None] | None = None,
) -> IngestResult:
    """Load files (paths, "-" for stdin) or an iterable of dicts into `source` with `loader`."""
    return Ingest(scope, source=source, loader=loader, options=options, progress=progress).run(
        inputs
    )
