from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalgraph.ids import uuid7, uuid7_floor, uuid7_time

times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
)


def test_uuid7_has_version_and_variant() -> None:
    value = uuid7()
    assert value.version == 7
    assert value.variant == "specified in RFC 4122"


@given(times)
def test_uuid7_encodes_its_time_to_the_millisecond(at: datetime) -> None:
    decoded = uuid7_time(uuid7(at))
    assert abs(decoded - at) < timedelta(milliseconds=1)


@given(times, times)
def test_uuid7_orders_by_time(a: datetime, b: datetime) -> None:
    if a.replace(microsecond=a.microsecond // 1000 * 1000) < b.replace(
        microsecond=b.microsecond // 1000 * 1000
    ):
        assert uuid7(a) < uuid7(b)


@given(times)
def test_floor_bounds_every_id_of_that_instant(at: datetime) -> None:
    assert uuid7_floor(at) <= uuid7(at)
    assert uuid7(at) < uuid7_floor(at + timedelta(milliseconds=1))


def test_uuid7_refuses_naive_and_out_of_range_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        uuid7(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="outside the UUIDv7 range"):
        uuid7(datetime(1960, 1, 1, tzinfo=UTC))


def test_uuid7_values_are_unique() -> None:
    assert len({uuid7() for _ in range(10_000)}) == 10_000
