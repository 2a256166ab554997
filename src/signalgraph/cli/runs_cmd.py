"""`signalgraph runs`: the units of work and what they did."""

from __future__ import annotations

from typing import Annotated

import typer

from signalgraph.bounds import ROW_LIMIT
from signalgraph.cli.checks import within
from signalgraph.cli.output import (
    JsonOption,
    WorkspaceOption,
    print_items,
    print_json,
    print_record,
    print_table,
)
from signalgraph.cli.state import get_state

app = typer.Typer(help="List and show runs (ingest, resolve, export…).", no_args_is_help=True)


@app.command("list")
def list_runs(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help="Only runs of this kind.")] = None,
    status: Annotated[str | None, typer.Option(help="Only runs with this status.")] = None,
    limit: Annotated[
        int, typer.Option(help="Show at most this many.", min=1, callback=within(ROW_LIMIT))
    ] = 50,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """List runs, newest first."""
    runs = get_state(ctx).client(workspace).runs.list(kind=kind, status=status, limit=limit)
    rows = [r.as_dict() for r in runs]
    if json:
        print_items(rows)
    else:
        print_table(
            rows,
            ["id", "kind", "status", "source", "started_at", "duration_s", "counters"],
            empty="no runs yet",
        )


@app.command("show")
def show_run(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="ID", help="Run id or a unique prefix of it.")],
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Show one run: status, parameters, counters, progress and error."""
    found = get_state(ctx).client(workspace).runs.get(run_id)
    if json:
        print_json(found.as_dict())
    else:
        print_record(found.as_dict(), title=f"run {found.id}")
