"""The demo: a database at head with a demo workspace and sources, described."""

from __future__ import annotations

import contextlib
from typing import Any

from signalgraph.client import SignalGraph
from signalgraph.db import admin, migrate
from signalgraph.errors import AlreadyExists

DEMO_WORKSPACE = "demo"
DEMO_SOURCES = (
    ("newswire", "news", 10, "Company news from a wire service (sample data)"),
    ("analyst-inbox", "email", 5, "Newsletters forwarded by analysts (sample data)"),
)


def run_demo(client: SignalGraph) -> dict[str, Any]:
    """Bring the schema to head, ensure the demo workspace and sources, and report. Idempotent."""
    before, after = migrate.upgrade(client.engine)
    with contextlib.suppress(AlreadyExists):
        client.workspaces.create(DEMO_WORKSPACE, description="signalgraph demo data")
    demo = client.use_workspace(DEMO_WORKSPACE)
    existing = {s.name for s in demo.sources.list()}
    for name, kind, rank, description in DEMO_SOURCES:
        if name not in existing:
            try:
                demo.sources.add(name, kind=kind, trust_rank=rank, description=description)
            except AlreadyExists:
                pass  # a concurrent demo added it
    check = admin.check(client.engine)
    return {
        "database": {
            "server_version": check["server_version"],
            "schema_revision": after,
            "schema_upgraded_from": before if before != after else None,
            "embedded": client.settings.uses_embedded,
        },
        "workspaces": [w.as_dict() for w in client.workspaces.list()],
        "sources": [s.as_dict() for s in demo.sources.list()],
    }
