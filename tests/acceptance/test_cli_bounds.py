"""A value a column cannot hold is a usage error naming its option, never a database error.

Every integer and float option of every command is given a huge value; the list is read
from the command tree, so an option added later is covered without editing this file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from signalgraph.cli import app
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

HUGE = "99999999999999999999"
# Values for the arguments and required options a command needs before its numbers are
# read; any name works, the numbers are refused first.
FILLERS = {
    "files": "records.ndjson",
    "source": "newswire",
    "entity_id": "01a2",
    "entity": "01a2",
    "ids": "01a2",
    "name": "deals",
    "prop": "headcount",
    "sql": "select 1",
    "query": "acquisition",
}


def _numeric_options(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[Any, ...]]:
    sub = getattr(command, "commands", None)
    if sub:
        for name, child in sub.items():
            yield from _numeric_options(child, (*path, name))
        return
    numeric = [
        param
        for param in command.params
        if param.bare_type() in {"int", "float"} and param.param_type_name == "option"
    ]
    needed: list[str] = []
    for param in command.params if numeric else []:
        if param.required:
            value = FILLERS[param.name]
            needed += [value] if param.param_type_name == "argument" else [param.opts[0], value]
    for param in numeric:
        yield " ".join(path), [*path, *needed], max(param.opts, key=len)


NUMERIC_OPTIONS = list(_numeric_options(typer.main.get_command(app)))


def test_the_numeric_options_are_all_found() -> None:
    found = {(command, flag) for command, _, flag in NUMERIC_OPTIONS}
    assert {
        ("source add", "--trust-rank"),
        ("entities search", "--rank-max"),
        ("db query", "--timeout"),
        ("annotate", "--rank"),
        ("lists add", "--position"),
        ("runs list", "--limit"),
        ("ingest", "--batch-size"),
        ("facts ingest", "--max-rejects"),
    } <= found
    assert len(found) >= 30


@pytest.mark.parametrize(
    ("command", "argv", "flag"),
    NUMERIC_OPTIONS,
    ids=[f"{command} {flag}" for command, _, flag in NUMERIC_OPTIONS],
)
def test_a_huge_number_is_a_usage_error_naming_its_option(
    cli: Cli, database_url: str, tmp_path: Path, command: str, argv: list[str], flag: str
) -> None:
    Path("records.ndjson").write_text('{"external_id": "a", "text": "x"}\n', encoding="utf-8")
    result = cli("--database-url", database_url, *argv, flag, HUGE)
    assert result.exit_code == 2, result.stderr
    assert flag in result.stderr
    assert "internal error" not in result.stderr
    assert "database error" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "named", "said"),
    [
        (["entities", "search", "--where", "headcount >= 2024-02-30"], "--where", "not a date"),
        (["entities", "search", "--where", "founded < 0000-01-01"], "--where", "not a date"),
        (["facts", "match", "headcount >= 2024-13-01"], "CONDITION", "not a date"),
        (["entities", "search", "--rank-max", HUGE], "--rank-max", "out of range"),
        (["source", "add", "vendor", "--trust-rank", "99999999999999"], "--trust-rank", "range"),
        (["db", "query", "select 1", "--timeout", "3000000"], "--timeout", "out of range"),
        (["db", "query", "select 1", "--timeout", "inf"], "--timeout", "out of range"),
    ],
)
def test_the_reported_query_errors_are_usage_errors(
    cli: Cli, database_url: str, argv: list[str], named: str, said: str
) -> None:
    result = cli("--database-url", database_url, *argv)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: {named}: ")
    assert said in result.stderr
    assert "internal error" not in result.stderr
    assert "database error" not in result.stderr


def test_values_at_the_edge_of_a_column_are_accepted(cli: Cli, database_url: str) -> None:
    url = ["--database-url", database_url]
    top = str(2**31 - 1)
    added = cli(*url, "source", "add", "vendor", "--trust-rank", top, "--json")
    assert added.exit_code == 0, added.stderr
    assert added.json()["trust_rank"] == 2**31 - 1  # type: ignore[index]
    searched = cli(*url, "entities", "search", "--rank-max", top, "--limit", "1")
    assert searched.exit_code == 0, searched.stderr
    listed = cli(*url, "runs", "list", "--limit", top, "--json")
    assert listed.exit_code == 0, listed.stderr
