from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from signalgraph.fingerprint import (
    bands,
    content_hash,
    hamming,
    is_tracking_parameter,
    normalize_text,
    normalize_url,
    simhash,
)
from signalgraph.fingerprint_batch import fingerprint_batch

SEGMENT = st.text(alphabet="abcXYZ09-_.~%", min_size=1, max_size=8)
PARAM_NAMES = st.sampled_from(
    ["utm_source", "UTM_Medium", "utm_campaign", "fbclid", "gclid", "ref", "_ga", "mc_cid",
     "mc_eid", "id", "page", "q", "lang", "Sort"]
)  # fmt: skip


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTPS", "Http"]))
    host = draw(
        st.sampled_from(["example.com", "WWW.Example.COM", "www.news.example.org", "a.b.c"])
    )
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/".join(draw(st.lists(SEGMENT, max_size=4)))
    slash = draw(st.sampled_from(["", "/"]))
    params = draw(st.lists(st.tuples(PARAM_NAMES, SEGMENT), max_size=6))
    query = "&".join(f"{k}={v}" for k, v in params)
    fragment = draw(st.sampled_from(["", "#top", "#x=1"]))
    return f"{scheme}://{host}{port}/{path}{slash}{'?' + query if query else ''}{fragment}"


@given(urls())
def test_url_normalisation_is_idempotent(url: str) -> None:
    once = normalize_url(url)
    assert once is not None
    assert normalize_url(once) == once


@given(urls())
def test_tracking_parameters_never_survive(url: str) -> None:
    normalized = normalize_url(url)
    assert normalized is not None
    query = normalized.partition("?")[2]
    for pair in filter(None, query.split("&")):
        assert not is_tracking_parameter(pair.split("=", 1)[0])
    assert "#" not in normalized
    assert "www." not in normalized


def test_url_normalisation_examples() -> None:
    assert (
        normalize_url("HTTPS://WWW.Example.com:443/a/b/?utm_source=x&b=2&a=1#frag")
        == "https://example.com/a/b?a=1&b=2"
    )
    assert normalize_url("http://example.com:8080/") == "http://example.com:8080"
    assert normalize_url("http://example.com/?FBCLID=1") == "http://example.com"
    assert normalize_url("not a url") is None
    assert normalize_url("") is None
    assert normalize_url("http://[::1") is None


def test_text_normalisation_folds_case_width_and_space() -> None:
    assert normalize_text("  Ｈｅｌｌｏ\u00a0WORLD\t\n ß ")[0] == "hello world ss"
    assert content_hash("a b") == content_hash(normalize_text("A \n B")[0])


@given(st.integers(min_value=0, max_value=2**64 - 1), st.sets(st.integers(0, 63), max_size=3))
def test_any_pair_within_distance_three_shares_a_band(value: int, flips: set[int]) -> None:
    other = value
    for bit in flips:
        other ^= 1 << bit
    assert hamming(value, other) == len(flips)
    assert any(a == b for a, b in zip(bands(value), bands(other), strict=True))


TEXTS = st.lists(
    st.one_of(
        st.none(),
        st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=300),
        st.lists(st.sampled_from(["Acme", "ACME", "raises", "ﬁnance", "Ünïcode", "\u2028", "\t",
                                  "x" * 20, "\u00a0", "é", "日本", "$20M", "\x1c"]), max_size=60)
        .map(" ".join),
    ),
    max_size=12,
)  # fmt: skip


@settings(max_examples=200)
@given(TEXTS, st.integers(min_value=1, max_value=8))
def test_batch_fingerprints_equal_the_definition(texts: list[str | None], min_tokens: int) -> None:
    printed = fingerprint_batch(texts, min_tokens=min_tokens)
    for text, fingerprint in zip(texts, printed, strict=True):
        normalized, tokens = normalize_text(text or "")
        if not tokens:
            assert fingerprint is None
            continue
        assert fingerprint is not None
        assert fingerprint.content_hash == content_hash(normalized)
        assert fingerprint.tokens == len(tokens)
        assert fingerprint.simhash == simhash(text or "", min_tokens=min_tokens)


def test_simhash_is_close_for_small_edits_and_far_for_unrelated_texts() -> None:
    rng = random.Random(7)
    words = [f"w{rng.randint(0, 5000)}" for _ in range(200)]
    base = " ".join(words)
    edited = " ".join([*words[:100], "changed", *words[101:]])
    other = " ".join(f"w{rng.randint(0, 5000)}" for _ in range(200))
    a, b, c = simhash(base), simhash(edited), simhash(other)
    assert a is not None
    assert b is not None
    assert c is not None
    assert hamming(a, b) <= 3
    assert hamming(a, c) > 10


def test_short_texts_get_no_simhash() -> None:
    assert simhash("only a few words here", min_tokens=32) is None
    [printed] = fingerprint_batch(["only a few words here"], min_tokens=32)
    assert printed is not None
    assert printed.simhash is None
