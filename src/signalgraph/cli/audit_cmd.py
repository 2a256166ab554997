"""`signalgraph audit`: who changed what, when, from what to what."""

from __future__ import annotations

from typing import Annotated

import typer

from signalgraph.cli.output import (
    JsonOption,
    WorkspaceOption,
    note,
    parse_time_option,
    print_items,
    print_table,
)
from signalgraph.cli.state import get_state
from signalgraph.ids import short_id

app = typer.Typer(help="Read the audit trail of every change.", no_args_is_help=True)


@app.command("list")
def list_events(
    ctx: typer.Context,
    object_id: Annotated[
        str | None, typer.Option("--object", help="Only events of this object (its id).")
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this actor's.")] = None,
    since: Annotated[str | None, typer.Option(help="At or after this time (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO 8601).")] = None,
    object_type: Annotated[
        str | None, typer.Option("--type", help="Only this object type (entity, fact, …).")
    ] = None,
    action: Annotated[str | None, typer.Option(help="insert, update or delete.")] = None,
    run: Annotated[str | None, typer.Option(help="Only changes made by this run.")] = None,
    limit: Annotated[int, typer.Option(help="Events per page.", min=1, max=10_000)] = 50,
    cursor: Annotated[
        str | None, typer.Option(help="Continue after the page that printed this cursor.")
    ] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """List audit events, newest first, a page at a time."""
    page = (
        get_state(ctx)
        .client(workspace)
        .audit.list(
            object_id=object_id,
            actor=actor,
            since=parse_time_option(since, "--since"),
            until=parse_time_option(until, "--until"),
            object_type=object_type,
            action=action,
            run_id=run,
            limit=limit,
            cursor=cursor,
        )
    )
    if json:
        print_items([event.as_dict() for event in page.items], page.next_cursor)
        return
    rows = [
        {
            "created_at": event.created_at,
            "actor": event.actor,
            "action": event.action,
            "object": f"{event.object_type} {short_id(event.object_id)}",
            "changed": event.summary(),
        }
        for event in page.items
    ]
    print_table(rows, ["created_at", "actor", "action", "object", "changed"], empty="no events")
    if page.next_cursor:
        note(f"more: --cursor {page.next_cursor}")
