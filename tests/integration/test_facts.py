"""Facts through the Python API, on a real database: refs, types, idempotency, reads."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.errors import UsageError


def company(external_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "type": "company", "name": name, **extra}


def rejects(sg: SignalGraph, run_id: uuid.UUID | None) -> list[dict[str, Any]]:
    with sg.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT field, reason, raw FROM reject WHERE run_id = :run ORDER BY line"),
            {"run": run_id},
        ).mappings()
        return [dict(r) for r in rows]


@pytest.fixture
def world(sg: SignalGraph) -> dict[str, uuid.UUID]:
    """Three companies from a Harmonic-like vendor, resolved to entities."""
    sg.sources.add("harmonic")
    sg.entities.ingest(
        [
            company("h1", "Moderna Inc", identifiers={"ticker": "MRNA", "domain": "modernatx.com"}),
            company("h2", "Acme Robotics", identifiers={"domain": "acme.ai"}),
            company("h3", "Zeta Foods", identifiers={"domain": "zeta.example"}),
        ],
        source="harmonic",
    )
    sg.resolve()
    ids = {r["external_id"]: r["entity_id"] for r in sg.entities.clusters(source_name="harmonic")}
    return {"moderna": ids["h1"], "acme": ids["h2"], "zeta": ids["h3"]}


def test_statements_by_id_identifier_and_record(
    sg: SignalGraph, world: dict[str, uuid.UUID]
) -> None:
    sg.facts.define("headcount", "integer", "employees")
    result = sg.facts.add(
        [
            {
                "entity": str(world["acme"]),
                "property": "headcount",
                "value": 25,
                "as_of": "2024-01-01",
            },
            {"entity": str(world["acme"])[:23], "property": "stage", "value": "Series A"},
            {"entity": {"ticker": "mrna"}, "property": "headcount", "value": "3900"},
            {
                "entity": {"source": "harmonic", "external_id": "h3"},
                "property": "headcount",
                "value": 12,
            },
        ],
        source="harmonic",
    )
    assert result.status == "succeeded", result.error
    assert result.counters["inserted"] == 4
    assert result.counters["rejected"] == 0
    assert result.counters["unknown_properties"] == 1  # stage
    acme = sg.facts.current(world["acme"])
    assert acme["headcount"]["value"] == 25
    assert acme["stage"]["value"] == "Series A"
    assert acme["stage"]["value_type"] == "string"
    assert acme["headcount"]["source"] == "harmonic"
    assert sg.facts.current(world["moderna"])["headcount"]["value"] == 3900
    assert sg.facts.current(world["zeta"])["headcount"]["value"] == 12
    assert [p["name"] for p in sg.facts.properties(unknown=True)] == ["stage"]
    assert sg.facts.properties()[0]["statements"] == 3


def test_bad_statements_are_rejected_and_the_rest_kept(
    sg: SignalGraph, world: dict[str, uuid.UUID]
) -> None:
    sg.facts.define("revenue", "money", unit="USD")
    sg.facts.define("founded", "date")
    sg.entities.ingest(
        [company("x1", "Dupe Holdings", identifiers={"ticker": "DUPE"}),
         company("x2", "Dupe Holdings", identifiers={"ticker": "DUPE"})],
        source="harmonic",
    )  # fmt: skip
    sg.resolve()
    # Two entities sharing a ticker: split one record out of the linked pair.
    linked = {r["external_id"]: r for r in sg.entities.clusters(source_name="harmonic")}
    dossier = sg.entities.show(linked["x1"]["entity_id"])
    if len(dossier["records"]) == 2:
        x2 = next(r["id"] for r in dossier["records"] if r["external_id"] == "x2")
        sg.entities.split(linked["x1"]["entity_id"], [x2])
    acme = str(world["acme"])
    result = sg.facts.add(
        [
            {"entity": str(uuid.uuid4()), "property": "revenue", "value": 1},
            {"entity": acme, "property": "revenue", "value": "lots"},
            {"entity": {"ticker": "DUPE"}, "property": "founded", "value": "2020-01-01"},
            {"entity": {"source": "harmonic", "external_id": "nope"}, "property": "x", "value": 1},
            {"entity": acme, "property": "note", "value": "a\x00b"},
            {"entity": acme, "property": "note", "value": "x'); DROP TABLE fact; --"},
            {"entity": acme, "property": "revenue", "value": 10**400},
            {"entity": acme, "property": "founded", "value": "not a date"},
            {"entity": acme, "property": "revenue", "value": 12_500_000},
            {"entity": acme, "property": "bigint", "value": 1e30},
            {"entity": acme, "property": "x", "value": 1, "signal": str(uuid.uuid4())},
            {"entity": acme, "property": "x", "value": 1, "confidence": 2},
            {"entity": acme, "property": "x", "value": 1, "source": "missing"},
        ],
        source="harmonic",
    )
    assert result.status == "succeeded"
    found = rejects(sg, result.run_id)
    reasons = [(r["field"], r["reason"]) for r in found]
    assert (result.counters["inserted"], result.counters["rejected"]) == (3, 10), reasons
    expected = [
        ("entity", "does not exist"),
        ("value", "'revenue' expects money"),
        ("entity", "is ambiguous: it matches 2 entities"),
        ("entity", "has no record 'nope'"),
        ("value", "NUL"),
        (None, "64-bit"),  # Python objects travel as JSON (files keep big integers exact)
        ("value", "'founded' expects date"),
        ("signal", "does not exist"),
        ("confidence", "not between 0 and 1"),
        ("source", "'missing' does not exist"),
    ]
    assert [field for field, _ in reasons] == [field for field, _ in expected]
    for (_, reason), (_, part) in zip(reasons, expected, strict=True):
        assert part in reason
    current = sg.facts.current(acme)
    assert current["note"]["value"] == "x'); DROP TABLE fact; --"
    assert current["revenue"]["value"] == {"amount": 12500000, "currency": "USD"}
    assert current["bigint"]["value"] == 10**30
    assert sg.facts.matching("revenue > 10M") == [world["acme"]]
    assert sg.facts.matching("revenue > 20M") == []
    assert sg.facts.matching("bigint >= 1e30") == [world["acme"]]
    # As a subquery of an entity search, combined with another condition.
    from signalgraph.schema import entity

    both = (
        sa.select(entity.c.name)
        .where(entity.c.id.in_(sg.facts.condition("revenue >= 12.5M")))
        .where(entity.c.id.in_(sg.facts.condition('note = "x\'); DROP TABLE fact; --"')))
    )
    with sg.engine.connect() as conn:
        assert conn.execute(both).scalars().all() == ["Acme Robotics"]


def test_reingest_only_moves_last_seen(sg: SignalGraph, world: dict[str, uuid.UUID]) -> None:
    statements = [
        {"entity": str(world["acme"]), "property": "headcount", "value": 25, "as_of": "2024-01-01"},
        {"entity": {"domain": "acme.ai"}, "property": "headcount", "value": 26},
    ]
    first = sg.facts.add(statements, source="harmonic")
    assert first.counters["inserted"] == 2
    before = sg.facts.history(world["acme"], "headcount")
    assert sorted(r["value"] for r in before) == [25, 26]
    again = sg.facts.add(statements, source="harmonic")
    assert again.counters["inserted"] == 0
    assert again.counters["unchanged"] == 2
    after = sg.facts.history(world["acme"], "headcount")
    assert [r["id"] for r in after] == [r["id"] for r in before]
    assert all(a["last_seen"] > b["last_seen"] for a, b in zip(after, before, strict=True))
    assert all(a["first_seen"] == b["first_seen"] for a, b in zip(after, before, strict=True))
    # The full id and a prefix of it name the same statement.
    prefixed = dict(statements[0], entity=str(world["acme"])[:23])
    assert sg.facts.add([prefixed], source="harmonic").counters["unchanged"] == 1


def test_precedence_trust_then_confidence_then_recency(
    sg: SignalGraph, world: dict[str, uuid.UUID]
) -> None:
    sg.sources.add("crm")
    sg.sources.add("registry")
    with sg.engine.begin() as conn:
        conn.execute(sa.text("UPDATE source SET trust_rank = 10 WHERE name = 'registry'"))
    acme = str(world["acme"])
    sg.facts.add(
        [
            {"entity": acme, "property": "hq", "value": "Berlin", "as_of": "2024-01-01"},
            {"entity": acme, "property": "hq", "value": "Munich", "as_of": "2024-06-01"},
            {"entity": acme, "property": "ceo", "value": "Ann", "confidence": 0.9,
             "as_of": "2024-01-01"},
            {"entity": acme, "property": "ceo", "value": "Bob", "confidence": 0.4,
             "as_of": "2024-06-01"},
        ],
        source="crm",
    )  # fmt: skip
    current = sg.facts.current(acme)
    assert current["hq"]["value"] == "Munich"  # recency
    assert current["ceo"]["value"] == "Ann"  # confidence before recency
    sg.facts.add(
        [{"entity": acme, "property": "hq", "value": "Hamburg", "as_of": "2020-01-01",
          "confidence": 0.5}],
        source="registry",
    )  # fmt: skip
    assert sg.facts.current(acme)["hq"]["value"] == "Hamburg"  # trust rank first
    # A statement may name its own source, overriding the run's.
    sg.facts.add(
        [{"entity": acme, "property": "ceo", "value": "Cy", "confidence": 0.1,
          "source": "registry"}],
        source="crm",
    )  # fmt: skip
    ceo = sg.facts.current(acme)["ceo"]
    assert (ceo["value"], ceo["source"], ceo["trust_rank"]) == ("Cy", "registry", 10)
    history = sg.facts.history(acme, "hq")
    assert [h["value"] for h in history] == ["Munich", "Berlin", "Hamburg"]
    assert [h["current"] for h in history] == [False, False, True]


def test_as_of_reads_return_what_was_known_then(
    sg: SignalGraph, world: dict[str, uuid.UUID]
) -> None:
    acme = str(world["acme"])
    sg.facts.add(
        [{"entity": acme, "property": "headcount", "value": 10, "as_of": "2023-01-01"}],
        source="harmonic",
    )
    between = datetime.now(UTC)
    sg.facts.add(
        [
            {"entity": acme, "property": "headcount", "value": 20, "as_of": "2023-06-01"},
            {"entity": acme, "property": "stage", "value": "Seed", "as_of": "2022-01-01"},
        ],
        source="harmonic",
    )
    assert sg.facts.current(acme)["headcount"]["value"] == 20
    then = sg.facts.current(acme, as_of=between)
    assert then["headcount"]["value"] == 10  # the later statement was not recorded yet
    assert "stage" not in then
    valid = sg.facts.current(acme, as_of=datetime(2023, 3, 1, tzinfo=UTC))
    assert valid == {}  # nothing was recorded by then (recorded time is today)


def test_merge_and_unmerge_round_trip(sg: SignalGraph, world: dict[str, uuid.UUID]) -> None:
    acme, zeta = str(world["acme"]), str(world["zeta"])
    sg.facts.add(
        [
            {"entity": acme, "property": "headcount", "value": 25, "as_of": "2024-01-01"},
            {"entity": acme, "property": "city", "value": "Berlin"},
            {"entity": zeta, "property": "headcount", "value": 40, "as_of": "2024-02-01"},
            {"entity": zeta, "property": "sector", "value": "food"},
        ],
        source="harmonic",
    )
    before = {e: sg.facts.current(e) for e in (acme, zeta)}
    merged = sg.entities.merge([acme, zeta], reason="same")
    survivor = str(merged["survivor"])
    combined = sg.facts.current(survivor)
    assert set(combined) == {"headcount", "city", "sector"}
    assert combined["headcount"]["value"] == 40  # the more recent statement
    assert sg.facts.current(zeta if survivor == acme else acme) == combined  # redirect followed
    assert len(sg.facts.history(survivor, "headcount")) == 2
    sg.entities.unmerge(merged["merges"][0]["id"])
    assert {e: sg.facts.current(e) for e in (acme, zeta)} == before


def test_series_and_percentiles(sg: SignalGraph, world: dict[str, uuid.UUID]) -> None:
    sg.facts.define("ma_score", "number", "daily M&A likelihood")
    scores = {"moderna": [50, 70], "acme": [60, 65], "zeta": [90, 10]}
    statements = [
        {"entity": str(world[name]), "property": "ma_score", "value": value,
         "as_of": f"2024-03-0{day + 1}T12:00:00Z"}
        for name, values in scores.items()
        for day, value in enumerate(values)
    ]  # fmt: skip
    statements.append(
        {"entity": str(world["acme"]), "property": "ma_score", "value": 61,
         "as_of": "2024-03-01T18:00:00Z"}
    )  # fmt: skip
    assert sg.facts.add(statements, source="harmonic").counters["inserted"] == 7
    ranks = sg.facts.percentile("ma_score", date=date(2024, 3, 1))
    assert [(r["name"], float(r["value"]), r["percentile"]) for r in ranks] == [
        ("Zeta Foods", 90.0, 1.0),
        ("Acme Robotics", 61.0, 0.5),  # the day's last value
        ("Moderna Inc", 50.0, 0.0),
    ]
    assert len(sg.facts.percentile("ma_score", entity_type="company")) == 6
    assert len(sg.facts.percentile("ma_score", limit=4)) == 4
    with sg.engine.begin() as conn:  # an archived company is no one's peer
        conn.execute(
            sa.text("UPDATE entity SET archived_at = now() WHERE id = :id"), {"id": world["zeta"]}
        )
    ranked = sg.facts.percentile("ma_score", date=date(2024, 3, 1))
    assert [(r["name"], r["percentile"]) for r in ranked] == [
        ("Acme Robotics", 1.0), ("Moderna Inc", 0.0)
    ]  # fmt: skip
    assert len(sg.facts.series("ma_score", entity=world["zeta"])) == 2  # asked for by id
    with sg.engine.begin() as conn:
        conn.execute(sa.text("UPDATE entity SET archived_at = NULL"))
    assert len(sg.facts.series("ma_score", limit=2)) == 2
    assert sg.facts.percentile("ma_score", entity_type="person") == []
    daily = sg.facts.series("ma_score", entity=world["acme"])
    assert [float(p["value_num"]) for p in daily] == [61.0, 65.0]
    monthly = sg.facts.series("ma_score", interval="month")
    assert len(monthly) == 3
    assert {float(p["value_num"]) for p in monthly} == {70.0, 65.0, 10.0}
    window = sg.facts.series(
        "ma_score", start=datetime(2024, 3, 2, tzinfo=UTC), end=datetime(2024, 3, 3, tzinfo=UTC)
    )
    assert len(window) == 3
    with pytest.raises(UsageError):
        sg.facts.series("ma_score", interval="fortnight")


def test_registry_rejects_bad_definitions(sg: SignalGraph) -> None:
    with pytest.raises(UsageError):
        sg.facts.define("revenue", "currency")
    with pytest.raises(UsageError):
        sg.facts.define("x'; drop table fact", "number")
    defined = sg.facts.define("Revenue", "money", "annual revenue", unit="EUR")
    assert defined["name"] == "revenue"
    assert sg.facts.define("revenue", "number")["type"] == "number"
    with pytest.raises(UsageError):
        sg.facts.matching("revenue is big")


def test_csv_statements(sg: SignalGraph, world: dict[str, uuid.UUID], tmp_path: Any) -> None:
    sg.facts.define("headcount", "integer")
    path = tmp_path / "metrics.csv"
    path.write_text(
        "external_id,entity,property,value,as_of,confidence,unit\n"
        "1,ticker:MRNA,headcount,3900,2024-01-01,0.5,\n"
        '2,"{""source"": ""harmonic"", ""external_id"": ""h2""}",headcount,25,,,\n'
        "3,ticker:MRNA,headcount,lots,,,\n"
        "4,ticker:MRNA,headcount,1,,high,\n"
    )
    result = sg.facts.ingest(str(path), source="harmonic")
    assert (result.counters["inserted"], result.counters["rejected"]) == (2, 2)
    moderna = sg.facts.current(world["moderna"])["headcount"]
    assert (moderna["value"], moderna["confidence"]) == (3900, 0.5)
    assert sg.facts.current(world["acme"])["headcount"]["value"] == 25
    fields = [r["field"] for r in rejects(sg, result.run_id)]
    assert fields == ["value", "confidence"]


def test_every_new_statement_is_audited_and_resightings_are_not(
    sg: SignalGraph, world: dict[str, uuid.UUID]
) -> None:
    statements = [
        {"entity": str(world[name]), "property": "ma_score", "value": i, "as_of": "2024-03-01"}
        for i, name in enumerate(("moderna", "acme", "zeta"))
    ]
    first = sg.facts.add(statements, source="harmonic", actor="scorer")
    assert sg.audit.count(object_type="fact") == 3
    events = sg.audit.list(object_type="fact", run_id=first.run_id).items
    assert {e.actor for e in events} == {"scorer"}
    assert {e.after["property"] for e in events} == {"ma_score"}
    sg.facts.add(statements, source="harmonic")
    assert sg.audit.count(object_type="fact") == 3
    sg.facts.define("ma_score", "number", actor="analyst")
    assert sg.audit.count(object_type="fact_property") == 1


def test_an_undated_value_that_returns_is_current_again(
    sg: SignalGraph, world: dict[str, uuid.UUID]
) -> None:
    acme = str(world["acme"])
    for value in ("25", "30", "25"):  # snapshots without as_of: A, B, then A again
        sg.facts.add([{"entity": acme, "property": "headcount", "value": value}], source="harmonic")
    assert sg.facts.current(acme)["headcount"]["value"] == "25"
    history = sg.facts.history(acme, "headcount")
    assert len(history) == 2  # the second 25 only moved last_seen
    assert not history[0]["dated"]
