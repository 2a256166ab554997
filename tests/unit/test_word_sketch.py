from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signalgraph.fingerprint import SKETCH_WORDS, WordSketch, sketches_agree, word_sketch

STORY = (
    "Tidewater Logistics acquires smaller rival Harbor Foods for $120 million. The deal, "
    "announced on Tuesday in Baltimore, expands the network of Tidewater Logistics across "
    "the region. Chief executive Jane Smith said the combined business would serve more "
    "customers and cut costs within two years. Shares of the company rose 4% in early trading."
)

QUOTE = (
    " Chief executive Jane Smith said the combined business would serve more customers and cut "
    "costs within two years."
)
DISTINCT = [
    "company",
    "amount",
    "amount-grouped",
    "person",
    "place",
    "company-capitals",
    "place-small-letters",
]
REWORDINGS = [
    "punctuation",
    "word",
    "sentence-added",
    "sentence-removed",
    "capitals",
    "small-letters-and-word",
    "boilerplate",
    "apostrophe",
]


def agree(first: str, second: str) -> bool:
    return sketches_agree(WordSketch.read(word_sketch(first)), WordSketch.read(word_sketch(second)))


@pytest.mark.parametrize(
    "other",
    [
        STORY.replace("Tidewater Logistics", "Opal Health"),
        STORY.replace("$120 million", "$95 million"),
        STORY.replace("$120 million", "$120,500 thousand"),
        STORY.replace("Jane Smith", "Ravi Patel"),
        STORY.replace("Baltimore", "Rotterdam"),
        # Re-cased, it still names another company.
        STORY.replace("Tidewater Logistics", "Opal Health").upper(),
        STORY.replace("Baltimore", "Rotterdam").lower(),
    ],
    ids=DISTINCT,
)
def test_the_same_template_with_another_name_or_figure_does_not_agree(other: str) -> None:
    assert not agree(STORY, other)
    assert not agree(other, STORY)


@pytest.mark.parametrize(
    "copy",
    [
        STORY.replace("The deal, announced", "The deal announced").replace(". ", "; ", 1),
        STORY.replace("acquires", "buys"),
        STORY + " The company did not respond to a request for comment.",
        STORY.replace(QUOTE, ""),
        STORY.upper(),
        STORY.lower().replace("acquires", "buys"),
        STORY + " Reporting by Anna Berg; editing by Tom Hale.",
        STORY.replace("Tidewater Logistics", "Tidewater Logistics’"),  # curly apostrophe
    ],
    ids=REWORDINGS,
)
def test_a_light_rewording_agrees(copy: str) -> None:
    assert agree(STORY, copy)
    assert agree(copy, STORY)


def test_a_missing_sketch_leaves_the_decision_to_the_simhash() -> None:
    sketch = WordSketch.read(word_sketch(STORY))
    assert sketches_agree(None, sketch)
    assert sketches_agree(sketch, None)


WORDS = st.lists(
    st.sampled_from(
        ["deal", "rival", "shares", "Tidewater", "Opal", "McKay", "120", "Q3", "the", "THE",
         "Über", "straße", "日本", "_x", "a-b", "rose", "4%", "İstanbul", "said,", "ﬁnal",
         "1,500", "1.5", "$100,100", "2025."]
    )
    | st.text(alphabet="abcdefghijKLMN0123456789", min_size=1, max_size=9),
    max_size=2 * SKETCH_WORDS + 40,
)  # fmt: skip


@settings(max_examples=300)
@given(WORDS, WORDS)
def test_adding_words_to_a_text_never_makes_it_disagree_with_the_text(
    words: list[str], added: list[str]
) -> None:
    text = " ".join(words)
    longer = " ".join([*words, *added])
    assert agree(text, text)
    # Words were added, none taken away: the longer text lacks no name of the shorter.
    assert agree(text, longer)
    assert agree(longer, text)


_WORD = re.compile(r"\d+(?:[.,]\d+)+|\w+")


def _names_and_words(text: str) -> tuple[bool, set[str], set[str]]:
    words = set(_WORD.findall(text))
    mixed = {w for w in words if w.upper() != w and w.lower() != w}
    digits = {w for w in words if any(c.isdigit() for c in w)}
    return bool(mixed), {w.casefold() for w in mixed | digits}, {w.casefold() for w in words}


@settings(max_examples=300)
@given(WORDS, WORDS, WORDS)
def test_a_disagreement_is_always_a_real_one_even_in_a_truncated_sketch(
    common: list[str], first: list[str], second: list[str]
) -> None:
    a, b = " ".join([*common, *first]), " ".join([*common, *second])
    if agree(a, b):
        return
    cased_a, names_a, words_a = _names_and_words(a)
    cased_b, names_b, words_b = _names_and_words(b)
    if not cased_a and cased_b:
        names_a = words_a
    if not cased_b and cased_a:
        names_b = words_b
    assert names_a - words_b
    assert names_b - words_a
