"""Database administration: health, sizes, statistics, maintenance and read-only queries."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import sqlalchemy as sa
from psycopg.pq import ExecStatus
from sqlalchemy.engine import Connection, Engine

from signalgraph.bounds import STATEMENT_TIMEOUT_MS, check_int
from signalgraph.db.errors import translate_statement_error
from signalgraph.db.migrate import schema_state
from signalgraph.errors import SchemaError, SignalgraphError, UsageError
from signalgraph.facts.derived import CURRENT_DRIFT, DAILY_DRIFT
from signalgraph.resolve.review_queue import MOOT_COUNT
from signalgraph.schema import SCHEMA

MIN_SERVER_VERSION = 150000


def server_version(connection: Connection) -> tuple[int, str]:
    """Return the server's version number (e.g. 150004) and its display form."""
    num = int(connection.execute(sa.text("SHOW server_version_num")).scalar_one())
    text = str(connection.execute(sa.text("SHOW server_version")).scalar_one())
    return num, text.split(maxsplit=1)[0]


def check(engine: Engine, *, deep: bool = False) -> dict[str, Any]:
    """Check the database is reachable, recent enough, at the schema head (and consistent)."""
    with engine.connect() as connection:
        num, text = server_version(connection)
        state = schema_state(connection)
    report: dict[str, Any] = {
        "ok": True,
        "server_version": text,
        "server_version_num": num,
        "schema": state.as_dict(),
    }
    if num < MIN_SERVER_VERSION:
        report.update(
            ok=False, reason=f"PostgreSQL {text} is too old; signalgraph needs 15 or newer"
        )
        return report
    problem = state.problem()
    if problem is not None:
        report.update(ok=False, reason=str(problem))
        return report
    if deep:
        counts = integrity(engine)
        report["integrity"] = counts
        broken = {name: n for name, n in counts.items() if n}
        if broken:
            report.update(
                ok=False,
                reason="inconsistent (dangling references or stale derived rows): "
                + ", ".join(f"{name}={n}" for name, n in broken.items()),
            )
    return report


# Each count must be zero. The ingest writer keeps these references without per-row
# foreign-key triggers (they would slow bulk loads); this is how that claim is checked.
_INTEGRITY = {
    "signals_without_key": """
        SELECT count(*) FROM signal s WHERE NOT EXISTS (SELECT 1 FROM signal_key k
        WHERE k.workspace_id = s.workspace_id AND k.signal_id = s.id)""",
    "keys_without_signal": """
        SELECT count(*) FROM signal_key k WHERE NOT EXISTS (SELECT 1 FROM signal s
        WHERE s.workspace_id = k.workspace_id AND s.id = k.signal_id)""",
    "keys_without_source": """
        SELECT count(*) FROM signal_key k WHERE NOT EXISTS (SELECT 1 FROM source o
        WHERE o.workspace_id = k.workspace_id AND o.id = k.source_id)""",
    "keys_without_fingerprint": """
        SELECT count(*) FROM signal_key k WHERE NOT EXISTS (SELECT 1 FROM fingerprint f
        WHERE f.workspace_id = k.workspace_id AND f.signal_id = k.signal_id)""",
    "fingerprints_without_key": """
        SELECT count(*) FROM fingerprint f WHERE NOT EXISTS (SELECT 1 FROM signal_key k
        WHERE k.workspace_id = f.workspace_id AND k.signal_id = f.signal_id)""",
    # The fingerprint's copies of the duplicate pointers decide what new signals are
    # compared with (migration 0015).
    "fingerprint_pointer_drift": """
        SELECT count(*) FROM fingerprint f JOIN signal s
            ON s.workspace_id = f.workspace_id AND s.id = f.signal_id
        WHERE f.duplicate_of IS DISTINCT FROM s.duplicate_of
           OR f.near_duplicate_of IS DISTINCT FROM s.near_duplicate_of""",
    "mentions_without_signal": """
        SELECT count(*) FROM mention m WHERE NOT EXISTS (SELECT 1 FROM signal s
        WHERE s.workspace_id = m.workspace_id AND s.id = m.signal_id)""",
    "duplicates_of_missing_signals": """
        SELECT count(*) FROM signal s WHERE s.duplicate_of IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM signal o WHERE o.workspace_id = s.workspace_id AND o.id = s.duplicate_of)""",
    # The trigger-kept list of signals published outside their id's month (migration 0011).
    "signal_moved_drift": """
        SELECT (SELECT count(*) FROM signal s WHERE NOT signal_in_place(s.id, s.published_at)
                AND NOT EXISTS (SELECT 1 FROM signal_moved m WHERE m.workspace_id = s.workspace_id
                AND m.signal_id = s.id AND m.published_at = s.published_at))
             + (SELECT count(*) FROM signal_moved m WHERE NOT EXISTS (SELECT 1 FROM signal s
                WHERE s.workspace_id = m.workspace_id AND s.id = m.signal_id
                AND s.published_at = m.published_at
                AND NOT signal_in_place(s.id, s.published_at)))""",
    # The trigger-kept winners against a recomputation under precedence.
    "fact_current_drift": CURRENT_DRIFT,
    "fact_daily_drift": DAILY_DRIFT,
    # Review items still asking about two ids that are one entity now (settled by every
    # merge, the end of every resolve run and `review list`).
    "pending_reviews_of_one_entity": MOOT_COUNT,
}


