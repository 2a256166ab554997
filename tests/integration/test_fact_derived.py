"""fact_current and fact_daily stay equal to a recomputation through every kind of change."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import date
from typing import Any

import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.db.admin import check
from signalgraph.facts.derived import CURRENT_DRIFT, DAILY_DRIFT


def drift(sg: SignalGraph) -> tuple[int, int, int]:
    """Return (rows in fact_current, current drift, daily drift)."""
    with sg.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM fact_current")).scalar_one()
        current = conn.execute(sa.text(CURRENT_DRIFT)).scalar_one()
        daily = conn.execute(sa.text(DAILY_DRIFT)).scalar_one()
    return int(rows), int(current), int(daily)


def companies(sg: SignalGraph, count: int) -> list[uuid.UUID]:
    sg.sources.add("registry")
    sg.entities.ingest(
        [
            {"external_id": f"c{i}", "type": "company", "name": f"Company Number {i} Holdings"}
            for i in range(count)
        ],
        source="registry",
    )
    sg.resolve()
    clusters = sg.entities.clusters(source_name="registry")
    by_record = {r["external_id"]: r["entity_id"] for r in clusters}
    return [by_record[f"c{i}"] for i in range(count)]


def statements(rng: random.Random, ids: list[uuid.UUID], count: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(count):
        prop = rng.choice(["revenue", "score", "country"])
        value: Any = (
            rng.choice(["DE", "FR", "US"]) if prop == "country" else rng.randrange(1, 50) * 10
        )
        statement: dict[str, Any] = {
            "entity": str(rng.choice(ids)),
            "property": prop,
            "value": value,
            "as_of": f"2026-07-0{rng.randrange(1, 4)}T{rng.randrange(0, 24):02d}:00:00Z",
        }
        if rng.random() < 0.5:
            statement["confidence"] = rng.choice([0.5, 0.9])
        out.append(statement)
    return out


def test_derived_tables_follow_every_change(sg: SignalGraph) -> None:
    rng = random.Random(7)
    ids = companies(sg, 12)
    sg.sources.add("vendor", trust_rank=1)
    sg.sources.add("analyst", trust_rank=5)
    sg.facts.define("revenue", "number")
    sg.facts.define("score", "number")
    first = statements(rng, ids, 80)
    sg.facts.add(first[:50], source="vendor")
    sg.facts.add(first[50:], source="analyst")
    rows, current, daily = drift(sg)
    assert rows > 0
    assert (current, daily) == (0, 0)

    # The same statements again only move last_seen (an UPDATE of fact).
    sg.facts.add(first[:50], source="vendor")
    assert drift(sg)[1:] == (0, 0)

    # Merge, then check: one canonical entity carries both sides' winners.
    merged = sg.entities.merge([ids[0], ids[1]])
    survivor = merged["survivor"]
    assert drift(sg)[1:] == (0, 0)
    with sg.engine.connect() as conn:
        holders = set(
            conn.execute(sa.text("SELECT DISTINCT entity_id FROM fact_current")).scalars()
        )
    assert {ids[0], ids[1]} - {survivor} <= set(ids) - holders

    # New statements written for the absorbed id land on the survivor.
    absorbed = ids[1] if survivor == ids[0] else ids[0]
    sg.facts.add(
        [{"entity": str(absorbed), "property": "revenue", "value": 99999, "as_of": "2026-08-01"}],
        source="analyst",
    )
    assert drift(sg)[1:] == (0, 0)
    assert sg.facts.matching("revenue > 99998") == [survivor]

    # Unmerge: each side has its own winners back.
    sg.entities.unmerge(absorbed)
    assert drift(sg)[1:] == (0, 0)
    assert sg.facts.matching("revenue > 99998") == [absorbed]

    # A trust rank changes (no API yet: an operator's UPDATE), an entity changes type and
    # one is archived: the winners and the peers follow.
    with sg.engine.begin() as conn:
        conn.execute(sa.text("UPDATE source SET trust_rank = 9 WHERE name = 'vendor'"))
        conn.execute(
            sa.text("UPDATE entity SET type = 'organization' WHERE id = :id"), {"id": ids[5]}
        )
    sg.entities.archive(ids[6])
    assert drift(sg)[1:] == (0, 0)
    # Each entity is ranked among those of its type that day, the re-typed one included
    # (it has a score on 2026-07-02).
    ranked = sg.facts.percentile("score", date=date(2026, 7, 2))
    assert {r["entity_id"]: r["type"] for r in ranked if r["entity_id"] == ids[5]} == {
        ids[5]: "organization"
    }
    by_type = Counter(r["type"] for r in ranked)
    assert sorted(by_type) == ["company", "organization"]
    assert {(r["type"], r["peers"]) for r in ranked} == set(by_type.items())
    every_day = {r["entity_id"] for r in sg.facts.percentile("score")}
    assert ids[5] in every_day
    assert ids[6] not in every_day  # archived; it has a score on 2026-07-03

    # A deleted statement (an operator's DELETE) gives way to the next one.
    with sg.engine.begin() as conn:
        conn.execute(
            sa.text("DELETE FROM fact WHERE id IN (SELECT fact_id FROM fact_current LIMIT 3)")
        )
    assert drift(sg)[1:] == (0, 0)
    # An operator moves statements to another day and empties a number: the days they
    # left lose (or change) their winner.
    with sg.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE fact SET as_of = as_of + interval '3 days' "
                "WHERE id IN (SELECT fact_id FROM fact_daily ORDER BY fact_id LIMIT 4)"
            )
        )
        conn.execute(
            sa.text(
                "UPDATE fact SET confidence = 0.01 "
                "WHERE id IN (SELECT fact_id FROM fact_current ORDER BY fact_id LIMIT 5)"
            )
        )
        conn.execute(
            sa.text(
                "UPDATE fact SET value_text = 'corrected' "
                "WHERE id IN (SELECT fact_id FROM fact_current WHERE property = 'country')"
            )
        )
        conn.execute(
            sa.text(
                "UPDATE fact SET value_num = NULL "
                "WHERE id IN (SELECT fact_id FROM fact_daily ORDER BY fact_id DESC LIMIT 2)"
            )
        )
    assert drift(sg)[1:] == (0, 0)
    assert check(sg.engine, deep=True)["ok"]

    # The check sees a tampered row (the trigger-kept tables are not written by hand).
    with sg.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM fact_daily WHERE entity_id = :id"), {"id": ids[2]})
    report = check(sg.engine, deep=True)
    assert not report["ok"]
    assert report["integrity"]["fact_daily_drift"] > 0


def test_percentile_matches_percent_rank(sg: SignalGraph) -> None:
    ids = companies(sg, 9)
    sg.sources.add("vendor")
    sg.facts.define("score", "number")
    values = [5, 1, 5, 9, 3, 5, 7, 2, 9]  # ties on 5 and 9
    sg.facts.add(
        [
            {"entity": str(i), "property": "score", "value": v, "as_of": "2026-07-01"}
            for i, v in zip(ids, values, strict=True)
        ],
        source="vendor",
    )
    ranked = sg.facts.percentile("score", date=date(2026, 7, 1))
    with sg.engine.connect() as conn:
        expected = dict(
            conn.execute(
                sa.text(
                    "SELECT entity_id, percent_rank() OVER (ORDER BY value_num) FROM fact_daily"
                )
            ).all()
        )
    assert {r["entity_id"]: r["percentile"] for r in ranked} == expected
    assert [float(r["value"]) for r in ranked] == sorted(values, reverse=True)
    assert {r["peers"] for r in ranked} == {9}
    top = [r["percentile"] for r in ranked if float(r["value"]) == 9]
    assert top == [7 / 8, 7 / 8]
