"""`signalgraph entities` and `signalgraph resolve`."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Annotated, Any

import typer

from signalgraph.bounds import BATCH_SIZE, INT32, REJECT_COUNT, ROW_LIMIT
from signalgraph.cli.checks import fact_conditions, within
from signalgraph.cli.evidence_view import print_evidence
from signalgraph.cli.ingest_cmd import WorkersOption
from signalgraph.cli.output import (
    JsonOption,
    WorkspaceOption,
    note,
    parse_assignments,
    print_items,
    print_json,
    print_record,
    print_result,
    print_table,
    stderr,
    stdout,
)
from signalgraph.cli.state import get_state

entities_app = typer.Typer(
    help="Entities: ingest records, look them up, explain and decide.", no_args_is_help=True
)

ActorOption = Annotated[
    str | None,
    typer.Option("--actor", help="Who decides (default: the configured actor or your user name)."),
]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why, kept with the decision.")]


@entities_app.command("ingest")
def ingest_records(
    ctx: typer.Context,
    files: Annotated[
        list[str], typer.Argument(metavar="FILE", help="NDJSON, CSV or Parquet; - for stdin.")
    ],
    source: Annotated[str, typer.Option("--source", "-s", help="Source the records come from.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="auto, ndjson, csv or parquet.")
    ] = "auto",
    batch_size: Annotated[
        int | None,
        typer.Option(help="Records per transaction.", min=1, callback=within(BATCH_SIZE)),
    ] = None,
    max_rejects: Annotated[
        int | None,
        typer.Option(help="Stop once more are rejected.", callback=within(REJECT_COUNT)),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count; store nothing.")
    ] = False,
    create_source: Annotated[
        bool, typer.Option("--create-source", help="Add the source if it does not exist.")
    ] = False,
    workers: WorkersOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Ingest entity records {external_id, type, name, aliases, identifiers, properties}."""
    from signalgraph.cli.ingest_cmd import run_ingest
    from signalgraph.load.options import IngestOptions

    client = get_state(ctx).client(workspace)
    options = IngestOptions(
        fmt=fmt, batch_size=batch_size, max_rejects=max_rejects, dry_run=dry_run,
        create_source=create_source, workers=workers,
    )  # fmt: skip
    result = run_ingest(
        client.entities.ingest, files, source, options, json=json, workspace=client.workspace_name
    )
    raise typer.Exit(result.exit_code)


