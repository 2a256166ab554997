from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import sqlalchemy as sa

import signalgraph
from signalgraph.db import migrate
from tests.conftest import DatabaseFactory, console_script

TABLES = {
    "workspace",
    "source",
    "run",
    "reject",
    "signal",
    "signal_key",
    "fingerprint",
    "mention",
    "signal_revision",
}


def _tables(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                sa.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'signalgraph' "
                    "AND tablename <> 'alembic_version'"
                )
            ).scalars()
        )


def test_upgrade_to_head_on_an_empty_database(databases: DatabaseFactory) -> None:
    client = signalgraph.connect(url=databases.empty())
    before, after = migrate.upgrade(client.engine)
    assert before is None
    assert after == migrate.head_revision()
    assert _tables(client.engine) >= TABLES
    # Upgrading again is a no-op.
    assert migrate.upgrade(client.engine) == (after, after)
    client.close()


def test_models_and_migrations_agree(databases: DatabaseFactory) -> None:
    client = signalgraph.connect(url=databases.empty())
    migrate.upgrade(client.engine)
    with client.engine.connect() as conn:
        differences = migrate.compare_with_models(conn)
    client.close()
    assert differences == []


def test_downgrade_and_upgrade_again_on_a_populated_database(database_url: str) -> None:
    client = signalgraph.connect(url=database_url)
    client.workspaces.create("deals")
    source = client.sources.add("feed", kind="news")
    run_id = client.runs.start("ingest", source_id=source.id)
    with client.transaction() as conn:
        client.runs.record(run_id, conn, counters={"seen": 3})
        conn.execute(
            sa.text(
                "INSERT INTO reject (workspace_id, id, run_id, file, line, reason, raw) "
                "VALUES (:w, gen_random_uuid(), :r, 'a.ndjson', 3, 'bad json', '\\x7b'::bytea)"
            ),
            {"w": client.workspace_id, "r": run_id},
        )
    client.close()

    client = signalgraph.connect(url=database_url)
    revisions = [row["revision"] for row in migrate.history()]
    # Step down one revision at a time, then all the way, then back up.
    for target in [*reversed(revisions[:-1]), "base"]:
        migrate.downgrade(client.engine, target)
    assert _tables(client.engine) == set()
    with client.engine.connect() as conn:
        assert migrate.current_revision(conn) is None
    migrate.upgrade(client.engine)
    assert _tables(client.engine) >= TABLES
    assert [w.name for w in client.workspaces.list()] == ["default"]
    client.close()


def test_concurrent_upgrades_in_separate_processes(databases: DatabaseFactory) -> None:
    url = databases.empty()
    processes = [
        subprocess.Popen(
            [str(console_script()), "--database-url", url, "db", "upgrade", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outcomes
    changed = [json.loads(out)["changed"] for out, _ in outcomes]
    assert changed.count(True) == 1
    client = signalgraph.connect(url=url)
    assert [w.name for w in client.workspaces.list()] == ["default"]
    client.close()


def test_concurrent_upgrades_in_threads(databases: DatabaseFactory) -> None:
    url = databases.empty()
    errors: list[BaseException] = []

    def upgrade() -> None:
        client = signalgraph.connect(url=url)
        try:
            migrate.upgrade(client.engine)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=upgrade) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    client = signalgraph.connect(url=url)
    assert [w.name for w in client.workspaces.list()] == ["default"]
    client.close()


def test_history_lists_revisions_oldest_first_with_one_head() -> None:
    rows = migrate.history()
    assert rows[0]["down_revision"] is None
    assert [row["head"] for row in rows].count(True) == 1
    assert rows[-1]["head"] is True


def test_revisions_read_from_the_script_headers_are_the_ones_alembic_reads() -> None:
    scripts = migrate.script_directory()

    def follows(down: str | tuple[str, ...] | None) -> tuple[str, ...]:
        return () if down is None else (down,) if isinstance(down, str) else tuple(down)

    alembic_reads = {rev.revision: follows(rev.down_revision) for rev in scripts.walk_revisions()}
    assert migrate.packaged_revisions() == alembic_reads
    assert migrate.head_revision() == scripts.get_current_head()


def test_the_schema_check_does_not_import_alembic() -> None:
    # Every command checks the schema; Alembic (with Mako and Pygments) is for migrating.
    code = (
        "import sys\n"
        "from signalgraph.db.migrate import head_revision, packaged_revisions\n"
        "head_revision(); packaged_revisions()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "'alembic'" not in loaded
    assert "'mako'" not in loaded


def test_upgrade_and_downgrade_ignore_the_statement_time_limit(databases: DatabaseFactory) -> None:
    # A limit of 1 ms cancels a table rewrite or an index build (0008, 0012); migrations
    # run without one. Set on each checkout, after the driver's own first queries.
    client = signalgraph.connect(url=databases.empty())
    try:
        with client.engine.connect():
            pass

        @sa.event.listens_for(client.engine, "checkout")
        def hurry(dbapi_connection: Any, record: Any, proxy: Any) -> None:
            dbapi_connection.execute("SET statement_timeout = 1")

        assert migrate.upgrade(client.engine)[1] == migrate.head_revision()
        assert migrate.downgrade(client.engine, "0011")[1] == "0011"
        assert migrate.upgrade(client.engine)[1] == migrate.head_revision()
    finally:
        client.close()
