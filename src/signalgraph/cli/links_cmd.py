"""`signalgraph links`: add, list, show and resolve signal links."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from signalgraph.cli.output import (
    JsonOption,
    WorkspaceOption,
    note,
    print_items,
    print_json,
    print_record,
    print_table,
)
from signalgraph.cli.state import get_state
from signalgraph.errors import UsageError
from signalgraph.links.vocabulary import LINK_TYPES

app = typer.Typer(
    help="Signal links: amends, supersedes, replies_to, references, attachment_of.",
    no_args_is_help=True,
)

ActorOption = Annotated[
    str | None,
    typer.Option("--actor", help="Who decides (default: the configured actor or your user name)."),
]
LIST_COLUMNS = ["id", "type", "status", "from_external_id", "target", "target_signal_id"]


def _print_link(record: dict[str, Any]) -> None:
    candidates = record.pop("candidate_signals")
    record.pop("candidates")
    print_record(record, title=f"link {record['id']}")
    print_table(
        candidates,
        ["id", "external_id", "published_at", "title"],
        title="candidates",
        empty="",
    )


@app.command("add")
def add(
    ctx: typer.Context,
    from_signal: Annotated[
        str, typer.Argument(metavar="FROM", help="The linking signal: id or unique prefix.")
    ],
    link_type: Annotated[str, typer.Argument(metavar="TYPE", help=", ".join(LINK_TYPES))],
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="KEY",
            help="The target's external id (in --source, else FROM's source).",
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="The source of the --to external id.")
    ] = None,
    to_signal: Annotated[
        str | None, typer.Option("--to-signal", help="The target's signal id or unique prefix.")
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help='A text naming the target: "MSA dated 2021-03-04".'),
    ] = None,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Link FROM to a signal key, a signal id or a reference text; it resolves when it can."""
    given = [option for option in (to, to_signal, reference) if option is not None]
    if len(given) != 1:
        raise UsageError("give exactly one of --to KEY, --to-signal ID or --reference TEXT")
    if source is not None and to is None:
        raise UsageError("--source goes with --to (the target's external id)")
    target: Any = None
    if to is not None:
        target = {"external_id": to} | ({"source": source} if source is not None else {})
    elif to_signal is not None:
        target = to_signal
    link = (
        get_state(ctx)
        .client(workspace)
        .links.add(
            from_signal,
            link_type,
            to=target,
            reference=reference,
            actor=get_state(ctx).acting(actor),
        )
    )
    if json:
        print_json(link.as_dict())
        return
    note(f"link {link.id}: {link.type} → {link.target} ({link.status})")


@app.command("list")
def list_links(
    ctx: typer.Context,
    signal: Annotated[
        str | None, typer.Option("--signal", help="Only links from or to this signal.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="dangling, ambiguous or resolved.")
    ] = None,
    link_type: Annotated[str | None, typer.Option("--type", help="Only this link type.")] = None,
    limit: Annotated[int, typer.Option(help="Links per page.", min=1, max=10_000)] = 50,
    cursor: Annotated[
        str | None, typer.Option(help="Continue after the page that printed this cursor.")
    ] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """List links, newest first, a page at a time."""
    page = (
        get_state(ctx)
        .client(workspace)
        .links.list(signal=signal, status=status, type=link_type, limit=limit, cursor=cursor)
    )
    links = [link.as_dict() for link in page.items]
    if json:
        print_items(links, page.next_cursor)
        return
    print_table(links, LIST_COLUMNS, empty="no links")
    if page.next_cursor:
        note(f"more: --cursor {page.next_cursor}")


@app.command("show")
def show(
    ctx: typer.Context,
    link_id: Annotated[str, typer.Argument(metavar="ID", help="Link id or unique prefix.")],
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Show one link: both ends, how it was resolved, and its candidates."""
    link = get_state(ctx).client(workspace).links.get(link_id)
    if json:
        print_json(link.as_dict())
        return
    _print_link(link.as_dict())


@app.command("resolve")
def resolve(
    ctx: typer.Context,
    link_id: Annotated[str, typer.Argument(metavar="ID", help="Link id or unique prefix.")],
    to: Annotated[
        str, typer.Option("--to", metavar="SIGNAL", help="The signal it means: id or prefix.")
    ],
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Decide what an ambiguous or dangling link means (audited, closes its flag)."""
    link = (
        get_state(ctx)
        .client(workspace)
        .links.resolve(link_id, to=to, actor=get_state(ctx).acting(actor))
    )
    if json:
        print_json(link.as_dict())
        return
    note(f"link {link.id} resolved to {link.target_signal_id} by {link.resolved_by}")


@app.command("recheck")
def recheck(
    ctx: typer.Context,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Match every dangling or ambiguous link again against the stored signals."""
    counts = get_state(ctx).client(workspace).links.recheck(actor=get_state(ctx).acting(actor))
    if json:
        print_json(counts)
        return
    note(f"{counts['resolved']} link(s) resolved, {counts['ambiguous']} ambiguous")
