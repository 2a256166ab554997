"""Values a column cannot hold are usage errors in the library too, and PostgreSQL's own
out-of-range errors become clear usage errors wherever they slip through."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.db.admin import read_only_query
from signalgraph.db.errors import translate_data_error
from signalgraph.errors import UsageError
from signalgraph.facts.reads import parse_condition


def test_a_trust_rank_beyond_its_column_is_refused_before_the_insert(sg: SignalGraph) -> None:
    with pytest.raises(UsageError, match=r"trust rank 99999999999999 is out of range"):
        sg.sources.add("vendor", trust_rank=99_999_999_999_999)
    assert sg.sources.add("vendor", trust_rank=2**31 - 1).trust_rank == 2**31 - 1


def test_a_rank_filter_beyond_the_rank_column_is_refused(sg: SignalGraph) -> None:
    with pytest.raises(UsageError, match=r"rank_max 1000000000000000000000 is out of range"):
        sg.entities.search(rank_max=10**21)
    assert sg.entities.search(rank_max=-(2**31)).items == []


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("headcount >= 2024-02-30", "day is out of range for month"),
        ("headcount >= 2024-13-01", "month must be 1..12"),
        ("founded = 0000-01-01", "year 0 is out of range"),
    ],
)
def test_an_impossible_date_in_a_condition_is_a_usage_error(expression: str, reason: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_condition(expression)
    assert "is not a date" in raised.value.message
    assert reason in raised.value.message
    assert raised.value.hint is not None
    assert "YYYY-MM-DD" in raised.value.hint


def test_an_impossible_date_in_a_fact_match_is_a_usage_error(sg: SignalGraph) -> None:
    with pytest.raises(UsageError, match="is not a date"):
        sg.facts.matching("founded < 2023-02-29")
    assert sg.facts.matching("founded < 2024-02-29") == []


def test_a_statement_timeout_beyond_an_int4_is_refused(sg: SignalGraph) -> None:
    with pytest.raises(UsageError, match=r"statement timeout .* is out of range"):
        read_only_query(sg.engine, "select 1", timeout_ms=3_000_000_000)
    assert read_only_query(sg.engine, "select 1", timeout_ms=2**31 - 1)["rows"] == [[1]]


def test_a_limit_the_database_refuses_is_a_usage_error_not_a_database_error(
    sg: SignalGraph,
) -> None:
    # Nothing checks runs.list's limit before the statement: the translated error is the net.
    with pytest.raises(UsageError, match=r"too large or too small .*bigint out of range"):
        sg.runs.list(limit=10**20)


@pytest.mark.parametrize(
    ("statement", "said"),
    [
        ("SELECT 2147483647::int4 + 1", "too large or too small for the database"),
        ("SELECT make_date(2024, 2, 30)", "a date or time is out of range"),
        ("SELECT '2024-02-30'::date", "a date or time is out of range"),
        ("SELECT 'yesterday-ish'::timestamptz", "a date or time is not valid"),
    ],
)
def test_data_errors_from_the_engine_become_usage_errors(
    sg: SignalGraph, statement: str, said: str
) -> None:
    with pytest.raises(UsageError, match=said), sg.engine.connect() as connection:
        connection.execute(sa.text(statement))


def test_data_errors_from_a_bare_psycopg_connection_are_translated(database_url: str) -> None:
    with psycopg.connect(database_url) as connection:
        with pytest.raises(psycopg.errors.NumericValueOutOfRange) as raised:
            connection.execute("SELECT 32767::int2 + 1::int2")
        translated = translate_data_error(raised.value)
    assert isinstance(translated, UsageError)
    assert "smallint out of range" in str(translated)
    assert translate_data_error(ValueError("not from the database")) is None
