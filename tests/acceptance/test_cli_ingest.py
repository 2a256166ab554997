from __future__ import annotations

import gzip
import json
import os
import random
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult, console_script
from tests.corpus import record, text, write_ndjson

Cli = Callable[..., CliResult]


def setup(cli: Cli, url: str) -> list[str]:
    base = ["--database-url", url]
    assert cli(*base, "source", "add", "wire", "--kind", "news").exit_code == 0
    return base


def test_ingest_exit_codes_and_summary(cli: Cli, database_url: str, tmp_path: Path) -> None:
    base = setup(cli, database_url)
    clean = write_ndjson(tmp_path / "clean.ndjson", [record(i) for i in range(4)])
    ok = cli(*base, "ingest", str(clean), "--source", "wire")
    assert ok.exit_code == 0, ok.stderr
    assert re.search(r"^ *inserted +4 *$", ok.stdout, re.MULTILINE), ok.stdout
    dirty = write_ndjson(tmp_path / "dirty.ndjson", [record(9)], [b"{oops"])
    partial = cli(*base, "ingest", str(dirty), "--source", "wire", "--json")
    assert partial.exit_code == 3
    report = partial.json()
    assert isinstance(report, dict)
    assert report["counters"]["rejected"] == 1
    assert report["exit_code"] == 3
    run_id = report["run_id"]
    listed = cli(*base, "rejects", "list", "--run", run_id, "--json").json()["items"]  # type: ignore[index]
    assert isinstance(listed, list)
    assert [(r["line"], r["raw"]) for r in listed] == [(2, "{oops")]
    out = tmp_path / "rejects.ndjson"
    exported = cli(*base, "rejects", "export", "--run", run_id, str(out))
    assert exported.exit_code == 0
    assert out.read_bytes() == b"{oops\n"
    shown = cli(*base, "runs", "show", run_id, "--json").json()
    assert isinstance(shown, dict)
    assert shown["counters"]["rejected"] == 1
    assert shown["status"] == "succeeded"


def test_ingest_failure_cases(cli: Cli, database_url: str, tmp_path: Path) -> None:
    base = setup(cli, database_url)
    missing = cli(*base, "ingest", str(tmp_path / "nope.ndjson"), "--source", "wire")
    assert missing.exit_code == 1
    assert "no such file" in missing.stderr
    assert missing.stderr.count("\n") == 1
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"")
    assert "is empty" in cli(*base, "ingest", str(empty), "--source", "wire").stderr
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(os.urandom(256).replace(b"\x1f", b"\x00"))
    result = cli(*base, "ingest", str(garbage), "--source", "wire")
    assert result.exit_code == 1
    good = write_ndjson(tmp_path / "good.ndjson", [record(1)])
    unknown_format = cli(*base, "ingest", str(good), "--source", "wire", "--format", "xml")
    assert unknown_format.exit_code == 2
    unknown_source = cli(*base, "ingest", str(good), "--source", "nope")
    assert unknown_source.exit_code == 1
    assert "source 'nope' does not exist" in unknown_source.stderr
    created = cli(*base, "ingest", str(good), "--source", "nope", "--create-source")
    assert created.exit_code == 0
    sources = cli(*base, "source", "list", "--json").json()["items"]  # type: ignore[index]
    assert sorted(s["name"] for s in sources) == ["nope", "wire"]  # type: ignore[index]
    many_bad = write_ndjson(tmp_path / "bad.ndjson", [b"x"] * 10 + [record(2)])
    limited = cli(*base, "ingest", str(many_bad), "--source", "wire", "--max-rejects", "2")
    assert limited.exit_code == 1
    assert "max-rejects" in limited.stderr


