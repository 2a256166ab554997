"""`signalgraph review` (uncertain matches) and `signalgraph flags`."""

from __future__ import annotations

from typing import Annotated

import typer

from signalgraph.bounds import ROW_LIMIT
from signalgraph.cli.checks import within
from signalgraph.cli.entities_cmd import ActorOption, ReasonOption
from signalgraph.cli.evidence_view import print_evidence
from signalgraph.cli.output import (
    JsonOption,
    WorkspaceOption,
    print_items,
    print_json,
    print_record,
    print_result,
    print_table,
)
from signalgraph.cli.state import get_state

review_app = typer.Typer(help="The review queue of uncertain matches.", no_args_is_help=True)
flags_app = typer.Typer(help="Flags raised for people to look at.", no_args_is_help=True)


@review_app.command("list")
def review_list(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option(help="Show at most this many.", min=1, callback=within(ROW_LIMIT))
    ] = 50,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """List pending pairs, those whose decision changes most first."""
    rows = get_state(ctx).client(workspace).review.list(limit=limit)
    if json:
        print_items(rows)
    else:
        print_table(
            rows, ["id", "name_a", "name_b", "probability", "priority"], empty="nothing to review"
        )


@review_app.command("show")
def review_show(
    ctx: typer.Context,
    item: Annotated[str, typer.Argument(metavar="ID", help="Review item id or prefix.")],
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Show one pending pair with the evidence for and against."""
    report = get_state(ctx).client(workspace).review.show(item)
    if json:
        print_json(report)
        return
    best = report["explanation"]["best_pair"] or {}
    shown = {"id": report["id"], "status": report["status"]}
    if report["status"] != "pending":
        shown |= {key: report[key] for key in ("resolution", "decided_by", "decided_at")}
        shown["merge"] = report["merge_id"]
    shown["one_entity_now"] = report["explanation"]["same_entity"]
    shown |= {"probability": report["probability"], "names": " | ".join(best.get("names", []))}
    print_record(shown, title="review item")
    print_evidence(best)


@review_app.command("decide")
def review_decide(
    ctx: typer.Context,
    item: Annotated[str, typer.Argument(metavar="ID", help="Review item id or prefix.")],
    decision: Annotated[str, typer.Argument(help="same, different or unsure.")],
    reason: ReasonOption = None,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Decide a pair; the decision is a judgement and takes effect at once."""
    result = (
        get_state(ctx)
        .client(workspace)
        .review.decide(item, decision, reason=reason, actor=get_state(ctx).acting(actor))
    )
    settled = result["settled"]
    if settled is not None:
        message = (
            f"review item {settled['id']} was settled automatically: its two entities were "
            f"made one ({settled['resolution']}, by {settled['decided_by'] or 'unknown'}); "
            "nothing to decide"
        )
        if decision == "different":
            message += "; if they are different, undo that merge (`signalgraph entities unmerge`)"
    else:
        message = f"decided {decision}" + (
            f"; merged into {result['entity']}" if result["merge"] else ""
        )
    print_result(result, json=json, message=message)


@flags_app.command("list")
def flags_list(
    ctx: typer.Context,
    all_flags: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    open_only: Annotated[
        bool, typer.Option("--open", help="Only open flags (the default).")
    ] = True,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    limit: Annotated[
        int, typer.Option(help="Show at most this many.", min=1, callback=within(ROW_LIMIT))
    ] = 100,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """List flags, newest first: open ones unless --all."""
    found = (
        get_state(ctx)
        .client(workspace)
        .flags.list(open_only=open_only and not all_flags, kind=kind, limit=limit)
    )
    rows = [f.as_dict() for f in found]
    if json:
        print_items(rows)
    else:
        print_table(
            rows,
            ["id", "kind", "severity", "object_type", "message", "created_at"],
            empty="no flags",
        )


@flags_app.command("add")
def flags_add(
    ctx: typer.Context,
    object_id: Annotated[
        str, typer.Argument(metavar="ID", help="Entity, signal, fact, relation, link or list id.")
    ],
    kind: Annotated[str, typer.Option(help="What kind of problem (stale, wrong_value…).")],
    message: Annotated[str, typer.Option(help="What someone should look at.")],
    severity: Annotated[str, typer.Option(help="info, warning or error.")] = "warning",
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Raise a flag on an object for someone to look at."""
    raised = (
        get_state(ctx)
        .client(workspace)
        .flags.add(
            object_id,
            kind=kind,
            message=message,
            severity=severity,
            actor=get_state(ctx).acting(actor),
        )
    )
    print_result(
        raised.as_dict(),
        json=json,
        message=f"flag {raised.id} raised on {raised.object_type} {raised.object_id}",
    )


@flags_app.command("resolve")
def flags_resolve(
    ctx: typer.Context,
    flag_id: Annotated[str, typer.Argument(metavar="ID", help="Flag id or prefix.")],
    note_text: Annotated[str | None, typer.Option("--note", help="What was done about it.")] = None,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Close a flag with a note."""
    resolved = (
        get_state(ctx)
        .client(workspace)
        .flags.resolve(flag_id, note=note_text, actor=get_state(ctx).acting(actor))
    )
    print_result(resolved.as_dict(), json=json, message=f"flag {resolved.id} resolved")
