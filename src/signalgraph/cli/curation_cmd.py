"""`signalgraph lists`, `annotate`, `annotations`, and archive/restore of entities and sources."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from signalgraph.bounds import INT32, PAGE_SIZE
from signalgraph.cli.checks import within
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
)
from signalgraph.cli.state import get_state

lists_app = typer.Typer(
    help="Lists of entities and signals (deal flow, watchlists); `lists` alone lists them.",
    invoke_without_command=True,
)
annotations_app = typer.Typer(
    help="Analyst annotations: show them, define custom fields, edit comments.",
    no_args_is_help=True,
)

ActorOption = Annotated[
    str | None,
    typer.Option("--actor", help="Who acts (default: the configured actor or your user name)."),
]
NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="List name.")]
IdsArgument = Annotated[
    list[str],
    typer.Argument(metavar="ID...", help="Entity ids (full, prefix or merged) or signal ids."),
]


# -- lists -------------------------------------------------------------------------------


@lists_app.callback()
def lists_main(
    ctx: typer.Context, workspace: WorkspaceOption = None, json: JsonOption = False
) -> None:
    """List the lists (when no subcommand is given)."""
    if ctx.invoked_subcommand is None:
        _print_lists(ctx, workspace, json)


@lists_app.command("list")
def lists_list(
    ctx: typer.Context, workspace: WorkspaceOption = None, json: JsonOption = False
) -> None:
    """List the lists with their member counts."""
    _print_lists(ctx, workspace, json)


def _print_lists(ctx: typer.Context, workspace: str | None, json: bool) -> None:
    rows = get_state(ctx).client(workspace).lists.list()
    if json:
        print_items(rows)
    else:
        print_table(
            rows,
            ["name", "members", "description", "created_by", "created_at"],
            empty="no lists yet; create one with `signalgraph lists create NAME`",
        )


@lists_app.command("create")
def lists_create(
    ctx: typer.Context,
    name: NameArgument,
    description: Annotated[str | None, typer.Option(help="What the list is for.")] = None,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Create a list (names are unique among live lists)."""
    created = (
        get_state(ctx)
        .client(workspace)
        .lists.create(name, description=description, actor=get_state(ctx).acting(actor))
    )
    print_result(created, json=json, message=f"list {created['name']!r} created")


