"""The word pairs a phrase query's matches must hold, read from PostgreSQL's tsquery text."""

from __future__ import annotations

import pytest

from signalgraph.query.phrases import MAX_ALTERNATIVES, required_pairs


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("'rais' <-> 'money'", [{("rais", "money")}]),
        ("'a' <-> 'b' <-> 'c'", [{("a", "b"), ("b", "c")}]),
        # Words outside the phrase, and excluded phrases, add nothing but do not hide it.
        ("'acm' & 'rais' <-> 'money'", [{("rais", "money")}]),
        ("'a' <-> 'b' & !( 'x' <-> 'y' )", [{("a", "b")}]),
        # Either phrase: two alternatives.
        ("'a' <-> 'b' | 'c' <-> 'd' & 'e'", [{("a", "b")}, {("c", "d")}]),
        # A gap (a stop word dropped) is not a pair; the words after it are.
        ("'a' <2> 'b' <-> 'c'", [{("b", "c")}]),
        ("'a' <-> 'b' <2> 'c'", [{("a", "b")}]),
        # The distance runs from the end of the left part: 'c' follows 'b'.
        ("( 'a' <-> 'b' ) <-> 'c'", [{("a", "b"), ("b", "c")}]),
        # A right part that is a phrase itself: only its own pairs are certain.
        ("'a' <-> ( 'b' <-> 'c' )", [{("b", "c")}]),
        # Hyphenated words: the compound and its parts at consecutive positions.
        (
            "'well-known' <-> 'well' <-> 'known' <-> 'fact'",
            [{("well-known", "well"), ("well", "known"), ("known", "fact")}],
        ),
        # Quotes and backslashes as PostgreSQL escapes them.
        ("'it''s' <-> 'a\\\\b'", [{("it's", "a\\b")}]),
    ],
)
def test_pairs_every_match_holds(query: str, expected: list[set[tuple[str, str]]]) -> None:
    found = required_pairs([query])
    assert found is not None
    assert [set(pairs) for pairs in found] == expected


@pytest.mark.parametrize(
    "query",
    [
        "'rais' <2> 'money' & 'acm'",  # no adjacent words
        "'a' <-> 'b' | 'z'",  # 'z' alone matches without any pair
        "'a':* <-> 'b'",  # a prefix: the pair's first word is not known
        "'a' <-> 'b':A",  # weighted: treated as unknown too
        "!( 'a' <-> 'b' )",  # only an exclusion
        "'plain'",
        "'a' <-> 'b' & (",  # cut short
        "'a' <-> 'b' junk",  # not tsquery text
        "'unclosed",
        "",
    ],
)
def test_no_pairs_when_a_match_need_hold_none(query: str) -> None:
    assert required_pairs([query]) is None


def test_each_language_form_is_an_alternative() -> None:
    found = required_pairs(["'rais' <-> 'money'", "'raises' <-> 'money'"])
    assert found is not None
    assert {frozenset(p) for p in found} == {
        frozenset({("rais", "money")}),
        frozenset({("raises", "money")}),
    }
    # One language's form without a pair: no condition at all.
    assert required_pairs(["'rais' <-> 'money'", "'money'"]) is None


def test_too_many_alternatives_give_no_condition() -> None:
    branches = " | ".join(f"'a{i}' <-> 'b{i}'" for i in range(MAX_ALTERNATIVES + 1))
    assert required_pairs([branches]) is None
    # Too many combinations of ANDed alternatives: one side's pairs are still required.
    left = " | ".join(f"'a{i}' <-> 'b{i}'" for i in range(5))
    right = " | ".join(f"'c{i}' <-> 'd{i}'" for i in range(5))
    found = required_pairs([f"( {left} ) & ( {right} )"])
    assert found is not None
    assert len(found) == 5
    assert {next(iter(pairs)) for pairs in found} == {(f"a{i}", f"b{i}") for i in range(5)}