def integrity(engine: Engine) -> dict[str, int]:
    """Count references that should never dangle (all zero on a healthy database)."""
    with engine.connect() as connection:
        return {
            name: int(connection.execute(sa.text(query)).scalar_one())
            for name, query in _INTEGRITY.items()
        }


def info(engine: Engine) -> dict[str, Any]:
    """Return the server version, database size, data location and settings in use."""
    with engine.connect() as connection:
        num, text = server_version(connection)
        row = connection.execute(
            sa.text(
                """
                SELECT current_database() AS database,
                       current_user AS user,
                       pg_database_size(current_database()) AS size_bytes,
                       pg_size_pretty(pg_database_size(current_database())) AS size,
                       inet_server_addr()::text AS server_address,
                       inet_server_port() AS server_port,
                       current_setting('data_directory', true) AS data_directory,
                       current_setting('max_connections') AS max_connections,
                       (SELECT count(*) FROM pg_extension) AS extensions
                """
            )
        ).one()
        extensions = list(
            connection.execute(sa.text("SELECT extname FROM pg_extension ORDER BY 1")).scalars()
        )
        available_trgm = connection.execute(
            sa.text("SELECT count(*) > 0 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        ).scalar_one()
        state = schema_state(connection)
    pool = engine.pool
    return {
        "server_version": text,
        "server_version_num": num,
        "database": row.database,
        "user": row.user,
        "size_bytes": row.size_bytes,
        "size": row.size,
        "server_address": row.server_address or "unix socket",
        "server_port": row.server_port,
        "data_directory": row.data_directory or "(hidden from this role)",
        "max_connections": int(row.max_connections),
        "extensions": extensions,
        "pg_trgm_available": bool(available_trgm),
        "schema": state.as_dict(),
        "pool": {
            "class": type(pool).__name__,
            "size": getattr(pool, "size", lambda: None)(),
            "max_overflow": getattr(pool, "_max_overflow", None),
            "recycle": getattr(pool, "_recycle", None),
            "pre_ping": getattr(pool, "_pre_ping", None),
            "timeout": getattr(pool, "_timeout", None),
        },
    }


def _require_schema_exists(connection: Connection) -> None:
    if schema_state(connection).state == "missing":
        raise SchemaError(
            "the database has no signalgraph schema", hint="run `signalgraph db upgrade`"
        )


def table_stats(engine: Engine) -> list[dict[str, Any]]:
    """Return, per signalgraph table: estimated rows, total size, dead tuples, maintenance times."""
    query = sa.text(
        """
        SELECT c.relname AS table,
               CASE c.relkind WHEN 'p' THEN 'partitioned' ELSE 'table' END AS kind,
               parent.relname AS partition_of,
               CASE WHEN c.relkind = 'p' THEN
                        (SELECT sum(greatest(p.reltuples, 0))::bigint
                         FROM pg_partition_tree(c.oid) t JOIN pg_class p ON p.oid = t.relid
                         WHERE t.isleaf)
                    WHEN c.reltuples < 0 THEN NULL
                    ELSE c.reltuples::bigint END AS estimated_rows,
               CASE WHEN c.relkind = 'p' THEN
                        (SELECT sum(pg_total_relation_size(t.relid))::bigint
                         FROM pg_partition_tree(c.oid) t)
                    ELSE pg_total_relation_size(c.oid) END AS total_bytes,
               s.n_live_tup AS live_tuples,
               s.n_dead_tup AS dead_tuples,
               greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuum,
               greatest(s.last_analyze, s.last_autoanalyze) AS last_analyze
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
        LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
        LEFT JOIN pg_class parent ON parent.oid = i.inhparent
        WHERE n.nspname = :schema AND c.relkind IN ('r', 'p')
        ORDER BY coalesce(parent.relname, c.relname), parent.relname NULLS FIRST, c.relname
        """
    )
    with engine.connect() as connection:
        _require_schema_exists(connection)
        rows = connection.execute(query, {"schema": SCHEMA}).mappings().all()
    return [dict(row) | {"total_size": pretty_size(row["total_bytes"])} for row in rows]


def index_stats(engine: Engine) -> list[dict[str, Any]]:
    """Return, per index on a signalgraph table: size, scans, and whether it looks unused."""
    query = sa.text(
        """
        SELECT s.relname AS table,
               s.indexrelname AS index,
               pg_relation_size(s.indexrelid) AS size_bytes,
               s.idx_scan AS scans,
               i.indisunique AS is_unique,
               i.indisprimary AS is_primary,
               pg_get_indexdef(s.indexrelid) AS definition
        FROM pg_stat_user_indexes s
        JOIN pg_index i ON i.indexrelid = s.indexrelid
        WHERE s.schemaname = :schema
        ORDER BY s.relname, s.indexrelname
        """
    )
    with engine.connect() as connection:
        _require_schema_exists(connection)
        rows = connection.execute(query, {"schema": SCHEMA}).mappings().all()
        reset = connection.execute(
            sa.text("SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one_or_none()
    result = []
    for row in rows:
        # Unique and primary-key indexes enforce constraints even when never scanned.
        unused = row["scans"] == 0 and not row["is_unique"] and not row["is_primary"]
        result.append(
            dict(row)
            | {"size": pretty_size(row["size_bytes"]), "unused": unused, "stats_since": reset}
        )
    return result


def known_tables(connection: Connection) -> list[str]:
    """Return the names of every signalgraph table (partitions included)."""
    return list(
        connection.execute(
            sa.text(
                """
                SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') ORDER BY 1
                """
            ),
            {"schema": SCHEMA},
        ).scalars()
    )


def vacuum(engine: Engine, table: str | None = None, *, analyze: bool = False) -> list[str]:
    """VACUUM (optionally ANALYZE) one signalgraph table or all of them; return those done."""
    with engine.connect() as connection:
        _require_schema_exists(connection)
        tables = known_tables(connection)
    if table is not None:
        if table not in tables:
            raise UsageError(
                f"unknown table {table!r}", hint=f"signalgraph tables are: {', '.join(tables)}"
            )
        tables = [table]
    options = "(ANALYZE)" if analyze else ""
    preparer = engine.dialect.identifier_preparer
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for name in tables:
            qualified = f"{preparer.quote(SCHEMA)}.{preparer.quote(name)}"
            connection.execute(sa.text(f"VACUUM {options} {qualified}"))
    return tables


def connections(engine: Engine) -> list[dict[str, Any]]:
    """Return the sessions connected to this database."""
    query = sa.text(
        """
        SELECT pid, usename AS user, application_name AS application,
               coalesce(client_addr::text, 'local') AS client, state,
               backend_start, xact_start, query_start, wait_event_type, wait_event,
               left(query, 200) AS query,
               pid = pg_backend_pid() AS is_self
        FROM pg_stat_activity
        WHERE datname = current_database()
        ORDER BY backend_start
        """
    )
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def read_only_query(
    engine: Engine, statement: str, *, limit: int = 1000, timeout_ms: int = 30_000
) -> dict[str, Any]:
    """Run one statement in a read-only transaction and return its columns and rows."""
    statement = statement.strip().rstrip(";").strip()
    if not statement.replace(";", "").strip():
        raise _no_statement()
    timeout_ms = check_int("statement timeout (ms)", timeout_ms, STATEMENT_TIMEOUT_MS)
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None
        try:
            with driver.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
                cursor.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
                # prepare=True sends one extended-protocol statement: no "COMMIT; DELETE ..."
                cursor.execute(statement, prepare=True)
                result = cursor.pgresult
                empty = result is not None and result.status == ExecStatus.EMPTY_QUERY
                columns = [d.name for d in cursor.description or []]
                rows = cursor.fetchmany(limit + 1) if cursor.description else []
                status = cursor.statusmessage
        except Exception as exc:
            translated = translate_statement_error(exc)
            if translated is not None:
                raise translated from exc
            sqlstate = getattr(exc, "sqlstate", None)
            if sqlstate == "42601" and "multiple commands" in str(exc):
                raise UsageError(
                    "db query runs exactly one statement; this text holds several",
                    hint="run them one at a time",
                ) from exc
            if sqlstate == "57014":
                raise SignalgraphError(
                    f"query cancelled after {timeout_ms / 1000:g} s", hint="raise --timeout"
                ) from exc
            if sqlstate is not None:
                raise SignalgraphError(f"query failed: {_one_line(str(exc))}") from exc
            raise
        finally:
            driver.rollback()
    if empty:  # only comments or semicolons: the server ran nothing
        raise _no_statement()
    return {
        "columns": columns,
        "rows": [[_jsonable(value) for value in row] for row in rows[:limit]],
        "truncated": len(rows) > limit,
        "status": status,
    }


def _no_statement() -> UsageError:
    return UsageError(
        "the query is empty: there is no statement to run",
        hint='give one SQL statement, for example: signalgraph db query "SELECT 1"',
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def pretty_size(size: int | None) -> str | None:
    """Return a byte count in kB, MB, GB for people."""
    if size is None:
        return None
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # pragma: no cover
