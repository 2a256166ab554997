"""Database plumbing shared by the benchmarks: a server to run on and scratch databases."""

from __future__ import annotations

from pathlib import Path

import psycopg
import sqlalchemy as sa
from psycopg import sql


def server_url(database_url: str | None, home: Path) -> str:
    """Return the given server's URL, or start an embedded server under `home`."""
    if database_url:
        return database_url
    from signalgraph.embedded import EmbeddedServer

    return EmbeddedServer(home).ensure()


def drop_database(admin_url: str, name: str) -> None:
    """Drop a scratch database, disconnecting its sessions."""
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(drop)


def fresh_database(admin_url: str, name: str) -> str:
    """Create an empty scratch database (dropping an old one) and return its URL."""
    drop_database(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = sa.engine.make_url(admin_url).set(database=name)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


# The PostgreSQL 15 beside the development machine's embedded 18 (`make test-pg` uses it).
EXTERNAL_URL = "postgresql://postgres@127.0.0.1:5432/test"


def choose_server(server: str | None, database_url: str | None, home: Path) -> tuple[str, str]:
    """Return (what the server is, its admin URL): `--server`, else `--database-url`, else
    the embedded server started under `home`."""
    if server == "external":
        return "external", EXTERNAL_URL
    if server == "embedded" or not database_url:
        return "embedded", server_url(None, home)
    return "url", database_url


def stop_server(kind: str, home: Path) -> None:
    """Stop the embedded server started under `home` (before its directory is removed)."""
    if kind == "embedded":
        from signalgraph.embedded import EmbeddedServer

        EmbeddedServer(home).stop()


def server_version(url: str) -> str:
    """Return the server's version string (`PostgreSQL 15.20`)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT split_part(version(), ' ', 1) || ' ' || "
                           "current_setting('server_version')").fetchone()  # fmt: skip
    return str(row[0]) if row else "unknown"


# Leaf tables only: a partitioned table takes no storage parameters (its partitions do).
_AUTOVACUUM_ON = """
SELECT c.oid::regclass::text FROM pg_class c
WHERE c.relnamespace = CAST(%s AS regnamespace) AND c.relkind IN ('r', 'm')
  AND NOT coalesce(c.reloptions @> '{autovacuum_enabled=false}', false)
"""
_AUTOVACUUM_OFF = (
    "ALTER TABLE {} SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)"
)
# Tables created later (a month's partitions, made by ingest) get the same setting as
# they are made. Event triggers need a superuser; without one, autovacuum_report tells.
_NO_AUTOVACUUM_FUNCTION = """
CREATE OR REPLACE FUNCTION public.bench_no_autovacuum() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    made regclass;
BEGIN
    FOR made IN
        SELECT d.objid::regclass FROM pg_event_trigger_ddl_commands() d
        JOIN pg_class c ON c.oid = d.objid
        WHERE d.classid = 'pg_class'::regclass AND c.relkind = 'r'
          AND c.relpersistence = 'p'
    LOOP
        EXECUTE format(
            'ALTER TABLE %s SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)',
            made);
    END LOOP;
END $$
"""
_NO_AUTOVACUUM_TRIGGER = (
    "CREATE EVENT TRIGGER bench_no_autovacuum ON ddl_command_end "
    "WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION public.bench_no_autovacuum()"
)


def autovacuum_off(url: str, schemas: tuple[str, ...]) -> bool:
    """Turn autovacuum off for every table of `schemas` and for tables made from now on.

    PostgreSQL has no per-database autovacuum switch; it is a storage parameter of each
    table. Returns whether tables made later get it too (an event trigger, which needs a
    superuser).
    """
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in schemas:
            for (table,) in conn.execute(_AUTOVACUUM_ON, (schema,)).fetchall():
                conn.execute(sql.SQL(_AUTOVACUUM_OFF).format(sql.SQL(table)))
        try:
            conn.execute(_NO_AUTOVACUUM_FUNCTION)
            conn.execute(_NO_AUTOVACUUM_TRIGGER)
        except psycopg.errors.InsufficientPrivilege:
            return False
    return True


_AUTOVACUUM_REPORT = """
SELECT count(*) FILTER (WHERE coalesce(c.reloptions @> '{autovacuum_enabled=false}', false)),
       count(*) FILTER (WHERE NOT coalesce(c.reloptions @> '{autovacuum_enabled=false}', false)),
       coalesce(sum(s.autovacuum_count), 0), coalesce(sum(s.autoanalyze_count), 0),
       count(*) FILTER (WHERE s.last_autovacuum IS NOT NULL OR s.last_autoanalyze IS NOT NULL)
FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY(%s))
  AND c.relkind = 'r'
"""


def autovacuum_report(url: str, schemas: tuple[str, ...]) -> dict[str, int]:
    """Return how many tables of `schemas` have autovacuum off and on, and the autovacuum and
    autoanalyze runs the statistics recorded on them."""
    with psycopg.connect(url) as conn:
        row = conn.execute(_AUTOVACUUM_REPORT, (list(schemas),)).fetchone()
    off, on, vacuums, analyzes, touched = row or (0, 0, 0, 0, 0)
    return {
        "tables_off": int(off),
        "tables_on": int(on),
        "autovacuum_runs": int(vacuums),
        "autoanalyze_runs": int(analyzes),
        "tables_autovacuumed_or_analyzed": int(touched),
    }
