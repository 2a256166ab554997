"""Monthly range partitions of tables keyed by UUIDv7: their bounds, names and creation.

Signals (and the tables keyed like them) and audit events are range-partitioned by month
on a UUIDv7 id whose time part is the month. One routine, `create_month`, makes a month's
partition of any such table; signal partitions (signalgraph.partitions) and the audit
trail's (here, also run by migrations) both use it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from signalgraph.ids import utcnow, uuid7_floor

AUDIT_TABLE = "audit_event"
AUDIT_MONTHS_AHEAD = 2


class DefaultPartitionInTheWay(Exception):
    """Rows of the month already sit in the table's default partition."""


def month_of(moment: datetime) -> tuple[int, int]:
    """Return (year, month) of a UTC time."""
    moment = moment.astimezone(UTC)
    return moment.year, moment.month


def next_month(year: int, month: int) -> tuple[int, int]:
    """Return the month after (year, month)."""
    return (year + 1, 1) if month == 12 else (year, month + 1)


def month_bounds(year: int, month: int) -> tuple[uuid.UUID, uuid.UUID | None]:
    """Return the id range [from, to) of one month (None: no end)."""
    start = datetime(year, month, 1, tzinfo=UTC)
    end_year, end_month = next_month(year, month)
    if end_year > 9999:  # December 9999: the last month a datetime can name
        return uuid7_floor(start), None
    return uuid7_floor(start), uuid7_floor(datetime(end_year, end_month, 1, tzinfo=UTC))


def partition_name(table: str, year: int, month: int) -> str:
    """Return the name of a table's partition for one month."""
    return f"{table}_p{year:04d}{month:02d}"


def _statement(composed: sql.Composable) -> str:
    """Return composed SQL (identifiers and literals quoted by psycopg) as text."""
    return composed.as_string(None)


def _bounds(year: int, month: int) -> sql.Composable:
    low, high = month_bounds(year, month)
    upper = sql.Literal(str(high)) if high is not None else sql.SQL("MAXVALUE")
    return sql.SQL("FOR VALUES FROM ({}) TO ({})").format(sql.Literal(str(low)), upper)


def tune_statistics(
    connection: Connection, name: str, statistics: Sequence[tuple[str, int]]
) -> None:
    """Give a partition's columns their statistics targets (partitions do not inherit them)."""
    for column, target in statistics:
        tune = sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET STATISTICS {}").format(
            sql.Identifier(name), sql.Identifier(column), sql.Literal(target)
        )
        connection.exec_driver_sql(_statement(tune))


def attach_partition(connection: Connection, table: str, name: str, year: int, month: int) -> None:
    """Attach an existing table as `table`'s partition for one month."""
    attach = sql.SQL("ALTER TABLE {} ATTACH PARTITION {} {}").format(
        sql.Identifier(table), sql.Identifier(name), _bounds(year, month)
    )
    connection.exec_driver_sql(_statement(attach))


def create_month(
    connection: Connection,
    table: str,
    year: int,
    month: int,
    *,
    statistics: Sequence[tuple[str, int]] = (),
) -> bool:
    """Create one month's partition of `table`; return False if it exists already.

    Raises DefaultPartitionInTheWay when rows of that month sit in the default
    partition (move them first). `statistics` gives columns their statistics targets,
    which partitions do not inherit. Runs in a savepoint of the caller's transaction, so
    a concurrent creation of the same partition is no error.
    """
    name = partition_name(table, year, month)
    create = sql.SQL("CREATE TABLE {} PARTITION OF {} {}").format(
        sql.Identifier(name), sql.Identifier(table), _bounds(year, month)
    )
    if connection.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is not None:
        return False
    try:
        with connection.begin_nested():
            connection.exec_driver_sql(_statement(create))
            tune_statistics(connection, name, statistics)
    except DBAPIError as exc:
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate == "23514":  # rows for this month already sit in the default partition
            raise DefaultPartitionInTheWay(name) from exc
        if sqlstate in {"42P07", "23505"}:  # created by a concurrent process
            return False
        raise
    return True


def ensure_audit_months(
    connection: Connection, months_ahead: int = AUDIT_MONTHS_AHEAD
) -> list[str]:
    """Create the audit trail's partitions of this month and the next ones; return those made.

    A month whose events already sit in the default partition keeps them there.
    """
    now = utcnow()
    year, month = now.year, now.month
    created = []
    for _ in range(months_ahead + 1):
        try:
            if create_month(connection, AUDIT_TABLE, year, month):
                created.append(partition_name(AUDIT_TABLE, year, month))
        except DefaultPartitionInTheWay:
            pass
        year, month = next_month(year, month)
    return created


def ensure_audit_months_once(engine: Engine, done: dict[str, Any]) -> None:
    """Run `ensure_audit_months` once per process, database and month.

    `done` is the memo of work done once per process and database (`Scope.done`); work
    that changes the audited tables calls this first, outside its own transaction.
    """
    now = utcnow()
    if done.get("audit_month") == (now.year, now.month):
        return
    with engine.begin() as connection:
        ensure_audit_months(connection)
    done["audit_month"] = (now.year, now.month)
