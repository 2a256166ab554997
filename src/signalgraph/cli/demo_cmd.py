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
    note("next: `signalgraph --workspace demo source list`, `signalgraph db info`")
