from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest

from signalgraph.db.migrate import head_revision
from tests.conftest import CliResult, DatabaseFactory, console_script

Cli = Callable[..., CliResult]


def test_db_check_json_reports_version_and_head(cli: Cli, database_url: str) -> None:
    result = cli("--database-url", database_url, "db", "check", "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert isinstance(report, dict)
    assert report["ok"] is True
    assert report["server_version_num"] >= 150000
    assert report["schema"]["at_head"] is True


def test_db_check_on_empty_database_fails_with_reason(cli: Cli, databases: DatabaseFactory) -> None:
    result = cli("--database-url", databases.empty(), "db", "check", "--json")
    assert result.exit_code == 1
    report = result.json()
    assert isinstance(report, dict)
    assert report["ok"] is False
    assert "signalgraph db upgrade" in report["reason"]


def test_upgrade_current_history_round_trip(cli: Cli, databases: DatabaseFactory) -> None:
    url = databases.empty()
    upgraded = cli("--database-url", url, "db", "upgrade", "--json")
    assert upgraded.exit_code == 0, upgraded.stderr
    assert upgraded.json() == {"from": None, "to": head_revision(), "changed": True}
    current = cli("--database-url", url, "db", "current", "--json")
    assert current.json()["at_head"] is True  # type: ignore[index]
    history = cli("db", "history", "--json")
    assert history.exit_code == 0
    assert history.json()["items"][0]["revision"] == "0001"  # type: ignore[index]


def test_downgrade_needs_confirmation(cli: Cli, database_url: str) -> None:
    refused = cli("--database-url", database_url, "db", "downgrade", "base")
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr
    done = cli("--database-url", database_url, "db", "downgrade", "base", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json()["to"] is None  # type: ignore[index]


def test_unknown_revision_is_a_usage_error(cli: Cli, database_url: str) -> None:
    result = cli("--database-url", database_url, "db", "upgrade", "zzz")
    assert result.exit_code == 2
    assert "unknown revision 'zzz'" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["db", "info", "--json"],
        ["db", "stats", "--json"],
        ["db", "indexes", "--json"],
        ["db", "connections", "--json"],
        ["db", "vacuum", "--analyze", "--json"],
        ["db", "vacuum", "run", "--json"],
        ["db", "query", "SELECT count(*) AS n FROM workspace", "--json"],
    ],
)
def test_admin_commands_emit_json(cli: Cli, database_url: str, command: list[str]) -> None:
    result = cli("--database-url", database_url, *command)
    assert result.exit_code == 0, result.stderr
    assert result.json() is not None


def test_admin_commands_render_tables(cli: Cli, database_url: str) -> None:
    for command in (["db", "info"], ["db", "stats"], ["db", "indexes"], ["db", "connections"]):
        result = cli("--database-url", database_url, *command)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip()
    stats = cli("--database-url", database_url, "db", "stats")
    assert "workspace" in stats.stdout


def test_query_refuses_writes_in_one_line(cli: Cli, database_url: str) -> None:
    result = cli("--database-url", database_url, "db", "query", "DELETE FROM workspace")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "read-only" in result.stderr
    assert "Traceback" not in result.stderr


def test_vacuum_unknown_table_is_a_usage_error(cli: Cli, database_url: str) -> None:
    result = cli("--database-url", database_url, "db", "vacuum", "nope")
    assert result.exit_code == 2
    assert "unknown table 'nope'" in result.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://postgres@127.0.0.1:1/test", "cannot reach PostgreSQL at 127.0.0.1:1/test"),
        ("postgresql://postgres@/x?host=/nonexistent-dir", "cannot reach PostgreSQL"),
    ],
)
def test_unreachable_server_gives_one_line(cli: Cli, url: str, expected: str) -> None:
    result = cli("--database-url", url, "db", "check")
    assert result.exit_code == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_database_gives_one_line(cli: Cli, server_url: str) -> None:
    from tests.conftest import with_database

    url = with_database(server_url, "sg_nope_nope")
    result = cli("--database-url", url, "workspace", "list")
    assert result.exit_code == 1
    assert "database 'sg_nope_nope' does not exist" in result.stderr
    assert result.stderr.count("\n") == 1


def test_bad_url_scheme_is_a_usage_error(cli: Cli) -> None:
    result = cli("--database-url", "mysql://root@localhost/db", "db", "check")
    assert result.exit_code == 2
    assert "is not PostgreSQL" in result.stderr


def test_debug_shows_the_traceback(cli: Cli) -> None:
    result = cli("--debug", "--database-url", "postgresql://postgres@127.0.0.1:1/x", "db", "info")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr


def test_schema_missing_tells_what_to_do(cli: Cli, databases: DatabaseFactory) -> None:
    result = cli("--database-url", databases.empty(), "source", "list")
    assert result.exit_code == 1
    assert "no signalgraph schema" in result.stderr
    assert "signalgraph db upgrade" in result.stderr


def test_schema_newer_than_code(cli: Cli, database_url: str) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE signalgraph.alembic_version SET version_num = '9999'")
    result = cli("--database-url", database_url, "runs", "list")
    assert result.exit_code == 1
    assert "revision 9999" in result.stderr
    check = cli("--database-url", database_url, "db", "check", "--json")
    assert check.exit_code == 1


def test_usage_errors_exit_2(cli: Cli) -> None:
    assert cli("db", "nosuchcommand").exit_code == 2
    assert cli("--no-such-flag").exit_code == 2


def test_console_script_runs(database_url: str) -> None:
    done = subprocess.run(
        [str(console_script()), "--database-url", database_url, "db", "check", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert '"ok": true' in done.stdout


def test_phrase_index_is_shown_dropped_and_built_again(cli: Cli, database_url: str) -> None:
    def state(*args: str) -> dict[str, object]:
        result = cli("--database-url", database_url, "db", "phrase-index", *args, "--json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    assert state() == {"phrase_index": "on", "changed": False}
    assert state("off") == {"phrase_index": "off", "changed": True}
    assert state("off") == {"phrase_index": "off", "changed": False}
    assert state() == {"phrase_index": "off", "changed": False}
    assert state("on") == {"phrase_index": "on", "changed": True}
    shown = cli("--database-url", database_url, "db", "phrase-index")
    assert shown.exit_code == 0
    assert "phrase index is on" in shown.stderr
    wrong = cli("--database-url", database_url, "db", "phrase-index", "maybe")
    assert wrong.exit_code == 2
    assert "on or off, not 'maybe'" in wrong.stderr


@pytest.mark.parametrize("args", [(), ("on",), ("off",)])
def test_phrase_index_without_a_schema_says_what_to_do(
    cli: Cli, databases: DatabaseFactory, args: tuple[str, ...]
) -> None:
    result = cli("--database-url", databases.empty(), "db", "phrase-index", *args)
    assert result.exit_code == 1
    assert "no signalgraph schema" in result.stderr
    assert "signalgraph db upgrade" in result.stderr
