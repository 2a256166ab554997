"""`signalgraph db partitions`: monthly partitions of signals."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from signalgraph.cli.output import (
    JsonOption,
    print_items,
    print_json,
    print_record,
    print_result,
    print_table,
)
from signalgraph.cli.state import get_state

app = typer.Typer(
    help="Monthly partitions of signals, mentions and revisions.", no_args_is_help=True
)


def _date(value: str, option: str) -> date:
    from signalgraph.errors import UsageError

    try:
        return date.fromisoformat(value if len(value) > 7 else f"{value}-01")
    except ValueError as exc:
        raise UsageError(f"{option} {value!r} is not a date (YYYY-MM-DD or YYYY-MM)") from exc


@app.command("list")
def list_partitions(
    ctx: typer.Context,
    exact: Annotated[
        bool, typer.Option("--exact", help="Count rows instead of estimating.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """List partitions: month range, rows, mentions and size (the default one included)."""
    rows = [p.as_dict() for p in get_state(ctx).client().partitions.list(exact=exact)]
    if json:
        print_items(rows)
    else:
        print_table(rows, ["name", "range_from", "range_to", "rows", "mentions", "size"])


@app.command("ensure")
def ensure(
    ctx: typer.Context,
    start: Annotated[
        str, typer.Option("--from", metavar="MONTH", help="First month (YYYY-MM or a date).")
    ],
    end: Annotated[
        str, typer.Option("--to", metavar="MONTH", help="Last month (YYYY-MM or a date).")
    ],
    json: JsonOption = False,
) -> None:
    """Create the partitions for every month in a range (ingest also creates them itself)."""
    created = (
        get_state(ctx).client().partitions.ensure_range(_date(start, "--from"), _date(end, "--to"))
    )
    print_result(
        {"created": created},
        json=json,
        message=f"created {len(created)} month(s): {', '.join(created)}"
        if created
        else "nothing to do",
    )


@app.command("move-default")
def move_default(ctx: typer.Context, json: JsonOption = False) -> None:
    """Move rows out of the default partitions into monthly ones, verifying the counts."""
    report = get_state(ctx).client().partitions.move_default()
    if json:
        print_json(report)
    else:
        print_record(
            {
                "months": ", ".join(report["months"]) or "none",
                "moved": report["moved"],
                "left in default": report["left_in_default"],
                "verified": report["verified"],
            }
        )


@app.command("detach")
def detach(
    ctx: typer.Context,
    before: Annotated[str, typer.Option("--before", help="Detach months that end by this date.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: detached signals leave queries.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Detach old months (retention); the tables stay in the database, renamed."""
    from signalgraph.errors import UsageError

    if not yes:
        raise UsageError(
            "detached months disappear from every query and index", hint="pass --yes to confirm"
        )
    report = get_state(ctx).client().partitions.detach_before(_date(before, "--before"))
    tables = ", ".join(report["detached"]) or "-"
    print_result(
        report, json=json, message=f"detached {len(report['detached'])} table(s): {tables}"
    )