@lists_app.command("add")
def lists_add(
    ctx: typer.Context,
    name: NameArgument,
    ids: IdsArgument,
    member_note: Annotated[str | None, typer.Option("--note", help="Why they are here.")] = None,
    position: Annotated[
        int | None, typer.Option(help="Order within the list.", callback=within(INT32))
    ] = None,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Add entities and signals; if any id does not exist, nothing is added."""
    result = (
        get_state(ctx)
        .client(workspace)
        .lists.add(
            name, ids, note=member_note, position=position, actor=get_state(ctx).acting(actor)
        )
    )
    if json:
        print_json(result)
    else:
        skipped = len(result["already_members"])
        extra = f" ({skipped} already there)" if skipped else ""
        note(f"added {len(result['added'])} to {result['list']!r}{extra}")


@lists_app.command("remove")
def lists_remove(
    ctx: typer.Context,
    name: NameArgument,
    ids: IdsArgument,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Remove entities (with every id merged into them) and signals from a list."""
    result = (
        get_state(ctx).client(workspace).lists.remove(name, ids, actor=get_state(ctx).acting(actor))
    )
    if json:
        print_json(result)
    else:
        missing = len(result["not_members"])
        extra = f" ({missing} were not members)" if missing else ""
        note(f"removed {len(result['removed'])} from {result['list']!r}{extra}")


@lists_app.command("show")
def lists_show(
    ctx: typer.Context,
    name: NameArgument,
    limit: Annotated[
        int, typer.Option(help="Members per page.", min=1, callback=within(PAGE_SIZE))
    ] = 50,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Show a list's members: each canonical entity once (merges followed), and signals."""
    page = get_state(ctx).client(workspace).lists.show(name, limit=limit, cursor=cursor)
    if json:
        print_items(page.items, page.next_cursor, list=page.meta["list"])
        return
    rows = [{**m, "archived": "archived" if m["archived"] else ""} for m in page.items]
    print_table(
        rows,
        ["kind", "id", "name", "type", "archived", "note", "added_by", "added_at"],
        title=f"list {page.meta['list']}",
        empty="the list is empty",
    )
    if page.next_cursor:
        note(f"more: --cursor {page.next_cursor}")


@lists_app.command("export")
def lists_export(
    ctx: typer.Context,
    name: NameArgument,
    file: Annotated[str, typer.Argument(metavar="FILE", help="Where to write; - for stdout.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or ndjson (default: from the suffix).")
    ] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Export a list's members to CSV or NDJSON."""
    lists = get_state(ctx).client(workspace).lists
    if file == "-":
        count = lists.export(name, sys.stdout, fmt=fmt or "ndjson")
        sys.stdout.flush()
    else:
        count = lists.export(name, file, fmt=fmt)
    if json and file != "-":
        print_json({"list": name, "file": file, "members": count})
    else:
        note(f"exported {count} members of {name!r}")


@lists_app.command("delete")
def lists_delete(
    ctx: typer.Context,
    name: NameArgument,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Delete a list (kept as deleted with its members; the name becomes free)."""
    deleted = (
        get_state(ctx).client(workspace).lists.delete(name, actor=get_state(ctx).acting(actor))
    )
    print_result(deleted, json=json, message=f"list {deleted['name']!r} deleted")


# -- annotations --------------------------------------------------------------------------


def annotate(
    ctx: typer.Context,
    entity_id: Annotated[
        str, typer.Argument(metavar="ENTITY", help="Entity id, prefix or merged id.")
    ],
    rank: Annotated[
        int | None, typer.Option(help="Analyst rank (integer).", callback=within(INT32))
    ] = None,
    stage: Annotated[str | None, typer.Option(help="Pipeline stage (In Review, Passed…).")] = None,
    hidden: Annotated[
        bool | None, typer.Option("--hidden/--visible", help="Hide from or show in views.")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Add a tag (repeat).")] = None,
    untag: Annotated[
        list[str] | None, typer.Option("--untag", help="Remove a tag (repeat).")
    ] = None,
    assignments: Annotated[
        list[str] | None, typer.Option("--set", help="Custom field: FIELD=VALUE (repeat).")
    ] = None,
    clear: Annotated[
        list[str] | None, typer.Option("--clear", help="Unset rank, stage, hidden or a field.")
    ] = None,
    comment: Annotated[str | None, typer.Option(help="Add a comment.")] = None,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Annotate an entity: rank, stage, hidden, tags, custom fields, a comment (all or none)."""
    result = (
        get_state(ctx)
        .client(workspace)
        .annotations.annotate(
            entity_id,
            rank=rank,
            stage=stage,
            hidden=hidden,
            fields=parse_assignments(assignments or []),
            clear=clear or [],
            tags=tag or [],
            untags=untag or [],
            comment=comment,
            actor=get_state(ctx).acting(actor),
        )
    )
    if json:
        print_json(result)
    else:
        _print_annotations(result)


def _print_annotations(result: dict[str, Any]) -> None:
    print_record(
        {
            "entity": result["entity"],
            "name": result["name"],
            "type": result["type"],
            "archived": result["archived"],
            "rank": result["rank"],
            "stage": result["stage"],
            "hidden": result["hidden"],
            "tags": ", ".join(result["tags"]) or "-",
            **{f"field {k}": v for k, v in result["fields"].items()},
            "merged ids": ", ".join(map(str, result["merged_ids"])) or "-",
        },
        title=f"annotations of {result['name']}",
    )
    print_table(
        result["comments"], ["created_at", "author", "text", "id"], title="comments", empty=""
    )


@annotations_app.command("show")
def annotations_show(
    ctx: typer.Context,
    entity_id: Annotated[
        str, typer.Argument(metavar="ENTITY", help="Entity id, prefix or merged id.")
    ],
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Show an entity's annotations, combined over every id merged into it."""
    result = get_state(ctx).client(workspace).annotations.get(entity_id)
    if json:
        print_json(result)
    else:
        _print_annotations(result)


@annotations_app.command("fields")
def annotations_fields(
    ctx: typer.Context, workspace: WorkspaceOption = None, json: JsonOption = False
) -> None:
    """List the custom annotation fields of the workspace."""
    rows = get_state(ctx).client(workspace).annotations.fields()
    if json:
        print_items(rows)
    else:
        print_table(
            [{**r, "allowed_values": ", ".join(r["allowed_values"] or []) or None} for r in rows],
            ["name", "type", "allowed_values", "description"],
            empty="no custom fields; define one with "
            "`signalgraph annotations define NAME --type T`",
        )


@annotations_app.command("define")
def annotations_define(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Field name: lowercase letters, digits, _.")],
    field_type: Annotated[
        str, typer.Option("--type", help="string, number, integer, boolean, date or enum.")
    ],
    values: Annotated[
        str | None, typer.Option("--values", help="Allowed values of an enum: a,b,c.")
    ] = None,
    description: Annotated[str | None, typer.Option(help="What the field means.")] = None,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Define a typed custom annotation field."""
    allowed = values.split(",") if values is not None else None
    defined = (
        get_state(ctx)
        .client(workspace)
        .annotations.define_field(
            name,
            field_type,
            values=allowed,
            description=description,
            actor=get_state(ctx).acting(actor),
        )
    )
    print_result(
        defined, json=json, message=f"field {defined['name']!r} ({defined['type']}) defined"
    )


@annotations_app.command("edit-comment")
def annotations_edit_comment(
    ctx: typer.Context,
    comment_id: Annotated[str, typer.Argument(metavar="ID", help="Comment id or prefix.")],
    text: Annotated[str, typer.Argument(help="The new text.")],
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Replace a comment's text (the audit trail keeps the old one)."""
    edited = (
        get_state(ctx)
        .client(workspace)
        .annotations.edit_comment(comment_id, text, actor=get_state(ctx).acting(actor))
    )
    print_result(edited, json=json, message=f"comment {edited['id']} edited")


@annotations_app.command("delete-comment")
def annotations_delete_comment(
    ctx: typer.Context,
    comment_id: Annotated[str, typer.Argument(metavar="ID", help="Comment id or prefix.")],
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Delete a comment (marked deleted; the audit trail says who and when)."""
    deleted = (
        get_state(ctx)
        .client(workspace)
        .annotations.delete_comment(comment_id, actor=get_state(ctx).acting(actor))
    )
    print_result(deleted, json=json, message=f"comment {deleted['id']} deleted")


# -- archive ------------------------------------------------------------------------------


def entities_archive(
    ctx: typer.Context,
    entity_id: Annotated[str, typer.Argument(metavar="ID", help="Entity id, prefix or merged id.")],
    reason: Annotated[str | None, typer.Option(help="Why, kept with the entity.")] = None,
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Archive an entity: hidden from lists and search, references kept, restorable."""
    done = (
        get_state(ctx)
        .client(workspace)
        .entities.archive(entity_id, reason=reason, actor=get_state(ctx).acting(actor))
    )
    print_result(done, json=json, message=f"entity {done['id']} ({done['name']}) archived")


def entities_restore(
    ctx: typer.Context,
    entity_id: Annotated[str, typer.Argument(metavar="ID", help="Entity id, prefix or merged id.")],
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Restore an archived entity."""
    done = (
        get_state(ctx)
        .client(workspace)
        .entities.restore(entity_id, actor=get_state(ctx).acting(actor))
    )
    print_result(done, json=json, message=f"entity {done['id']} ({done['name']}) restored")


def source_archive(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Source name.")],
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Archive a source: hidden from `source list`, signals kept, ingest into it refused."""
    done = (
        get_state(ctx).client(workspace).sources.archive(name, actor=get_state(ctx).acting(actor))
    )
    print_result(done, json=json, message=f"source {done['name']!r} archived")


def source_restore(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Source name.")],
    actor: ActorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Restore an archived source."""
    done = (
        get_state(ctx).client(workspace).sources.restore(name, actor=get_state(ctx).acting(actor))
    )
    print_result(done, json=json, message=f"source {done['name']!r} restored")


def add_entity_commands(entities_app: typer.Typer) -> None:
    """Add archive and restore to `signalgraph entities`."""
    entities_app.command("archive")(entities_archive)
    entities_app.command("restore")(entities_restore)


def add_source_commands(source_app: typer.Typer) -> None:
    """Add archive and restore to `signalgraph source`."""
    source_app.command("archive")(source_archive)
    source_app.command("restore")(source_restore)
