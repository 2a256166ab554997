"""`signalgraph db`: schema history and database administration."""

from __future__ import annotations

from typing import Annotated

import typer

from signalgraph.bounds import ROW_LIMIT, STATEMENT_TIMEOUT_S
from signalgraph.cli.checks import within
from signalgraph.cli.output import (
    ExitCode,
    JsonOption,
    note,
    print_items,
    print_json,
    print_record,
    print_result,
    print_table,
    stdout,
)
from signalgraph.cli.state import get_state

app = typer.Typer(help="Schema history and database administration.", no_args_is_help=True)


@app.command()
def upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    json: JsonOption = False,
) -> None:
    """Bring the schema up to REVISION (default: the newest this code knows)."""
    from signalgraph.db import migrate

    client = get_state(ctx).client()
    before, after = migrate.upgrade(client.engine, revision)
    result = {"from": before, "to": after, "changed": before != after}
    if json:
        print_json(result)
    elif before == after:
        note(f"schema already at {after}")
    else:
        note(f"schema upgraded from {before or 'nothing'} to {after}")


@app.command()
def downgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' removes everything.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: a downgrade drops tables and their data.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Take the schema back to REVISION, dropping what later revisions added."""
    from signalgraph.db import migrate
    from signalgraph.errors import UsageError

    if not yes:
        raise UsageError(
            "a downgrade drops tables and the data in them", hint="pass --yes to confirm"
        )
    client = get_state(ctx).client()
    before, after = migrate.downgrade(client.engine, revision)
    print_result(
        {"from": before, "to": after, "changed": before != after},
        json=json,
        message=f"schema downgraded from {before} to {after or 'nothing (base)'}",
    )


@app.command()
def current(ctx: typer.Context, json: JsonOption = False) -> None:
    """Show the schema revision of the database and whether it is the newest."""
    from signalgraph.db.migrate import schema_state

    client = get_state(ctx).client()
    with client.engine.connect() as connection:
        state = schema_state(connection)
    if json:
        print_json(state.as_dict())
    else:
        print_record(state.as_dict())


@app.command()
def history(json: JsonOption = False) -> None:
    """List the schema revisions this code ships, oldest first."""
    from signalgraph.db.migrate import history as revisions

    rows = revisions()
    if json:
        print_items(rows)
    else:
        print_table(rows, ["revision", "down_revision", "message", "head"])


