"""`signalgraph signals` and `signalgraph rejects`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from signalgraph.bounds import ROW_LIMIT
from signalgraph.cli.checks import within
from signalgraph.cli.output import (
    JsonOption,
    WorkspaceOption,
    note,
    parse_time_option,
    print_items,
    print_json,
    print_record,
    print_table,
    stdout,
)
from signalgraph.cli.state import get_state
from signalgraph.ids import short_id

signals_app = typer.Typer(
    help="List and inspect stored signals and duplicates.", no_args_is_help=True
)
rejects_app = typer.Typer(help="Inspect and export rejected input records.", no_args_is_help=True)


SourceFilter = Annotated[str | None, typer.Option("--source", help="Only this source.")]
KindFilter = Annotated[str | None, typer.Option(help="Only this kind (article, email…).")]
SinceFilter = Annotated[str | None, typer.Option(help="Published at or after (ISO 8601).")]
UntilFilter = Annotated[str | None, typer.Option(help="Published before (ISO 8601).")]
EntityFilter = Annotated[
    str | None,
    typer.Option(
        "--entity", help="Only signals mentioning this entity (or anything merged into it)."
    ),
]
ListFilter = Annotated[str | None, typer.Option("--list", help="Only signals in this list.")]
LangFilter = Annotated[
    str | None, typer.Option(help="Only signals in this language (en, de…); stems the query.")
]
AllOption = Annotated[bool, typer.Option("--all", help="Include duplicates and near duplicates.")]
LimitOption = Annotated[int, typer.Option(help="Signals per page.", min=1, max=10_000)]
CursorOption = Annotated[
    str | None, typer.Option(help="Continue after the page that printed this cursor.")
]


def _print_page(page: Any, *, json: bool, columns: list[str], empty: str) -> None:
    rows = [s.as_dict() for s in page.items]
    if json:
        print_items(rows, page.next_cursor)
        return
    print_table(rows, columns, empty=empty)
    if page.next_cursor:
        note(f"more: --cursor {page.next_cursor}")


@signals_app.command("list")
def list_signals(
    ctx: typer.Context,
    source: SourceFilter = None,
    kind: KindFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    entity: EntityFilter = None,
    in_list: ListFilter = None,
    include_duplicates: AllOption = False,
    limit: LimitOption = 50,
    cursor: CursorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """List signals, newest first, a page at a time (duplicates hidden unless --all)."""
    client = get_state(ctx).client(workspace)
    page = client.signals.list(
        source_name=source,
        kind=kind,
        since=parse_time_option(since, "--since"),
        until=parse_time_option(until, "--until"),
        entity=entity,
        list_name=in_list,
        include_duplicates=include_duplicates,
        limit=limit,
        cursor=cursor,
    )
    _print_page(
        page,
        json=json,
        columns=["id", "published_at", "source", "kind", "status", "title"],
        empty="no signals",
    )
    if not json and cursor is None:
        counts = client.signals.count()
        note(
            f"workspace {client.workspace_name!r} holds {counts['signals']:,} signals: "
            f"{counts['originals']:,} originals, {counts['duplicates']:,} duplicates, "
            f"{counts['near_duplicates']:,} near duplicates"
        )


@signals_app.command("search")
def search_signals(
    ctx: typer.Context,
    query: Annotated[
        str,
        typer.Argument(help='Words to find in titles and texts: "quoted phrase", OR, -excluded.'),
    ],
    lang: LangFilter = None,
    source: SourceFilter = None,
    kind: KindFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    entity: EntityFilter = None,
    in_list: ListFilter = None,
    include_duplicates: AllOption = False,
    limit: LimitOption = 50,
    cursor: CursorOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Full-text search of signals (language-aware), newest first, a page at a time."""
    page = (
        get_state(ctx)
        .client(workspace)
        .signals.search(
            query,
            lang=lang,
            source_name=source,
            kind=kind,
            since=parse_time_option(since, "--since"),
            until=parse_time_option(until, "--until"),
            entity=entity,
            list_name=in_list,
            include_duplicates=include_duplicates,
            limit=limit,
            cursor=cursor,
        )
    )
    _print_page(
        page,
        json=json,
        columns=["id", "published_at", "source", "rank", "title"],
        empty="no signal matches",
    )


