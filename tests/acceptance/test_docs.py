"""Every command has help text and a section in the docs (README or docs/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from signalgraph.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    sub = getattr(command, "commands", None)
    if sub:
        for name, child in sub.items():
            yield from _commands(child, (*path, name))
    else:
        yield path, command


COMMANDS = list(_commands(typer.main.get_command(app)))


def _docs_text() -> str:
    parts = [(ROOT / "README.md").read_text()]
    parts += [page.read_text() for page in sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(parts)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_command_has_help_and_docs(path: tuple[str, ...], command: Any) -> None:
    assert (command.help or "").strip(), f"`signalgraph {' '.join(path)}` has no help text"
    heading = f"signalgraph {' '.join(path)}"
    assert heading in _docs_text(), f"no section in README.md or docs/ mentions `{heading}`"


def test_every_option_with_an_environment_variable_shows_it() -> None:
    from typer.testing import CliRunner

    def rendered(*args: str) -> str:
        output = CliRunner().invoke(app, [*args, "--help"]).output
        # Help is boxed and wrapped: compare the words, not the layout.
        return " ".join(output.replace("│", " ").split())

    shown = rendered()
    for variable in ("DATABASE_URL", "WORKSPACE", "CONFIG", "DEBUG"):
        assert f"[env: SIGNALGRAPH_{variable}" in shown, variable
    assert "[env: SIGNALGRAPH_BATCH_SIZE]" in rendered("ingest")