@app.command()
def check(
    ctx: typer.Context,
    deep: Annotated[
        bool, typer.Option("--deep", help="Also verify no reference dangles (scans tables).")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Check the database is reachable, PostgreSQL 15 or newer, and at the schema head."""
    from signalgraph.db.admin import check as run_check
    from signalgraph.errors import ConnectionFailed, EmbeddedServerError, SchemaError

    client = get_state(ctx).client()
    try:
        report = run_check(client.engine, deep=deep)
    except (ConnectionFailed, SchemaError, EmbeddedServerError) as exc:
        report = {"ok": False, "reason": str(exc)}
    if json:
        print_json(report)
    elif report["ok"]:
        schema = report["schema"]
        stdout.print(
            f"ok: PostgreSQL {report['server_version']}, schema at {schema['current']} (head)",
            highlight=False,
        )
    if not json and "integrity" in report:
        print_record(report["integrity"], title="integrity (each must be 0)")
    if not report["ok"]:
        if not json:
            from signalgraph.cli.output import stderr

            stderr.print(f"[bold red]not ok:[/bold red] {report['reason']}", highlight=False)
        raise typer.Exit(ExitCode.FAILURE)


@app.command()
def info(ctx: typer.Context, json: JsonOption = False) -> None:
    """Show the server version, database size, where the data lives and pool settings."""
    from signalgraph.db.admin import info as gather

    state = get_state(ctx)
    client = state.client()
    report = gather(client.engine)
    settings = state.settings()
    report["embedded"] = settings.uses_embedded
    if settings.uses_embedded:
        report["embedded_data_dir"] = str(settings.pgdata)
    if json:
        print_json(report)
        return
    flat = {key: value for key, value in report.items() if key not in {"pool", "schema"}}
    flat["schema"] = report["schema"]["current"]
    flat["schema_at_head"] = report["schema"]["at_head"]
    for key, value in report["pool"].items():
        flat[f"pool_{key}"] = value
    print_record(flat)


@app.command()
def stats(ctx: typer.Context, json: JsonOption = False) -> None:
    """Show per table: estimated rows, total size, dead tuples, last vacuum and analyze."""
    from signalgraph.db.admin import table_stats

    rows = table_stats(get_state(ctx).client().engine)
    if json:
        print_items(rows)
    else:
        print_table(
            rows,
            [
                "table",
                "kind",
                "estimated_rows",
                "total_size",
                "dead_tuples",
                "last_vacuum",
                "last_analyze",
            ],
        )


@app.command()
def indexes(ctx: typer.Context, json: JsonOption = False) -> None:
    """Show per index: size, number of scans, and a flag on those never used."""
    from signalgraph.db.admin import index_stats

    rows = index_stats(get_state(ctx).client().engine)
    if json:
        print_items(rows)
    else:
        print_table(rows, ["table", "index", "size", "scans", "is_unique", "unused"])


@app.command("phrase-index")
def phrase_index(
    ctx: typer.Context,
    state: Annotated[
        str | None,
        typer.Argument(help="on: build the index of adjacent word pairs; off: drop it."),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Show, build or drop the index that makes phrase searches fast (costs ingest speed)."""
    from signalgraph.db.phrase_index import phrase_index_on, set_phrase_index
    from signalgraph.errors import UsageError

    if state is not None and state not in ("on", "off"):
        raise UsageError(f"phrase-index takes on or off, not {state!r}")
    client = get_state(ctx).client()
    changed = set_phrase_index(client.engine, state == "on") if state is not None else False
    with client.engine.connect() as connection:
        client.scope.require_schema(connection)
        on = phrase_index_on(connection)
    verb = ("built" if on else "dropped") if changed else "is"
    print_result(
        {"phrase_index": "on" if on else "off", "changed": changed},
        json=json,
        message=f"phrase index {verb}{'' if changed else ' ' + ('on' if on else 'off')}",
    )


@app.command()
def vacuum(
    ctx: typer.Context,
    table: Annotated[str | None, typer.Argument(help="One table (default: all).")] = None,
    analyze: Annotated[bool, typer.Option("--analyze", help="Also refresh statistics.")] = False,
    json: JsonOption = False,
) -> None:
    """VACUUM one signalgraph table or all of them."""
    from signalgraph.db.admin import vacuum as run_vacuum

    done = run_vacuum(get_state(ctx).client().engine, table, analyze=analyze)
    print_result(
        {"vacuumed": done, "analyzed": analyze},
        json=json,
        message=f"vacuumed{' and analyzed' if analyze else ''} {len(done)} table(s)",
    )


@app.command()
def connections(ctx: typer.Context, json: JsonOption = False) -> None:
    """List the sessions connected to this database."""
    from signalgraph.db.admin import connections as sessions

    rows = sessions(get_state(ctx).client().engine)
    if json:
        print_items(rows)
    else:
        print_table(rows, ["pid", "user", "application", "client", "state", "query_start", "query"])


@app.command()
def query(
    ctx: typer.Context,
    sql: Annotated[str, typer.Argument(help="One SQL statement; it runs read-only.")],
    limit: Annotated[
        int, typer.Option(help="Rows to return at most.", min=1, callback=within(ROW_LIMIT))
    ] = 1000,
    timeout: Annotated[
        float,
        typer.Option(
            help="Seconds before the statement is cancelled.",
            min=0.1,
            callback=within(STATEMENT_TIMEOUT_S),
        ),
    ] = 30.0,
    json: JsonOption = False,
) -> None:
    """Run one SQL statement in a read-only transaction (writes are refused)."""
    from signalgraph.db.admin import read_only_query

    result = read_only_query(
        get_state(ctx).client().engine, sql, limit=limit, timeout_ms=int(timeout * 1000)
    )
    if json:
        print_json(result)
        return
    rows = [dict(zip(result["columns"], row, strict=True)) for row in result["rows"]]
    print_table(rows, result["columns"], empty=f"no rows ({result['status']})")
    if result["truncated"]:
        note(f"showing the first {limit} rows; raise --limit to see more")
