"""Signal queries: full-text search, filters, mentioned entities and keyset pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from signalgraph.client import SignalGraph
from signalgraph.errors import NotFound, UsageError


def news(external_id: str, title: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "kind": "article", "title": title, "text": text, **extra}


@pytest.fixture
def wire(sg: SignalGraph) -> SignalGraph:
    sg.sources.add("wire")
    sg.ingest(
        [
            news(
                "n1",
                "Acme announces merger",
                "Acme Robotics agreed a merger with Helix.",
                lang="en",
                published_at="2026-01-05T10:00:00Z",
            ),
            news(
                "n2",
                "Mergers slow down",
                "Bankers report fewer mergers this quarter.",
                lang="en",
                published_at="2026-01-06T10:00:00Z",
            ),
            news(
                "n3",
                "Übernahme angekündigt",
                "Die Übernahmen der Branche nehmen zu.",
                lang="de",
                published_at="2026-01-07T10:00:00Z",
            ),
            news(
                "n4",
                "Quarterly results",
                "Helix reports record revenue; no merger planned.",
                lang="en",
                published_at="2026-02-01T10:00:00Z",
            ),
        ],
        source="wire",
    )
    return sg


def ids(page: Any) -> list[str]:
    return [s.external_id for s in page]


def test_search_stems_in_the_signal_language(wire: SignalGraph) -> None:
    # "mergers" and "merger" share an English stem; newest first.
    assert ids(wire.signals.search("mergers")) == ["n4", "n2", "n1"]
    # German stemming: "Übernahme" finds "Übernahmen" (in the title and the text).
    assert ids(wire.signals.search("Übernahme", lang="de")) == ["n3"]
    assert ids(wire.signals.search("Übernahmen")) == ["n3"]
    # The language filter narrows to signals in that language.
    assert ids(wire.signals.search("merger", lang="de")) == []


def test_search_phrases_or_and_exclusion(wire: SignalGraph) -> None:
    assert ids(wire.signals.search('"record revenue"')) == ["n4"]
    assert ids(wire.signals.search("helix -revenue")) == ["n1"]
    assert ids(wire.signals.search("bankers OR Übernahmen")) == ["n3", "n2"]
    page = wire.signals.search("merger")
    assert ids(page) == ["n4", "n2", "n1"]
    ranks = {s.external_id: s.rank for s in page}
    assert all(rank is not None and rank > 0 for rank in ranks.values())
    # Title matches weigh more than text matches.
    assert ranks["n1"] > ranks["n4"]


def test_search_combines_with_filters(wire: SignalGraph) -> None:
    from datetime import UTC, datetime

    since = datetime(2026, 1, 6, tzinfo=UTC)
    assert ids(wire.signals.search("merger", since=since)) == ["n4", "n2"]
    assert ids(wire.signals.search("merger", kind="email")) == []
    with pytest.raises(NotFound):
        wire.signals.search("merger", source_name="nowhere")


@pytest.mark.parametrize(
    "query",
    [
        "'; DROP TABLE signal; --",
        "merger & | ! ( :* <->",
        '"unbalanced',
        "-",
        "OR OR OR",
    ],
)
def test_hostile_queries_are_words_not_syntax(wire: SignalGraph, query: str) -> None:
    page = wire.signals.search(query)
    assert isinstance(page.items, list)
    assert wire.signals.count()["signals"] == 4


@pytest.mark.parametrize(
    ("query", "message"),
    [("   ", "give some words"), ("a\x00b", "NUL"), ("x" * 1001, "at most 1000")],
)
def test_bad_queries_are_refused(wire: SignalGraph, query: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        wire.signals.search(query)


def test_signals_of_an_entity_follow_merges(sg: SignalGraph) -> None:
    sg.sources.add("wire")
    acme = {"type": "company", "text": "Acme Robotics", "identifiers": {"domain": "acme.ai"}}
    helix = {"type": "company", "text": "Helix Therapeutics", "identifiers": {"ticker": "HLXT"}}
    sg.ingest(
        [
            news("a", "Acme hires", "Acme Robotics hires.", mentions=[acme]),
            news("b", "Helix trial", "Helix Therapeutics trial.", mentions=[helix]),
            news("c", "Both", "Acme Robotics and Helix Therapeutics.", mentions=[acme, helix]),
            news("d", "Nobody", "Nothing to see."),
        ],
        source="wire",
    )
    sg.resolve()
    [first] = sg.entities.search("acme.ai")
    [second] = sg.entities.search("ticker:HLXT")
    assert sorted(ids(sg.signals.list(entity=first["id"]))) == ["a", "c"]
    assert sorted(ids(sg.signals.list(entity=second["id"]))) == ["b", "c"]
    merged = sg.entities.merge([first["id"], second["id"]])
    survivor = merged["survivor"]
    [absorbed] = {first["id"], second["id"]} - {survivor}
    # Asked by either id, the merged entity's signals are those of both, once each.
    assert sorted(ids(sg.signals.list(entity=survivor))) == ["a", "b", "c"]
    assert sorted(ids(sg.signals.list(entity=absorbed))) == ["a", "b", "c"]
    assert ids(sg.signals.search("trial", entity=absorbed)) == ["b"]
    sg.entities.unmerge(absorbed)
    assert sorted(ids(sg.signals.list(entity=first["id"]))) == ["a", "c"]
    assert sorted(ids(sg.signals.list(entity=second["id"]))) == ["b", "c"]


def test_pages_never_skip_or_repeat_while_rows_arrive(sg: SignalGraph) -> None:
    sg.sources.add("wire")
    sg.ingest(
        [
            news(
                f"s{i:02}", f"story {i}", f"body {i}", published_at=f"2026-03-{i + 1:02}T12:00:00Z"
            )
            for i in range(20)
        ],
        source="wire",
    )
    before = {s.external_id for s in sg.signals.list(limit=100)}
    seen: list[str] = []
    cursor = None
    extra = 0
    while True:
        page = sg.signals.list(limit=3, cursor=cursor)
        seen.extend(ids(page))
        # Between pages, new signals arrive: newer, older and in between.
        extra += 1
        sg.ingest(
            [
                news(f"new{extra}a", "late", "x", published_at="2026-04-01T00:00:00Z"),
                news(f"new{extra}b", "old", "y", published_at="2025-01-01T00:00:00Z"),
                news(f"new{extra}c", "mid", "z", published_at="2026-03-10T12:30:00Z"),
            ],
            source="wire",
        )
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a signal was repeated"
    assert before <= set(seen), "a signal that was there from the start was skipped"
    # Paging is newest first throughout.
    published = [sg.signals.get(s).published_at for s in _ids_of(sg, seen)]
    assert published == sorted(published, reverse=True)


def _ids_of(sg: SignalGraph, external_ids: list[str]) -> list[Any]:
    by_key = {s.external_id: s.id for s in sg.signals.list(limit=1000, include_duplicates=True)}
    return [by_key[key] for key in external_ids]


def test_a_cursor_of_another_listing_or_damaged_is_refused(wire: SignalGraph) -> None:
    page = wire.signals.list(limit=1)
    assert page.next_cursor is not None
    assert ids(wire.signals.list(limit=1, cursor=page.next_cursor)) == ["n3"]
    with pytest.raises(UsageError, match="cursor"):
        wire.signals.list(cursor="not-a-cursor")
    wire.sources.add("other")
    events = wire.audit.list(limit=1)
    assert events.next_cursor is not None
    with pytest.raises(UsageError, match="cursor"):
        wire.signals.list(cursor=events.next_cursor)


def test_signals_in_a_list(wire: SignalGraph) -> None:
    by_key = {s.external_id: s.id for s in wire.signals.list()}
    wire.lists.create("Reading")
    wire.lists.add("Reading", [by_key["n1"], by_key["n4"]])
    assert ids(wire.signals.list(list_name="Reading")) == ["n4", "n1"]
    assert ids(wire.signals.search("helix", list_name="Reading")) == ["n4", "n1"]
    with pytest.raises(NotFound, match="list"):
        wire.signals.list(list_name="Unknown")


def search_column_by_partition(sg: SignalGraph, attribute: str) -> dict[str, Any]:
    """Return a pg_attribute field of the search column in every signal partition."""
    import sqlalchemy as sa

    with sg.engine.connect() as conn:
        return dict(
            conn.execute(
                sa.text(
                    f"SELECT c.relname, a.{attribute} FROM pg_inherits i "
                    "JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'search' "
                    "WHERE i.inhparent = CAST('signal' AS regclass)"
                )
            ).all()
        )


def test_every_signal_partition_samples_word_frequencies_widely(wire: SignalGraph) -> None:
    targets = search_column_by_partition(wire, "attstattarget")
    # The fixture's signals created 2026-01 and 2026-02 partitions at ingest.
    assert {"signal_p202601", "signal_p202602"} <= set(targets)
    assert set(targets.values()) == {1000}


@pytest.mark.parametrize(
    ("popular_from", "merged_walk", "sorted_max", "merged"),
    [
        (1, 4, 1, False),
        (1, 4, 1, True),
        (1, 4, 10_000, True),
        (1, 1, 1, True),
        (10_000, 4, 1, True),
    ],
)
def test_signals_of_an_entity_page_newest_first_on_every_path(
    sg: SignalGraph,
    monkeypatch: pytest.MonkeyPatch,
    popular_from: int,
    merged_walk: int,
    sorted_max: int,
    merged: bool,
) -> None:
    # popular_from=1 walks the mention index (the much-mentioned path): each record's
    # range walked and the pages merged, or (more records than merged_walk, or fewer
    # mentions than sorted_max) all their mentions sorted; 10,000 gathers and sorts.
    monkeypatch.setattr("signalgraph.query.signals.POPULAR_MENTIONS", popular_from)
    monkeypatch.setattr("signalgraph.query.signals.WALKED_RECORDS_MAX", merged_walk)
    monkeypatch.setattr("signalgraph.query.signals.SORTED_MENTIONS_MAX", sorted_max)
    sg.sources.add("wire")
    acme = {"type": "company", "text": "Acme Robotics", "identifiers": {"domain": "acme.ai"}}
    variant = {"type": "company", "text": "Acme Labs", "identifiers": {"domain": "acmelabs.io"}}
    other = {"type": "company", "text": "Helix", "identifiers": {"domain": "helix.bio"}}
    signals = []
    for i in range(12):
        mentions = [acme] if i % 3 else [acme, variant]  # some mention it twice
        if i == 5:
            mentions = [other]
        signals.append(
            news(
                f"s{i:02}",
                f"story {i}",
                f"Acme body {i} {'dup' if i == 7 else ''}",
                published_at=f"2026-03-{i + 1:02}T12:00:00Z",
                mentions=mentions,
            )
        )
    sg.ingest(signals, source="wire")
    # s03 re-sent with a later date: its mentions move with it.
    moved = news("s03", "story 3", "Acme moved", published_at="2026-04-20T00:00:00Z")
    sg.ingest([moved | {"mentions": [acme]}], source="wire")
    sg.resolve()
    [entity] = sg.entities.search(identifier="domain:acme.ai")
    if merged:
        [labs] = sg.entities.search(identifier="domain:acmelabs.io")
        sg.entities.merge([entity["id"], labs["id"]])
        records = sg.entities.show(entity["id"])["records"]
        assert len(records) >= 2
    expected = ["s03"] + [f"s{i:02}" for i in reversed(range(12)) if i not in (3, 5)]
    seen: list[str] = []
    cursor = None
    while True:
        page = sg.signals.list(entity=entity["id"], limit=4, cursor=cursor)
        seen.extend(ids(page))
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected
    assert ids(sg.signals.search("moved", entity=entity["id"])) == ["s03"]
    window = sg.signals.list(
        entity=entity["id"],
        since=datetime(2026, 3, 4, tzinfo=UTC),
        until=datetime(2026, 3, 8, tzinfo=UTC),
    )
    # s04 and s06 lie within; s05 mentions someone else, s03 moved out, s07 is at noon.
    assert ids(window) == ["s06", "s04"]


@pytest.mark.parametrize("walk", [1000, 3])
def test_a_phrase_search_pages_the_same_whether_walked_or_gathered(
    sg: SignalGraph, monkeypatch: pytest.MonkeyPatch, walk: int
) -> None:
    from signalgraph.query import signal_pages as query

    # With a walk of 3, the newest signals hold no match and every match is gathered.
    monkeypatch.setattr(query, "PHRASE_WALK", walk)
    sg.sources.add("wire")
    phrase = [
        news(f"p{i:02}", "Deal news", f"the funding round closed, deal {i}", lang="en",
             published_at=f"2026-03-{i + 1:02}T12:00:00Z")
        for i in range(9)
    ]  # fmt: skip
    # Both words, not as a phrase; and German signals stemmed in German.
    words = [
        news(f"w{i:02}", "Deal news", f"round {i} of funding", lang="en",
             published_at=f"2026-03-{i + 1:02}T13:00:00Z")
        for i in range(9)
    ]  # fmt: skip
    german = [
        news("de1", "Runde", "die Finanzierungsrunde wurde geschlossen", lang="de",
             published_at="2026-03-05T09:00:00Z"),
        news("de2", "Runde", "Finanzierungsrunden werden geschlossen", lang="de",
             published_at="2026-03-06T09:00:00Z"),
    ]  # fmt: skip
    newest = [
        news(
            f"n{i}", "Other", f"nothing to see {i}", lang="en", published_at="2026-03-28T00:00:00Z"
        )
        for i in range(4)
    ]
    sg.ingest(phrase + words + german + newest, source="wire")

    seen: list[str] = []
    cursor = None
    while True:
        page = sg.signals.search('"funding rounds"', limit=4, cursor=cursor)
        assert all(s.rank is not None and s.rank > 0 for s in page)
        seen.extend(ids(page))
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"p{i:02}" for i in reversed(range(9))]
    # A German phrase is matched in German stems only; windows still apply.
    assert ids(sg.signals.search('"Finanzierungsrunde wurde"')) == ["de1"]
    march_3_to_6 = {
        "since": datetime(2026, 3, 3, tzinfo=UTC),
        "until": datetime(2026, 3, 6, tzinfo=UTC),
    }
    assert ids(sg.signals.search('"funding round"', **march_3_to_6)) == ["p04", "p03", "p02"]
    assert ids(sg.signals.search('"funding round" -closed')) == []


def test_search_vectors_stay_in_the_row_in_every_partition(wire: SignalGraph) -> None:
    storage = search_column_by_partition(wire, "attstorage")
    assert {"signal_p202601", "signal_p202602", "signal_default"} <= set(storage)
    assert set(storage.values()) == {"m"}
