"""`signalgraph ingest`: load signals from files or standard input."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from signalgraph.bounds import BATCH_SIZE, REJECT_COUNT
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
    from signalgraph.ingest import IngestProgress, IngestResult


class _ProgressBar:
    """A live bar on stderr: records, records/s, rejects, and bytes of the current file."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[records]:>12,} records"),
            TextColumn("{task.fields[rate]:>9,.0f}/s"),
            TextColumn("[red]{task.fields[rejected]:,} rejected"),
            TimeElapsedColumn(),
            console=stderr,
            transient=False,
        )
        self.task: Any = None
        self.name: str | None = None

    def __enter__(self) -> _ProgressBar:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def update(self, snapshot: IngestProgress) -> None:
        counters = snapshot.counters
        fields: dict[str, Any] = {
            "records": counters.get("seen", 0),
            "rate": counters.get("seen", 0) / snapshot.elapsed_s if snapshot.elapsed_s else 0,
            "rejected": counters.get("rejected", 0),
        }
        if self.task is None or snapshot.input_name != self.name:
            self.name = snapshot.input_name
            self.task = self.progress.add_task(
                Path(self.name or "input").name, total=snapshot.bytes_total, **fields
            )
        self.progress.update(self.task, completed=snapshot.bytes_read, **fields)


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
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Ingest signals idempotently: new ones stored, changed ones revised, bad ones rejected."""
    client = get_state(ctx).client(workspace)
    options: dict[str, Any] = {
        "fmt": fmt,
        "batch_size": batch_size,
        "max_rejects": max_rejects,
        "dry_run": dry_run,
        "create_source": create_source,
        "nul_policy": nul,
    }
    run_ingest(client.ingest, files, source, options, json=json, workspace=client.workspace_name)


def run_ingest(
    load: Any, files: list[str], source: str, options: dict[str, Any], *, json: bool, workspace: str
) -> None:
    """Run an ingest (signals or entity records) with a progress bar, report, exit."""
    if not json and stderr.is_terminal:
        with _ProgressBar() as bar:
            result = load(files, source=source, progress=bar.update, **options)
    else:
        result = load(files, source=source, **options)
    _report(result, json=json, workspace=workspace)
    raise typer.Exit(result.exit_code)


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
