from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from signalgraph.load.fields import Limits, Rejection
from signalgraph.signals.records import validate

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def check(value: dict[str, Any], **limits: Any) -> Any:
    return validate(value, observed_at=NOW, limits=Limits(**limits))


def rejected(value: dict[str, Any], **limits: Any) -> Rejection:
    with pytest.raises(Rejection) as info:
        check(value, **limits)
    return info.value


def test_minimal_record_gets_defaults() -> None:
    record = check({"external_id": "x"})
    assert record.kind == "document"
    assert record.published_at == NOW
    assert record.metadata == {}
    assert record.raw == {"external_id": "x"}


@pytest.mark.parametrize(
    ("value", "field", "reason"),
    [
        ({}, "external_id", "is missing"),
        ({"external_id": ""}, "external_id", "is empty"),
        ({"external_id": "   "}, "external_id", "is empty"),
        ({"external_id": 12}, "external_id", "got integer"),
        ({"external_id": None}, "external_id", "is missing"),
        ({"external_id": "x", "title": 5}, "title", "expected a string, got integer"),
        ({"external_id": "x", "metadata": []}, "metadata", "expected an object, got array"),
        ({"external_id": "x", "mentions": {}}, "mentions", "expected an array"),
        ({"external_id": "x", "mentions": [{"type": "org"}]}, "mentions[0].text", "non-empty"),
        (
            {"external_id": "x", "mentions": [{"type": "o", "text": "A", "start": 5, "end": 2}]},
            "mentions[0].end",
            "before start",
        ),
        (
            {"external_id": "x", "mentions": [{"type": "o", "text": "A", "confidence": 2}]},
            "mentions[0].confidence",
            "not between 0 and 1",
        ),
        ({"external_id": "x", "published_at": "soon"}, "published_at", "not an ISO 8601"),
        ({"external_id": "x", "published_at": True}, "published_at", "boolean"),
        ({"external_id": "x", "published_at": 10**30}, "published_at", "out of range"),
        ({"external_id": "x", "published_at": [2024]}, "published_at", "got array"),
        ({"external_id": "x", "text": "a\x00b"}, "text", "NUL character"),
        ({"external_id": "x", "metadata": {"k": "v\x00"}}, "metadata", "NUL character"),
    ],
)
def test_bad_values_name_field_and_reason(value: dict[str, Any], field: str, reason: str) -> None:
    rejection = rejected(value)
    assert rejection.field == field
    assert reason in rejection.reason


def test_field_over_the_size_limit_is_rejected() -> None:
    rejection = rejected({"external_id": "x", "text": "é" * 3000}, max_field_bytes=4096)
    assert rejection.field == "text"
    assert "6,000 bytes; the limit is 4,096" in rejection.reason


def test_nul_can_be_stripped_instead() -> None:
    record = check(
        {"external_id": "x", "text": "a\x00b", "metadata": {"k\x00": "v"}}, nul_policy="strip"
    )
    assert record.text == "ab"
    assert record.metadata == {"k": "v"}
    assert record.nul_stripped


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        (1714557600, datetime(2024, 5, 1, 10, tzinfo=UTC)),
        (1714557600000, datetime(2024, 5, 1, 10, tzinfo=UTC)),
        (1714557600.5, datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_published_at_forms(given: Any, expected: datetime) -> None:
    assert check({"external_id": "x", "published_at": given}).published_at == expected


def test_unknown_fields_are_kept_in_raw() -> None:
    record = check({"external_id": "x", "vendor_score": 7})
    assert record.raw == {"external_id": "x", "vendor_score": 7}
    with_raw = check({"external_id": "x", "raw": {"id": 1}, "vendor_score": 7})
    assert with_raw.raw == {"id": 1, "_unknown_fields": {"vendor_score": 7}}
    scalar_raw = check({"external_id": "x", "raw": "payload", "vendor_score": 7})
    assert scalar_raw.raw == {"raw": "payload", "_unknown_fields": {"vendor_score": 7}}


def test_record_hash_ignores_key_order_and_sees_content() -> None:
    a = check({"external_id": "x", "title": "t", "metadata": {"a": 1, "b": 2}})
    b = check({"metadata": {"b": 2, "a": 1}, "title": "t", "external_id": "x"})
    c = check({"external_id": "x", "title": "t2", "metadata": {"a": 1, "b": 2}})
    assert a.record_hash == b.record_hash
    assert a.record_hash != c.record_hash


def test_huge_integers_are_data() -> None:
    record = check({"external_id": "x", "metadata": {"big": 10**40}})
    assert record.metadata == {"big": 10**40}
