"""Numeric fact values at the edges: every statement stored consistently or rejected alone."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from tests.corpus import one_company


@pytest.fixture
def acme(sg: SignalGraph) -> uuid.UUID:
    """One resolved company, with integer, number and money properties defined."""
    company: uuid.UUID = one_company(sg)
    sg.facts.define("headcount", "integer")
    sg.facts.define("score", "number")
    sg.facts.define("revenue", "money", unit="USD")
    return company


def statements_file(path: Path, cases: list[tuple[str, str]]) -> Path:
    """Write one statement per (property, value as JSON text) for entity ticker AC."""
    lines = [
        f'{{"entity": "ticker:AC", "property": "{prop}", "value": {value}, '
        f'"as_of": "2024-01-{day:02d}"}}'
        for day, (prop, value) in enumerate(cases, start=1)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def stored(sg: SignalGraph) -> dict[tuple[str, str], dict[str, Any]]:
    """Return the stored statements by (property, as_of day), with JSON and numeric values."""
    with sg.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT property, to_char(as_of AT TIME ZONE 'UTC', 'DD') AS day, value_type, "
                "value::text AS json, value_num::text AS num, currency FROM fact"
            )
        ).mappings()
        return {(r["property"], r["day"]): dict(r) for r in rows}


def reject_reasons(sg: SignalGraph, run_id: uuid.UUID | None) -> dict[int, tuple[str, str]]:
    with sg.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT line, field, reason FROM reject WHERE run_id = :run"), {"run": run_id}
        )
        return {line: (field, reason) for line, field, reason in rows}


def test_numeric_strings_beyond_a_double_are_stored_exactly_or_rejected_alone(
    sg: SignalGraph, acme: uuid.UUID, tmp_path: Path
) -> None:
    big = "9" * 999
    cases = [
        ("headcount", '"1e400"'),  # 1: an integer written with an exponent: exact
        ("headcount", "123456789012345678901234567890"),  # 2: beyond 64 bits and 28 digits
        ("headcount", '"1e1000"'),  # 3: 1001 digits: out of range
        ("headcount", '"2.5"'),  # 4: not an integer
        ("score", '"1e400"'),  # 5: beyond a double: exact
        ("score", f'"{big}"'),  # 6: 999 digits: exact
        ("score", '"-1e-400"'),  # 7: below a double: exact, not 0.0
        ("score", '"NaN"'),  # 8
        ("score", '"Infinity"'),  # 9
        ("score", '"-inf"'),  # 10
        ("score", '"1e-1001"'),  # 11: 1001 digits after the point: out of range
        ("score", "12345678901234567890123.5"),  # 12: a JSON number stays what orjson read
        ("revenue", '"1e400"'),  # 13: exact amount in the unit's currency
        ("revenue", '"12M"'),  # 14: suffixes are for conditions, not values
        ("revenue", '"1e400 USD"'),  # 15
        ("revenue", '{"amount": "-1e-400", "currency": "eur"}'),  # 16: exact, not 0.0
        ("headcount", "25"),  # 17: an ordinary value in the same batch
        ("mystery", '"1e400"'),  # 18: an unknown property keeps the string
        ("score", '"1e131073"'),  # 19: beyond numeric's range
    ]
    result = sg.facts.ingest(statements_file(tmp_path / "edge.ndjson", cases), source="harmonic")
    assert result.status == "succeeded", result.error
    rejected = reject_reasons(sg, result.run_id)
    assert sorted(rejected) == [3, 4, 8, 9, 10, 11, 14, 15, 19]
    assert all(field == "value" for field, _ in rejected.values())
    assert "'headcount' expects integer" in rejected[3][1]
    assert "out of range" in rejected[3][1]
    assert "1000 digits" in rejected[3][1]
    assert "'2.5' is not an integer" in rejected[4][1]
    for line in (8, 9, 10):
        assert "not a finite number" in rejected[line][1], rejected[line]
    assert "out of range" in rejected[11][1]
    assert "'12M' is not a number" in rejected[14][1]
    assert "'1e400 USD' is not a number" in rejected[15][1]
    assert "out of range" in rejected[19][1]
    assert result.counters["inserted"] == len(cases) - len(rejected)

    rows = stored(sg)
    assert rows[("headcount", "01")]["num"] == "1" + "0" * 400
    assert rows[("headcount", "01")]["json"] == "1" + "0" * 400
    assert rows[("headcount", "02")]["json"] == "123456789012345678901234567890"
    assert rows[("score", "05")]["num"] == "1" + "0" * 400
    assert rows[("score", "06")]["json"] == big
    tiny = "-0." + "0" * 399 + "1"
    assert (rows[("score", "07")]["json"], rows[("score", "07")]["num"]) == (tiny, tiny)
    assert rows[("revenue", "13")]["json"] == '{"amount": 1' + "0" * 400 + ', "currency": "USD"}'
    assert rows[("revenue", "16")]["num"] == tiny
    assert rows[("revenue", "16")]["currency"] == "EUR"
    assert rows[("mystery", "18")]["json"] == '"1e400"'
    # JSON and numeric copies never disagree.
    with sg.engine.connect() as conn:
        differ = conn.execute(
            sa.text(
                "SELECT count(*) FROM fact WHERE value_num IS DISTINCT FROM CASE value_type "
                "WHEN 'money' THEN (value ->> 'amount')::numeric "
                "WHEN 'string' THEN value_num ELSE (value #>> '{}')::numeric END"
            )
        ).scalar_one()
    assert differ == 0
    assert sg.facts.matching("score > 1e22") == [acme]  # the latest: line 12
    assert sg.facts.matching("headcount = 25") == [acme]


def test_a_statement_that_is_not_a_number_names_what_was_given(
    sg: SignalGraph, acme: uuid.UUID
) -> None:
    result = sg.facts.add(
        [
            {"entity": "ticker:AC", "property": "score", "value": "lots"},
            {"entity": "ticker:AC", "property": "score", "value": "1e400"},
            {"entity": "ticker:AC", "property": "score", "value": json.loads("1.5")},
        ],
        source="harmonic",
    )
    assert (result.counters["inserted"], result.counters["rejected"]) == (2, 1)
    (field, reason) = reject_reasons(sg, result.run_id)[1]
    assert field == "value"
    assert reason == "property 'score' expects number: 'lots' is not a number"