@entities_app.command("list")
def list_entities(
    ctx: typer.Context,
    entity_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    limit: Annotated[
        int, typer.Option(help="Show at most this many.", min=1, callback=within(ROW_LIMIT))
    ] = 50,
    archived: Annotated[bool, typer.Option("--archived", help="Only archived ones.")] = False,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """List entities with their records and mentions, most mentioned first."""
    rows = (
        get_state(ctx)
        .client(workspace)
        .entities.list(entity_type=entity_type, limit=limit, archived=archived)
    )
    if json:
        print_items(rows)
    else:
        print_table(rows, ["id", "type", "name", "records", "mentions"], empty="no entities yet")


@entities_app.command("show")
def show(
    ctx: typer.Context,
    entity_id: Annotated[str, typer.Argument(metavar="ID", help="Entity id, prefix or merged id.")],
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Show an entity's dossier: names, identifiers, facts, relations, lists, annotations…"""
    dossier = get_state(ctx).client(workspace).entities.show(entity_id)
    if json:
        print_json(dossier)
        return
    from signalgraph.cli.dossier_view import print_dossier

    print_dossier(dossier)


@entities_app.command("search")
def search(
    ctx: typer.Context,
    text: Annotated[
        str | None,
        typer.Argument(
            help="A name, a prefix, or scheme:value (domain:acme.com); omit to filter only."
        ),
    ] = None,
    entity_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    identifier: Annotated[
        str | None, typer.Option(help="Only entities with this identifier (ticker:MRNA).")
    ] = None,
    in_list: Annotated[
        str | None, typer.Option("--list", help="Only members of this list.")
    ] = None,
    stage: Annotated[str | None, typer.Option(help="Only at this annotated stage.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only with this tag.")] = None,
    hidden: Annotated[
        bool | None,
        typer.Option(
            "--hidden/--visible", help="Only hidden, or only visible, entities.", show_default=False
        ),
    ] = None,
    rank_max: Annotated[
        int | None, typer.Option(help="Only ranked at most this.", callback=within(INT32))
    ] = None,
    field_values: Annotated[
        list[str] | None,
        typer.Option("--field", help="Custom annotation field FIELD=VALUE (repeatable)."),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            help='A condition on a current fact value, "revenue > 10M" (repeatable).',
            callback=fact_conditions,
        ),
    ] = None,
    archived: Annotated[bool, typer.Option("--archived", help="Include archived ones.")] = False,
    limit: Annotated[int, typer.Option(help="Entities per page.", min=1, max=10_000)] = 20,
    cursor: Annotated[
        str | None, typer.Option(help="Continue after the page that printed this cursor.")
    ] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Find entities by name (normalised prefix, words, fuzzy), identifier and filters."""
    page = (
        get_state(ctx)
        .client(workspace)
        .entities.search(
            text,
            entity_type=entity_type,
            identifier=identifier,
            in_list=in_list,
            stage=stage,
            tag=tag,
            hidden=hidden,
            rank_max=rank_max,
            fields=parse_assignments(field_values or [], "--field"),
            where=where or [],
            include_archived=archived,
            limit=limit,
            cursor=cursor,
        )
    )
    if json:
        print_items(page.items, page.next_cursor)
        return
    print_table(
        page.items, ["id", "type", "name", "score", "matched"], empty="no matching entities"
    )
    if page.next_cursor:
        note(f"more: --cursor {page.next_cursor}")


@entities_app.command("clusters")
def clusters(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(help="Only records of this source.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="ndjson or csv.")] = "ndjson",
    workspace: WorkspaceOption = None,
) -> None:
    """Write one line per source record: source, external_id, entity_id (to stdout)."""
    from signalgraph.export import format_of, write_rows

    rows = get_state(ctx).client(workspace).entities.clusters(source_name=source)
    write_rows(
        rows, sys.stdout, format_of(None, fmt, command="entities clusters"),
        ["source", "external_id", "entity_id"],
    )  # fmt: skip
    sys.stdout.flush()


@entities_app.command("explain")
def explain(
    ctx: typer.Context,
    first: Annotated[str, typer.Argument(metavar="A", help="An entity id.")],
    second: Annotated[str, typer.Argument(metavar="B", help="Another entity id.")],
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Explain why two entities match or not: field levels and their weights."""
    report = get_state(ctx).client(workspace).entities.explain(first, second)
    if json:
        print_json(report)
        return
    best = report["best_pair"]
    summary: dict[str, Any] = {
        "a": report["a"],
        "b": report["b"],
        "same entity": report["same_entity"],
    }
    if best:
        summary |= {
            "names": " | ".join(best["names"]),
            "probability": best["probability"],
            "weight (bits)": best["weight"],
            "shared unique identifier": best["shared_unique_identifier"],
            "unique identifier conflict": best["unique_identifier_conflict"],
        }
    print_record(summary, title="explanation")
    if best:
        print_evidence(best)
    print_table(
        report["judgements"],
        ["decision", "actor", "reason", "created_at"],
        title="judgements",
        empty="",
    )


@entities_app.command("judge")
def judge(
    ctx: typer.Context,
    first: Annotated[str, typer.Argument(metavar="A", help="An entity id.")],
    second: Annotated[str, typer.Argument(metavar="B", help="Another entity id.")],
    decision: Annotated[str, typer.Argument(help="same, different or unsure.")],
    reason: ReasonOption = None,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Judge two entities: same merges them, different keeps them apart for good."""
    result = (
        get_state(ctx)
        .client(workspace)
        .entities.judge(first, second, decision, reason=reason, actor=get_state(ctx).acting(actor))
    )
    if json:
        print_json(result)
    elif result["merge"]:
        note(f"judged {decision}; merged into {result['entity']}")
    else:
        note(f"judged {decision}")


@entities_app.command("merge")
def merge(
    ctx: typer.Context,
    ids: Annotated[list[str], typer.Argument(metavar="ID", help="Two or more entity ids.")],
    reason: ReasonOption = None,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Merge entities into the oldest; the others redirect to it (undo with unmerge)."""
    result = (
        get_state(ctx)
        .client(workspace)
        .entities.merge(ids, reason=reason, actor=get_state(ctx).acting(actor))
    )
    if json:
        print_json(result)
    else:
        absorbed = ", ".join(str(m["absorbed_id"]) for m in result["merges"])
        note(
            f"merged {absorbed} into {result['survivor']} (the oldest survives; "
            "the others redirect to it)"
        )


@entities_app.command("unmerge")
def unmerge(
    ctx: typer.Context,
    value: Annotated[
        str, typer.Argument(metavar="ID", help="A merge id, or the absorbed entity's id.")
    ],
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Undo a merge exactly: records, mentions and redirects go back where they were."""
    result = (
        get_state(ctx).client(workspace).entities.unmerge(value, actor=get_state(ctx).acting(actor))
    )
    if json:
        print_json(result)
    else:
        merged = result["merge"]
        note(f"unmerged {merged['absorbed_id']} from {merged['survivor_id']} (judged different)")


@entities_app.command("split")
def split(
    ctx: typer.Context,
    entity_id: Annotated[str, typer.Argument(metavar="ID", help="The entity to split.")],
    records: Annotated[list[str], typer.Option("--records", help="Record ids to move out.")],
    reason: ReasonOption = None,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Move records out of an entity into a new one (judged different from it)."""
    result = (
        get_state(ctx)
        .client(workspace)
        .entities.split(entity_id, records, reason=reason, actor=get_state(ctx).acting(actor))
    )
    print_result(
        result,
        json=json,
        message=f"moved {len(records)} record(s) to new entity {result['new_entity']}",
    )


@entities_app.command("types")
def types(
    ctx: typer.Context,
    add: Annotated[str | None, typer.Option("--add", help="Add this entity type.")] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """List the entity types (built-in and the workspace's own), or add one."""
    client = get_state(ctx).client(workspace)
    if add:
        client.entities.add_type(add)
    names = client.entities.types()
    if json:
        print_items(names)
    else:
        stdout.print("\n".join(names), highlight=False)


def resolve(
    ctx: typer.Context,
    source: Annotated[
        str | None, typer.Option(help="Only records and mentions of this source.")
    ] = None,
    entity_type: Annotated[
        str | None, typer.Option("--type", help="Only this entity type.")
    ] = None,
    retrain: Annotated[
        bool, typer.Option("--retrain", help="Estimate the match model again before resolving.")
    ] = False,
    batch_size: Annotated[
        int,
        typer.Option(help="Records decided per transaction.", min=1, callback=within(BATCH_SIZE)),
    ] = 5000,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Resolve unresolved records and mentions into entities (incremental)."""
    client = get_state(ctx).client(workspace)
    acting = get_state(ctx).acting(actor)
    status = stderr.status("resolving…") if not json and stderr.is_terminal else None
    with status if status is not None else nullcontext():
        result = client.resolve(
            source=source, entity_type=entity_type, retrain=retrain, batch_size=batch_size,
            actor=acting,
            progress=(
                (lambda c: status.update(
                    f"resolving… {c.get('records', 0):,} records, {c.get('mentions', 0):,} mentions"
                ))
                if status is not None
                else None
            ),
        )  # fmt: skip
    if json:
        print_json(result.as_dict())
    else:
        summary: dict[str, Any] = {"run": result.run_id, "status": result.status}
        summary |= result.counters
        summary["duration_s"] = round(result.duration_s, 2)
        summary["records_per_s"] = round(result.records_per_s)
        print_record(summary, title="resolve")
    raise typer.Exit(0 if result.status == "succeeded" else 1)
