"""The demo: a database at head with a demo workspace and sources, described."""

from __future__ import annotations

import contextlib
from datetime import date
from importlib.resources import as_file, files
from typing import Any

from signalgraph.client import SignalGraph
from signalgraph.db import admin, migrate
from signalgraph.errors import AlreadyExists

DEMO_WORKSPACE = "demo"
DEMO_SOURCES = (
    ("newswire", "news", 10, "Company news from a wire service (sample data)"),
    ("analyst-inbox", "email", 5, "Newsletters forwarded by analysts (sample data)"),
    ("registry", "registry", 8, "People, investors and drugs from a reference registry (sample)"),
    ("harmonic", "enrichment", 6, "Company metrics and relations from a data vendor (sample)"),
)
DEMO_PROPERTIES = (
    ("headcount", "integer", "employees", None),
    ("revenue", "money", "annual revenue", "USD"),
    ("founded", "integer", "year founded", None),
    ("momentum_score", "number", "daily attention score, 0-100", None),
)
DEMO_LIST = "Deal flow"


def _sample(name: str) -> Any:
    return as_file(files("signalgraph.data") / name)


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
    with _sample("sample_signals.ndjson") as sample:
        result = demo.ingest(str(sample), source="newswire")
    with _sample("sample_registry.ndjson") as sample:
        demo.entities.ingest(str(sample), source="registry")
    resolved = demo.resolve(actor="demo")
    known = {p["name"] for p in demo.facts.properties()}
    for name, kind, description, unit in DEMO_PROPERTIES:
        if name not in known:
            demo.facts.define(name, kind, description, unit, actor="demo")
    with _sample("sample_facts.ndjson") as sample:
        facts = demo.facts.ingest(str(sample), source="harmonic", actor="demo")
    with _sample("sample_relations.ndjson") as sample:
        relations = demo.relations.ingest(str(sample), source="harmonic", actor="demo")
    top = demo.entities.list(entity_type="company", limit=5)
    if top:
        _curate(demo, [row["id"] for row in top[:3]])
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
        "facts": facts.as_dict(),
        "relations": relations.as_dict(),
        "momentum_percentiles": demo.facts.percentile(
            "momentum_score", date=date(2026, 7, 10), entity_type="company", limit=5
        ),
        "top_entities": top,
        "dossier": dossier,
    }


def _curate(demo: SignalGraph, companies: list[Any]) -> None:
    """Put the top companies on a list and annotate the first, as an analyst would."""
    if DEMO_LIST not in {found["name"] for found in demo.lists.list()}:
        demo.lists.create(DEMO_LIST, description="companies to look at", actor="demo")
    demo.lists.add(DEMO_LIST, companies, actor="demo")
    first = companies[0]
    demo.annotations.set(first, stage="Diligence", rank=1, actor="demo")
    demo.annotations.tag(first, "logistics", "series-b", actor="demo")
    if not demo.annotations.get(first)["comments"]:
        demo.annotations.comment(
            first, "Strong founding team; check churn before IC.", actor="demo"
        )
