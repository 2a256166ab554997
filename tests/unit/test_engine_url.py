from __future__ import annotations

import pytest

from signalgraph.config import load_settings
from signalgraph.db.engine import parse_url, session_options
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
