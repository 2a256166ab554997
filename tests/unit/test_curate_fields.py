"""Custom annotation field values: each type accepts its forms and names what it expects."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalgraph.bounds import check_int
from signalgraph.curate.fields import check_field_name, clean_text, coerce
from signalgraph.errors import UsageError


@pytest.mark.parametrize(
    ("field_type", "given_value", "stored"),
    [
        ("number", "12.5e6", 12500000),
        ("number", 0.25, 0.25),
        ("integer", " 42 ", 42),
        ("boolean", "Yes", True),
        ("boolean", False, False),
        ("date", "2024-03-01", "2024-03-01"),
        ("date", dt.date(2024, 3, 1), "2024-03-01"),
        ("enum", "seed", "seed"),
        ("string", "  Met them  ", "Met them"),
    ],
)
def test_values_are_stored_in_canonical_form(
    field_type: str, given_value: object, stored: object
) -> None:
    assert coerce("f", field_type, ["seed", "series_a"], given_value) == stored


@pytest.mark.parametrize(
    ("field_type", "bad", "expected"),
    [
        ("number", "lots", "expects a number"),
        ("number", "nan", "not a finite number"),
        ("number", True, "got a boolean"),
        ("integer", "1.5", "expects an integer"),
        ("integer", 2**70, "out of range"),
        ("boolean", "maybe", "expects a boolean"),
        ("date", "2024-02-30", "expects a date"),
        ("date", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "date and time"),
        ("enum", "series_z", "one of seed, series_a"),
        ("string", "a\x00b", "NUL"),
    ],
)
def test_wrong_values_name_the_field_and_type(field_type: str, bad: object, expected: str) -> None:
    with pytest.raises(UsageError, match=expected) as error:
        coerce("valuation", field_type, ["seed", "series_a"], bad)
    assert "'valuation'" in str(error.value)


def test_names_and_ranks_are_checked() -> None:
    assert check_field_name("next_call") == "next_call"
    for bad in ("Next", "1x", "a-b", "x" * 64, "rank", "tags", "a'; --"):
        with pytest.raises(UsageError):
            check_field_name(bad)
    with pytest.raises(UsageError, match="out of range"):
        check_int("rank", 2**31)
    with pytest.raises(UsageError, match="control characters"):
        clean_text("stage", "a\x07b", limit=10)


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_every_32_bit_rank_is_accepted(rank: int) -> None:
    assert check_int("rank", rank) == rank
    assert check_int("rank", str(rank)) == rank
