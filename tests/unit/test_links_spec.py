"""Link items and the reference-text rule, without a database."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalgraph.links.spec import (
    FILLER_WORDS,
    LinkError,
    normalize_text,
    parse_links,
    parse_reference,
    reference_matches,
)


@given(st.text(max_size=200))
def test_parse_reference_never_fails_except_on_impossible_dates(text: str) -> None:
    try:
        reference = parse_reference(text)
    except ValueError as exc:
        failure = str(exc)
    else:
        failure = ""
    if failure:
        assert "is not a date" in failure
        return
    assert not set(reference.words) & FILLER_WORDS
    assert reference.normalized == normalize_text(text)
    assert normalize_text(reference.normalized) == reference.normalized  # idempotent


@given(
    st.lists(st.from_regex(r"[A-Za-z]{3,12}", fullmatch=True), min_size=1, max_size=5),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
)
def test_a_title_made_of_the_reference_words_matches_on_its_day(
    words: list[str], day: date
) -> None:
    reference = parse_reference(f"amends the {' '.join(words)} dated {day.isoformat()}")
    assert reference.day == day
    if not reference.words:  # only filler words
        return
    title = " ".join(words).upper()
    assert reference_matches(reference.words, reference.day, title, day)
    assert not reference_matches(reference.words, reference.day, title, date(1899, 1, 1))


@pytest.mark.parametrize(
    ("links", "field"),
    [
        ({"type": "amends"}, "links"),
        ([{"type": "amends", "to": "x"}], "links[0].to"),
        ([{"type": "amends", "to": {"external_id": ""}}], "links[0].to.external_id"),
        ([{"type": "amends", "to": {"external_id": 5}}], "links[0].to.external_id"),
        ([{"type": "amends", "to": {"external_id": "x", "source": 7}}], "links[0].to.source"),
        ([{"type": "amends", "to": {"signal_id": "x", "external_id": "y"}}], "links[0].to"),
        ([{"type": True, "to": {"external_id": "x"}}], "links[0].type"),
        ([{"type": "amends", "reference": ""}], "links[0].reference"),
        ([{"type": "amends", "reference": "x" * 1001}], "links[0].reference"),
        ([{"type": "amends", "reference": "the 2021-03-04"}], "links[0].reference"),
        ([{"type": "amends", "reference": "MSA of 2021-13-01"}], "links[0].reference"),
        ([{"type": "amends", "to": {"external_id": "ok"}}, None], "links[1]"),
    ],
)
def test_bad_link_items_name_their_field(links: object, field: str) -> None:
    with pytest.raises(LinkError) as caught:
        parse_links(links, external_id="me")
    assert caught.value.field == field


def test_link_types_are_normalised_and_duplicates_collapse() -> None:
    links = parse_links(
        [
            {"type": "Replies-To", "to": {"external_id": "a"}},
            {"type": "replies_to", "to": {"external_id": "a"}},
            {"type": "references", "reference": "MSA of 2021-03-04"},
            {"type": "references", "reference": "msa  OF 2021-03-04"},
        ],
        external_id="me",
    )
    assert [link.type for link in links] == ["replies_to", "references"]
    assert links[1].reference is not None
    assert links[1].reference.words == ("master", "services", "agreement")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Master Agreement", "MSA", "Order Form 2", "NDA", None, "Work"]),
            st.sampled_from([date(2021, 3, 4), date(2021, 3, 5)]),
        ),
        max_size=8,
    ),
    st.sampled_from(["Master Services Agreement", "Order Form", "statement of work", "nda"]),
    st.sampled_from([date(2021, 3, 4), None]),
)
def test_the_candidate_index_applies_the_same_rule(
    signals: list[tuple[str | None, date]], wanted: str, day: date | None
) -> None:
    import uuid

    from signalgraph.links.store import Candidate, CandidateIndex

    candidates = [Candidate(uuid.uuid4(), title, published) for title, published in signals]
    reference = parse_reference(wanted)
    expected = {c.id for c in candidates if reference_matches(reference.words, day, c.title, c.day)}
    assert CandidateIndex(candidates).matches(reference.words, day) == expected
