"""Every command has help text and a section in the docs, and the docs' examples run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

import signalgraph
from signalgraph.cli import app
from tests.conftest import console_script
from tests.docs_examples import Block, runnable_blocks

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


# -- the examples of the docs, run ------------------------------------------------------

EXAMPLES = ROOT / "examples"


def _environment(**settings: str) -> dict[str, str]:
    """Return the environment a user's shell would have, with signalgraph on the PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALGRAPH_")}
    env["PATH"] = f"{console_script().parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "100"
    return env | settings


def _run_block(block: Block, workdir: Path, env: dict[str, str]) -> list[str]:
    """Run every command of a block in order; return what each printed."""
    outputs = []
    if block.language == "python":
        done = subprocess.run(
            [sys.executable, "-c", block.body],
            cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{block.label}: the Python example failed\n{done.stderr}"
        return [done.stdout]
    for command in block.commands():
        done = subprocess.run(
            ["bash", "-c", command.text],
            cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == command.exit_code, (
            f"{block.page}:{command.line}: `{command.text}` exited {done.returncode} "
            f"(documented: {command.exit_code})\n{done.stderr}"
        )
        outputs.append(done.stdout)
    return outputs


def _workdir(tmp_path: Path) -> Path:
    workdir = tmp_path / "repo"
    shutil.copytree(EXAMPLES, workdir / "examples")
    return workdir


@pytest.mark.embedded
@pytest.mark.slow
def test_the_readme_quick_start_and_python_example_run_as_written(tmp_path: Path) -> None:
    blocks = runnable_blocks("readme")
    assert [block.language for block in blocks] == ["bash", "python"]
    workdir = _workdir(tmp_path)
    env = _environment(SIGNALGRAPH_HOME=str(tmp_path / "home"))
    try:
        outputs = _run_block(blocks[0], workdir, env)
        assert any("Acme Robotics" in output for output in outputs)
        python = _run_block(blocks[1], workdir, env)[0]
        assert "Corvid Analytics" in python, python
    finally:
        subprocess.run(
            [str(console_script()), "server", "stop"], env=env, capture_output=True, check=False
        )


def _prepare(database_url: str) -> None:
    """Load the examples the way the README's quick start does, in the default workspace."""
    sg = signalgraph.connect(url=database_url)
    try:
        sg.sources.add("accern", kind="news", trust_rank=5)
        sg.sources.add("crm", kind="crm", trust_rank=8)
        sg.sources.add("harmonic", kind="vendor", trust_rank=6)
        sg.ingest([str(EXAMPLES / "news.ndjson"), str(EXAMPLES / "mail.csv.gz")], source="accern")
        sg.entities.ingest(str(EXAMPLES / "companies.ndjson"), source="crm")
        sg.resolve()
        sg.facts.define("revenue", "money", unit="USD")
        sg.facts.define("headcount", "integer")
        sg.facts.ingest(str(EXAMPLES / "metrics.ndjson"), source="harmonic")
        sg.relations.ingest(str(EXAMPLES / "people.ndjson"), source="harmonic")
    finally:
        sg.close()


EXAMPLE_BLOCKS = runnable_blocks("examples")


@pytest.mark.parametrize("block", EXAMPLE_BLOCKS, ids=[block.label for block in EXAMPLE_BLOCKS])
def test_runnable_examples_of_the_docs_run_as_written(
    block: Block, database_url: str, tmp_path: Path
) -> None:
    _prepare(database_url)
    env = _environment(SIGNALGRAPH_DATABASE_URL=database_url, SIGNALGRAPH_HOME=str(tmp_path))
    _run_block(block, _workdir(tmp_path), env)


def test_the_docs_have_runnable_examples() -> None:
    pages = {block.page for block in EXAMPLE_BLOCKS}
    assert len(EXAMPLE_BLOCKS) >= 8, [block.label for block in EXAMPLE_BLOCKS]
    assert len(pages) >= 5, pages


def test_the_demo_docs_name_what_the_demo_makes() -> None:
    from signalgraph.demo import DEMO_PROPERTIES, DEMO_SOURCES

    section = (ROOT / "docs" / "operations.md").read_text().split("### `signalgraph demo`")[1]
    section = " ".join(section.split("\n## ")[0].split())
    words = {2: "two", 3: "three", 4: "four", 5: "five"}
    assert f"{words[len(DEMO_SOURCES)]} sources" in section
    for name, *_ in DEMO_SOURCES:
        assert f"`{name}`" in section, name
    assert f"{words[len(DEMO_PROPERTIES)]} typed properties" in section
