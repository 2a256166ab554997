"""Running named SQL in the driver's parameter style on either kind of connection.

Most of the library works on SQLAlchemy connections; the bulk loaders work on their own
psycopg connections (COPY). A statement written once in psycopg's `%(name)s` style runs
on both through `execute`, so an operation such as recording a run's progress is written
once whichever connection the caller holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from sqlalchemy.engine import Connection


def execute(
    connection: Connection | psycopg.Connection[Any], sql: str, params: Mapping[str, Any]
) -> int:
    """Run one statement with named parameters; return the number of rows it touched."""
    if isinstance(connection, psycopg.Connection):
        return connection.execute(sql, params).rowcount
    return connection.exec_driver_sql(sql, dict(params)).rowcount


def fetch_all(
    connection: Connection | psycopg.Connection[Any], sql: str, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """Run one query with named parameters; return its rows as tuples."""
    if isinstance(connection, psycopg.Connection):
        return connection.execute(sql, params).fetchall()
    return [tuple(row) for row in connection.exec_driver_sql(sql, dict(params))]
