from __future__ import annotations

import pytest

from signalgraph.client import SignalGraph
from signalgraph.db import admin
from signalgraph.errors import ReadOnlyViolation, SignalgraphError, UsageError


def test_check_reports_version_and_head(sg: SignalGraph) -> None:
    report = admin.check(sg.engine)
    assert report["ok"] is True
    assert report["server_version_num"] >= 150000
    assert report["schema"]["at_head"] is True


def test_info_describes_server_and_pool(sg: SignalGraph) -> None:
    report = admin.info(sg.engine)
    assert report["database"].startswith("sg_test_")
    assert report["size_bytes"] > 0
    assert report["pool"]["size"] == 2
    assert report["schema"]["state"] == "at_head"


def test_stats_and_indexes_cover_every_table(sg: SignalGraph) -> None:
    tables = {row["table"] for row in admin.table_stats(sg.engine)}
    assert {"workspace", "source", "run", "reject"} <= tables
    indexes = admin.index_stats(sg.engine)
    names = {row["index"] for row in indexes}
    assert "uq_source_workspace_id_name" in names
    unused = {row["index"]: row["unused"] for row in indexes}
    assert unused["pk_source"] is False  # constraint indexes are never "unused"


def test_vacuum_one_table_and_all(sg: SignalGraph) -> None:
    assert admin.vacuum(sg.engine, "source", analyze=True) == ["source"]
    assert "run" in admin.vacuum(sg.engine)


def test_vacuum_refuses_unknown_and_hostile_table_names(sg: SignalGraph) -> None:
    with pytest.raises(UsageError, match="unknown table 'nope'"):
        admin.vacuum(sg.engine, "nope")
    with pytest.raises(UsageError, match="unknown table"):
        admin.vacuum(sg.engine, "source; DROP TABLE run")


def test_connections_include_this_session(sg: SignalGraph) -> None:
    rows = admin.connections(sg.engine)
    assert any(row["is_self"] for row in rows)


def test_query_returns_rows_as_json_friendly_values(sg: SignalGraph) -> None:
    result = admin.read_only_query(
        sg.engine,
        "SELECT name, workspace_id, created_at, 1.5::numeric AS n, '\\x00ff'::bytea AS b "
        "FROM workspace;",
    )
    assert result["columns"] == ["name", "workspace_id", "created_at", "n", "b"]
    assert result["rows"][0][0] == "default"
    assert result["rows"][0][3] == "1.5"
    assert result["rows"][0][4] == "\\x00ff"
    assert result["truncated"] is False


def test_query_truncates_at_the_limit(sg: SignalGraph) -> None:
    result = admin.read_only_query(sg.engine, "SELECT generate_series(1, 50)", limit=10)
    assert len(result["rows"]) == 10
    assert result["truncated"] is True


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM workspace",
        "INSERT INTO workspace (workspace_id, name) VALUES (gen_random_uuid(), 'x')",
        "CREATE TABLE evil (a int)",
        "UPDATE source SET name = 'x'",
    ],
)
def test_query_refuses_writes(sg: SignalGraph, statement: str) -> None:
    with pytest.raises(ReadOnlyViolation, match="read-only transaction"):
        admin.read_only_query(sg.engine, statement)
    assert [w.name for w in sg.workspaces.list()] == ["default"]


def test_query_refuses_statement_smuggling(sg: SignalGraph) -> None:
    with pytest.raises(UsageError, match="exactly one statement"):
        admin.read_only_query(sg.engine, "COMMIT; DELETE FROM workspace")
    assert [w.name for w in sg.workspaces.list()] == ["default"]


def test_query_times_out(sg: SignalGraph) -> None:
    with pytest.raises(SignalgraphError, match=r"cancelled after 0\.2 s"):
        admin.read_only_query(sg.engine, "SELECT pg_sleep(5)", timeout_ms=200)


def test_query_reports_sql_errors_in_one_line(sg: SignalGraph) -> None:
    with pytest.raises(SignalgraphError, match='relation "nope" does not exist'):
        admin.read_only_query(sg.engine, "SELECT * FROM nope")
    with pytest.raises(UsageError, match="empty"):
        admin.read_only_query(sg.engine, "  ;  ")


def test_deep_check_finds_dangling_references(sg: SignalGraph) -> None:
    import sqlalchemy as sa

    assert admin.check(sg.engine, deep=True)["ok"] is True
    sg.sources.add("feed")
    sg.ingest([{"external_id": "a", "title": "t"}], source="feed")
    with sg.transaction() as conn:
        conn.execute(sa.text("DELETE FROM fingerprint"))
    report = admin.check(sg.engine, deep=True)
    assert report["ok"] is False
    assert report["integrity"]["keys_without_fingerprint"] == 1
    assert "keys_without_fingerprint=1" in report["reason"]