def _table_rows(table: str) -> list[list[str]]:
    """Return the cells of each body row of a rich table, in order."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in table.splitlines()
        if line.startswith("│")
    ]


def test_dry_run_and_signal_commands(cli: Cli, database_url: str, tmp_path: Path) -> None:
    base = setup(cli, database_url)
    words = text(random.Random(5), words=150).split()
    records = [record(i) for i in range(6)]
    records[1]["text"] = " ".join(words)
    records.append(dict(record(100), text=records[0]["text"]))  # an exact duplicate of r-0
    near_text = " ".join([*words[:70], "different", *words[71:]])
    records.append(record(102, text=near_text))  # a near duplicate of r-1
    path = write_ndjson(tmp_path / "in.ndjson", records)
    dry = cli(*base, "ingest", str(path), "--source", "wire", "--dry-run", "--json").json()
    assert isinstance(dry, dict)
    assert dry["counters"]["inserted"] == 8
    assert dry["counters"]["duplicates"] == dry["counters"]["near_duplicates"] == 1
    assert dry["run_id"] is None
    assert cli(*base, "signals", "list", "--json").json() == {
        "items": [],
        "next_cursor": None,
    }
    assert cli(*base, "ingest", str(path), "--source", "wire").exit_code == 0
    listed = cli(*base, "signals", "list", "--json").json()["items"]  # type: ignore[index]
    assert isinstance(listed, list)
    # Newest first; both kinds of duplicate are left out by default.
    assert [s["external_id"] for s in listed] == [f"r-{i}" for i in range(5, -1, -1)]
    everything = cli(*base, "signals", "list", "--all", "--json").json()["items"]  # type: ignore[index]
    assert isinstance(everything, list)
    assert sorted(s["external_id"] for s in everything) == sorted(r["external_id"] for r in records)
    shown = cli(*base, "signals", "show", listed[0]["id"][:13], "--json").json()
    assert isinstance(shown, dict)
    assert shown["external_id"] == "r-5"
    assert [(m["type"], m["text"], m["identifiers"]) for m in shown["mentions"]] == [
        ("company", "Company 5", {"domain": "c5.com"})
    ]
    groups = cli(*base, "signals", "duplicates", "--json").json()["items"]  # type: ignore[index]
    assert isinstance(groups, list)
    assert [
        (group["original"]["external_id"], [m["external_id"] for m in group["members"]])
        for group in groups
    ] == [("r-0", ["r-100"])]
    table = cli(*base, "signals", "duplicates")
    assert table.exit_code == 0, table.stderr
    assert [row[1:] for row in _table_rows(table.stdout)] == [
        ["original", "wire", "-", "Story number 0"],
        ["duplicate", "wire", "-", "Story number 100"],
    ]
    near = cli(*base, "signals", "duplicates", "--near", "--json").json()["items"]  # type: ignore[index]
    assert isinstance(near, list)
    assert [
        (group["original"]["external_id"], [m["external_id"] for m in group["members"]])
        for group in near
    ] == [("r-1", ["r-102"])]
    assert 0 <= near[0]["members"][0]["near_distance"] <= 3
    text_list = cli(*base, "signals", "list", "--source", "wire", "--since", "2025-03-01")
    assert text_list.exit_code == 0, text_list.stderr
    assert [row[-1] for row in _table_rows(text_list.stdout)] == [
        f"Story number {i}" for i in (5, 4, 3, 2)
    ]
    assert "originals" in text_list.stderr
    bad_since = cli(*base, "signals", "list", "--since", "last tuesday")
    assert bad_since.exit_code == 2


def test_partition_commands(cli: Cli, database_url: str, tmp_path: Path) -> None:
    base = setup(cli, database_url)
    ensured = cli(
        *base, "db", "partitions", "ensure", "--from", "2030-01", "--to", "2030-03", "--json"
    )
    assert ensured.json() == {"created": ["2030-01", "2030-02", "2030-03"]}

    def partitions() -> list[str]:
        listed = cli(*base, "db", "partitions", "list", "--exact", "--json").json()["items"]  # type: ignore[index]
        assert isinstance(listed, list)
        return [p["name"] for p in listed]

    months = ["signal_p203001", "signal_p203002", "signal_p203003"]
    assert partitions() == ["signal_default", *months]
    moved = cli(*base, "db", "partitions", "move-default", "--json").json()
    assert isinstance(moved, dict)
    assert (moved["moved"], moved["verified"]) == ({}, True)
    assert moved["left_in_default"] == {"signal": 0, "mention": 0, "signal_revision": 0}
    refused = cli(*base, "db", "partitions", "detach", "--before", "2030-02")
    assert refused.exit_code == 2
    assert partitions() == ["signal_default", *months]  # refused: nothing detached
    detached = cli(*base, "db", "partitions", "detach", "--before", "2030-02", "--yes", "--json")
    assert detached.json()["detached"] == [  # type: ignore[index]
        "signal_detached_p203001",
        "mention_detached_p203001",
        "signal_revision_detached_p203001",
    ]
    assert partitions() == ["signal_default", *months[1:]]
    bad = cli(*base, "db", "partitions", "ensure", "--from", "soon", "--to", "2030-01")
    assert bad.exit_code == 2


def test_stdin_and_gzip_through_the_console_script(database_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALGRAPH_")}
    env["SIGNALGRAPH_HOME"] = str(tmp_path)
    env["SIGNALGRAPH_DATABASE_URL"] = database_url
    script = str(console_script())
    subprocess.run([script, "source", "add", "wire"], env=env, check=True, capture_output=True)
    data = write_ndjson(tmp_path / "in.ndjson", [record(i) for i in range(3)]).read_bytes()
    piped = subprocess.run(
        [script, "ingest", "-", "--source", "wire", "--json"],
        input=gzip.compress(data),
        env=env,
        capture_output=True,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["counters"]["inserted"] == 3
    csv_piped = subprocess.run(
        [script, "ingest", "-", "--source", "wire", "--json"],
        input=b"external_id,title\nz1,From stdin\n",
        env=env,
        capture_output=True,
        check=False,
    )
    assert json.loads(csv_piped.stdout)["counters"]["inserted"] == 1


def test_damaged_input_is_named_in_one_line(cli: Cli, database_url: str, tmp_path: Path) -> None:
    base = setup(cli, database_url)
    binary = tmp_path / "binary.ndjson"
    binary.write_bytes(bytes(range(1, 256)) * 16)
    refused = cli(*base, "ingest", str(binary), "--source", "wire")
    assert refused.exit_code == 1
    assert "holds binary data" in refused.stderr
    array = tmp_path / "array.json"
    array.write_text('[{"external_id": "a"}, {"external_id": "b"}]')
    hinted = cli(*base, "ingest", str(array), "--source", "wire")
    assert "one JSON array" in hinted.stderr
    assert "jq -c" in hinted.stderr
    records = [record(i, text=text(random.Random(i), words=300)) for i in range(400)]
    whole = gzip.compress(write_ndjson(tmp_path / "big.ndjson", records).read_bytes())
    truncated = tmp_path / "truncated.ndjson.gz"
    truncated.write_bytes(whole[: len(whole) * 2 // 3])
    damaged = cli(*base, "ingest", str(truncated), "--source", "wire", "--batch-size", "50")
    assert damaged.exit_code == 1
    assert "truncated.ndjson.gz: the compressed data is damaged or ends early" in damaged.stderr
    assert "Aborted" not in damaged.stderr
    run = cli(*base, "runs", "list", "--json").json()["items"][0]  # type: ignore[index]
    assert run["status"] == "failed"
    assert "compressed data" in run["error"]
    inserted = run["counters"]["inserted"]
    assert 0 < inserted < 400
    assert inserted % 50 == 0  # whole batches only: the batch cut short is not stored
    stored = cli(*base, "signals", "list", "--all", "--limit", "1000", "--json").json()["items"]  # type: ignore[index]
    assert len(stored) == inserted  # type: ignore[arg-type]


def test_dry_run_does_not_create_the_source(cli: Cli, database_url: str, tmp_path: Path) -> None:
    base = ["--database-url", database_url]
    path = write_ndjson(tmp_path / "in.ndjson", [record(1)])
    dry = cli(
        *base, "ingest", str(path), "--source", "fresh", "--create-source", "--dry-run", "--json"
    )
    assert dry.exit_code == 0, dry.stderr
    assert dry.json()["counters"]["inserted"] == 1  # type: ignore[index]
    assert cli(*base, "source", "list", "--json").json() == {"items": [], "next_cursor": None}
    # The same command without --dry-run does create it, so the listing above can see one.
    assert cli(*base, "ingest", str(path), "--source", "fresh", "--create-source").exit_code == 0
    sources = cli(*base, "source", "list", "--json").json()["items"]  # type: ignore[index]
    assert [s["name"] for s in sources] == ["fresh"]  # type: ignore[index]


def test_huge_integers_can_be_read_back(cli: Cli, database_url: str, tmp_path: Path) -> None:
    base = setup(cli, database_url)
    path = tmp_path / "big.ndjson"
    path.write_bytes(b'{"external_id": "b", "metadata": {"n": 123456789012345678901234567890}}\n')
    assert cli(*base, "ingest", str(path), "--source", "wire").exit_code == 0
    signal_id = cli(*base, "signals", "list", "--json").json()["items"][0]["id"]  # type: ignore[index]
    shown = cli(*base, "signals", "show", signal_id, "--json")
    assert shown.exit_code == 0, shown.stderr
    assert '"n": 123456789012345678901234567890' in shown.stdout
    assert cli(*base, "signals", "show", signal_id).exit_code == 0
    queried = cli(*base, "db", "query", "SELECT metadata FROM signal", "--json")
    assert "123456789012345678901234567890" in queried.stdout


def test_bad_urls_and_paths_are_usage_or_clear_errors(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    assert cli("--database-url", "postgresql://postgres@[::1/x", "db", "check").exit_code == 2
    assert cli("--database-url", "postgresql://p@127.0.0.1:99999/x", "db", "check").exit_code == 2
    shown = cli("--database-url", "postgresql://u@h/db?password=secret", "config", "show", "--json")
    assert shown.exit_code == 0, shown.stderr
    settings = {s["name"]: s["value"] for s in shown.json()["settings"]}  # type: ignore[index]
    assert settings["database_url"] == "postgresql://u@h/db?password=***"
    assert "secret" not in shown.stdout
    base = setup(cli, database_url)
    path = write_ndjson(tmp_path / "in.ndjson", [record(1)], [b"{bad"])
    run_id = cli(*base, "ingest", str(path), "--source", "wire", "--json").json()["run_id"]  # type: ignore[index]
    unwritable = cli(*base, "rejects", "export", "--run", run_id, "/nonexistent/dir/x.ndjson")
    assert unwritable.exit_code == 1
    assert "cannot write /nonexistent/dir/x.ndjson" in unwritable.stderr
    assert "internal error" not in unwritable.stderr
    short = cli(*base, "signals", "show", "01")
    assert short.exit_code == 2
    assert "its first 4 characters or more" in short.stderr


def test_hints_name_the_workspace(cli: Cli, database_url: str, tmp_path: Path) -> None:
    base = ["--database-url", database_url]
    assert cli(*base, "workspace", "create", "deals").exit_code == 0
    assert cli(*base, "source", "add", "wire", "-w", "deals").exit_code == 0
    path = write_ndjson(tmp_path / "in.ndjson", [record(1)], [b"{bad"])
    result = cli(*base, "ingest", str(path), "--source", "wire", "-w", "deals")
    assert result.exit_code == 3
    assert " -w deals` shows why" in result.stderr
    missing = cli(*base, "source", "show", "nope", "-w", "deals")
    assert "signalgraph source list -w deals" in missing.stderr


def test_signals_search_and_pages_from_the_command_line(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    base = ("--database-url", database_url)
    path = tmp_path / "wire.ndjson"
    write_ndjson(
        path,
        [
            {"external_id": f"w{i}", "title": f"Merger talks {i}",
             "text": f"Acme and Helix, day {i}.", "lang": "en",
             "published_at": f"2026-05-{i + 1:02}T08:00:00Z"}
            for i in range(5)
        ]
        + [{"external_id": "other", "title": "Weather", "text": "Rain.", "lang": "en"}],
    )  # fmt: skip
    assert cli(*base, "source", "add", "wire").exit_code == 0
    assert cli(*base, "ingest", str(path), "--source", "wire").exit_code == 0
    first = cli(*base, "signals", "search", "mergers", "--limit", "3", "--json").json()
    assert isinstance(first, dict)
    assert [s["external_id"] for s in first["items"]] == ["w4", "w3", "w2"]
    rest = cli(
        *base, "signals", "search", "mergers", "--limit", "3", "--cursor", first["next_cursor"],
        "--json",
    ).json()  # fmt: skip
    assert [s["external_id"] for s in rest["items"]] == ["w1", "w0"]  # type: ignore[index]
    assert rest["next_cursor"] is None  # type: ignore[index]
    table = cli(*base, "signals", "search", "merger", "--limit", "2")
    assert table.exit_code == 0
    assert "--cursor" in table.stderr
    bad = cli(*base, "signals", "list", "--cursor", "garbage")
    assert bad.exit_code == 2
    assert "cursor" in bad.stderr
