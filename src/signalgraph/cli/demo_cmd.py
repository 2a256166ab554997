"""`signalgraph demo`: set up a working database and show what is in it."""

from __future__ import annotations

from typing import Any

import typer

from signalgraph.cli.output import JsonOption, note, print_json, print_record, print_table
from signalgraph.cli.state import get_state


def demo(ctx: typer.Context, json: JsonOption = False) -> None:
    """Start the embedded server if needed, migrate, create a demo workspace, and show it."""
    from signalgraph.demo import run_demo

    state = get_state(ctx)
    settings = state.settings()
    if not json:
        where = "the embedded server" if settings.uses_embedded else "the configured database"
        note(f"setting up the demo on {where}…")
    report: dict[str, Any] = run_demo(state.client())
    if json:
        print_json(report)
        return
    print_record(report["database"], title="database")
    print_table(report["workspaces"], ["name", "sources", "created_at"], title="workspaces")
    print_table(
        report["sources"], ["name", "kind", "trust_rank", "runs"], title="sources in 'demo'"
    )
    ingest = report["ingest"]
    print_record(
        {"run": ingest["run_id"], "status": ingest["status"], **ingest["counters"]},
        title="sample ingest (bundled sample_signals.ndjson)",
    )
    print_record(report["signals"], title="signals in 'demo'")
    groups = [
        {
            "kind": kind,
            "original": group["original"].get("title"),
            "copies": len(group["members"]),
            "from": ", ".join(sorted({m["url"].split("/")[2] for m in group["members"]})),
        }
        for kind, key in (("exact", "duplicate_groups"), ("near", "near_duplicate_groups"))
        for group in report[key]
    ]
    print_table(groups, ["kind", "original", "copies", "from"], title="some duplicate groups")
    print_table(
        report["rejects"], ["file", "line", "field", "reason"], title="rejected lines", empty=""
    )
    print_table(report["latest"], ["published_at", "title", "status"], title="latest signals")
    resolved = report["resolve"]
    print_record(
        {"run": resolved["run_id"], **resolved["counters"]},
        title="mentions resolved into entities",
    )
    print_table(
        report["top_entities"], ["name", "type", "records", "mentions"], title="most mentioned"
    )
    for kind in ("facts", "relations"):
        loaded = report[kind]
        print_record(
            {"run": loaded["run_id"], **loaded["counters"]},
            title=f"{kind} from the enrichment sample (bundled sample_{kind}.ndjson)",
        )
    print_table(
        report["momentum_percentiles"],
        ["name", "value", "percentile"],
        title="momentum score percentile among companies, 2026-07-10",
        empty="",
    )
    if report["dossier"]:
        from signalgraph.cli.dossier_view import print_dossier

        print_dossier(report["dossier"])
    note(
        "next: `signalgraph -w demo signals list`, `signalgraph -w demo entities list`, "
        "`signalgraph -w demo entities show ID`, `signalgraph -w demo facts show ID`, "
        "`signalgraph -w demo lists show 'Deal flow'`, `signalgraph -w demo audit list`"
    )
