from __future__ import annotations

from collections.abc import Callable

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_workspace_and_source_commands(cli: Cli, database_url: str) -> None:
    url = ["--database-url", database_url]
    created = cli(*url, "workspace", "create", "deals", "--description", "VC deal flow", "--json")
    assert created.exit_code == 0, created.stderr
    assert created.json()["name"] == "deals"  # type: ignore[index]
    duplicate = cli(*url, "workspace", "create", "deals")
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.stderr

    added = cli(
        *url,
        "source",
        "add",
        "accern",
        "--kind",
        "news",
        "--trust-rank",
        "5",
        "--config",
        '{"channels": ["deals"]}',
        "--workspace",
        "deals",
        "--json",
    )
    assert added.exit_code == 0, added.stderr
    listed = cli(*url, "-w", "deals", "source", "list", "--json").json()["items"]  # type: ignore[index]
    assert [s["name"] for s in listed] == ["accern"]
    shown = cli(*url, "source", "show", "accern", "-w", "deals", "--json").json()
    assert shown["config"] == {"channels": ["deals"]}  # type: ignore[index]
    assert cli(*url, "source", "list", "--json").json() == {
        "items": [],
        "next_cursor": None,
    }  # default workspace is separate

    table = cli(*url, "workspace", "list")
    assert "deals" in table.stdout
    assert "default" in table.stdout


def test_source_config_must_be_a_json_object(cli: Cli, database_url: str) -> None:
    result = cli("--database-url", database_url, "source", "add", "x", "--config", "[1, 2]")
    assert result.exit_code == 2
    assert "JSON object" in result.stderr
    broken = cli("--database-url", database_url, "source", "add", "x", "--config", "{nope")
    assert broken.exit_code == 2
    assert "not valid JSON" in broken.stderr


def test_missing_workspace_and_source_are_named(cli: Cli, database_url: str) -> None:
    missing_ws = cli("--database-url", database_url, "-w", "ghost", "source", "list")
    assert missing_ws.exit_code == 1
    assert "workspace 'ghost' does not exist" in missing_ws.stderr
    missing_src = cli("--database-url", database_url, "source", "show", "ghost")
    assert missing_src.exit_code == 1
    assert "source 'ghost' does not exist" in missing_src.stderr


def test_runs_list_and_show(cli: Cli, database_url: str) -> None:
    import signalgraph

    client = signalgraph.connect(url=database_url)
    run_id = client.runs.start("ingest", params={"file": "x.ndjson"})
    client.close()
    listed = cli("--database-url", database_url, "runs", "list", "--json")
    assert [r["id"] for r in listed.json()["items"]] == [str(run_id)]  # type: ignore[index]
    shown = cli("--database-url", database_url, "runs", "show", str(run_id)[:12], "--json")
    assert shown.json()["params"] == {"file": "x.ndjson"}  # type: ignore[index]
    missing = cli("--database-url", database_url, "runs", "show", "ffffffff")
    assert missing.exit_code == 1
    assert "does not exist" in missing.stderr
    empty = cli("--database-url", database_url, "runs", "list", "--kind", "resolve")
    assert empty.exit_code == 0


def test_config_show_masks_secrets(cli: Cli) -> None:
    result = cli("--database-url", "postgresql://u:hunter2@h/db", "config", "show", "--json")
    assert result.exit_code == 0
    assert "hunter2" not in result.stdout
    rows = {r["name"]: r for r in result.json()["settings"]}  # type: ignore[index]
    assert rows["database_url"]["origin"] == "flag"
    assert rows["database_url"]["value"] == "postgresql://u:***@h/db"
    table = cli("config", "show")
    assert "pool_size" in table.stdout
