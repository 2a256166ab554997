from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

import signalgraph
from signalgraph.client import SignalGraph
from signalgraph.errors import ConnectionFailed, SchemaError
from tests.conftest import DatabaseFactory, with_database


def test_unreachable_server_is_named() -> None:
    client = signalgraph.connect(url="postgresql://postgres@127.0.0.1:1/test", connect_timeout=2)
    with pytest.raises(ConnectionFailed, match=r"cannot reach PostgreSQL at 127\.0\.0\.1:1/test"):
        client.sources.list()


def test_unknown_host_is_named() -> None:
    client = signalgraph.connect(url="postgresql://u@no-such-host.invalid/db", connect_timeout=2)
    with pytest.raises(ConnectionFailed, match=r"cannot reach PostgreSQL at no-such-host\.invalid"):
        client.sources.list()


def test_missing_socket_directory_is_named(tmp_path: object) -> None:
    client = signalgraph.connect(url=f"postgresql://postgres@/db?host={tmp_path}")
    with pytest.raises(ConnectionFailed, match="cannot reach PostgreSQL"):
        client.sources.list()


def test_missing_database_is_named(server_url: str) -> None:
    client = signalgraph.connect(url=with_database(server_url, "sg_does_not_exist"))
    with pytest.raises(ConnectionFailed, match="database 'sg_does_not_exist' does not exist"):
        client.sources.list()


def test_unknown_role_is_named(server_url: str) -> None:
    url = sa.engine.make_url(server_url).set(username="nobody_here", password="x")
    client = signalgraph.connect(url=url.render_as_string(hide_password=False))
    with pytest.raises(ConnectionFailed, match=r"nobody_here"):
        client.sources.list()


def test_database_without_schema_says_to_upgrade(databases: DatabaseFactory) -> None:
    client = signalgraph.connect(url=databases.empty())
    with pytest.raises(SchemaError, match=r"no signalgraph schema.*signalgraph db upgrade"):
        client.sources.list()
    client.close()


def test_schema_newer_than_code_is_refused(sg: SignalGraph) -> None:
    with sg.transaction() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    fresh = signalgraph.connect(url=sg.url)
    with pytest.raises(SchemaError, match=r"9999_future.*does not know"):
        fresh.sources.list()
    fresh.close()


def test_connections_use_the_signalgraph_schema_and_utc(sg: SignalGraph) -> None:
    with sg.engine.connect() as conn:
        assert conn.execute(sa.text("SHOW search_path")).scalar_one() == "signalgraph,public"
        assert conn.execute(sa.text("SHOW timezone")).scalar_one() == "UTC"
        name = conn.execute(sa.text("SELECT current_setting('application_name')")).scalar_one()
        assert name == "signalgraph"


def test_async_engine_reaches_the_same_tables(sg: SignalGraph) -> None:
    async def names() -> list[str]:
        async with sg.async_engine.connect() as conn:
            result = await conn.execute(sa.text("SELECT name FROM workspace"))
            values = list(result.scalars())
        await sg.async_engine.dispose()
        return values

    assert asyncio.run(names()) == ["default"]


def test_statement_timeout_setting_applies(database_url: str) -> None:
    client = signalgraph.connect(url=database_url, statement_timeout_ms=150)
    with (
        pytest.raises(sa.exc.OperationalError, match="statement timeout"),
        client.engine.connect() as c,
    ):
        c.execute(sa.text("SELECT pg_sleep(2)"))
    client.close()
