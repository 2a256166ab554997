from __future__ import annotations

import math

import pytest

from signalgraph.bounds import INT16, INT32, INT64, STATEMENT_TIMEOUT_S, check_int, out_of_range
from signalgraph.errors import UsageError


@pytest.mark.parametrize(
    ("bounds", "low", "high"),
    [(INT16, -32768, 32767), (INT32, -2147483648, 2147483647), (INT64, -(2**63), 2**63 - 1)],
)
def test_the_integer_ranges_are_postgresql_s(bounds: tuple[int, int], low: int, high: int) -> None:
    assert bounds == (low, high)
    assert out_of_range(low, bounds) is None
    assert out_of_range(high, bounds) is None
    assert out_of_range(high + 1, bounds) == f"{high + 1} is out of range; expected {low} to {high}"
    assert out_of_range(low - 1, bounds) is not None


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 2147483.648, 0.0])
def test_a_float_outside_or_not_a_number_is_out_of_range(value: float) -> None:
    assert out_of_range(value, STATEMENT_TIMEOUT_S) is not None


def test_a_long_value_is_shortened_in_the_message() -> None:
    problem = out_of_range(10**100, INT32)
    assert problem is not None
    assert problem.startswith("100000000000000000000000000...")


def test_check_int_names_what_and_gives_the_range_as_hint() -> None:
    with pytest.raises(UsageError) as raised:
        check_int("trust rank", 2**31, INT32)
    assert raised.value.message == "trust rank 2147483648 is out of range"
    assert raised.value.hint == "expected -2147483648 to 2147483647"
