"""`signalgraph ingest`: load signals from files or standard input."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer

from signalgraph.bounds import BATCH_SIZE, REJECT_COUNT, WORKERS
from signalgraph.cli.checks import within
from signalgraph.cli.output import (
    JsonOption,
    WorkspaceOption,
    note,
    print_json,
    print_record,
    stderr,
)
from signalgraph.cli.state import get_state

if TYPE_CHECKING:
    from signalgraph.load.options import IngestOptions, IngestProgress, IngestResult


class ProgressBar:
    """A live line on stderr: file, bar, records written, records/s, rejects, bytes, time.

    Everything shown is what is written (committed), not what is read ahead; it fits in
    80 columns, and the clock runs until the run ends.
    """

    NAME_CHARS = 14

    def __init__(self, console: Any = None) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.fields[name]}"),
            BarColumn(bar_width=10),
            TextColumn("{task.fields[records]:>10,} rec"),
            TextColumn("{task.fields[rate]:>6,.0f}/s"),
            TextColumn("[red]{task.fields[rejected]}"),
            TextColumn("[dim]{task.fields[size]}"),
            TimeElapsedColumn(),
            console=console or stderr,
            transient=False,
            expand=False,
        )
        self.task: Any = None
        self.name: str | None = None

    def __enter__(self) -> ProgressBar:
        self.progress.__enter__()
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if self.task is not None:
            if kind is None:  # everything written: the bar ends full
                total = self.progress.tasks[-1].total
                if total:
                    self.progress.update(self.task, completed=total)
            self.progress.stop_task(self.task)
        self.progress.__exit__(None, None, None)

    def update(self, snapshot: IngestProgress) -> None:
        """Show a snapshot of the run (called after each written batch)."""
        counters = snapshot.counters
        seen = counters.get("seen", 0)
        rejected = counters.get("rejected", 0)
        fields: dict[str, Any] = {
            "records": seen,
            "rate": seen / snapshot.elapsed_s if snapshot.elapsed_s else 0,
            "rejected": f"{rejected:,} rej" if rejected else "",
            "size": _size(snapshot.bytes_read, snapshot.bytes_total),
        }
        if self.task is None or snapshot.input_name != self.name:
            if self.task is not None:
                self.progress.stop_task(self.task)
            self.name = snapshot.input_name
            label = Path(self.name or "input").name
            if len(label) > self.NAME_CHARS:
                label = label[: self.NAME_CHARS - 1] + "…"
            # No total for standard input: the bar pulses instead of filling.
            self.task = self.progress.add_task(
                "", total=snapshot.bytes_total, name=f"{label:<{self.NAME_CHARS}}", **fields
            )
        # The bar never reaches its end before the run does, so the clock keeps running.
        done = snapshot.bytes_read
        if snapshot.bytes_total:
            done = min(done, snapshot.bytes_total - 1)
        self.progress.update(self.task, completed=done, **fields)


def _size(done: int, total: int | None) -> str:
    """Return "12/80 MB": bytes of the input written so far, out of its size."""
    unit, scale = ("GB", 1e9) if (total or done) >= 1e9 else ("MB", 1e6)
    shown = f"{done / scale:,.0f}" if scale == 1e6 else f"{done / scale:,.1f}"
    if total is None:
        return f"{shown} {unit}"
    whole = f"{total / scale:,.0f}" if scale == 1e6 else f"{total / scale:,.1f}"
    return f"{shown}/{whole} {unit}"


WorkersOption = Annotated[
    int | None,
    typer.Option(
        help="Connections writing batches at once (default: the cores available, at most "
        "ingest_workers_max) \\[env: SIGNALGRAPH_INGEST_WORKERS].",
        callback=within(WORKERS),
    ),
]


def ingest(
    ctx: typer.Context,
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE",
            help="NDJSON, CSV or Parquet files (gzip is read transparently); - for stdin.",
        ),
    ],
    source: Annotated[str, typer.Option("--source", "-s", help="Source the signals come from.")],
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="Input format: auto, ndjson, csv or parquet."),
    ] = "auto",
    batch_size: Annotated[
        int | None,
        typer.Option(
            help="Records per transaction \\[env: SIGNALGRAPH_BATCH_SIZE].",
            min=1,
            callback=within(BATCH_SIZE),
        ),
    ] = None,
    max_rejects: Annotated[
        int | None,
        typer.Option(
            help="Stop the run (marked failed) once more records than this are rejected.",
            callback=within(REJECT_COUNT),
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read, check and count everything; store nothing.")
    ] = False,
    create_source: Annotated[
        bool, typer.Option("--create-source", help="Add the source if it does not exist.")
    ] = False,
    nul: Annotated[
        str | None,
        typer.Option(
            "--nul",
            help="NUL characters: reject the record or strip them \\[env: SIGNALGRAPH_NUL_POLICY].",
        ),
    ] = None,
    workers: WorkersOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Ingest signals idempotently: new ones stored, changed ones revised, bad ones rejected."""
    from signalgraph.load.options import IngestOptions

    client = get_state(ctx).client(workspace)
    options = IngestOptions(
        fmt=fmt, batch_size=batch_size, max_rejects=max_rejects, dry_run=dry_run,
        create_source=create_source, nul_policy=nul, workers=workers,
    )  # fmt: skip
    result = run_ingest(
        client.ingest, files, source, options, json=json, workspace=client.workspace_name
    )
    raise typer.Exit(result.exit_code)


class Load(Protocol):
    """An ingest entry point of the library (signals, entity records, facts, relations)."""

    def __call__(
        self,
        inputs: Any,
        *,
        source: str,
        fmt: str,
        batch_size: int | None,
        max_rejects: int | None,
        dry_run: bool,
        create_source: bool,
        nul_policy: str | None,
        progress: Callable[[IngestProgress], None] | None,
        actor: str | None,
        workers: int | None,
    ) -> IngestResult:
        """Run one ingest."""


def run_ingest(
    load: Load,
    files: list[str],
    source: str,
    options: IngestOptions,
    *,
    json: bool,
    workspace: str,
) -> IngestResult:
    """Run an ingest with a progress bar on a terminal, and report it."""
    bar = ProgressBar() if not json and stderr.is_terminal else None
    with bar if bar is not None else nullcontext():
        result = load(
            files, source=source, fmt=options.fmt, batch_size=options.batch_size,
            max_rejects=options.max_rejects, dry_run=options.dry_run,
            create_source=options.create_source, nul_policy=options.nul_policy,
            progress=bar.update if bar is not None else None, actor=options.actor,
            workers=options.workers,
        )  # fmt: skip
    _report(result, json=json, workspace=workspace)
    return result


def _report(result: IngestResult, *, json: bool, workspace: str) -> None:
    if json:
        print_json(result.as_dict())
        return
    summary: dict[str, Any] = {
        "run": result.run_id or "(dry run: nothing stored)",
        "status": result.status,
        **result.counters,
        "duration_s": round(result.duration_s, 2),
        "records_per_s": round(result.rows_per_s),
    }
    if result.partitions_created:
        summary["partitions_created"] = ", ".join(result.partitions_created)
    print_record(summary, title="ingest")
    if result.error:
        stderr.print(f"[bold red]stopped:[/bold red] {result.error}", highlight=False)
    if result.counters.get("rejected") and result.run_id:
        scope = f" -w {workspace}" if workspace and workspace != "default" else ""
        note(
            f"{result.counters['rejected']} record(s) rejected: "
            f"`signalgraph rejects list --run {result.run_id}{scope}` shows why, "
            f"`signalgraph rejects export --run {result.run_id}{scope} FILE` writes them out"
        )
