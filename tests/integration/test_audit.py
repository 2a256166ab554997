"""The audit trail: every change, one event per object, set-based, with actor and run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

import signalgraph
from signalgraph.client import SignalGraph
from signalgraph.errors import UsageError
from tests.conftest import CliResult


def company(external_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "type": "company", "name": name, **extra}


def events(sg: SignalGraph, **filters: Any) -> list[Any]:
    found, cursor = [], None
    while True:
        page = sg.audit.list(limit=500, cursor=cursor, **filters)
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


def test_bulk_operations_write_one_event_per_object(database_url: str) -> None:
    sg = signalgraph.connect(url=database_url, actor="loader")
    sg.sources.add("vendor")
    records = [company(f"v{i}", f"Company Number {i} Holdings") for i in range(250)]
    ingested = sg.entities.ingest(records, source="vendor")
    inserted = events(sg, object_type="entity_record", action="insert")
    assert len(inserted) == 250
    assert {e.run_id for e in inserted} == {ingested.run_id}
    assert {e.actor for e in inserted} == {"loader"}
    assert {e.after["external_id"] for e in inserted} == {f"v{i}" for i in range(250)}
    assert all("workspace_id" not in e.after for e in inserted)

    resolved = sg.resolve()
    assert len(events(sg, object_type="entity", run_id=resolved.run_id)) == 250
    assigned = events(sg, object_type="entity_record", action="update")
    assert len(assigned) == 250
    # Only what changed, before and after.
    assert set(assigned[0].before) == {"entity_id", "resolution", "resolved_at"}
    assert assigned[0].before["entity_id"] is None
    assert assigned[0].after["entity_id"] is not None

    # The same records again change nothing, so there is nothing to audit.
    sg.entities.ingest(records, source="vendor")
    assert sg.audit.count(object_type="entity_record") == 500
    sg.close()


def test_actors_from_settings_calls_and_the_cli(
    sg: SignalGraph, cli: Callable[..., CliResult], database_url: str
) -> None:
    sg.sources.add("vendor")
    sg.entities.ingest([company("a", "Acme Robotics"), company("b", "Zeta Foods")], source="vendor")
    sg.resolve()
    a, b = (row["entity_id"] for row in sg.entities.clusters())
    sg.entities.merge([a, b], actor="bob", reason="same firm")
    merge_events = events(sg, object_type="merge")
    assert [e.actor for e in merge_events] == ["bob"]
    assert merge_events[0].after["reason"] == "same firm"
    redirects = events(sg, object_type="entity_redirect")
    assert [e.actor for e in redirects] == ["bob"]
    moved = events(sg, object_type="entity_record", actor="bob")
    assert len(moved) == 1  # the absorbed entity's record, re-pointed

    base = ["--database-url", database_url, "--actor", "carol"]
    assert cli(*base, "source", "add", "crm").exit_code == 0
    listed = cli(*base, "audit", "list", "--type", "source", "--json").json()
    assert isinstance(listed, dict)
    assert [(e["actor"], e["after"]["name"]) for e in listed["items"]] == [
        ("carol", "crm"),
        (sg.settings.effective_actor, "vendor"),
    ]
    history = cli(*base, "audit", "list", "--object", str(a))
    assert history.exit_code == 0
    assert "entity" in history.stdout


def test_updates_record_only_changed_fields_and_deletes_the_old_row(sg: SignalGraph) -> None:
    with sg.transaction(actor="dora") as conn:
        conn.execute(sa.text("INSERT INTO entity_type (workspace_id, name) "
                             "SELECT workspace_id, 'fund' FROM workspace"))  # fmt: skip
        conn.execute(sa.text("UPDATE entity_type SET description = 'a fund' WHERE name = 'fund'"))
        conn.execute(sa.text("UPDATE entity_type SET description = 'a fund' WHERE name = 'fund'"))
        conn.execute(sa.text("DELETE FROM entity_type WHERE name = 'fund'"))
    found = events(sg, object_type="entity_type")
    assert [e.action for e in found] == ["delete", "update", "insert"]  # newest first
    deleted, updated, inserted = found
    assert updated.before == {"description": None}
    assert updated.after == {"description": "a fund"}
    assert deleted.before["name"] == "fund"
    assert inserted.after["name"] == "fund"
    assert {e.actor for e in found} == {"dora"}
    assert all(e.object_id is None for e in found)  # keyed by a name, not an id


def test_pages_neither_skip_nor_repeat_while_rows_arrive(sg: SignalGraph) -> None:
    for i in range(30):
        sg.sources.add(f"s{i:02d}")
    other = signalgraph.connect(url=sg.url)  # another client writes between the pages
    try:
        seen: list[Any] = []
        first = sg.audit.list(object_type="source", limit=7)
        seen.extend(first.items)
        newest = first.items[0].id
        cursor = first.next_cursor
        arrived = 0
        while cursor:
            other.sources.add(f"late{arrived}")  # a row arrives before every later page
            arrived += 1
            page = sg.audit.list(object_type="source", limit=7, cursor=cursor)
            seen.extend(page.items)
            cursor = page.next_cursor
    finally:
        other.close()
    ids = [e.id for e in seen]
    assert len(ids) == len(set(ids))  # nothing repeated
    assert ids == sorted(ids, reverse=True)
    every = events(sg, object_type="source")
    assert arrived == 4  # 30 events, 7 a page: four more pages, each read after a new row
    assert len([e for e in every if e.id > newest]) == arrived  # the rows that arrived
    expected = {e.id for e in every if e.id <= newest}
    assert len(expected) == 30
    assert set(ids) == expected  # nothing skipped: every event at or before the first page


def test_bad_cursors_and_filters_are_usage_errors(sg: SignalGraph) -> None:
    with pytest.raises(UsageError, match="not a cursor of this listing"):
        sg.audit.list(cursor="garbage!")
    from signalgraph.pages import encode_cursor

    with pytest.raises(UsageError, match="not a cursor of this listing"):
        sg.audit.list(cursor=encode_cursor("signals", ["x"]))
    with pytest.raises(UsageError, match="unknown action"):
        sg.audit.list(action="drop")
    with pytest.raises(UsageError, match="is not an object id"):
        sg.audit.list(object_id="'; DROP TABLE audit_event; --")
    with pytest.raises(UsageError, match="out of range"):
        sg.audit.list(limit=0)


def test_events_go_to_monthly_partitions(sg: SignalGraph) -> None:
    sg.sources.add("vendor")
    with sg.engine.connect() as conn:
        where = (
            conn.execute(sa.text("SELECT DISTINCT tableoid::regclass::text FROM audit_event"))
            .scalars()
            .all()
        )
    assert len(where) == 1
    assert where[0].startswith("audit_event_p")


def _about_acme(sg: SignalGraph) -> None:
    """Make rows about one entity in several tables, and one row about another."""
    sg.sources.add("crm")
    sg.entities.ingest(
        [
            company("c1", "Acme Robotics", identifiers={"domain": "acme.ai"}),
            company("c2", "Zeta Foods", identifiers={"domain": "zeta.com"}),
        ],
        source="crm",
    )
    sg.resolve()
    sg.lists.create("Deal flow")
    sg.lists.add("Deal flow", ["domain:acme.ai", "domain:zeta.com"])
    sg.lists.remove("Deal flow", ["domain:acme.ai"])
    sg.annotations.annotate("domain:acme.ai", stage="Diligence", comment="call Tuesday")
    sg.facts.add(
        [{"entity": {"domain": "acme.ai"}, "property": "headcount", "value": 120}], source="crm"
    )
    sg.flags.add("domain:acme.ai", kind="check", message="look again")


ABOUT_ACME = {
    "entity",
    "entity_record",
    "list_member",
    "annotation",
    "annotation_comment",
    "fact",
    "flag",
}


def test_an_entity_history_includes_the_rows_about_it(sg: SignalGraph) -> None:
    _about_acme(sg)
    history = events(sg, object_id="domain:acme.ai")
    assert {event.object_type for event in history} == ABOUT_ACME
    # Added to the list and removed again: both changes are in its history.
    memberships = [e.action for e in history if e.object_type == "list_member"]
    assert sorted(memberships) == ["delete", "insert"]
    zeta = sg.entities.canonical("domain:zeta.com")
    assert zeta not in {event.object_id for event in history}
    zeta_history = events(sg, object_id=zeta)
    assert {event.object_type for event in zeta_history} == {
        "entity",
        "entity_record",
        "list_member",
    }


def test_the_migration_gives_older_events_their_subject(database_url: str) -> None:
    from signalgraph.db import migrate

    sg = signalgraph.connect(url=database_url)
    _about_acme(sg)
    before = {(e.id, e.object_type) for e in events(sg, object_id="domain:acme.ai")}
    migrate.downgrade(sg.engine, "0012")
    migrate.upgrade(sg.engine)
    sg.close()
    sg = signalgraph.connect(url=database_url)
    after = {(e.id, e.object_type) for e in events(sg, object_id="domain:acme.ai")}
    # Live, a record's insert names no entity yet (it is resolved later); the migration
    # takes the entity from the record as it is now, so that insert joins the history.
    assert before < after
    assert {object_type for _, object_type in after - before} == {"entity_record"}
    sg.close()
