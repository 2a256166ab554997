"""`signalgraph server`: manage the embedded PostgreSQL server."""

from __future__ import annotations

import typer

from signalgraph.cli.output import (
    ExitCode,
    JsonOption,
    note,
    print_json,
    print_record,
    print_result,
    stdout,
)
from signalgraph.cli.state import get_state

app = typer.Typer(help="Manage the embedded PostgreSQL server.", no_args_is_help=True)


@app.command()
def start(ctx: typer.Context, json: JsonOption = False) -> None:
    """Start the embedded server and keep it running until `server stop`."""
    from signalgraph.embedded import EmbeddedServer

    server = EmbeddedServer(get_state(ctx).settings().home)
    was_running = server.status().running
    url = server.start(keep_running=True)
    if json:
        print_json({"url": url, "already_running": was_running, "data_dir": str(server.pgdata)})
        return
    note("embedded server already running" if was_running else "embedded server started")
    stdout.print(url, highlight=False, soft_wrap=True)


@app.command()
def stop(ctx: typer.Context, json: JsonOption = False) -> None:
    """Stop the embedded server."""
    from signalgraph.embedded import EmbeddedServer

    stopped = EmbeddedServer(get_state(ctx).settings().home).stop()
    print_result(
        {"stopped": stopped},
        json=json,
        message="embedded server stopped" if stopped else "embedded server was not running",
    )


@app.command()
def status(ctx: typer.Context, json: JsonOption = False) -> None:
    """Show whether the embedded server runs, where its data lives and its URL."""
    from signalgraph.embedded import EmbeddedServer

    report = EmbeddedServer(get_state(ctx).settings().home).status()
    if json:
        print_json(report.as_dict())
    else:
        print_record(report.as_dict())
    if not report.running:
        raise typer.Exit(ExitCode.FAILURE)


@app.command()
def url(ctx: typer.Context, json: JsonOption = False) -> None:
    """Print the running server's connection URL (for psql and other tools)."""
    from signalgraph.embedded import EmbeddedServer

    address = EmbeddedServer(get_state(ctx).settings().home).url()
    if json:
        print_json({"url": address})
    else:
        stdout.print(address, highlight=False, soft_wrap=True)
