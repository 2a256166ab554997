"""Reading JSON text and lines: depth, repeated keys, huge integers, NUL bytes, line ends."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest

from signalgraph.load.fields import Limits, Rejection, canonical_json
from signalgraph.load.json_text import MAX_DEPTH, JsonProblem, check_depth, parse_json
from signalgraph.load.ndjson import parse_json_record, read_ndjson
from signalgraph.load.values import coerce_csv_value
from signalgraph.resolve.records import EntityRecordLoader
from signalgraph.signals.records import validate

NOW = datetime(2026, 3, 4, tzinfo=UTC)


def arrays(depth: int) -> Any:
    """Return a Python list nested `depth` levels deep."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 400, 1000, 1025, 10_000])
def test_text_nested_past_the_limit_is_a_problem_not_a_crash(depth: int) -> None:
    text = b'{"metadata": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    with pytest.raises(JsonProblem, match=f"nested more than {MAX_DEPTH} levels deep"):
        parse_json(text)


def test_text_at_the_limit_is_read_and_the_field_is_named_past_it() -> None:
    inner = MAX_DEPTH - 1  # the object is level 1
    at_limit = b'{"m": ' + b"[" * inner + b"]" * inner + b"}"
    assert parse_json(at_limit).value == {"m": arrays(inner)}
    record = parse_json_record(b'{"external_id": "x", "m": [' + at_limit + b"]}", "f", 1)
    assert (record.field, record.value) == ("m", None)


def test_python_values_nested_past_the_limit_are_refused_cycles_included() -> None:
    check_depth({"a": arrays(MAX_DEPTH - 1)})
    with pytest.raises(JsonProblem) as refused:
        check_depth({"a": arrays(5000)})
    assert refused.value.field == "a"
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(JsonProblem):
        check_depth({"a": cycle})


def test_validators_given_deep_values_directly_reject_them() -> None:
    with pytest.raises(Rejection, match="nested more than"):
        validate({"external_id": "x", "metadata": {"a": arrays(5000)}}, observed_at=NOW,
                 limits=Limits())  # fmt: skip
    deep_with_nul = {"external_id": "x", "metadata": {"a": [*arrays(150), "a\x00b"]}}
    stripped = validate(deep_with_nul, observed_at=NOW, limits=Limits(nul_policy="strip"))
    assert stripped.metadata["a"][-1] == "ab"
    assert stripped.nul_stripped
    with pytest.raises(Rejection, match="NUL"):
        validate(deep_with_nul, observed_at=NOW, limits=Limits())


def test_canonical_json_of_huge_integers_still_falls_back() -> None:
    assert canonical_json({"n": 10**30, "deep": arrays(150)}).startswith(b'{"deep":[[[')


@pytest.mark.parametrize(
    ("text", "repeated"),
    [
        (b'{"a": 1, "a": 2}', "a"),
        (b'{"m": {"x": [{"k": 1}, {"k": 1, "k" : 2}]}}', "m.x[1].k"),
        (b'{"a\\u003a": 1, "a:": 2}', "a:"),  # the colon written as an escape
        (b'{"n": 123456789012345678901234567890, "n": 1}', "n"),
        (b'{"url": "http://a.b:80/x", "at": "10:30:00", "k:": {"v": "a:b"}}', None),
        (b'{"colon": "\\u003a", "b": 1}', None),
        (b'{"a": 1, "b": {"a": 2}}', None),
    ],
)
def test_repeated_keys_are_found_with_their_path(text: bytes, repeated: str | None) -> None:
    assert parse_json(text).repeated_key == repeated
    assert parse_json(text.decode()).repeated_key == repeated


def test_huge_integers_stay_exact_and_the_last_repeated_value_wins() -> None:
    parsed = parse_json(b'{"n": 1, "n": 123456789012345678901234567890}')
    assert parsed.value == {"n": 123456789012345678901234567890}


def test_a_raw_nul_byte_meets_the_nul_policy_and_names_its_field() -> None:
    record = parse_json_record(b'{"external_id": "x", "text": "a\x00b"}', "f", 1)
    assert record.value == {"external_id": "x", "text": "a\x00b"}
    assert record.raw == b'{"external_id": "x", "text": "a\x00b"}'
    outside = parse_json_record(b'{"external_id": "x"}\x00', "f", 1)
    assert outside.reason is not None
    assert outside.reason.startswith("invalid JSON")


def lines(data: bytes, limit: int = 1 << 20) -> list[tuple[int, bytes | None, str | None]]:
    return [
        (r.line, r.raw if r.reason else None, r.reason)
        for r in read_ndjson(io.BytesIO(data), "f", max_record_bytes=limit)
    ]


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_every_line_end_ends_a_record(end: bytes) -> None:
    data = end.join([b'{"external_id": "1"}', b'{"external_id": "2"}', b"", b"{bad"]) + end
    found = lines(data)
    assert [(line, raw) for line, raw, _ in found] == [(1, None), (2, None), (4, b"{bad")]
    assert str(found[2][2]).startswith("invalid JSON")


def test_line_ends_mixed_and_across_reads_all_end_lines() -> None:
    records = [b'{"external_id": "%d", "text": "%s"}' % (i, b"z" * 700) for i in range(300)]
    ends = [b"\r", b"\r\n", b"\n"]
    data = b"".join(line + ends[i % 3] for i, line in enumerate(records))
    assert len(data) > 3 * 65_536
    found = lines(data)
    assert [line for line, _, reason in found if reason is None] == list(range(1, 301))


def test_crlf_split_across_reads_is_one_line_end() -> None:
    first = b'{"external_id": "' + b"x" * (65_536 - 20) + b'"}\r'
    assert len(first) == 65_536
    data = first + b'\n{"external_id": "2"}\r\n'
    assert [line for line, _, reason in lines(data) if reason is None] == [1, 2]


def test_an_oversized_line_keeps_its_first_bytes_and_the_next_line_is_read() -> None:
    big = b'{"external_id": "' + b"y" * 200_000 + b'"}'
    data = b'{"external_id": "1"}\r' + big + b'\r{"external_id": "3"}'
    found = lines(data, limit=100_000)
    assert [(line, raw is None) for line, raw, _ in found] == [(1, True), (2, False), (3, True)]
    assert found[1][1] == big[:100_000]
    assert found[1][2] is not None
    assert found[1][2].startswith(f"record is {len(big):,} bytes")


def test_entity_csv_cells_hold_json_and_an_alias_may_be_plain_text() -> None:
    columns = EntityRecordLoader(frozenset()).csv_columns
    cells = {
        "aliases": '["A1", "A2"]',
        "identifiers": '{"domain": "acme.ai", "domain": "acme.com"}',
        "properties": '{"city": "Oslo"}',
    }
    value, repeated = coerce_csv_value(cells, columns)
    assert value == {
        "aliases": ["A1", "A2"],
        "identifiers": {"domain": "acme.com"},
        "properties": {"city": "Oslo"},
    }
    assert repeated == "identifiers.domain"
    assert coerce_csv_value({"aliases": "Helix Tx"}, columns)[0] == {"aliases": "Helix Tx"}
    with pytest.raises(Rejection, match="is not valid JSON"):
        coerce_csv_value({"aliases": '["A1", '}, columns)
