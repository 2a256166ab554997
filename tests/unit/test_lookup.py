"""Typed ids: full ids, prefixes and short ids, and what is refused."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalgraph.errors import UsageError
from signalgraph.ids import short_id
from signalgraph.lookup import parse_id

ID = uuid.UUID("019ad3f2-1c4e-7a21-9b3c-4f2a9c1b7d0e")


def test_a_full_id_with_or_without_dashes_is_that_id() -> None:
    assert parse_id(str(ID), "entity").full == ID
    assert parse_id(ID.hex, "entity").full == ID
    assert parse_id(str(ID).upper(), "entity").full == ID
    assert parse_id(ID, "entity").full == ID


def test_a_short_id_is_matched_as_a_prefix_or_a_suffix() -> None:
    typed = parse_id(short_id(ID), "signal")
    assert short_id(ID) == "9c1b7d0e"
    assert typed.full is None
    assert typed.prefix == "9c1b7d0e"
    assert typed.suffix == "9c1b7d0e"


def test_a_dashed_prefix_is_only_a_prefix() -> None:
    typed = parse_id("019ad3f2-1c4e", "run")
    assert typed.prefix == "019ad3f21c4e"
    assert typed.suffix is None


def test_long_hex_is_only_a_prefix() -> None:
    typed = parse_id("019ad3f21c4e7a", "run")
    assert typed.prefix == "019ad3f21c4e7a"
    assert typed.suffix is None


@pytest.mark.parametrize(
    "text",
    ["abc", "", "   ", "acme", "019ad3f2-1c4e-7a21-9b3c-4f2a9c1b7d0e0", "0-19ad3f2", "01a2;drop"],
)
def test_text_that_is_no_id_is_a_usage_error_naming_what_works(text: str) -> None:
    with pytest.raises(UsageError, match="is not an entity id") as raised:
        parse_id(text, "entity")
    assert "short id" in str(raised.value)


@given(st.uuids(), st.integers(min_value=4, max_value=31))
def test_every_prefix_of_an_id_contains_that_id(value: uuid.UUID, length: int) -> None:
    typed = parse_id(value.hex[:length], "entity")
    assert typed.prefix is not None
    low = uuid.UUID(typed.prefix.ljust(32, "0"))
    high = uuid.UUID(typed.prefix.ljust(32, "f"))
    assert low <= value <= high
