"""Relations through the Python API: references, rejects, idempotency, merges, as-of."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph


def record(external_id: str, kind: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "type": kind, "name": name, **extra}


@pytest.fixture
def world(sg: SignalGraph) -> dict[str, uuid.UUID]:
    """A founder, two companies (one a biotech with a drug) and an acquirer."""
    sg.sources.add("harmonic")
    sg.entities.ingest(
        [
            record("p1", "person", "Ada Lovelace", identifiers={"email": "ada@acme.ai"}),
            record("c1", "company", "Acme Robotics", identifiers={"domain": "acme.ai"}),
            record("c2", "company", "Helix Bio", identifiers={"ticker": "HLX"}),
            record("c3", "company", "BigPharma", identifiers={"ticker": "BPH"}),
            record("d1", "drug", "HLX-101"),
        ],
        source="harmonic",
    )
    sg.resolve()
    ids = {r["external_id"]: r["entity_id"] for r in sg.entities.clusters(source_name="harmonic")}
    return {"ada": ids["p1"], "acme": ids["c1"], "helix": ids["c2"], "pharma": ids["c3"],
            "drug": ids["d1"]}  # fmt: skip


def test_relations_both_directions_with_the_other_end_named(
    sg: SignalGraph, world: dict[str, uuid.UUID]
) -> None:
    result = sg.relations.add(
        [
            {"subject": {"email": "ada@acme.ai"}, "predicate": "works_at",
             "object": {"domain": "acme.ai"}, "valid_from": "2020-01-01"},
            {"subject": str(world["ada"]), "predicate": "founded", "object": str(world["acme"])},
            {"subject": {"ticker": "HLX"}, "predicate": "develops",
             "object": {"source": "harmonic", "external_id": "d1"}},
            {"subject": {"ticker": "BPH"}, "predicate": "acquirer_match",
             "object": {"ticker": "HLX"}, "confidence": 0.82,
             "properties": {"score": 0.82, "rank": 1}},
        ],
        source="harmonic",
    )  # fmt: skip
    assert result.status == "succeeded", result.error
    assert (result.counters["inserted"], result.counters["rejected"]) == (4, 0)
    acme = sg.relations.of(world["acme"])
    assert [(r["predicate"], r["direction"], r["other_name"], r["other_type"]) for r in acme] == [
        ("founded", "in", "Ada Lovelace", "person"),
        ("works_at", "in", "Ada Lovelace", "person"),
    ]
    helix = sg.relations.list(world["helix"])
    assert [(r["predicate"], r["direction"], r["other_name"]) for r in helix] == [
        ("acquirer_match", "in", "BigPharma"),
        ("develops", "out", "HLX-101"),
    ]
    assert helix[0]["properties"] == {"score": 0.82, "rank": 1}
    assert helix[0]["subject_ref"] == {"ticker": "BPH"}
    assert len(sg.relations.of(world["helix"], limit=1)) == 1
    assert [r["predicate"] for r in sg.relations.list(world["ada"], predicate="founded")] == [
        "founded"
    ]


def test_bad_relations_are_rejected_naming_the_end(
    sg: SignalGraph, world: dict[str, uuid.UUID]
) -> None:
    ada, acme = str(world["ada"]), str(world["acme"])
    result = sg.relations.add(
        [
            {"subject": str(uuid.uuid4()), "predicate": "works_at", "object": acme},
            {"subject": ada, "predicate": "works_at", "object": {"ticker": "NOPE"}},
            {"subject": ada, "predicate": "Works At", "object": acme},
            {"subject": ada, "predicate": "works_at", "object": acme,
             "valid_from": "2024-01-01", "valid_to": "2023-01-01"},
            {"subject": ada, "predicate": "works_at", "object": acme, "properties": "x"},
            {"subject": ada, "predicate": "works_at", "object": acme,
             "properties": {"note": "'); DELETE FROM relation; --"}},
        ],
        source="harmonic",
    )  # fmt: skip
    assert (result.counters["inserted"], result.counters["rejected"]) == (1, 5)
    with sg.engine.connect() as conn:
        fields = conn.execute(
            sa.text("SELECT field, reason FROM reject WHERE run_id = :r ORDER BY line"),
            {"r": result.run_id},
        ).all()
    assert [f for f, _ in fields] == ["subject", "object", "predicate", "valid_to", "properties"]
    assert "does not exist" in fields[0][1]
    assert "no entity has the identifier ticker:NOPE" in fields[1][1]
    kept = sg.relations.of(world["ada"])
    assert kept[0]["properties"] == {"note": "'); DELETE FROM relation; --"}


def test_reingest_only_moves_last_seen(sg: SignalGraph, world: dict[str, uuid.UUID]) -> None:
    statement = {"subject": str(world["ada"]), "predicate": "works_at",
                 "object": str(world["acme"]), "valid_from": "2020-01-01"}  # fmt: skip
    assert sg.relations.add([statement], source="harmonic").counters["inserted"] == 1
    before = sg.relations.of(world["ada"])
    again = sg.relations.add([statement, statement], source="harmonic")
    assert (again.counters["inserted"], again.counters["unchanged"]) == (0, 2)
    after = sg.relations.of(world["ada"])
    assert [r["id"] for r in after] == [r["id"] for r in before]
    assert after[0]["last_seen"] > before[0]["last_seen"]


def test_ends_follow_merges_and_unmerge_restores(
    sg: SignalGraph, world: dict[str, uuid.UUID]
) -> None:
    helix, pharma, drug = str(world["helix"]), str(world["pharma"]), str(world["drug"])
    sg.relations.add(
        [
            {"subject": pharma, "predicate": "acquirer_match", "object": helix, "confidence": 0.7},
            {"subject": helix, "predicate": "develops", "object": drug},
        ],
        source="harmonic",
    )
    before = {e: sg.relations.of(e) for e in (helix, pharma, drug)}
    merged = sg.entities.merge([helix, pharma])
    survivor = str(merged["survivor"])
    combined = sg.relations.of(survivor)
    assert sorted((r["predicate"], r["direction"]) for r in combined) == [
        ("acquirer_match", "self"),  # both ends are now one entity: shown, marked self
        ("develops", "out"),
    ]
    on_drug = sg.relations.of(drug)
    assert on_drug[0]["other_id"] == merged["survivor"]
    sg.entities.unmerge(merged["merges"][0]["id"])
    assert {e: sg.relations.of(e) for e in (helix, pharma, drug)} == before


def test_as_of_uses_validity_and_recorded_time(
    sg: SignalGraph, world: dict[str, uuid.UUID]
) -> None:
    ada, acme, helix = str(world["ada"]), str(world["acme"]), str(world["helix"])
    sg.relations.add(
        [
            {"subject": ada, "predicate": "works_at", "object": acme,
             "valid_from": "2018-01-01", "valid_to": "2021-12-31"},
            {"subject": ada, "predicate": "works_at", "object": helix, "valid_from": "2022-01-01"},
        ],
        source="harmonic",
    )  # fmt: skip
    now = datetime.now(UTC)
    assert [r["other_name"] for r in sg.relations.of(ada, as_of=now)] == ["Helix Bio"]
    assert len(sg.relations.of(ada)) == 2
    # Nothing was recorded in 2019, whatever the statements say about that time.
    assert sg.relations.of(ada, as_of=datetime(2019, 6, 1, tzinfo=UTC)) == []
