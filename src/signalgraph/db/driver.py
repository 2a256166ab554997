"""Running named SQL in the driver's parameter style on either kind of connection.

Most of the library works on SQLAlchemy connections; the bulk loaders work on their own
psycopg connections (COPY). A statement written once in psycopg's `%(name)s` style runs
on both through `execute` and `rows`, so an operation such as recording a run's
progress, or resolving signal links, is written once whichever connection the caller
holds (and no caller unwraps the driver connection from SQLAlchemy's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import psycopg
from sqlalchemy.engine import Connection

AnyConnection: TypeAlias = Connection | psycopg.Connection[Any]
"""A SQLAlchemy connection, or a dedicated psycopg one (db.engine.dedicated_connection)."""


def execute(connection: AnyConnection, sql: str, params: Mapping[str, Any]) -> int:
    """Run one statement with named parameters; return the number of rows it touched."""
    if isinstance(connection, psycopg.Connection):
        return connection.execute(sql, params).rowcount
    return connection.exec_driver_sql(sql, dict(params)).rowcount


def rows(connection: AnyConnection, sql: str, params: Mapping[str, Any]) -> Sequence[Any]:
    """Run one statement with named parameters; return its rows (tuples, in column order)."""
    if isinstance(connection, psycopg.Connection):
        return connection.execute(sql, params).fetchall()
    return connection.exec_driver_sql(sql, dict(params)).all()
