from __future__ import annotations

import pytest

from signalgraph.config import is_secret_parameter, load_settings
from signalgraph.db.engine import (
    _connect_args,
    bare_url,
    create_engine,
    parse_url,
    session_options,
)
from signalgraph.errors import ConfigError


@pytest.mark.parametrize(
    "given",
    [
        "postgres://u@h/db",
        "postgresql://u@h/db",
        "postgresql+psycopg://u@h/db",
        "postgresql+psycopg2://u@h/db",
    ],
)
def test_every_postgres_spelling_maps_to_psycopg3(given: str) -> None:
    assert parse_url(given).drivername == "postgresql+psycopg"


@pytest.mark.parametrize("given", ["mysql://u@h/db", "sqlite:///x.db"])
def test_other_databases_are_refused(given: str) -> None:
    with pytest.raises(ConfigError, match="is not PostgreSQL"):
        parse_url(given)


def test_garbage_url_is_refused() -> None:
    with pytest.raises(ConfigError, match="is not a URL"):
        parse_url("not a url at all")


def test_session_options_set_search_path_timezone_and_timeout() -> None:
    settings = load_settings(statement_timeout_ms=2500)
    options = session_options(
        settings, parse_url("postgresql://u@h/db?options=-c%20work_mem%3D8MB")
    )
    assert options.startswith("-c work_mem=8MB")
    assert "-c search_path=signalgraph,public" in options
    assert "-c timezone=UTC" in options
    assert "-c statement_timeout=2500" in options


def test_a_password_in_the_query_travels_as_a_connection_argument() -> None:
    settings = load_settings(database_url="postgresql://u@h/db?password=s3cret&sslpassword=k3y")
    engine = create_engine(str(settings.database_url), settings)
    try:
        assert "s3cret" not in repr(engine)
        assert "k3y" not in repr(engine)
        assert not any(is_secret_parameter(name) for name in engine.url.query)
        args = engine.dialect.create_connect_args(engine.url)[1]
        assert "password" not in args  # the URL holds none; connect_args carry it
    finally:
        engine.dispose()
    parsed = parse_url(str(settings.database_url))
    assert bare_url(parsed).query == {}
    assert _connect_args(settings, parsed)["password"] == "s3cret"
    assert _connect_args(settings, parsed)["sslpassword"] == "k3y"


@pytest.mark.parametrize(
    ("url", "origin", "said"),
    [
        ("postgresql://u:pw@h:5x/db", "flag", "given by --database-url or connect(url=...)"),
        ("postgresql://u:pw@h:5x/db", "env SIGNALGRAPH_DATABASE_URL", "SIGNALGRAPH_DATABASE_URL"),
        ("postgresql://u:pw@h:5x/db", "file /etc/sg.toml", "database_url in /etc/sg.toml"),
    ],
)
def test_an_unparseable_url_is_named_by_where_it_was_set(url: str, origin: str, said: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_url(url, origin=origin)
    assert said in str(raised.value)
    assert "pw" not in str(raised.value).replace("password", "")
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None
