"""`signalgraph facts` and `signalgraph relations`: statements about entities."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from signalgraph.bounds import BATCH_SIZE, REJECT_COUNT, ROW_LIMIT
from signalgraph.cli.checks import fact_conditions, within
from signalgraph.cli.ingest_cmd import WorkersOption
from signalgraph.cli.output import (
    JsonOption,
    WorkspaceOption,
    note,
    parse_time_option,
    print_items,
    print_json,
    print_record,
    print_table,
)
from signalgraph.cli.state import get_state

if TYPE_CHECKING:
    from signalgraph.load.options import IngestOptions

facts_app = typer.Typer(
    help="Facts: typed statements about entities, with provenance.", no_args_is_help=True
)
relations_app = typer.Typer(
    help="Relations between entities (works_at, founded, develops, acquirer_match, …).",
    no_args_is_help=True,
)

FilesArgument = Annotated[
    list[str], typer.Argument(metavar="FILE", help="NDJSON, CSV or Parquet; - for stdin.")
]
SourceOption = Annotated[
    str, typer.Option("--source", "-s", help="Source the statements come from.")
]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="auto, ndjson, csv or parquet.")]
BatchOption = Annotated[
    int | None,
    typer.Option(help="Statements per transaction.", min=1, callback=within(BATCH_SIZE)),
]
MaxRejectsOption = Annotated[
    int | None, typer.Option(help="Stop once more are rejected.", callback=within(REJECT_COUNT))
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Check and count; store nothing.")]
CreateSourceOption = Annotated[
    bool, typer.Option("--create-source", help="Add the source if it does not exist.")
]
EntityArgument = Annotated[
    str, typer.Argument(metavar="ENTITY", help="Entity id, prefix or merged id.")
]
LimitOption = Annotated[
    int, typer.Option(help="Show at most this many rows.", min=1, callback=within(ROW_LIMIT))
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="What was known then: recorded and valid by this time."),
]


def _ingest(
    ctx: typer.Context,
    area: str,
    files: list[str],
    source: str,
    options: IngestOptions,
    workspace: str | None,
    json: bool,
) -> None:
    from signalgraph.cli.ingest_cmd import run_ingest

    client = get_state(ctx).client(workspace)
    load = client.facts.ingest if area == "facts" else client.relations.ingest
    result = run_ingest(load, files, source, options, json=json, workspace=client.workspace_name)
    unknown = result.counters.get("unknown_properties", 0)
    if unknown and not json:
        names = [p["name"] for p in client.facts.properties(unknown=True)]
        flag = client.scope.workspace_flag
        note(
            f"{unknown} statement(s) name properties that are not defined (kept as "
            f"strings; numbers stay comparable): {', '.join(names[:10])}"
            f"{', …' if len(names) > 10 else ''}. Give each its type with "
            f"`signalgraph facts define NAME --type …{flag}`; stored statements are re-typed."
        )
    raise typer.Exit(result.exit_code)


def _truncated(rows: list[Any], limit: int) -> None:
    if len(rows) >= limit:
        note(f"showing the first {limit} rows; narrow with options or raise --limit")


def _day(value: str | None, option: str) -> date | None:
    from signalgraph.errors import UsageError

    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise UsageError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from exc


@facts_app.command("ingest")
def ingest_facts(
    ctx: typer.Context,
    files: FilesArgument,
    source: SourceOption,
    fmt: FormatOption = "auto",
    batch_size: BatchOption = None,
    max_rejects: MaxRejectsOption = None,
    dry_run: DryRunOption = False,
    create_source: CreateSourceOption = False,
    workers: WorkersOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Ingest statements {entity, property, value, unit, as_of, source, confidence, signal}."""
    from signalgraph.load.options import IngestOptions

    options = IngestOptions(fmt=fmt, batch_size=batch_size, max_rejects=max_rejects,
                            dry_run=dry_run, create_source=create_source,
                            workers=workers)  # fmt: skip
    _ingest(ctx, "facts", files, source, options, workspace, json)


