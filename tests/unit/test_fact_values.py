"""Fact values: numbers are exact within one documented range, and problems say why."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalgraph.facts.values import (
    MAX_DIGITS,
    ValueProblem,
    parse_number,
    problem_reason,
    typed_value,
)


@pytest.mark.parametrize(
    ("prop_type", "value", "num"),
    [
        ("integer", "1e400", Decimal(10**400)),
        ("integer", 10**30, Decimal(10**30)),  # beyond 64 bits and the default 28 digits
        ("integer", "-12", Decimal(-12)),
        ("number", "9" * 999, Decimal("9" * 999)),
        ("number", "-1e-400", Decimal("-1e-400")),
        ("number", "0e-5000", Decimal(0)),  # zero in any spelling is in range
        ("number", 0.1, Decimal("0.1")),
        ("money", "1e400", Decimal(10**400)),
        ("money", {"amount": "12.50", "currency": "eur"}, Decimal("12.50")),
    ],
)
def test_numbers_in_range_are_exact(prop_type: str, value: object, num: Decimal) -> None:
    typed = typed_value(prop_type, value, "USD")
    assert typed.num == num
    assert typed.value is None  # stored from num (STORED_VALUE_SQL), never through a float


@pytest.mark.parametrize(
    ("prop_type", "value", "problem"),
    [
        ("integer", "1e400.5", "'1e400.5' is not a number"),
        ("integer", "1e1000", "'1e1000' is out of range (at most 1000 digits before and 1000"),
        ("integer", "2.5", "'2.5' is not an integer"),
        ("integer", 10**1300, "a number of 4,319 bits is out of range"),
        ("number", "1e131073", "is out of range"),  # beyond PostgreSQL's numeric too
        ("number", "1e-1001", "is out of range"),
        ("number", "0." + "1" * 1001, "is out of range"),
        ("number", "NaN", "'NaN' is not a finite number"),
        ("number", "Infinity", "'Infinity' is not a finite number"),
        ("number", "-inf", "'-inf' is not a finite number"),
        ("number", float("nan"), "nan is not a finite number"),
        ("number", "12M", "'12M' is not a number"),
        ("number", True, "expected a number, got boolean"),
        ("money", "12M", "'12M' is not a number"),
        ("money", "1e400 USD", "'1e400 USD' is not a number"),
        ("money", [1], "expected {amount: number, currency: 'USD'} or a number, got array"),
        ("money", {"currency": "USD"}, "expected {amount: number, currency: 'USD'}"),
    ],
)
def test_numbers_out_of_range_or_malformed_say_why(
    prop_type: str, value: object, problem: str
) -> None:
    with pytest.raises(ValueProblem) as caught:
        typed_value(prop_type, value, "USD")
    assert problem in str(caught.value)


def test_a_long_value_is_shortened_in_the_reason() -> None:
    with pytest.raises(ValueProblem) as caught:
        typed_value("number", "1" * 5000, None)
    assert len(str(caught.value)) < 130


def test_unknown_properties_keep_strings_and_compare_numbers() -> None:
    assert typed_value(None, "1e400", None).num is None
    assert typed_value(None, 10**30, None).num == Decimal(10**30)
    assert typed_value(None, True, None).num is None
    with pytest.raises(ValueProblem) as caught:
        typed_value(None, 10**1100, None)
    reason = problem_reason("mystery", None, caught.value)
    assert reason.startswith("property 'mystery' is not defined: '1000")
    assert "is out of range" in reason
    assert reason.endswith("`signalgraph facts define mystery --type …`")
    assert problem_reason("score", "number", ValueProblem("x")) == (
        "property 'score' expects number: x"
    )


def test_condition_suffixes_multiply_exactly() -> None:
    assert parse_number("12345678901234567890123456789.5M") == Decimal(
        "12345678901234567890123456789500000"
    )


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
        lambda d: not d or (d.adjusted() < MAX_DIGITS and d.as_tuple().exponent >= -MAX_DIGITS)
    )
)
def test_every_number_in_range_reads_back_exactly(number: Decimal) -> None:
    assert parse_number(str(number), suffixes=False) == number
