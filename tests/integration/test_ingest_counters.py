"""Each kind of ingest reports its own counters, zeros included, and no other kind's."""

from __future__ import annotations

from signalgraph.client import SignalGraph

COMMON = ["seen", "inserted", "updated", "unchanged", "rejected", "nul_stripped", "bytes"]


def test_every_kind_reports_its_own_counters(sg: SignalGraph) -> None:
    sg.sources.add("crm")
    signals = sg.ingest([{"external_id": "s1", "title": "Acme", "text": "Acme"}], source="crm")
    assert list(signals.counters)[:4] == COMMON[:4]
    assert {"duplicates", "near_duplicates"} <= set(signals.counters)
    assert set(COMMON) <= set(signals.counters)

    records = sg.entities.ingest(
        [{"external_id": "c1", "type": "company", "name": "Acme", "identifiers": {"ticker": "AC"}}],
        source="crm",
    )
    assert list(records.counters) == [*COMMON[:4], "invalid_identifiers", *COMMON[4:]]
    sg.resolve()
    facts = sg.facts.add(
        [{"entity": "ticker:AC", "property": "headcount", "value": 3}], source="crm"
    )
    assert list(facts.counters) == [*COMMON[:4], "unknown_properties", *COMMON[4:]]
    relations = sg.relations.add(
        [{"subject": "ticker:AC", "predicate": "partners_with", "object": "ticker:AC"}],
        source="crm",
    )
    assert list(relations.counters) == COMMON
    # The same zeros in a second run, where nothing is new.
    again = sg.entities.ingest(
        [{"external_id": "c1", "type": "company", "name": "Acme", "identifiers": {"ticker": "AC"}}],
        source="crm",
    )
    assert again.counters["unchanged"] == 1
    assert again.counters["invalid_identifiers"] == 0
    assert "duplicates" not in again.counters