@facts_app.command("define")
def define(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Property name, e.g. headcount.")],
    kind: Annotated[
        str,
        typer.Option("--type", help="number, integer, string, date, money, boolean or json."),
    ],
    description: Annotated[str | None, typer.Option(help="What the property means.")] = None,
    unit: Annotated[
        str | None, typer.Option(help="Default unit (a currency such as USD for money).")
    ] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Register a property with its type; stored statements are re-typed to it."""
    state = get_state(ctx)
    client = state.client(workspace)
    defined = client.facts.define(name, kind, description, unit, actor=state.acting())
    retyped = defined["retyped"]
    if json:
        print_json(defined)
    else:
        shown = {key: value for key, value in defined.items() if key != "retyped"}
        print_record(shown, title=f"property {defined['name']}")
    if retyped is None:
        return
    run = retyped["run_id"]
    note(f"re-typed {retyped['updated']} stored statement(s) as {defined['type']} (run {run})")
    if retyped["rejected"]:
        flag = client.scope.workspace_flag
        note(
            f"{retyped['rejected']} statement(s) do not convert to {defined['type']} and keep "
            f"their typing: `signalgraph rejects list --run {run}{flag}` shows why, "
            f"`signalgraph rejects export --run {run}{flag} FILE` writes them out "
            "to fix and ingest again"
        )
        raise typer.Exit(3)


@facts_app.command("properties")
def properties(
    ctx: typer.Context,
    unknown: Annotated[
        bool, typer.Option("--unknown", help="List properties in use but not registered.")
    ] = False,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """List the registered properties (or the unknown ones) with statement counts."""
    rows = get_state(ctx).client(workspace).facts.properties(unknown=unknown)
    if json:
        print_items(rows)
    elif unknown:
        print_table(rows, ["name", "statements", "last_seen"], empty="no unknown properties")
    else:
        print_table(
            rows, ["name", "type", "unit", "statements", "description"], empty="no properties"
        )


@facts_app.command("show")
def show(
    ctx: typer.Context,
    entity: EntityArgument,
    as_of: AsOfOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Show an entity's current facts, each from the statement that wins precedence."""
    current = (
        get_state(ctx)
        .client(workspace)
        .facts.current(entity, as_of=parse_time_option(as_of, "--as-of"))
    )
    if json:
        print_json(current)
        return
    from signalgraph.cli.dossier_view import fact_value

    print_table(
        [row | {"value": fact_value(row)} for row in current.values()],
        ["property", "value", "unit", "as_of", "source", "confidence", "last_seen"],
        empty="no facts",
    )


@facts_app.command("history")
def history(
    ctx: typer.Context,
    entity: EntityArgument,
    prop: Annotated[str, typer.Argument(metavar="PROPERTY", help="Property name.")],
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Show every statement of one property of an entity, with its provenance."""
    rows = get_state(ctx).client(workspace).facts.history(entity, prop)
    if json:
        print_items(rows)
        return
    from signalgraph.cli.dossier_view import fact_value

    print_table(
        [row | {"value": fact_value(row)} for row in rows],
        ["value", "as_of", "source", "confidence", "current", "first_seen", "last_seen",
         "run_id", "signal_id"],
        empty="no statements",
    )  # fmt: skip


@facts_app.command("series")
def series(
    ctx: typer.Context,
    prop: Annotated[str, typer.Argument(metavar="PROPERTY", help="Property name.")],
    entity: Annotated[str | None, typer.Option("--entity", help="Only this entity.")] = None,
    start: Annotated[
        str | None, typer.Option("--from", metavar="TIME", help="From this time (ISO 8601).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", metavar="TIME", help="Before this time (ISO 8601).")
    ] = None,
    interval: Annotated[
        str, typer.Option(help="day, week, month (also hour, quarter, year).")
    ] = "day",
    limit: LimitOption = 1000,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Show a property over time: the last value per entity and interval."""
    facts = get_state(ctx).client(workspace).facts
    rows = facts.series(
        prop,
        entity=entity,
        start=parse_time_option(start, "--from"),
        end=parse_time_option(end, "--to"),
        interval=interval,
        limit=limit,
    )
    _truncated(rows, limit)
    if json:
        print_items(rows)
        return
    print_table(rows, ["bucket", "name", "value", "unit", "source", "entity_id"], empty="no values")


@facts_app.command("percentile")
def percentile(
    ctx: typer.Context,
    prop: Annotated[str, typer.Argument(metavar="PROPERTY", help="A numeric property.")],
    day: Annotated[str | None, typer.Option("--date", help="Only this day (YYYY-MM-DD).")] = None,
    entity_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    limit: LimitOption = 1000,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Rank each entity's value among entities of its type, per day (percent rank)."""
    facts = get_state(ctx).client(workspace).facts
    rows = facts.percentile(prop, date=_day(day, "--date"), entity_type=entity_type, limit=limit)
    _truncated(rows, limit)
    if json:
        print_items(rows)
        return
    print_table(rows, ["day", "type", "name", "value", "percentile", "peers"], empty="no values")


@facts_app.command("match")
def match(
    ctx: typer.Context,
    condition: Annotated[
        str,
        typer.Argument(help='A condition such as "revenue > 10M".', callback=fact_conditions),
    ],
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """List entities whose current value meets a condition (k, M, B suffixes allowed)."""
    ids = get_state(ctx).client(workspace).facts.matching(condition)
    if json:
        print_items(str(i) for i in ids)
    else:
        print_table([{"entity_id": i} for i in ids], ["entity_id"], empty="no entity matches")


@relations_app.command("ingest")
def ingest_relations(
    ctx: typer.Context,
    files: FilesArgument,
    source: SourceOption,
    fmt: FormatOption = "auto",
    batch_size: BatchOption = None,
    max_rejects: MaxRejectsOption = None,
    dry_run: DryRunOption = False,
    create_source: CreateSourceOption = False,
    workers: WorkersOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Ingest {subject, predicate, object, valid_from, valid_to, confidence, properties}."""
    from signalgraph.load.options import IngestOptions

    options = IngestOptions(fmt=fmt, batch_size=batch_size, max_rejects=max_rejects,
                            dry_run=dry_run, create_source=create_source,
                            workers=workers)  # fmt: skip
    _ingest(ctx, "relations", files, source, options, workspace, json)


@relations_app.command("list")
def list_relations(
    ctx: typer.Context,
    entity: EntityArgument,
    predicate: Annotated[str | None, typer.Option(help="Only this predicate.")] = None,
    as_of: AsOfOption = None,
    limit: Annotated[
        int, typer.Option(help="Show at most this many.", min=1, callback=within(ROW_LIMIT))
    ] = 200,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """List an entity's relations in both directions, ends following merges."""
    rows = (
        get_state(ctx)
        .client(workspace)
        .relations.list(entity, predicate=predicate, as_of=parse_time_option(as_of, "--as-of"))
    )
    if json:
        print_items(rows)
        return
    print_table(
        rows,
        ["predicate", "direction", "other_name", "other_type", "valid_from", "valid_to",
         "confidence", "source", "other_id"],
        empty="no relations",
    )  # fmt: skip
