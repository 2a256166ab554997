"""The root `signalgraph` command: global options, sub-commands and error reporting."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from signalgraph.cli.output import ExitCode, stderr
from signalgraph.cli.state import CliState, get_state
from signalgraph.cli.tree import command_tree

# Each sub-command's module is imported, and its command built, only when it is used
# (see cli/tree.py): `signalgraph db check` loads the db commands and nothing else. Each
# loader runs once per process (it may add commands to the app it returns).


@functools.cache
def _db() -> typer.Typer:
    from signalgraph.cli import db_cmd, partitions_cmd

    db_cmd.app.add_typer(partitions_cmd.app, name="partitions")
    return db_cmd.app


@functools.cache
def _entities() -> typer.Typer:
    from signalgraph.cli import curation_cmd, entities_cmd

    curation_cmd.add_entity_commands(entities_cmd.entities_app)
    return entities_cmd.entities_app


@functools.cache
def _source() -> typer.Typer:
    from signalgraph.cli import curation_cmd, tenancy_cmd

    curation_cmd.add_source_commands(tenancy_cmd.source_app)
    return tenancy_cmd.source_app


def _attribute(module: str, name: str) -> Callable[[], Any]:
    def load() -> Any:
        import importlib

        return getattr(importlib.import_module(f"signalgraph.cli.{module}"), name)

    return load


SUBCOMMANDS: dict[str, Callable[[], Any]] = {
    "ingest": _attribute("ingest_cmd", "ingest"),
    "resolve": _attribute("entities_cmd", "resolve"),
    "annotate": _attribute("curation_cmd", "annotate"),
    "demo": _attribute("demo_cmd", "demo"),
    "db": _db,
    "server": _attribute("server_cmd", "app"),
    "config": _attribute("config_cmd", "app"),
    "workspace": _attribute("tenancy_cmd", "workspace_app"),
    "source": _source,
    "runs": _attribute("runs_cmd", "app"),
    "signals": _attribute("signals_cmd", "signals_app"),
    "rejects": _attribute("signals_cmd", "rejects_app"),
    "entities": _entities,
    "review": _attribute("review_cmd", "review_app"),
    "flags": _attribute("review_cmd", "flags_app"),
    "audit": _attribute("audit_cmd", "app"),
    "lists": _attribute("curation_cmd", "lists_app"),
    "annotations": _attribute("curation_cmd", "annotations_app"),
    "facts": _attribute("facts_cmd", "facts_app"),
    "relations": _attribute("facts_cmd", "relations_app"),
    "links": _attribute("links_cmd", "app"),
}

app = typer.Typer(
    name="signalgraph",
    help="A PostgreSQL-native intelligence store: signals, entities, facts and curation.",
    cls=command_tree(SUBCOMMANDS),
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
        from signalgraph.db.errors import translate_data_error

        # Driver errors raised outside an engine (psycopg connections of ingest) are
        # translated here, as the engine translates its own.
        known = translate_data_error(exc)
        if known is not None:
            _report(str(known), debug)
            sys.exit(known.exit_code)
        _report(_describe_unexpected(exc), debug)
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


def run() -> NoReturn:
    """Run the CLI as the `signalgraph` program, then end the process at once.

    Tearing the interpreter down (freeing every object of SQLAlchemy, psycopg, pydantic…)
    costs about a quarter of a short command's CPU time. Exit handlers still run (the
    embedded server's among them) and output is flushed; only the teardown is skipped,
    as mypy's `hard_exit` does. `main` is the one to call from Python.
    """
    try:
        main()
        status = 0
    except SystemExit as exc:
        status = _status(exc.code)
    _leave(status)


def _status(code: object) -> int:
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)  # what SystemExit("message") prints
    return 1


def _leave(status: int) -> NoReturn:
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe (`| head`): nothing left to tell it
    os._exit(status)
