"""Input fidelity: what the readers make of repeated keys, JSON cells, invisible keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.errors import InputError


def rows(sg: SignalGraph, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with sg.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql), params)]


@pytest.fixture
def crm(sg: SignalGraph) -> SignalGraph:
    sg.sources.add("crm")
    return sg


def test_a_signal_repeating_a_key_keeps_its_line_verbatim_in_raw(
    crm: SignalGraph, tmp_path: Path
) -> None:
    line = b'{"external_id": "d1", "title": "first", "title": "second", "metadata": {"a": 1}}'
    nested = b'{"external_id": "d2", "metadata": {"tags": [{"k": 1, "k": 2}]}, "raw": {"id": 9}}'
    path = tmp_path / "repeats.ndjson"
    path.write_bytes(line + b"\n" + nested + b"\n")
    result = crm.ingest(path, source="crm")
    assert (result.counters["inserted"], result.counters["rejected"]) == (2, 0)
    stored = dict(rows(crm, "SELECT external_id, raw FROM signal"))
    assert stored["d1"]["title"] == "second"  # fields take the last value, as JSON parsers do
    assert stored["d1"]["_verbatim"] == line.decode()  # and the first is not lost
    assert stored["d2"] == {"id": 9, "_unknown_fields": {"_verbatim": nested.decode()}}
    # Only the first value differs: still a change, not "unchanged".
    path.write_bytes(line.replace(b'"first"', b'"other"') + b"\n")
    assert crm.ingest(path, source="crm").counters["updated"] == 1


def test_entity_records_and_statements_repeating_a_key_are_rejected_naming_it(
    crm: SignalGraph, tmp_path: Path
) -> None:
    path = tmp_path / "entities.ndjson"
    path.write_bytes(
        b'{"external_id": "e1", "type": "company", "name": "Acme", "name": "Acme Corp"}\n'
        b'{"external_id": "e2", "type": "company", "name": "Beta", '
        b'"properties": {"city": "Oslo", "city": "Bergen"}}\n'
        b'{"external_id": "e3", "type": "company", "name": "Gamma"}\n'
    )
    result = crm.entities.ingest(path, source="crm")
    assert (result.counters["inserted"], result.counters["rejected"]) == (1, 2)
    rejects = crm.rejects.list(run_id=result.run_id)
    assert [(r.line, r.field) for r in rejects] == [(1, "name"), (2, "properties.city")]
    assert all(r.reason.startswith("duplicate key") for r in rejects)
    statements = tmp_path / "facts.ndjson"
    statements.write_bytes(
        b'{"entity": {"domain": "acme.ai"}, "property": "headcount", "value": 1, "value": 2}\n'
    )
    result = crm.facts.ingest(statements, source="crm")
    (reject,) = crm.rejects.list(run_id=result.run_id)
    assert (reject.field, reject.raw) == ("value", statements.read_bytes().rstrip(b"\n"))


def test_entity_csv_json_columns_are_parsed(crm: SignalGraph, tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_text(
        "external_id,type,name,aliases,identifiers,properties\n"
        'c1,company,Acme,"[""A1"",""A2""]","{""domain"": ""acme.ai""}","{""city"": ""Oslo""}"\n'
        "c2,company,Beta,Beta Group,,\n"
        'c3,company,Gamma,,"{""domain"": ""gamma.io""",\n'
    )
    result = crm.entities.ingest(path, source="crm")
    assert (result.counters["inserted"], result.counters["rejected"]) == (2, 1)
    stored = {
        external_id: (aliases, identifiers, properties)
        for external_id, aliases, identifiers, properties in rows(
            crm,
            "SELECT external_id, aliases, identifiers, properties FROM entity_record",
        )
    }
    assert stored["c1"] == (["A1", "A2"], {"domain": ["acme.ai"]}, {"city": "Oslo"})
    assert stored["c2"] == (["Beta Group"], {}, {})  # one plain alias, empty cells absent
    (reject,) = crm.rejects.list(run_id=result.run_id)
    assert reject.field == "identifiers"
    assert reject.reason.startswith("is not valid JSON")


def test_statement_csv_times_may_be_epoch_seconds(crm: SignalGraph, tmp_path: Path) -> None:
    crm.entities.ingest(
        [{"external_id": "a", "type": "company", "name": "Acme",
          "identifiers": {"domain": "acme.ai"}}],
        source="crm",
    )  # fmt: skip
    crm.resolve()
    facts = tmp_path / "facts.csv"
    facts.write_text(
        "external_id,entity,property,value,as_of\n1,domain:acme.ai,headcount,30,1704067200\n"
    )
    assert crm.facts.ingest(facts, source="crm").counters["inserted"] == 1
    (as_of,) = rows(crm, "SELECT as_of FROM fact")
    assert as_of[0].isoformat() == "2024-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    "invisible", ["\u200b", "\u200c\u200d", "\u2060", "\ufeff", " \u200b ", "\u3000"]
)
def test_external_ids_of_invisible_characters_are_empty(crm: SignalGraph, invisible: str) -> None:
    signal = crm.ingest([{"external_id": invisible, "text": "x"}], source="crm")
    entity = crm.entities.ingest(
        [{"external_id": invisible, "type": "company", "name": "Acme"}], source="crm"
    )
    fact = crm.facts.ingest(
        [{"entity": {"source": "crm", "external_id": invisible}, "property": "p", "value": 1}],
        source="crm",
    )
    linked = crm.ingest(
        [{"external_id": "ok", "links": [{"type": "amends", "to": {"external_id": invisible}}]}],
        source="crm",
    )
    for result, field in [
        (signal, "external_id"),
        (entity, "external_id"),
        (fact, "entity"),
        (linked, "links[0].to.external_id"),
    ]:
        (reject,) = crm.rejects.list(run_id=result.run_id)
        assert reject.field == field
        assert "empty" in reject.reason


def test_a_time_zone_offset_out_of_range_is_said_plainly(crm: SignalGraph) -> None:
    result = crm.ingest(
        [
            {"external_id": "a", "published_at": "2024-01-01T00:00:00+24:00"},
            {"external_id": "b", "published_at": "2024-13-01"},
            {"external_id": "c", "published_at": -(10**15)},
        ],
        source="crm",
    )
    reasons = [r.reason for r in crm.rejects.list(run_id=result.run_id)]
    assert reasons == [
        "'2024-01-01T00:00:00+24:00' has a time zone offset out of range "
        "(it must be under 24 hours)",
        "'2024-13-01' is not a valid time: month out of range",
        "-1000000000000000 is out of range",
    ]


def test_a_csv_header_naming_a_column_twice_is_refused_before_anything_is_written(
    crm: SignalGraph, tmp_path: Path
) -> None:
    path = tmp_path / "twice.csv"
    path.write_bytes(b"external_id,,title,\nc1,x,t,y\n")
    with pytest.raises(InputError, match="names an unnamed column twice"):
        crm.ingest(path, source="crm")
    assert rows(crm, "SELECT count(*) FROM run") == [(0,)]
