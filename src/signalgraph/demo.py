"""The demo: a database at head with a demo workspace and sources, described."""

from __future__ import annotations

import contextlib
from importlib.resources import as_file, files
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
    with as_file(files("signalgraph.data") / "sample_signals.ndjson") as sample:
        result = demo.ingest(str(sample), source="newswire")
    resolved = demo.resolve(actor="demo")
    top = demo.entities.list(entity_type="company", limit=5)
    dossier = demo.entities.show(top[0]["id"]) if top else None
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
        "ingest": result.as_dict(),
        "signals": demo.signals.count(),
        "duplicate_groups": demo.signals.duplicates(limit=3),
        "near_duplicate_groups": demo.signals.duplicates(near=True, limit=3),
        "rejects": [r.as_dict() for r in demo.rejects.list(run_id=result.run_id)]
        if result.run_id
        else [],
        "latest": [s.as_dict() for s in demo.signals.list(limit=5)],
        "resolve": resolved.as_dict(),
        "top_entities": top,
        "dossier": dossier,
    }
