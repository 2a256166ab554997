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
