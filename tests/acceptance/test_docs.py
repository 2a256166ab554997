"""Every command has help text and a section in the docs, and the docs' examples run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
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


# -- every command has help, a row in the README's overview and a section in docs/ ---------
#
# A command is documented when (1) the README's command overview table names it, and
# (2) exactly one page of docs/ has a heading of its own for it: a Markdown heading
# whose code span is `signalgraph`, the command's words, then only arguments and
# options (### `signalgraph db upgrade [REV]`), with text under it. A heading names one
# command; a heading or a table row naming a command that does not exist fails too.

_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$")
_CODE = re.compile(r"`([^`]+)`")
_WORD = re.compile(r"^[a-z][a-z-]*$")


def _named(span: str) -> list[tuple[str, ...]]:
    """Return the command paths a code span names: `db current`, `server start|stop`…

    The words after `signalgraph` up to the first argument or option are the path; the
    last may list alternatives (`lists add|remove`). Anything else names no command.
    """
    words = span.split()
    if words[:1] == ["signalgraph"]:
        words = words[1:]
    path: list[str] = []
    for word in words:
        choices = word.replace("\\|", "|").split("|")
        if not all(_WORD.match(choice) for choice in choices):
            break
        if len(choices) > 1:
            return [(*path, choice) for choice in choices]
        path.append(word)
    return [tuple(path)] if path else []


@dataclass(frozen=True)
class Section:
    """A heading of a docs page that names a command, and the text under it."""

    page: str
    line: int
    spans: tuple[str, ...]  # the heading's code spans that start `signalgraph `
    body: str  # the lines up to the next heading

    @property
    def where(self) -> str:
        """Return the page and line, for messages."""
        return f"{self.page}:{self.line}"

    @property
    def names(self) -> list[tuple[str, ...]]:
        """Return the command paths the heading names."""
        return [path for span in self.spans for path in _named(span)]


def _sections() -> list[Section]:
    """Return every heading of docs/*.md that names a `signalgraph` command."""
    found = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        lines = page.read_text().splitlines()
        fenced = False
        headings: list[tuple[int, str]] = []
        for index, line in enumerate(lines):
            if line.lstrip().startswith("```"):
                fenced = not fenced
            elif not fenced and (heading := _HEADING.match(line)):
                headings.append((index, heading.group(1)))
        for number, (index, text) in enumerate(headings):
            spans = tuple(s for s in _CODE.findall(text) if s.startswith("signalgraph "))
            if spans:
                end = headings[number + 1][0] if number + 1 < len(headings) else len(lines)
                body = "\n".join(lines[index + 1 : end])
                found.append(Section(f"docs/{page.name}", index + 1, spans, body))
    return found


def _overview() -> dict[tuple[str, ...], str]:
    """Return each command path the README's command overview table names, with its row."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("\n## Command overview\n", 1)[1].split("\n## ", 1)[0]
    named = {}
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        first_cell = re.split(r"(?<!\\)\|", row)[1]
        for span in _CODE.findall(first_cell):
            for path in _named(span):
                named[path] = row
    return named


SECTIONS = _sections()
OVERVIEW = _overview()
PATHS = [path for path, _ in COMMANDS]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_command_has_help_a_row_in_the_overview_and_a_section_of_its_own(
    path: tuple[str, ...], command: Any
) -> None:
    name = f"signalgraph {' '.join(path)}"
    assert (command.help or "").strip(), f"`{name}` has no help text"
    assert path in OVERVIEW, f"the README's command overview has no row naming `{name}`"
    own = [section for section in SECTIONS if section.names == [path]]
    assert own, f"no page of docs/ has a heading of its own for `{name}`"
    assert len(own) == 1, f"`{name}` has several sections: {[s.where for s in own]}"
    assert own[0].body.strip(), f"{own[0].where}: the section of `{name}` is empty"


def test_every_command_heading_names_one_command_that_exists() -> None:
    for section in SECTIONS:
        assert len(section.names) == 1, f"{section.where}: names {section.names}, not one command"
        assert section.names[0] in PATHS, f"{section.where}: no such command {section.names[0]}"


def test_every_command_the_overview_names_exists() -> None:
    unknown = {" ".join(path): row for path, row in OVERVIEW.items() if path not in PATHS}
    assert unknown == {}


def test_the_documentation_rule_reads_headings_and_rows() -> None:
    # Pins the reading above on known shapes, so that a change to it which reads nothing
    # cannot make every command pass or fail for a reason of its own.
    assert _named("signalgraph db upgrade [REV]") == [("db", "upgrade")]
    assert _named("signalgraph db phrase-index [on|off]") == [("db", "phrase-index")]
    assert _named("signalgraph server start\\|stop") == [("server", "start"), ("server", "stop")]
    assert _named("signalgraph ingest FILE... --source S") == [("ingest",)]
    assert _named('signalgraph db query "SQL"') == [("db", "query")]
    assert _named("db history") == [("db", "history")]
    assert _named("signalgraph --help") == []
    assert len(SECTIONS) >= len(PATHS)
    assert ("db", "partitions", "move-default") in OVERVIEW


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
