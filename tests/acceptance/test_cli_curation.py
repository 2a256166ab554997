"""Curation from the command line: the seed-000 deal-flow workflow, merge and unmerge."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def ok(result: CliResult) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json() if result.stdout.strip().startswith(("{", "[")) else result.stdout


def setup_deals(cli: Cli, base: list[str], tmp_path: Path) -> dict[str, str]:
    records = tmp_path / "harmonic.ndjson"
    records.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"external_id": "12345", "type": "company", "name": "Acme AI",
                 "identifiers": {"domain": "acme.ai"}},
                {"external_id": "67890", "type": "company", "name": "Quantum Leap Robotics",
                 "identifiers": {"domain": "qlr.io"}},
                {"external_id": "p-1", "type": "person", "name": "Jane Doe"},
            ]
        )
        + "\n"
    )  # fmt: skip
    ok(cli(*base, "entities", "ingest", str(records), "--source", "harmonic", "--create-source"))
    ok(cli(*base, "resolve"))
    found = csv.DictReader(io.StringIO(ok(cli(*base, "entities", "clusters", "--format", "csv"))))
    return {row["external_id"]: row["entity_id"] for row in found}


def test_deal_flow_lists_annotations_merge_and_unmerge(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    base = ["--database-url", database_url, "--actor", "ana"]
    ids = setup_deals(cli, base, tmp_path)
    acme, dup, jane = ids["12345"], ids["67890"], ids["p-1"]

    ok(cli(*base, "lists", "create", "Deal flow", "--description", "Series A healthcare"))
    ok(cli(*base, "lists", "create", "Watchlist"))
    added = ok(cli(*base, "lists", "add", "Deal flow", acme, dup, jane[:28], "--json"))
    assert len(added["added"]) == 3
    ok(cli(*base, "lists", "add", "Watchlist", dup))
    ok(cli(*base, "annotations", "define", "valuation", "--type", "number"))
    ok(cli(*base, "annotations", "define", "round", "--type", "enum", "--values", "seed,series_a"))
    fields = ok(cli(*base, "annotations", "fields", "--json"))["items"]
    assert [f["name"] for f in fields] == ["round", "valuation"]
    ok(
        cli(
            *base,
            "annotate",
            acme,
            "--rank",
            "3",
            "--stage",
            "In Review",
            "--tag",
            "ai",
            "--set",
            "valuation=10e6",
            "--set",
            "round=seed",
            "--comment",
            "Strong team.",
        )
    )
    ok(
        cli(
            *base,
            "annotate",
            dup,
            "--rank",
            "7",
            "--stage",
            "Passed",
            "--hidden",
            "--tag",
            "robotics",
            "--set",
            "valuation=12e6",
            "--comment",
            "Seen in a newsletter.",
        )
    )

    def snapshot() -> dict[str, Any]:
        return {
            "acme": ok(cli(*base, "annotations", "show", acme, "--json")),
            "dup": ok(cli(*base, "annotations", "show", dup, "--json")),
            "deal flow": ok(cli(*base, "lists", "show", "Deal flow", "--json")),
            "watchlist": ok(cli(*base, "lists", "show", "Watchlist", "--json")),
        }

    before = snapshot()
    merged = ok(cli(*base, "entities", "merge", acme, dup, "--json"))
    survivor = merged["survivor"]
    absorbed = dup if survivor == acme else acme
    combined = ok(cli(*base, "annotations", "show", absorbed, "--json"))
    assert combined["entity"] == survivor
    assert combined["tags"] == ["ai", "robotics"]
    assert combined["hidden"] is True
    assert [c["text"] for c in combined["comments"]] == ["Strong team.", "Seen in a newsletter."]
    deal_flow = ok(cli(*base, "lists", "show", "Deal flow", "--json"))["items"]
    assert [m["id"] for m in deal_flow] == [survivor, jane]
    assert [m["id"] for m in ok(cli(*base, "lists", "show", "Watchlist", "--json"))["items"]] == [
        survivor
    ]
    flags = ok(cli(*base, "flags", "list", "--open", "--kind", "annotation_conflict", "--json"))[
        "items"
    ]
    assert len(flags) == 1
    assert set(flags[0]["details"]["conflicts"]) == {"rank", "stage", "field:valuation"}
    ok(cli(*base, "flags", "resolve", flags[0]["id"], "--note", "kept the survivor's values"))

    ok(cli(*base, "entities", "unmerge", absorbed))
    assert snapshot() == before

    table = cli(*base, "lists", "show", "Deal flow")
    assert table.exit_code == 0
    assert "Acme AI" in table.stdout
    exported = tmp_path / "deal-flow.csv"
    ok(cli(*base, "lists", "export", "Deal flow", str(exported)))
    rows = list(csv.DictReader(io.StringIO(exported.read_text())))
    assert {row["name"] for row in rows} == {"Acme AI", "Quantum Leap Robotics", "Jane Doe"}
    listing = ok(cli(*base, "lists", "--json"))["items"]
    assert {(item["name"], item["members"]) for item in listing} == {
        ("Deal flow", 3), ("Watchlist", 1),
    }  # fmt: skip
    removed = ok(cli(*base, "lists", "remove", "Deal flow", jane, "--json"))
    assert removed["removed"] == [jane]
    ok(cli(*base, "lists", "delete", "Watchlist"))
    assert [item["name"] for item in ok(cli(*base, "lists", "list", "--json"))["items"]] == [
        "Deal flow"
    ]


def test_archive_and_restore(cli: Cli, database_url: str, tmp_path: Path) -> None:
    base = ["--database-url", database_url]
    ids = setup_deals(cli, base, tmp_path)
    acme = ids["12345"]
    ok(cli(*base, "lists", "create", "Deal flow"))
    ok(cli(*base, "lists", "add", "Deal flow", acme))
    ok(cli(*base, "entities", "archive", acme, "--reason", "shut down"))
    listed = ok(cli(*base, "entities", "list", "--json"))["items"]
    assert {e["id"] for e in listed} == set(ids.values()) - {acme}
    assert acme in {
        e["id"] for e in ok(cli(*base, "entities", "list", "--archived", "--json"))["items"]
    }
    assert ok(cli(*base, "entities", "search", "Acme", "--json"))["items"] == []
    assert ok(cli(*base, "entities", "search", "Acme", "--archived", "--json"))["items"]
    assert "shut down" in ok(cli(*base, "entities", "show", acme))
    members = ok(cli(*base, "lists", "show", "Deal flow", "--json"))["items"]
    assert members[0]["archived"] is True
    ok(cli(*base, "entities", "restore", acme))
    assert acme in {e["id"] for e in ok(cli(*base, "entities", "list", "--json"))["items"]}

    ok(cli(*base, "source", "archive", "harmonic"))
    refused = cli(*base, "entities", "ingest", str(tmp_path / "harmonic.ndjson"), "-s", "harmonic")
    assert refused.exit_code == 2
    assert "archived" in refused.stderr
    ok(cli(*base, "source", "restore", "harmonic"))
    ok(cli(*base, "entities", "ingest", str(tmp_path / "harmonic.ndjson"), "-s", "harmonic"))


def test_bad_input_is_named_and_changes_nothing(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    base = ["--database-url", database_url]
    ids = setup_deals(cli, base, tmp_path)
    acme = ids["12345"]
    missing = cli(*base, "lists", "show", "nope")
    assert missing.exit_code == 1
    assert "list 'nope' does not exist" in missing.stderr
    ok(cli(*base, "lists", "create", "Deal flow"))
    bad = cli(*base, "lists", "add", "Deal flow", acme, "0190aaaa-0000-7000-8000-000000000000")
    assert bad.exit_code == 1
    assert "0190aaaa-0000-7000-8000-000000000000" in bad.stderr
    hostile = cli(*base, "lists", "add", "Deal flow", "1; DROP TABLE list_member")
    assert hostile.exit_code == 1
    assert "DROP TABLE list_member" in hostile.stderr
    assert ok(cli(*base, "lists", "show", "Deal flow", "--json"))["items"] == []
    undefined = cli(*base, "annotate", acme, "--stage", "Passed", "--set", "headcount=3")
    assert undefined.exit_code == 1
    assert "'headcount' is not defined" in undefined.stderr
    ok(cli(*base, "annotations", "define", "valuation", "--type", "number"))
    wrong = cli(*base, "annotate", acme, "--tag", "x", "--set", "valuation=lots")
    assert wrong.exit_code == 2
    assert "'valuation' expects a number" in wrong.stderr
    huge = cli(*base, "annotate", acme, "--rank", "99999999999999999999")
    assert huge.exit_code == 2
    nul = cli(*base, "annotate", acme, "--tag", "ok", "--comment", "bad\x00text")
    assert nul.exit_code == 2
    assert "NUL" in nul.stderr
    shown = ok(cli(*base, "annotations", "show", acme, "--json"))
    assert (shown["stage"], shown["tags"], shown["comments"]) == (None, [], [])
    sql = "'; DROP TABLE annotation; --"
    ok(cli(*base, "annotate", acme, "--stage", sql))
    assert ok(cli(*base, "annotations", "show", acme, "--json"))["stage"] == sql
    bad_type = cli(*base, "annotations", "define", "x", "--type", "blob")
    assert bad_type.exit_code == 2
    assert "unknown field type 'blob'" in bad_type.stderr
