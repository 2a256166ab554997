"""The command examples of README.md and docs/*.md marked runnable, read as a user reads them.

A fenced block is runnable when the line before its opening fence is
`<!-- runnable -->` (run on a database holding the examples, see test_docs.py) or
`<!-- runnable: readme -->` (the README's quick start, run on a new embedded server).
In `bash` blocks every line is a command; in `console` blocks the lines that start with
`$ ` are. A trailing `\\` continues a command; `# exit N` at the end of a line says the
command exits with N on purpose (anything else but 0 fails the test).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_MARKER = re.compile(r"^<!-- runnable(?::\s*(?P<name>[\w-]+))?\s*-->$")
_EXIT = re.compile(r"#.*\bexit (\d+)\b")


@dataclass(frozen=True)
class Command:
    """One command of a block: what to run, where it is, the exit code it documents."""

    text: str
    line: int
    exit_code: int


@dataclass(frozen=True)
class Block:
    """A runnable fenced block of a documentation page."""

    page: str
    line: int
    name: str
    language: str
    body: str

    @property
    def label(self) -> str:
        """Return where the block is, for test ids and messages."""
        return f"{self.page}:{self.line}"

    def commands(self) -> list[Command]:
        """Return the block's commands in order (for bash and console blocks)."""
        found: list[Command] = []
        pending: list[str] = []
        start = 0
        for offset, raw in enumerate(self.body.splitlines(), start=1):
            line = raw.rstrip()
            if not pending:
                if self.language == "console":
                    if not line.startswith("$ "):
                        continue
                    line = line[2:]
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                start = self.line + offset
            if line.endswith("\\"):
                pending.append(line[:-1])
                continue
            text = " ".join([*pending, line])
            pending = []
            documented = _EXIT.search(text)
            found.append(Command(text, start, int(documented.group(1)) if documented else 0))
        return found


def runnable_blocks(name: str | None = None) -> list[Block]:
    """Return every runnable block of README.md and docs/*.md (only those named `name`)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    blocks = []
    for page in pages:
        lines = page.read_text().splitlines()
        index = 0
        while index < len(lines) - 1:
            marker = _MARKER.match(lines[index].strip())
            fence = lines[index + 1].strip()
            if marker and fence.startswith("```"):
                end = index + 2
                while end < len(lines) and lines[end].strip() != "```":
                    end += 1
                block = Block(
                    page=str(page.relative_to(ROOT)),
                    line=index + 2,
                    name=marker.group("name") or "examples",
                    language=fence[3:].strip() or "bash",
                    body="\n".join(lines[index + 2 : end]),
                )
                if name is None or block.name == name:
                    blocks.append(block)
                index = end
            index += 1
    return blocks
