"""Facts and relations from the command line, as the seed systems would use them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def write(path: Path, records: list[dict[str, Any]], *extra: bytes) -> Path:
    lines = [json.dumps(r).encode() for r in records]
    path.write_bytes(b"\n".join([*lines, *extra]) + b"\n")
    return path


def ok(result: CliResult, code: int = 0) -> Any:
    assert result.exit_code == code, result.stderr
    return result.json()


def test_company_metrics_biotech_scores_and_relations(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    base = ["--database-url", database_url]
    assert cli(*base, "source", "add", "harmonic").exit_code == 0
    companies = write(
        tmp_path / "companies.ndjson",
        [
            {"external_id": "123", "type": "company", "name": "Acme AI",
             "identifiers": {"domain": "acme.ai"}},
            {"external_id": "124", "type": "company", "name": "Moderna",
             "identifiers": {"ticker": "MRNA"}},
            {"external_id": "125", "type": "company", "name": "Vertex",
             "identifiers": {"ticker": "VRTX"}},
            {"external_id": "p1", "type": "person", "name": "Jane Founder",
             "identifiers": {"email": "jane@acme.ai"}},
        ],
    )  # fmt: skip
    assert cli(*base, "entities", "ingest", str(companies), "--source", "harmonic").exit_code == 0
    assert cli(*base, "resolve").exit_code == 0
    defined = ok(cli(*base, "facts", "define", "headcount", "--type", "integer", "--json"))
    assert defined["type"] == "integer"
    ok(cli(*base, "facts", "define", "revenue", "--type", "money", "--unit", "USD", "--json"))
    ok(cli(*base, "facts", "define", "ma_score", "--type", "number", "--json"))
    assert cli(*base, "facts", "define", "x", "--type", "colour").exit_code == 2

    acme = {"source": "harmonic", "external_id": "123"}
    metrics = write(
        tmp_path / "metrics.ndjson",
        [
            {"entity": acme, "property": "headcount", "value": 25, "as_of": "2024-01-01"},
            {"entity": acme, "property": "headcount", "value": 30, "as_of": "2024-02-01"},
            {"entity": acme, "property": "revenue", "value": 12000000, "as_of": "2024-02-01"},
            {"entity": acme, "property": "stage", "value": "Series A"},
            {"entity": acme, "property": "huge", "value": 10**30},
            {"entity": {"ticker": "MRNA"}, "property": "ma_score", "value": 71.5,
             "as_of": "2024-03-01"},
            {"entity": {"ticker": "VRTX"}, "property": "ma_score", "value": 40,
             "as_of": "2024-03-01"},
            {"entity": {"ticker": "ZZZZ"}, "property": "ma_score", "value": 1},
            {"entity": acme, "property": "headcount", "value": "many"},
        ],
        b'{"entity": "not an id!", "property": "headcount", "value": 1}',
        b'{"entity": {"ticker": "MRNA"}, "property": "huge", "value": 1' + b"0" * 1200 + b"}",
    )  # fmt: skip
    report = ok(
        cli(*base, "facts", "ingest", str(metrics), "--source", "harmonic", "--json"), code=3
    )
    counters = report["counters"]
    assert (counters["inserted"], counters["rejected"]) == (7, 4)
    assert counters["unknown_properties"] == 2  # stage, huge
    rejects = ok(cli(*base, "rejects", "list", "--run", report["run_id"], "--json"))["items"]
    # A number beyond a double is refused by the reader, before any field is looked at.
    assert {r["field"] for r in rejects} == {"entity", "value", None}
    assert any("no entity has the identifier ticker:ZZZZ" in r["reason"] for r in rejects)
    assert any("'headcount' expects integer" in r["reason"] for r in rejects)
    assert any("infinity" in r["reason"] for r in rejects)

    again = ok(
        cli(*base, "facts", "ingest", str(metrics), "--source", "harmonic", "--json"), code=3
    )
    assert (again["counters"]["inserted"], again["counters"]["unchanged"]) == (0, 7)

    entity = ok(cli(*base, "entities", "search", "domain:acme.ai", "--json"))["items"][0]["id"]
    printed = cli(*base, "facts", "show", entity, "--json")
    shown = json.loads(printed.stdout)  # the standard parser keeps big integers exact
    assert shown["headcount"]["value"] == 30
    assert shown["huge"]["value"] == 10**30
    assert shown["revenue"]["value"] == {"amount": 12000000, "currency": "USD"}
    old = ok(cli(*base, "facts", "show", entity, "--as-of", "2020-01-01", "--json"))
    assert old == {}
    history = ok(cli(*base, "facts", "history", entity, "headcount", "--json"))["items"]
    assert [h["value"] for h in history] == [30, 25]
    assert history[0]["current"] is True
    series = ok(
        cli(*base, "facts", "series", "headcount", "--entity", entity, "--interval", "month",
            "--from", "2024-01-01", "--to", "2024-12-31", "--json")
    )["items"]  # fmt: skip
    assert [s["value"] for s in series] == [25, 30]
    ranks = ok(
        cli(*base, "facts", "percentile", "ma_score", "--date", "2024-03-01", "--type",
            "company", "--json")
    )["items"]  # fmt: skip
    assert [(r["name"], r["percentile"]) for r in ranks] == [("Moderna", 1.0), ("Vertex", 0.0)]
    assert ok(cli(*base, "facts", "match", "revenue > 10M", "--json"))["items"] == [entity]
    unknown = ok(cli(*base, "facts", "properties", "--unknown", "--json"))["items"]
    assert [p["name"] for p in unknown] == ["huge", "stage"]
    assert cli(*base, "facts", "properties").exit_code == 0
    assert cli(*base, "facts", "show", entity).exit_code == 0
    assert cli(*base, "facts", "percentile", "ma_score", "--date", "March").exit_code == 2
    capped = cli(*base, "facts", "percentile", "ma_score", "--limit", "1", "--json")
    assert len(ok(capped)["items"]) == 1
    assert "raise --limit" in capped.stderr
    assert cli(*base, "facts", "show", "ffffffff-ffff").exit_code == 1

    links = write(
        tmp_path / "links.ndjson",
        [
            {"subject": {"email": "jane@acme.ai"}, "predicate": "works_at", "object": acme,
             "valid_from": "2021-05-01"},
            {"subject": {"ticker": "VRTX"}, "predicate": "acquirer_match",
             "object": {"ticker": "MRNA"}, "confidence": 0.64, "properties": {"score": 0.64}},
            {"subject": {"ticker": "VRTX"}, "predicate": "acquired", "object": {"ticker": "NOPE"}},
        ],
    )  # fmt: skip
    linked = ok(
        cli(*base, "relations", "ingest", str(links), "--source", "harmonic", "--json"), code=3
    )
    assert (linked["counters"]["inserted"], linked["counters"]["rejected"]) == (2, 1)
    relations = ok(cli(*base, "relations", "list", entity, "--json"))["items"]
    assert [(r["predicate"], r["direction"], r["other_name"]) for r in relations] == [
        ("works_at", "in", "Jane Founder")
    ]
    assert (
        ok(cli(*base, "relations", "list", entity, "--as-of", "2021-01-01", "--json"))["items"]
        == []
    )
    assert cli(*base, "relations", "list", entity).exit_code == 0


def test_define_after_ingest_retypes_stored_statements(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    base = ["--database-url", database_url]
    assert cli(*base, "source", "add", "harmonic").exit_code == 0
    companies = tmp_path / "companies.ndjson"
    companies.write_bytes(
        b'{"external_id": "h1", "type": "company", "name": "Acme", '
        b'"identifiers": {"ticker": "AC"}}\n'
    )
    assert cli(*base, "entities", "ingest", str(companies), "-s", "harmonic").exit_code == 0
    assert cli(*base, "resolve").exit_code == 0
    metrics = tmp_path / "metrics.ndjson"
    metrics.write_bytes(
        b'{"entity": "ticker:AC", "property": "revenue", "value": {"amount": 12000000, '
        b'"currency": "USD"}, "as_of": "2024-01-01"}\n'
        b'{"entity": "ticker:AC", "property": "revenue", "value": "unknown", '
        b'"as_of": "2023-01-01"}\n'
    )
    ingested = cli(*base, "facts", "ingest", str(metrics), "-s", "harmonic")
    assert ingested.exit_code == 0, ingested.stderr
    said = " ".join(ingested.stderr.split())
    assert "2 statement(s) name properties that are not defined" in said
    assert ": revenue. Give each its type with `signalgraph facts define NAME --type …`" in said
    assert ok(cli(*base, "facts", "match", "revenue > 10M", "--json"))["items"] == []

    defined = cli(*base, "facts", "define", "revenue", "--type", "money", "--unit", "USD")
    assert defined.exit_code == 3, defined.stderr
    said = " ".join(defined.stderr.split())
    assert "re-typed 1 stored statement(s) as money" in said
    assert "1 statement(s) do not convert to money" in said
    matched = ok(cli(*base, "entities", "search", "--where", "revenue > 10M", "--json"))
    (entity,) = [found["id"] for found in matched["items"]]
    assert ok(cli(*base, "facts", "match", "revenue >= 12M", "--json"))["items"] == [entity]
    shown = ok(cli(*base, "facts", "show", entity, "--json"))
    assert shown["revenue"]["value_type"] == "money"
    assert shown["revenue"]["value"] == {"amount": 12000000, "currency": "USD"}
    again = ok(cli(*base, "facts", "ingest", str(metrics), "-s", "harmonic", "--json"), code=3)
    assert (again["counters"]["unchanged"], again["counters"]["rejected"]) == (1, 1)
