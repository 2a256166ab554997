"""What the tables print: short ids that every command takes back, named comparison levels,
audit changes with their values, and hints that name real commands."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from signalgraph.ids import short_id
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
FULL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def base(cli: Cli, database_url: str, tmp_path: Path) -> list[str]:
    base = ["--database-url", database_url]
    assert cli(*base, "source", "add", "crm").exit_code == 0
    records = tmp_path / "companies.ndjson"
    records.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {
                    "external_id": "c1",
                    "type": "company",
                    "name": "Acme Robotics Inc.",
                    "identifiers": {"domain": "acme.ai"},
                },
                {
                    "external_id": "c2",
                    "type": "company",
                    "name": "Zeta Foods GmbH",
                    "properties": {"country": "DE"},
                },
            ]
        )
        + "\n"
    )
    assert cli(*base, "entities", "ingest", str(records), "--source", "crm").exit_code == 0
    assert cli(*base, "resolve").exit_code == 0
    return base


def test_tables_print_short_ids_that_commands_take_back(cli: Cli, base: list[str]) -> None:
    listed = cli(*base, "entities", "list")
    assert listed.exit_code == 0, listed.stderr
    assert not FULL_ID.search(listed.stdout), listed.stdout
    entities = cli(*base, "entities", "list", "--json").json()
    items = entities["items"] if isinstance(entities, dict) else entities
    acme = next(e for e in items if e["name"].startswith("Acme Robotics"))
    shown = short_id(acme["id"])
    assert shown in listed.stdout
    dossier = cli(*base, "entities", "show", shown, "--json")
    assert dossier.exit_code == 0, dossier.stderr
    assert dossier.json()["id"] == acme["id"]  # type: ignore[index]
    runs = cli(*base, "runs", "list")
    assert not FULL_ID.search(runs.stdout), runs.stdout
    # A record view has room for the whole id.
    assert acme["id"] in cli(*base, "entities", "show", "domain:acme.ai").stdout


def test_explain_names_each_level(cli: Cli, base: list[str]) -> None:
    explained = cli(*base, "entities", "explain", "domain:acme.ai", "Zeta Foods GmbH")
    assert explained.exit_code == 0, explained.stderr
    evidence = explained.stdout.split("evidence", 1)[1]
    rows = {
        cells[0]: cells[1]
        for line in evidence.splitlines()
        if len(cells := [cell.strip() for cell in line.split("│") if cell.strip()]) == 3
    }
    assert rows["name"] == "different", evidence
    assert rows["prior"] == "-", evidence
    assert not {level for level in rows.values() if level.isdigit()}, evidence


def test_audit_list_shows_old_and_new_values(cli: Cli, base: list[str]) -> None:
    assert cli(*base, "annotate", "domain:acme.ai", "--stage", "Sourcing").exit_code == 0
    assert cli(*base, "annotate", "domain:acme.ai", "--stage", "Diligence").exit_code == 0
    trail = cli(*base, "audit", "list", "--type", "annotation")
    assert trail.exit_code == 0, trail.stderr
    assert "stage: Sourcing → Diligence" in trail.stdout


def test_an_unknown_entity_type_is_refused_with_the_real_command(
    cli: Cli, base: list[str], tmp_path: Path
) -> None:
    odd = tmp_path / "odd.ndjson"
    odd.write_text(json.dumps({"external_id": "x1", "type": "vessel", "name": "Ever Given"}) + "\n")
    ingested = cli(*base, "entities", "ingest", str(odd), "--source", "crm")
    assert ingested.exit_code == 3
    rejects = cli(*base, "rejects", "list", "--json").json()
    reasons = [r["reason"] for r in (rejects["items"] if isinstance(rejects, dict) else rejects)]
    assert any("signalgraph entities types --add NAME" in reason for reason in reasons), reasons
    added = cli(*base, "entities", "types", "--add", "vessel")
    assert added.exit_code == 0, added.stderr


def test_ids_in_tables_are_unique_enough_to_type(cli: Cli, base: list[str]) -> None:
    items = cli(*base, "runs", "list", "--json").json()["items"]  # type: ignore[index]
    assert isinstance(items, list)
    assert len(items) == 2  # the entity ingest and the resolution
    for run in items:
        shown = cli(*base, "runs", "show", short_id(run["id"]), "--json")
        assert shown.exit_code == 0, shown.stderr
        assert uuid.UUID(str(shown.json()["id"])) == uuid.UUID(run["id"])  # type: ignore[index]