@signals_app.command("show")
def show_signal(
    ctx: typer.Context,
    signal_id: Annotated[str, typer.Argument(metavar="ID", help="Signal id or a unique prefix.")],
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Show one signal with its text, mentions, links and earlier revisions."""
    client = get_state(ctx).client(workspace)
    found = client.signals.get(signal_id)
    links = client.links.of(found.id)
    if json:
        print_json(found.as_dict() | {"links": links})
        return
    record = found.as_dict()
    mentions = record.pop("mentions")
    revisions = record.pop("revisions")
    text = record.pop("text") or ""
    raw = record.pop("raw")
    print_record(record, title=f"signal {found.id}")
    if text:
        stdout.print(text if len(text) < 2000 else text[:2000] + " …", highlight=False)
    if raw is not None:
        from signalgraph.cli.output import to_json

        shown = to_json(raw).decode("utf-8", "replace")
        stdout.print("raw:", shown if len(shown) < 2000 else shown[:2000] + " …", highlight=False)
    print_table(mentions, ["ordinal", "type", "text", "identifiers", "confidence"], empty="")
    print_table(revisions, ["revision", "title", "replaced_at"], empty="")
    print_table(
        [
            {"direction": direction, "other": _other_end(link, direction)} | link.as_dict()
            for direction in ("outgoing", "incoming")
            for link in links[direction]
        ],
        ["direction", "type", "status", "other", "id"],
        title="links",
        empty="",
    )


def _other_end(link: Any, direction: str) -> str:
    if direction == "incoming":
        return f"{link.from_source} / {link.from_external_id}: {link.from_title or ''}"
    if link.target_signal_id is not None and link.target_title:
        return f"{link.target}: {link.target_title}"
    return str(link.target)


@signals_app.command("duplicates")
def duplicates(
    ctx: typer.Context,
    near: Annotated[bool, typer.Option("--near", help="Near duplicates instead of exact.")] = False,
    limit: Annotated[
        int, typer.Option(help="Show at most this many groups.", min=1, callback=within(ROW_LIMIT))
    ] = 100,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """List duplicate groups: each original with the signals that repeat it."""
    groups = get_state(ctx).client(workspace).signals.duplicates(near=near, limit=limit)
    if json:
        print_items(groups)
        return
    rows: list[dict[str, Any]] = []
    for group in groups:
        original = group["original"]
        rows.append(
            {
                "group": original.get("id"),
                "role": "original",
                "source": original.get("source"),
                "distance": None,
                "title": original.get("title"),
            }
        )
        for member in group["members"]:
            rows.append(
                {
                    "group": "",
                    "role": "near duplicate" if near else "duplicate",
                    "source": member["source"],
                    "distance": member["near_distance"] if near else None,
                    "title": member["title"],
                }
            )
    print_table(rows, ["group", "role", "source", "distance", "title"], empty="no duplicates")


@rejects_app.command("list")
def list_rejects(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option("--run", help="Only this run (id or prefix).")] = None,
    limit: Annotated[
        int, typer.Option(help="Show at most this many.", min=1, callback=within(ROW_LIMIT))
    ] = 100,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """List rejected records with file, line, field and reason."""
    found = get_state(ctx).client(workspace).rejects.list(run_id=run, limit=limit)
    rows = [r.as_dict() for r in found]
    if json:
        print_items(rows)
        return
    for row in rows:
        row["raw"] = row["raw"][:60] + ("…" if len(row["raw"]) > 60 else "")
        row["run"] = short_id(row["run_id"])
    columns = ["file", "line", "field", "reason", "raw"]
    print_table(rows, columns if run else ["run", *columns], empty="no rejected records")


@rejects_app.command("export")
def export_rejects(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(metavar="FILE", help="Where to write them; - for stdout.")
    ],
    run: Annotated[str, typer.Option("--run", help="The run whose rejects to export.")],
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Write a run's rejected records out exactly as they arrived, one file per format."""
    client = get_state(ctx).client(workspace)
    if target == "-":
        report = client.rejects.export(run, sys.stdout.buffer)
    else:
        report = client.rejects.export(run, Path(target))
    if json:
        print_json(report)
    elif target != "-":
        for written in report["files"]:
            note(
                f"wrote {written['written']} rejected record(s) to {written['path']} "
                f"({written['format']}, as they came in)"
            )
