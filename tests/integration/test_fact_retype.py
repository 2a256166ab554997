"""Defining a property, or changing its type, re-types the statements already stored."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import psycopg
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.db.admin import check
from signalgraph.db.engine import dedicated_connection
from signalgraph.facts.statements import validate_fact
from signalgraph.facts.writer import FactWriter
from signalgraph.ids import utcnow
from signalgraph.load.batches import Batch, Row
from signalgraph.load.fields import Limits
from tests.corpus import one_company


def typed(sg: SignalGraph, prop: str) -> list[tuple[str, Any, Any]]:
    """Return (value_type, value, value_num) of the property's statements, oldest as_of first."""
    with sg.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT value_type, value, value_num FROM fact WHERE property = :prop "
                "ORDER BY as_of"
            ),
            {"prop": prop},
        )
        return [tuple(row) for row in rows]


def no_drift(sg: SignalGraph) -> None:
    deep = check(sg.engine, deep=True)
    assert (deep["integrity"]["fact_current_drift"], deep["integrity"]["fact_daily_drift"]) == (
        0,
        0,
    )


def test_money_statements_stored_before_define_match_conditions_after_it(
    sg: SignalGraph,
) -> None:
    acme = one_company(sg)
    statements = [
        {"entity": "ticker:AC", "property": "revenue", "as_of": "2024-01-01",
         "value": {"amount": 9000000, "currency": "USD"}},
        {"entity": "ticker:AC", "property": "revenue", "as_of": "2024-02-01", "value": "n/a"},
        {"entity": "ticker:AC", "property": "revenue", "as_of": "2024-03-01",
         "value": {"amount": 12000000, "currency": "USD"}},
        {"entity": "ticker:AC", "property": "revenue", "as_of": "2024-04-01", "value": "13e6",
         "unit": "eur"},
    ]  # fmt: skip
    assert sg.facts.add(statements, source="harmonic").counters["unknown_properties"] == 4
    assert sg.facts.matching("revenue > 10M") == []

    defined = sg.facts.define("revenue", "money", unit="USD", actor="ana")
    retyped = defined["retyped"]
    assert {k: retyped[k] for k in ("seen", "updated", "rejected")} == {
        "seen": 4,
        "updated": 3,
        "rejected": 1,
    }
    assert typed(sg, "revenue") == [
        ("money", {"amount": 9000000, "currency": "USD"}, 9000000),
        ("string", "n/a", None),  # does not convert: kept as it was, and reported
        ("money", {"amount": 12000000, "currency": "USD"}, 12000000),
        ("money", {"amount": 13000000, "currency": "EUR"}, 13000000),
    ]
    assert sg.facts.matching("revenue > 10M") == [acme]
    assert sg.facts.current(acme)["revenue"]["value_type"] == "money"
    no_drift(sg)
    with sg.engine.connect() as conn:
        events = conn.execute(
            sa.text(
                "SELECT actor, before ->> 'value_type', after ->> 'value_type' FROM audit_event "
                "WHERE object_type = 'fact' AND action = 'update'"
            )
        ).all()
    assert [tuple(e) for e in events] == [("ana", "string", "money")] * 3

    run = sg.runs.get(retyped["run_id"])
    assert (run.kind, run.status) == ("facts-retype", "succeeded")
    assert {k: run.counters[k] for k in ("seen", "updated", "rejected")} == {
        "seen": 4,
        "updated": 3,
        "rejected": 1,
    }
    (reject,) = sg.rejects.list(run_id=run.id)
    assert reject.field == "value"
    assert reject.reason.endswith("property 'revenue' expects money: 'n/a' is not a number")
    assert orjson.loads(reject.raw) == {
        "entity": str(acme), "property": "revenue", "value": "n/a", "source": "harmonic",
        "as_of": "2024-02-01T00:00:00+00:00",
    }  # fmt: skip

    # Ingesting the same statements again stores nothing new (the one that does not convert
    # is now rejected up front); defining again reports it again.
    again = sg.facts.add(statements, source="harmonic")
    counters = again.counters
    assert (counters["unchanged"], counters["rejected"], counters["unknown_properties"]) == (
        3,
        1,
        0,
    )
    assert sg.facts.define("revenue", "money", unit="USD")["retyped"]["rejected"] == 1


def test_a_changed_type_retypes_what_converts_and_keeps_the_rest(sg: SignalGraph) -> None:
    acme = one_company(sg)
    sg.facts.define("score", "number")
    sg.facts.add(
        [{"entity": "ticker:AC", "property": "score", "value": value, "as_of": f"2024-01-0{day}"}
         for day, value in enumerate(["3", 2.5, "1e30", 7], start=1)],
        source="harmonic",
    )  # fmt: skip
    assert sg.facts.define("score", "number")["retyped"] is None  # nothing is stale

    retyped = sg.facts.define("score", "integer")["retyped"]
    assert (retyped["updated"], retyped["rejected"]) == (3, 1)
    assert typed(sg, "score") == [
        ("integer", 3, 3),
        ("number", 2.5, 2.5),
        ("integer", 10**30, 10**30),
        ("integer", 7, 7),
    ]
    assert sg.facts.matching("score = 7") == [acme]
    retyped = sg.facts.define("score", "string")["retyped"]
    assert (retyped["updated"], retyped["rejected"]) == (4, 0)
    assert [value for _, value, _ in typed(sg, "score")] == ["3", "2.5", str(10**30), "7"]
    assert sg.facts.matching("score = '7'") == [acme]
    assert sg.facts.matching("score = 7") == []
    no_drift(sg)


def test_define_waits_for_a_batch_typing_the_same_property(
    sg: SignalGraph, database_url: str
) -> None:
    one_company(sg)
    source_id = sg.sources.get("harmonic").id
    run_id = sg.runs.start("facts-ingest", source_id=source_id)
    statement = {"entity": "ticker:AC", "property": "revenue", "value": 12000000, "unit": "USD"}
    row = Row(
        seq=1, file=None, line=1, raw=orjson.dumps(statement),
        record=validate_fact(statement, observed_at=utcnow(), limits=Limits()),
    )  # fmt: skip
    with dedicated_connection(sg.url, sg.settings) as batch_conn:
        FactWriter(batch_conn, sg.workspace_id, source_id, run_id).write(Batch(rows=[row]))
        # The batch typed the statement as unknown and has not committed: define must wait
        # for it, or it would miss the statement.
        defined: dict[str, Any] = {}
        define = threading.Thread(
            target=lambda: defined.update(sg.facts.define("revenue", "money", unit="USD"))
        )
        define.start()
        with psycopg.connect(database_url, autocommit=True) as watcher:
            while define.is_alive() and not waiting_for_advisory_lock(watcher):
                define.join(0.05)
        assert define.is_alive(), "define did not wait for the batch"
        batch_conn.commit()
    define.join()
    assert defined["retyped"]["updated"] == 1
    assert typed(sg, "revenue") == [("money", {"amount": 12000000, "currency": "USD"}, 12000000)]


def waiting_for_advisory_lock(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchone()
    return bool(row and row[0])
