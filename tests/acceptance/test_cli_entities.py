"""The entity and resolution commands, run as a user would: files in, JSON and tables out."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from signalgraph.resolve.funnel import COUNTERS
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
LEI = "5493001KJTIIGC8Y1R12"


def write(path: Path, records: list[dict[str, Any]], *extra: bytes) -> Path:
    lines = [json.dumps(r).encode() for r in records]
    path.write_bytes(b"\n".join([*lines, *extra]) + b"\n")
    return path


def company(external_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "type": "company", "name": name, **extra}


def entity_by_record(cli: Cli, base: list[str]) -> dict[tuple[str, str], str]:
    result = cli(*base, "entities", "clusters", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    return {(row["source"], row["external_id"]): row["entity_id"] for row in rows}


def test_ingest_resolve_review_and_undo(cli: Cli, database_url: str, tmp_path: Path) -> None:
    base = ["--database-url", database_url]
    for name in ("vendor", "crm"):
        assert cli(*base, "source", "add", name).exit_code == 0
    vendor = write(
        tmp_path / "vendor.ndjson",
        [
            company("v1", "Acme Robotics Inc.", identifiers={"domain": "acme.ai", "lei": LEI}),
            company("v2", "Helix Therapeutics", properties={"country": "US"}),
            company("v3", "Zeta Foods GmbH", identifiers={"lei": "not-a-lei"}),
        ],
        b'{"external_id": "v4", "type": "company"}',  # no name: rejected, kept verbatim
    )
    ingested = cli(*base, "entities", "ingest", str(vendor), "--source", "vendor", "--json")
    assert ingested.exit_code == 3, ingested.stderr  # completed, one record rejected
    report = ingested.json()
    assert isinstance(report, dict)
    assert report["counters"]["inserted"] == 3
    assert report["counters"]["rejected"] == 1
    crm = write(
        tmp_path / "crm.ndjson",
        [
            company("c1", "ACME ROBOTICS", identifiers={"lei": LEI}),
            company("c2", "Helix Therapeutcs Inc"),
        ],
    )
    assert cli(*base, "entities", "ingest", str(crm), "--source", "crm").exit_code == 0

    resolved = cli(*base, "resolve", "--json")
    assert resolved.exit_code == 0, resolved.stderr
    counters = resolved.json()["counters"]  # type: ignore[index]
    assert counters["records"] == 5
    assert counters["linked_by_identifier"] == 1
    clusters = entity_by_record(cli, base)
    assert clusters[("crm", "c1")] == clusters[("vendor", "v1")]
    assert cli(*base, "resolve", "--json").json()["counters"].get("records", 0) == 0  # type: ignore[index,union-attr]

    # The invalid LEI is kept and flagged, never used to link.
    flags = cli(*base, "flags", "list", "--json").json()["items"]  # type: ignore[index]
    assert isinstance(flags, list)
    assert [f["kind"] for f in flags] == ["invalid_identifier"]
    closed = cli(*base, "flags", "resolve", flags[0]["id"][:8], "--note", "vendor asked")
    assert closed.exit_code == 0, closed.stderr
    assert cli(*base, "flags", "list", "--json").json() == {"items": [], "next_cursor": None}

    # Helix: misspelt, nothing else to go on and no trained model yet: queued for review.
    assert clusters[("vendor", "v2")] != clusters[("crm", "c2")]
    assert counters["review"] == 1
    pending = cli(*base, "review", "list", "--json").json()["items"]  # type: ignore[index]
    assert isinstance(pending, list)
    (item,) = pending
    assert {item["name_a"], item["name_b"]} == {"Helix Therapeutics", "Helix Therapeutcs Inc"}
    shown = cli(*base, "review", "show", item["id"])
    assert shown.exit_code == 0
    assert "evidence" in shown.stdout
    decided = cli(*base, "review", "decide", item["id"], "same", "--reason", "same ticker")
    assert decided.exit_code == 0, decided.stderr
    assert "merged into" in decided.stderr
    assert cli(*base, "review", "list", "--json").json() == {"items": [], "next_cursor": None}
    clusters = entity_by_record(cli, base)
    assert clusters[("crm", "c2")] == clusters[("vendor", "v2")]

    # Merge Acme and Zeta by hand, look, then undo exactly.
    acme, zeta = clusters[("vendor", "v1")], clusters[("vendor", "v3")]
    merged = cli(*base, "entities", "merge", acme, zeta, "--reason", "test", "--json").json()
    assert isinstance(merged, dict)
    survivor = merged["survivor"]  # the older of the two
    absorbed = zeta if survivor == acme else acme
    assert survivor in {acme, zeta}
    shown = cli(*base, "entities", "show", absorbed, "--json").json()  # a redirected id
    assert isinstance(shown, dict)
    assert shown["id"] == survivor
    assert {r["external_id"] for r in shown["records"]} == {"v1", "c1", "v3"}
    explained = cli(*base, "entities", "explain", acme, clusters[("vendor", "v2")])
    assert explained.exit_code == 0
    assert "evidence" in explained.stdout
    undone = cli(*base, "entities", "unmerge", absorbed)
    assert undone.exit_code == 0, undone.stderr
    clusters = entity_by_record(cli, base)
    assert clusters[("vendor", "v3")] == zeta
    assert clusters[("crm", "c1")] == clusters[("vendor", "v1")] == acme
    again = cli(*base, "entities", "merge", acme, zeta)  # unmerge recorded "different"
    assert again.exit_code == 1
    assert "different" in again.stderr

    # Split the CRM record out of Acme.
    records = cli(*base, "entities", "show", acme, "--json").json()["records"]  # type: ignore[index]
    crm_record = next(r["id"] for r in records if r["external_id"] == "c1")
    split = cli(*base, "entities", "split", acme, "--records", crm_record, "--json")
    assert split.exit_code == 0, split.stderr
    assert entity_by_record(cli, base)[("crm", "c1")] != acme

    found = cli(*base, "entities", "search", "domain:acme.ai", "--json").json()
    assert isinstance(found, dict)
    assert found["items"][0]["id"] == acme
    assert found["next_cursor"] is None
    by_identifier = cli(*base, "entities", "search", "--identifier", "domain:acme.ai", "--json")
    assert [e["id"] for e in by_identifier.json()["items"]] == [acme]  # type: ignore[index]
    listed = cli(*base, "entities", "list")
    assert listed.exit_code == 0
    assert "Acme Robotics" in listed.stdout


def test_a_second_resolve_reports_every_counter_at_zero(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    base = ["--database-url", database_url]
    assert cli(*base, "source", "add", "vendor").exit_code == 0
    vendor = write(tmp_path / "vendor.ndjson", [company("v1", "Acme Robotics")])
    assert cli(*base, "entities", "ingest", str(vendor), "--source", "vendor").exit_code == 0
    first = cli(*base, "resolve", "--json").json()
    assert first["counters"]["records"] == 1  # type: ignore[index]
    again = cli(*base, "resolve", "--json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["counters"] == dict.fromkeys(COUNTERS, 0)  # type: ignore[index]
    assert list(again.json()["counters"]) == list(COUNTERS)  # type: ignore[index]
    table = cli(*base, "resolve")
    assert table.exit_code == 0, table.stderr
    for name in COUNTERS:
        assert f"{name.replace('_', ' ')} " in table.stdout


def test_entity_command_errors(cli: Cli, database_url: str, tmp_path: Path) -> None:
    base = ["--database-url", database_url]
    assert cli(*base, "source", "add", "vendor").exit_code == 0
    unknown = cli(*base, "entities", "show", "01a2ffff")
    assert unknown.exit_code == 1
    assert unknown.stderr.count("\n") == 1
    bad = cli(*base, "entities", "judge", "a", "b", "perhaps")
    assert bad.exit_code == 2
    wrong_format = cli(*base, "entities", "clusters", "--format", "xml")
    assert wrong_format.exit_code == 2
    assert "expected ndjson or csv" in wrong_format.stderr
    empty = write(tmp_path / "x.ndjson", [])
    no_source = cli(*base, "entities", "ingest", str(empty), "--source", "nope")
    assert no_source.exit_code == 1
    assert "nope" in no_source.stderr
