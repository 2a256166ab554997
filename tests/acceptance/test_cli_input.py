"""Hostile and odd input through every ingest command: deep nesting, NUL bytes, old line ends."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]
DEPTHS = (400, 1000, 10_000)


def nested(depth: int) -> str:
    """Return JSON text of arrays nested `depth` levels deep."""
    return "[" * depth + "]" * depth


def ok(result: CliResult, code: int = 0) -> Any:
    assert result.exit_code == code, result.stderr
    return result.json()


def items(listed: Any) -> list[Any]:
    """Return the rows of a list command's JSON (a bare array, or an object holding one)."""
    if isinstance(listed, dict):
        return next(value for value in listed.values() if isinstance(value, list))
    return list(listed)


def query(cli: Cli, base: list[str], sql: str) -> list[list[Any]]:
    """Return the rows of a read-only SQL query run through `db query`."""
    rows = ok(cli(*base, "db", "query", sql, "--json"))["rows"]
    return list(rows)


def with_source(cli: Cli, database_url: str) -> list[str]:
    """Return the arguments that reach the test database, after adding the source crm."""
    base = ["--database-url", database_url]
    assert cli(*base, "source", "add", "crm").exit_code == 0
    return base


def prepare_entities(cli: Cli, base: list[str], tmp_path: Path) -> None:
    """Store one resolved company the statements below refer to by its domain."""
    path = tmp_path / "acme.ndjson"
    path.write_text(
        json.dumps(
            {"external_id": "acme", "type": "company", "name": "Acme",
             "identifiers": {"domain": "acme.ai"}}
        ) + "\n"
    )  # fmt: skip
    ok(cli(*base, "entities", "ingest", str(path), "--source", "crm", "--json"))
    assert cli(*base, "resolve").exit_code == 0


