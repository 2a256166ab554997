"""The root `signalgraph` command: global options, sub-commands and error reporting."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from signalgraph.cli.output import ExitCode, stderr
from signalgraph.cli.state import CliState, get_state
from signalgraph.cli.tree import command_tree

# Every sub-command is declared on `commands`; the root group builds one only when it is
# used, so start-up does not pay for inspecting a hundred signatures (see cli/tree.py).
commands = typer.Typer(pretty_exceptions_enable=False, rich_markup_mode="rich")

app = typer.Typer(
    name="signalgraph",
    help="A PostgreSQL-native intelligence store: signals, entities, facts and curation.",
    cls=command_tree(commands),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from signalgraph import __version__

        typer.echo(f"signalgraph {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="PostgreSQL URL; without one the embedded server is used "
            "\\[env: SIGNALGRAPH_DATABASE_URL].",
            show_default=False,
        ),
    ] = None,
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace to act in \\[env: SIGNALGRAPH_WORKSPACE; default: default].",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Config file to read \\[env: SIGNALGRAPH_CONFIG; default: ./signalgraph.toml].",
            show_default=False,
        ),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor",
            help="Who is acting, recorded in the audit trail and with decisions "
            "\\[env: SIGNALGRAPH_ACTOR; default: your user name].",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show tracebacks on errors \\[env: SIGNALGRAPH_DEBUG]."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Store signals, resolve entities, keep facts with provenance, and audit it all."""
    state = get_state(ctx)
    state.database_url = database_url
    state.workspace = workspace
    state.config_file = config
    state.actor = actor
    state.debug = debug or state.debug
    ctx.call_on_close(state.close)


def _register() -> None:
    from signalgraph.cli import (
        audit_cmd,
        config_cmd,
        curation_cmd,
        db_cmd,
        demo_cmd,
        entities_cmd,
        facts_cmd,
        ingest_cmd,
        links_cmd,
        partitions_cmd,
        review_cmd,
        runs_cmd,
        server_cmd,
        signals_cmd,
        tenancy_cmd,
    )

    db_cmd.app.add_typer(partitions_cmd.app, name="partitions")
    commands.add_typer(db_cmd.app, name="db")
    commands.add_typer(server_cmd.app, name="server")
    commands.add_typer(config_cmd.app, name="config")
    commands.add_typer(tenancy_cmd.workspace_app, name="workspace")
    commands.add_typer(tenancy_cmd.source_app, name="source")
    commands.add_typer(runs_cmd.app, name="runs")
    commands.command("ingest")(ingest_cmd.ingest)
    commands.add_typer(signals_cmd.signals_app, name="signals")
    commands.add_typer(signals_cmd.rejects_app, name="rejects")
    commands.add_typer(entities_cmd.entities_app, name="entities")
    commands.command("resolve")(entities_cmd.resolve)
    commands.add_typer(review_cmd.review_app, name="review")
    commands.add_typer(review_cmd.flags_app, name="flags")
    commands.add_typer(audit_cmd.app, name="audit")
    curation_cmd.register(
        commands, entities_app=entities_cmd.entities_app, source_app=tenancy_cmd.source_app
    )
    commands.add_typer(facts_cmd.facts_app, name="facts")
    commands.add_typer(facts_cmd.relations_app, name="relations")
    commands.add_typer(links_cmd.app, name="links")
    commands.command("demo")(demo_cmd.demo)


_register()


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("SIGNALGRAPH_DEBUG", "") not in {"", "0", "false"}


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with a documented code; errors are one line unless --debug."""
    from signalgraph.errors import SignalgraphError

    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    state = CliState(debug=debug)
    try:
        app(args=args, prog_name="signalgraph", obj=state)
    except SignalgraphError as exc:
        _report(str(exc), debug)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        stderr.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        message = _describe_unexpected(exc)
        _report(message, debug)
        sys.exit(ExitCode.FAILURE)


def _describe_unexpected(exc: BaseException) -> str:
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    if isinstance(exc, DBAPIError) and exc.orig is not None:
        first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
        return f"database error: {first}"
    if isinstance(exc, SQLAlchemyError):
        return f"database error: {str(exc).splitlines()[0]}"
    return f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"


def _report(message: str, debug: bool) -> None:
    if debug:
        traceback.print_exc(file=sys.stderr)
    from rich.markup import escape

    stderr.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False)
