"""What an ingest run is told (IngestOptions) and what it reports (IngestProgress, IngestResult)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from signalgraph.bounds import WORKERS
from signalgraph.errors import UsageError
from signalgraph.load.readers import FORMATS


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
    workers: int | None = None  # connections writing batches (default: the setting, or cores)

    def check(self) -> None:
        """Raise UsageError for an option out of its range."""
        if self.fmt not in FORMATS:
            raise UsageError(
                f"unknown format {self.fmt!r}", hint=f"expected one of {', '.join(FORMATS)}"
            )
        if self.batch_size is not None and self.batch_size < 1:
            raise UsageError("--batch-size must be at least 1")
        if self.workers is not None and not WORKERS[0] <= self.workers <= WORKERS[1]:
            raise UsageError(f"--workers must be from {WORKERS[0]} to {WORKERS[1]}")
        if self.max_rejects is not None and self.max_rejects < 0:
            raise UsageError("--max-rejects must be 0 or more")
        if self.nul_policy not in {None, "reject", "strip"}:
            raise UsageError("--nul must be 'reject' or 'strip'")


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
