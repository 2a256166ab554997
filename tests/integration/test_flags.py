"""Flags raised by hand on any object, listed and resolved."""

from __future__ import annotations

import pytest

from signalgraph.client import SignalGraph
from signalgraph.errors import NotFound, UsageError


def test_flags_on_entities_signals_facts_and_lists(sg: SignalGraph) -> None:
    sg.sources.add("wire")
    sg.ingest([{"external_id": "s1", "title": "Acme", "text": "Acme news"}], source="wire")
    sg.entities.ingest(
        [{"external_id": "c1", "type": "company", "name": "Acme", "identifiers": {"ticker": "AC"}}],
        source="wire",
    )
    sg.resolve()
    [company] = sg.entities.search(identifier="ticker:AC")
    sg.facts.add([{"entity": {"ticker": "AC"}, "property": "headcount", "value": 7}], source="wire")
    fact_id = sg.facts.current(company["id"])["headcount"]["id"]
    signal_id = sg.signals.list()[0].id
    list_id = sg.lists.create("Watch")["id"]

    raised = {
        sg.flags.add(target, kind="check", message=f"look at {target}", actor="ana").object_type
        for target in (str(company["id"])[:13], signal_id, fact_id, list_id)
    }
    assert raised == {"entity", "signal", "fact", "list"}
    open_flags = sg.flags.list()
    assert {f.actor for f in open_flags} == {"ana"}
    entity_flag = next(f for f in open_flags if f.object_type == "entity")
    assert entity_flag.object_id == company["id"]
    assert sg.entities.show(company["id"])["open_flags"][0]["kind"] == "check"
    sg.flags.resolve(entity_flag.id, note="checked", actor="bo")
    assert len(sg.flags.list()) == 3
    with pytest.raises(NotFound, match="can be flagged"):
        sg.flags.add("01a2ffff-0000-7000-8000-000000000000", kind="x", message="y")
    with pytest.raises(UsageError, match="severity"):
        sg.flags.add(signal_id, kind="x", message="y", severity="panic")
    with pytest.raises(UsageError, match="NUL"):
        sg.flags.add(signal_id, kind="x", message="a\x00b")
    events = sg.audit.list(object_type="flag")
    assert len(events.items) == 5  # four raised, one resolved
