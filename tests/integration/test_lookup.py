"""Every command finds objects by full id, prefix, short id or identifier, and says the same
when an id is unknown or ambiguous."""

from __future__ import annotations

import re
import uuid

import pytest

from signalgraph.client import SignalGraph
from signalgraph.errors import NotFound, UsageError
from signalgraph.ids import short_id


@pytest.fixture
def loaded(sg: SignalGraph) -> SignalGraph:
    sg.sources.add("wire")
    sg.ingest(
        [{"external_id": f"s{i}", "title": f"Story {i}", "text": f"Acme story number {i}"}
         for i in range(3)],
        source="wire",
    )  # fmt: skip
    sg.entities.ingest(
        [
            {"external_id": "c1", "type": "company", "name": "Acme Robotics",
             "identifiers": {"domain": "acme.ai"}},
            {"external_id": "c2", "type": "company", "name": "Zeta Health",
             "identifiers": {"domain": "zeta.com"}},
        ],
        source="wire",
    )  # fmt: skip
    sg.resolve()
    return sg


def _entity(sg: SignalGraph, domain: str) -> uuid.UUID:
    found: uuid.UUID = sg.entities.canonical(f"domain:{domain}")
    return found


def test_short_ids_name_entities_signals_and_runs(loaded: SignalGraph) -> None:
    acme = _entity(loaded, "acme.ai")
    assert loaded.entities.show(short_id(acme))["id"] == acme
    signal_id = loaded.signals.list()[0].id
    assert loaded.signals.get(short_id(signal_id)).id == signal_id
    run_id = loaded.runs.list()[0].id
    assert loaded.runs.get(short_id(run_id)).id == run_id
    assert loaded.runs.get(str(run_id)[:13]).id == run_id  # a dashed prefix


def test_identifiers_name_entities_wherever_an_entity_is_expected(loaded: SignalGraph) -> None:
    acme = _entity(loaded, "acme.ai")
    assert loaded.entities.show("domain:ACME.ai")["id"] == acme
    assert loaded.entities.show("website:https://www.acme.ai/about")["id"] == acme
    listed = loaded.lists.create("Watch")
    loaded.lists.add("Watch", ["domain:zeta.com"])
    members = loaded.lists.show(short_id(listed["id"])).items
    assert [(m["kind"], m["id"]) for m in members] == [("entity", _entity(loaded, "zeta.com"))]
    raised = loaded.flags.add("domain:acme.ai", kind="check", message="look")
    assert (raised.object_type, raised.object_id) == ("entity", acme)
    with pytest.raises(NotFound, match=r"no entity has the identifier 'domain:nowhere\.org'"):
        loaded.entities.show("domain:nowhere.org")


def test_flags_take_the_same_prefixes_and_short_ids_as_every_other_command(
    loaded: SignalGraph,
) -> None:
    signal_id = loaded.signals.list()[0].id
    by_prefix = loaded.flags.add(str(signal_id)[:23], kind="check", message="prefix")
    by_short = loaded.flags.add(short_id(signal_id), kind="check", message="short")
    assert by_prefix.object_id == by_short.object_id == signal_id
    assert by_prefix.object_type == "signal"
    loaded.flags.resolve(short_id(by_short.id), note="done", actor="ana")
    assert [f.id for f in loaded.flags.list()] == [by_prefix.id]


def test_an_id_shared_by_several_objects_is_ambiguous_and_lists_them(loaded: SignalGraph) -> None:
    runs = loaded.runs.list()
    # Every run of this test was made today: they share their first characters.
    shared = str(runs[0].id)[:4]
    assert all(str(r.id).startswith(shared) for r in runs)
    assert len(runs) == 3  # the ingest, the entity ingest and the resolution
    with pytest.raises(UsageError, match=rf"run id '{shared}' matches 3 runs \(") as raised:
        loaded.runs.get(shared)
    listed = re.findall(r"[0-9a-f]{8}-[0-9a-f-]{27}", str(raised.value))
    assert sorted(listed) == sorted(str(r.id) for r in runs)
    assert "give more characters, or the full id" in str(raised.value)


def test_unknown_ids_say_so_the_same_way_everywhere(loaded: SignalGraph) -> None:
    missing = "0000dead"
    for call, noun in (
        (loaded.runs.get, "run"),
        (loaded.signals.get, "signal"),
        (loaded.entities.show, "entity"),
        (loaded.review.show, "review item"),
    ):
        with pytest.raises(NotFound, match=f"^{noun} 0000dead does not exist in this workspace"):
            call(missing)
