"""Start-up stays light: the CLI, `--version` and `--help` import no database or data library.

What each of these costs in time is measured in benchmarks (docs/benchmarks.md); this only
guards the cause, the imports, so a new top-level import cannot bring the cost back.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "numpy", "pyarrow", "pydantic_settings", "rapidfuzz", "alembic", "psycopg")


def _imported_by(code: str) -> set[str]:
    printed = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {name.split(".")[0] for name in json.loads(printed.splitlines()[-1])}


def _cli(*args: str) -> str:
    # The console script's own code: run main() and report the modules whatever it exits with.
    return (
        f"from signalgraph.cli import main\ntry:\n    main({list(args)!r})\n"
        "except SystemExit:\n    pass"
    )


@pytest.mark.parametrize(
    "code",
    [
        "import signalgraph.cli.app",
        "import signalgraph",
        _cli("--version"),
        _cli("--help"),
        _cli("db", "--help"),
    ],
    ids=["import cli", "import signalgraph", "--version", "--help", "db --help"],
)
def test_starting_the_cli_imports_no_heavy_library(code: str) -> None:
    assert _imported_by(code) & set(HEAVY) == set()


def test_the_library_still_offers_its_names_once_asked() -> None:
    names = _imported_by(
        "import signalgraph\n"
        "assert callable(signalgraph.connect)\n"
        "assert signalgraph.SignalGraph.__name__ == 'SignalGraph'\n"
        "assert signalgraph.Settings.__name__ == 'Settings' and signalgraph.__version__\n"
        "assert issubclass(signalgraph.SignalgraphError, Exception)\n"
        "from signalgraph import connect, load_settings"
    )
    assert "pydantic_settings" in names