# For each ingest command: two valid records, and a record template whose `{deep}` is
# replaced by arrays nested thousands of levels.
KINDS: dict[str, tuple[list[str], list[dict[str, Any]], str]] = {
    "signals": (
        ["ingest"],
        [{"external_id": "s1", "text": "first"}, {"external_id": "s2", "text": "second"}],
        '{{"external_id": "deep{n}", "text": "x", "metadata": {{"a": {deep}}}}}',
    ),
    "entities": (
        ["entities", "ingest"],
        [
            {"external_id": "e1", "type": "company", "name": "Beta"},
            {"external_id": "e2", "type": "company", "name": "Gamma"},
        ],
        '{{"external_id": "deep{n}", "type": "company", "name": "X", '
        '"properties": {{"a": {deep}}}}}',
    ),
    "facts": (
        ["facts", "ingest"],
        [
            {"entity": {"domain": "acme.ai"}, "property": "headcount", "value": 30},
            {"entity": {"domain": "acme.ai"}, "property": "stage", "value": "Series A"},
        ],
        '{{"entity": {{"domain": "acme.ai"}}, "property": "blob{n}", "value": {deep}}}',
    ),
    "relations": (
        ["relations", "ingest"],
        [
            {"subject": {"domain": "acme.ai"}, "predicate": "owns",
             "object": {"domain": "acme.ai"}},
            {"subject": {"domain": "acme.ai"}, "predicate": "advises",
             "object": {"domain": "acme.ai"}},
        ],
        '{{"subject": {{"domain": "acme.ai"}}, "predicate": "deep{n}", '
        '"object": {{"domain": "acme.ai"}}, "properties": {{"a": {deep}}}}}',
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_deeply_nested_records_are_rejected_alone_by_every_ingest_command(
    cli: Cli, database_url: str, tmp_path: Path, kind: str
) -> None:
    base = with_source(cli, database_url)
    prepare_entities(cli, base, tmp_path)
    command, valid, template = KINDS[kind]
    deep = [template.format(n=depth, deep=nested(depth)) for depth in DEPTHS]
    lines = [json.dumps(valid[0]), *deep, json.dumps(valid[1])]
    path = tmp_path / f"{kind}.ndjson"
    path.write_text("\n".join(lines) + "\n")
    report = ok(cli(*base, *command, str(path), "--source", "crm", "--json"), code=3)
    assert report["status"] == "succeeded"
    assert report["counters"]["inserted"] == 2
    assert report["counters"]["rejected"] == 3
    rejects = items(ok(cli(*base, "rejects", "list", "--run", report["run_id"], "--json")))
    assert [r["line"] for r in rejects] == [2, 3, 4]
    for reject in rejects:
        assert "nested more than 200 levels deep" in reject["reason"]
        assert reject["raw"] == lines[reject["line"] - 1]


def test_a_record_at_the_depth_limit_is_stored_and_shown(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    base = with_source(cli, database_url)
    # The record is level 1, metadata 2, its arrays 3 to 200.
    path = tmp_path / "edge.ndjson"
    path.write_text(
        f'{{"external_id": "edge", "text": "x", "metadata": {{"a": {nested(198)}}}}}\n'
        f'{{"external_id": "over", "text": "y", "metadata": {{"a": {nested(199)}}}}}\n'
    )
    report = ok(cli(*base, "ingest", str(path), "--source", "crm", "--json"), code=3)
    assert (report["counters"]["inserted"], report["counters"]["rejected"]) == (1, 1)
    ((signal_id,),) = query(cli, base, "SELECT id FROM signalgraph.signal")
    shown = ok(cli(*base, "signals", "show", signal_id, "--json"))
    assert json.dumps(shown["metadata"], separators=(",", ":")) == f'{{"a":{nested(198)}}}'


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_a_nul_byte_on_the_first_line_rejects_that_line_or_is_stripped(
    cli: Cli, database_url: str, tmp_path: Path, fmt: str
) -> None:
    base = with_source(cli, database_url)
    if fmt == "ndjson":
        bad = b'{"external_id": "n1", "text": "a\x00b"}'
        body = bad + b'\n{"external_id": "n2", "text": "fine"}\n'
    else:
        bad = b"n1,a\x00b"
        body = b"external_id,text\n" + bad + b"\nn2,fine\n"
    path = tmp_path / "input.txt"  # the name says nothing: only --format does
    path.write_bytes(body)
    rejected = cli(*base, "ingest", str(path), "--source", "crm", "--format", fmt, "--json")
    report = ok(rejected, code=3)
    assert (report["counters"]["inserted"], report["counters"]["rejected"]) == (1, 1)
    out = tmp_path / "rejects.out"
    ok_export = cli(*base, "rejects", "export", "--run", report["run_id"], str(out))
    assert ok_export.exit_code == 0, ok_export.stderr
    assert bad in out.read_bytes()  # kept verbatim, NUL included
    (reject,) = items(ok(cli(*base, "rejects", "list", "--run", report["run_id"], "--json")))
    assert (reject["line"], reject["field"]) == (2 if fmt == "csv" else 1, "text")
    assert "--nul strip" in reject["reason"]
    stripped = cli(
        *base, "ingest", str(path), "--source", "crm", "--format", fmt, "--nul", "strip", "--json"
    )
    report = ok(stripped)
    assert report["counters"]["nul_stripped"] == 1
    assert report["counters"]["inserted"] == 1
    texts = query(cli, base, "SELECT text FROM signalgraph.signal ORDER BY external_id")
    assert texts == [["ab"], ["fine"]]


@pytest.mark.parametrize(
    ("name", "body", "counts"),
    [
        # A stray NUL in a file its name calls NDJSON: that record only, not the file.
        ("feed.ndjson", b'{"external_id": "c1", "text": "a\x00b"}\n{"external_id": "c2"}', (1, 1)),
        (
            "old-mac.ndjson",
            b'{"external_id": "c1"}\r{"external_id": "c2"}\r{"external_id": "c3"}\r',
            (3, 0),
        ),
        ("old-mac.csv", b"external_id,title\rc1,one\rc2,two\rc3,three\r", (3, 0)),
    ],
)
def test_stray_nul_bytes_and_carriage_return_line_ends_are_read(
    cli: Cli, database_url: str, tmp_path: Path, name: str, body: bytes, counts: tuple[int, int]
) -> None:
    base = with_source(cli, database_url)
    path = tmp_path / name
    path.write_bytes(body)
    result = cli(*base, "ingest", str(path), "--source", "crm", "--json")
    report = ok(result, code=3 if counts[1] else 0)
    assert (report["counters"]["inserted"], report["counters"]["rejected"]) == counts


def test_a_csv_header_naming_a_column_twice_refuses_the_file(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    base = with_source(cli, database_url)
    path = tmp_path / "twice.csv"
    path.write_bytes(b"external_id,title,text,title\nc1,first,body,second\n")
    refused = cli(*base, "ingest", str(path), "--source", "crm")
    assert refused.exit_code == 1
    assert "names the column 'title' twice (columns 2 and 4)" in refused.stderr
    runs = query(cli, base, "SELECT count(*) FROM signalgraph.run")
    assert runs == [[0]]  # refused before anything ran


@pytest.mark.parametrize("sql", ["  ;  ; ", ";", "-- only a comment", "/* nothing */ ;"])
def test_db_query_without_a_statement_is_a_usage_error(
    cli: Cli, database_url: str, sql: str
) -> None:
    result = cli("--database-url", database_url, "db", "query", "--", sql)
    assert result.exit_code == 2
    assert "no statement" in result.stderr
