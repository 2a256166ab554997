"""`signalgraph workspace` and `signalgraph source`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from signalgraph.bounds import INT32
from signalgraph.cli.checks import within
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

workspace_app = typer.Typer(help="Create and list workspaces (tenants).", no_args_is_help=True)
source_app = typer.Typer(
    help="Add, list and show the sources signals come from.", no_args_is_help=True
)


@workspace_app.command("create")
def workspace_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workspace name (unique).")],
    description: Annotated[str | None, typer.Option(help="What it is for.")] = None,
    json: JsonOption = False,
) -> None:
    """Create a workspace."""
    created = get_state(ctx).client().workspaces.create(name, description=description)
    print_result(
        created.as_dict(),
        json=json,
        message=f"workspace {created.name!r} created ({created.workspace_id})",
    )


@workspace_app.command("list")
def workspace_list(ctx: typer.Context, json: JsonOption = False) -> None:
    """List the workspaces."""
    rows = [w.as_dict() for w in get_state(ctx).client().workspaces.list()]
    if json:
        print_items(rows)
    else:
        print_table(rows, ["name", "workspace_id", "sources", "created_at", "description"])


def _parse_config(text: str | None) -> dict[str, Any] | None:
    import orjson

    from signalgraph.errors import UsageError

    if text is None:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"--config is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise UsageError('--config must be a JSON object, for example \'{"url": "..."}\'')
    return value


@source_app.command("add")
def source_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Source name (unique in the workspace).")],
    kind: Annotated[
        str, typer.Option(help="Kind: news, email, api, scraper, filings…")
    ] = "generic",
    config: Annotated[
        str | None, typer.Option("--config", help="Source configuration as a JSON object.")
    ] = None,
    trust_rank: Annotated[
        int,
        typer.Option(
            help="Higher wins when sources disagree about a fact.", callback=within(INT32)
        ),
    ] = 0,
    description: Annotated[str | None, typer.Option(help="What the source is.")] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Add a source to the workspace."""
    client = get_state(ctx).client(workspace)
    added = client.sources.add(
        name,
        kind=kind,
        config=_parse_config(config),
        trust_rank=trust_rank,
        description=description,
    )
    print_result(
        added.as_dict(),
        json=json,
        message=f"source {added.name!r} added to workspace {client.workspace_name!r} ({added.id})",
    )


@source_app.command("list")
def source_list(
    ctx: typer.Context, workspace: WorkspaceOption = None, json: JsonOption = False
) -> None:
    """List the sources of the workspace."""
    rows = [s.as_dict() for s in get_state(ctx).client(workspace).sources.list()]
    if json:
        print_items(rows)
    else:
        print_table(rows, ["name", "kind", "trust_rank", "runs", "created_at", "description"])


@source_app.command("show")
def source_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Source name.")],
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Show one source with its configuration."""
    found = get_state(ctx).client(workspace).sources.get(name)
    if json:
        print_json(found.as_dict())
    else:
        print_record(found.as_dict(), title=f"source {found.name}")
