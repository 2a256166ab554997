"""Start-up stays light: the CLI, `--version` and `--help` import no database or data library.

What each of these costs in time is measured in benchmarks (docs/benchmarks.md); this only
guards the cause, the imports, so a new top-level import cannot bring the cost back.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import signalgraph
from tests.conftest import console_script

HEAVY = ("sqlalchemy", "numpy", "pyarrow", "pydantic_settings", "rapidfuzz", "alembic", "psycopg")


def _modules_after(code: str) -> set[str]:
    printed = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(printed.splitlines()[-1]))


def _imported_by(code: str) -> set[str]:
    return {name.split(".")[0] for name in _modules_after(code)}


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


def test_a_command_loads_only_its_own_command_module() -> None:
    loaded = {name for name in _modules_after(_cli("db", "--help")) if ".cli." in name}
    assert {"signalgraph.cli.db_cmd", "signalgraph.cli.partitions_cmd"} <= loaded
    assert "signalgraph.cli.entities_cmd" not in loaded
    for_version = {name for name in _modules_after(_cli("--version")) if ".cli." in name}
    assert not any(name.endswith("_cmd") for name in for_version), for_version


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


def test_the_program_flushes_what_it_printed_and_keeps_its_exit_status() -> None:
    # The console script ends the process without tearing the interpreter down.
    def program(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(console_script()), *args], capture_output=True, text=True, check=False
        )

    helped = program("--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.rstrip().endswith("Example: signalgraph demo")
    assert program("--version").stdout == f"signalgraph {signalgraph.__version__}\n"
    refused = program("workspace", "list", "--json", "true")
    assert refused.returncode == 2
    assert "unexpected extra argument" in refused.stderr
    wrong = program("--database-url", "mysql://localhost/x", "db", "check")
    assert wrong.returncode == 2
    assert "is not PostgreSQL" in wrong.stderr
