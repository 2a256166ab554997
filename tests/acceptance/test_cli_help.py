"""Every command's `--help`: an example, flags shown as flags, no Python type names; completion."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import typer.main

from signalgraph.cli import app
from signalgraph.cli.examples import EXAMPLES
from tests.conftest import CliResult, console_script


def _paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, child in getattr(command, "commands", {}).items():
        yield from _paths(child, (*path, name))


PATHS = list(_paths(typer.main.get_command(app)))
LEAKS = (
    "<bool>",
    "<list[",
    "<int range>",
    "<float range>",
    "<str>",
    "<int>",
    "typing.",
    "Optional[",
)


def _words(output: str) -> str:
    # Help is boxed and wrapped: compare the words, not the layout.
    return " ".join(output.replace("│", " ").split())


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "(root)" for p in PATHS])
def test_help_shows_an_example_and_no_python_type_names(
    path: tuple[str, ...], cli: Callable[..., CliResult]
) -> None:
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.stderr
    shown = _words(result.stdout)
    example = EXAMPLES.get(" ".join(path))
    assert example is not None, f"add an example for `signalgraph {' '.join(path)}` to EXAMPLES"
    assert f"signalgraph {' '.join(path)}".strip() in example
    assert f"Example: {example}" in shown
    for leak in LEAKS:
        assert leak not in result.stdout, f"{leak} in `signalgraph {' '.join(path)} --help`"


def test_every_example_names_a_command_that_exists() -> None:
    assert set(EXAMPLES) == {" ".join(path) for path in PATHS}


def test_examples_fit_on_one_line_of_an_80_column_terminal() -> None:
    too_long = {path: text for path, text in EXAMPLES.items() if len("Example: " + text) > 78}
    assert too_long == {}


def test_json_is_a_flag_without_a_value(cli: Callable[..., CliResult]) -> None:
    shown = _words(cli("workspace", "list", "--help").stdout)
    assert "--json Print JSON" in shown
    assert cli("workspace", "list", "--json", "true").exit_code == 2
    without: list[str] = []
    for path in PATHS:
        command: Any = typer.main.get_command(app)
        for name in path:
            command = command.commands[name]
        if getattr(command, "commands", None):
            continue  # a group: its commands are checked
        json = [param for param in command.params if "--json" in getattr(param, "opts", ())]
        if not json:
            without.append(" ".join(path))
        for param in json:
            assert param.is_flag, f"--json of `signalgraph {' '.join(path)}` takes a value"
    # Every command takes --json but one, which always prints data (--format ndjson|csv).
    assert without == ["entities clusters"]


def test_flags_and_values_say_what_they_expect(cli: Callable[..., CliResult]) -> None:
    shown = _words(cli("signals", "list", "--help").stdout)
    assert "--all Include duplicates" in shown
    assert re.search(r"--limit N \[1<=x<=10000\]", shown), shown
    assert "--source NAME Only this source" in shown
    assert "--kind TEXT Only this kind" in shown
    assert "--help -h Show this message" in shown
    assert "FILE NDJSON, CSV or Parquet" in _words(cli("ingest", "--help").stdout)
    # Arguments are named in capitals, as values are (`SQL`, not the parameter `sql`).
    assert "signalgraph db query [OPTIONS] {SQL}" in _words(cli("db", "query", "--help").stdout)


def test_shell_completion_is_installable_and_completes_commands() -> None:
    script = subprocess.run(
        [str(console_script()), "--show-completion", "bash"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert script.returncode == 0, script.stderr
    assert "_SIGNALGRAPH_COMPLETE" in script.stdout
    completed = subprocess.run(
        [str(console_script())],
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "_SIGNALGRAPH_COMPLETE": "complete_bash",
            "COMP_WORDS": "signalgraph db ch",
            "COMP_CWORD": "2",
        },
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["check"]
