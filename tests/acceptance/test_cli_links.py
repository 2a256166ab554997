"""Signal links from the command line: the contract seed's amendment that arrives first."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def doc(external_id: str, title: str, published: str, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "title": title,
        "text": f"{title} between Acme Corp and Globex LLC ({external_id})",
        "published_at": published,
        **extra,
    }


def ok(result: CliResult) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_dangling_amendment_resolves_when_its_master_arrives(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    base = ["--database-url", database_url]
    assert cli(*base, "source", "add", "acme-contracts").exit_code == 0
    amendments = write(
        tmp_path / "amendments.ndjson",
        [
            doc(
                "amend-2022-06",
                "First Amendment",
                "2022-06-01",
                links=[
                    {"type": "amends", "reference": "amends the Master Agreement of 2021-03-04"}
                ],
            ),
            doc("bad", "Bad", "2022-06-02", links=[{"type": "amends", "to": {"source": "x"}}]),
        ],
    )
    run = cli(*base, "ingest", str(amendments), "--source", "acme-contracts", "--json")
    assert run.exit_code == 3, run.stderr  # one record rejected
    rejects = ok(cli(*base, "rejects", "list", "--json"))["items"]
    assert [r["field"] for r in rejects] == ["links[0].to"]

    dangling = ok(cli(*base, "links", "list", "--status", "dangling", "--json"))["items"]
    assert [link["target"] for link in dangling] == ["amends the Master Agreement of 2021-03-04"]
    flags = ok(cli(*base, "flags", "list", "--json"))["items"]
    assert [f["kind"] for f in flags] == ["dangling_link"]

    masters = write(
        tmp_path / "masters.ndjson", [doc("msa-2021", "Master Services Agreement", "2021-03-04")]
    )
    assert cli(*base, "ingest", str(masters), "--source", "acme-contracts").exit_code == 0
    (link,) = ok(cli(*base, "links", "list", "--json"))["items"]
    assert link["status"] == "resolved"
    assert link["target_title"] == "Master Services Agreement"
    assert ok(cli(*base, "flags", "list", "--json"))["items"] == []

    shown = ok(cli(*base, "links", "show", link["id"][:13], "--json"))
    assert shown["from_external_id"] == "amend-2022-06"
    target = link["target_signal_id"]
    detail = ok(cli(*base, "signals", "show", target, "--json"))
    assert [i["from_external_id"] for i in detail["links"]["incoming"]] == ["amend-2022-06"]
    table = cli(*base, "signals", "show", target)
    assert table.exit_code == 0
    assert "amend-2022-06" in table.stdout
    listed = cli(*base, "links", "list", "--signal", target)
    assert listed.exit_code == 0
    assert "resolved" in listed.stdout


def test_add_by_hand_and_resolve_an_ambiguous_reference(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    base = ["--database-url", database_url]
    assert cli(*base, "source", "add", "contracts").exit_code == 0
    docs = write(
        tmp_path / "docs.ndjson",
        [
            doc("nda-a", "NDA Acme", "2023-01-10"),
            doc("nda-b", "Non-Disclosure Agreement Globex", "2023-01-10"),
            doc("sow-1", "Statement of Work 1", "2023-02-01"),
        ],
    )
    assert cli(*base, "ingest", str(docs), "--source", "contracts").exit_code == 0
    signals = ok(cli(*base, "signals", "list", "--json"))["items"]
    ids = {s["external_id"]: s["id"] for s in signals}

    added = ok(
        cli(*base, "links", "add", ids["sow-1"], "references", "--reference",
            "the NDA dated January 10, 2023", "--json")
    )  # fmt: skip
    assert added["status"] == "ambiguous"
    assert sorted(added["candidates"]) == sorted([ids["nda-a"], ids["nda-b"]])
    shown = cli(*base, "links", "show", added["id"])
    assert shown.exit_code == 0
    assert "candidates" in shown.stdout

    decided = ok(
        cli(*base, "links", "resolve", added["id"], "--to", ids["nda-b"], "--actor", "dana",
            "--json")
    )  # fmt: skip
    assert decided["status"] == "resolved"
    assert decided["resolved_by"] == "dana"
    events = ok(cli(*base, "audit", "list", "--object", added["id"], "--json"))["items"]
    (decision,) = [e for e in events if (e["after"] or {}).get("resolution") == "analyst"]
    assert decision["actor"] == "dana"

    by_key = ok(cli(*base, "links", "add", ids["sow-1"], "supersedes", "--to", "sow-0", "--json"))
    assert (by_key["status"], by_key["target"]) == ("dangling", "contracts / sow-0")
    by_id = ok(
        cli(*base, "links", "add", ids["sow-1"], "attachment_of", "--to-signal", ids["nda-a"],
            "--json")
    )  # fmt: skip
    assert by_id["status"] == "resolved"

    # Errors: exit 2 for usage, 1 for something missing, a message naming what.
    both = cli(*base, "links", "add", ids["sow-1"], "amends", "--to", "x", "--reference", "y")
    assert both.exit_code == 2
    assert "exactly one" in both.stderr
    bad_type = cli(*base, "links", "add", ids["sow-1"], "likes", "--to", "x")
    assert bad_type.exit_code == 2
    assert "not a link type" in bad_type.stderr
    missing = cli(*base, "links", "show", "0123abcd")
    assert missing.exit_code == 1
    assert "does not exist" in missing.stderr
    bad_status = cli(*base, "links", "list", "--status", "lost")
    assert bad_status.exit_code == 2
    assert ok(cli(*base, "links", "recheck", "--json")) == {"resolved": 0, "ambiguous": 0}
