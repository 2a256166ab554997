"""Phrase searches: the index of word pairs finds what PostgreSQL's phrase match finds.

The pair index only narrows the candidates; a pair missing from it (a word pair read
wrongly from a query, a position counted differently) would lose matches silently, so
every search here is compared with PostgreSQL's own answer over the whole table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph

TRICKY = [
    ("t01", "en", "Acme raises the money", "Acme raised $35M in a Series B round led by Juniper."),
    ("t02", "en", "Well-known fact", "A well-known fact: the funding round closed early."),
    ("t03", "de", "Übernahme der Firma", "Die Übernahme der Firma wurde angekündigt."),
    ("t04", "en", "Startup closes funding", "round of talks ends; funding round next"),
    ("t05", "en", "Repeat", "round funding round funding round"),
    ("t06", "", "Simple words", "it's a\\b c and O'Brien's deal"),
    ("t07", "en", "Hostile", "'; DROP TABLE signal; -- funding round"),
    ("t08", "fr", "Levée de fonds", "La levée de fonds de la société est bouclée."),
    ("t09", "en", "Long", "ab " * 20_000 + "funding round " + "ab " * 10),
    ("t10", "en", "Numbers", "raises 35m series b 2026-03-04 amendment"),
    ("t11", "en", "Funding", "Round two: the funding came late"),
    ("t12", "tr", "Yatırım turu", "Şirket yatırım turu tamamladı"),
]

PHRASES = [
    '"funding round"',
    '"raises the money"',
    '"raised 35m"',
    '"well-known fact"',
    '"well known"',
    '"Übernahme der Firma"',
    '"series b round"',
    '"round funding"',
    '"funding round" OR "series b"',
    '"funding round" -acme',
    '"funding round" acme',
    'funding -"round closed"',
    '"drop table signal"',
    '"ab ab ab"',
    '"ab funding"',
    '"levée de fonds"',
    '"it\'s a"',
    "\"O'Brien's deal\"",
    '"funding closes"',
    '"closes funding round"',
    '"yatırım turu"',
    '"2026-03-04 amendment"',
]


def _everything(sg: SignalGraph, text: str, **filters: Any) -> list[str]:
    found: list[str] = []
    cursor = None
    while True:
        page = sg.signals.search(text, limit=2, cursor=cursor, include_duplicates=True, **filters)
        found.extend(s.external_id for s in page)
        cursor = page.next_cursor
        if cursor is None:
            return found


def _postgres_says(sg: SignalGraph, text: str) -> list[str]:
    with sg.engine.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT external_id FROM signal "
                    "WHERE search @@ websearch_to_tsquery(ts_config(lang), :q) "
                    "ORDER BY published_at DESC, id DESC"
                ),
                {"q": text},
            ).scalars()
        )


@pytest.fixture
def tricky(sg: SignalGraph, monkeypatch: pytest.MonkeyPatch) -> SignalGraph:
    from signalgraph.query import signal_pages

    # A walk of one signal: every other match comes through the pair index (by slices).
    monkeypatch.setattr(signal_pages, "PHRASE_WALK", 1)
    monkeypatch.setattr(signal_pages, "PHRASE_WALK_MAX", 1)
    sg.sources.add("wire")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    sg.ingest(
        [
            {
                "external_id": key,
                "kind": "article",
                "title": title,
                "text": text,
                "lang": lang,
                "published_at": (start + timedelta(hours=n)).isoformat(),
            }
            for n, (key, lang, title, text) in enumerate(TRICKY)
        ],
        source="wire",
    )
    return sg


@pytest.mark.parametrize("phrase", PHRASES)
def test_a_phrase_finds_what_postgresql_matches(tricky: SignalGraph, phrase: str) -> None:
    assert _everything(tricky, phrase) == _postgres_says(tricky, phrase)


def test_the_fixture_holds_matches_the_index_must_find(tricky: SignalGraph) -> None:
    # The comparison above means something only if phrases do match, across the title
    # and text boundary (t04) and in other languages (t03, t08).
    assert set(_postgres_says(tricky, '"funding round"')) >= {"t02", "t04", "t05", "t07"}
    assert _postgres_says(tricky, '"Übernahme der Firma"') == ["t03"]
    assert _postgres_says(tricky, '"levée de fonds"') == ["t08"]
    # Past position 16383 every word shares the last position: no phrase matches there.
    assert "t09" not in _postgres_says(tricky, '"ab funding"')
    assert "t09" in _postgres_says(tricky, '"ab ab ab"')


def test_phrase_candidates_come_from_the_pair_index(tricky: SignalGraph) -> None:
    from signalgraph.query.signals import SignalFilter, gather_signals
    from signalgraph.query.text import text_query

    # Enough other signals that reading the whole table would cost more than the index.
    filler = [
        {"external_id": f"f{n}", "kind": "article", "title": "Other", "text": f"words {n}",
         "lang": "en", "published_at": "2026-03-02T00:00:00Z"}
        for n in range(3000)
    ]  # fmt: skip
    tricky.ingest(filler, source="wire")
    with tricky.engine.begin() as conn:
        conn.execute(sa.text("ANALYZE signal"))
        workspace_id = tricky.workspace_id_in(conn)
        query = text_query(conn, '"funding round"', None)
        assert query.pairs is not None
        hits = gather_signals(workspace_id, SignalFilter(text=query), cursor=None)
        statement = sa.select(hits.c.id).compile(conn, compile_kwargs={"render_postcompile": True})
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {statement}", statement.params).scalars())
    assert "word_pair_buckets" in plan
    assert "Index Cond: (word_pair_buckets(" in plan


def test_pair_buckets_are_made_from_adjacent_positions(tricky: SignalGraph) -> None:
    with tricky.engine.connect() as conn:
        buckets = conn.execute(
            sa.text(
                "SELECT word_pair_buckets(to_tsvector('simple', 'a b c')) "
                "= ARRAY(SELECT DISTINCT unnest(ARRAY[pair_bucket('a', 'b'), "
                "pair_bucket('b', 'c')]) ORDER BY 1), "
                "word_pair_buckets(to_tsvector('simple', 'a')), "
                "word_pair_buckets(''::tsvector)"
            )
        ).one()
    assert buckets[0] is True
    assert buckets[1] == []
    assert buckets[2] == []


def _news_over_months(count: int) -> list[dict[str, Any]]:
    start = datetime(2025, 10, 1, tzinfo=UTC)
    rows = []
    for n in range(count):
        text = "the funding round closed" if n % 4 == 0 else "a round of funding talks"
        rows.append(
            {
                "external_id": f"m{n:03}",
                "kind": "article",
                "title": f"Deal {n}",
                "text": f"{text} {n}",
                "lang": "en",
                # Two signals at each time: slices and walks end between equal times.
                "published_at": (start + timedelta(hours=36 * (n // 2))).isoformat(),
            }
        )
    # Far ahead of the rest (a typo'd year, say): the walk must not take its time span
    # as the phrase's rate.
    rows.append(
        {
            "external_id": "future",
            "kind": "article",
            "title": "Later",
            "text": "nothing here",
            "lang": "en",
            "published_at": "2031-01-01T00:00:00Z",
        }
    )
    return rows


@pytest.mark.parametrize(("walk", "walk_max"), [(1000, 10_000), (5, 40), (5, 5), (2, 1)])
def test_phrase_pages_are_the_same_through_walks_and_time_slices(
    sg: SignalGraph, monkeypatch: pytest.MonkeyPatch, walk: int, walk_max: int
) -> None:
    from signalgraph.query import signal_pages

    # Small walks make every page go through the walk on and the time slices.
    monkeypatch.setattr(signal_pages, "PHRASE_WALK", walk)
    monkeypatch.setattr(signal_pages, "PHRASE_WALK_MAX", walk_max)
    sg.sources.add("wire")
    sg.ingest(_news_over_months(120), source="wire")
    # One signal re-dated into another month: its id stays in the old one.
    sg.ingest(
        [
            {
                "external_id": "m004",
                "kind": "article",
                "title": "Deal 4",
                "text": "the funding round closed again",
                "lang": "en",
                "published_at": "2026-01-15T00:00:00Z",
            }
        ],
        source="wire",
    )
    expected = _postgres_says(sg, '"funding round"')
    assert len(expected) == 30
    assert _everything(sg, '"funding round"') == expected
    window = {
        "since": datetime(2025, 11, 20, tzinfo=UTC),
        "until": datetime(2026, 1, 20, tzinfo=UTC),
    }
    in_window = [
        key for key, at in _published(sg, expected) if window["since"] <= at < window["until"]
    ]
    assert "m004" in in_window
    assert _everything(sg, '"funding round"', **window) == in_window


def _published(sg: SignalGraph, keys: list[str]) -> list[tuple[str, datetime]]:
    with sg.engine.connect() as conn:
        found = dict(
            conn.execute(
                sa.text("SELECT external_id, published_at FROM signal WHERE external_id = ANY(:k)"),
                {"k": keys},
            ).all()
        )
    return [(key, found[key]) for key in keys]


def test_without_the_pair_index_phrases_find_the_same(tricky: SignalGraph) -> None:
    from signalgraph.db.phrase_index import phrase_index_on, set_phrase_index
    from signalgraph.query.text import text_query

    def pairs_known() -> bool:
        with tricky.engine.connect() as conn:
            return text_query(conn, '"funding round"', None).pairs is not None

    assert pairs_known()
    assert set_phrase_index(tricky.engine, False) is True
    with tricky.engine.connect() as conn:
        assert not phrase_index_on(conn)
    # No pair condition without its index (it would hash each candidate as it is read).
    assert not pairs_known()
    for phrase in PHRASES:
        assert _everything(tricky, phrase) == _postgres_says(tricky, phrase), phrase
    assert set_phrase_index(tricky.engine, True) is True
    assert set_phrase_index(tricky.engine, True) is False
    assert pairs_known()
    assert _everything(tricky, '"funding round"') == _postgres_says(tricky, '"funding round"')


def test_a_rare_phrase_reaches_back_to_the_first_year(
    sg: SignalGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    from signalgraph.query import signal_pages

    # Slices grow as nothing is found: they must stop at the oldest signal, or at the
    # window's start, even when that is the first representable year.
    monkeypatch.setattr(signal_pages, "PHRASE_WALK", 2)
    sg.sources.add("wire")
    rows = [
        {"external_id": f"r{n}", "kind": "article", "title": "Other", "text": f"no match {n}",
         "lang": "en", "published_at": f"2026-03-{n + 1:02}T00:00:00Z"}
        for n in range(20)
    ]  # fmt: skip
    rows.append(
        {"external_id": "old", "kind": "article", "title": "Placeholder date",
         "text": "a rare phrase here", "lang": "en", "published_at": "0001-01-01T00:00:00Z"}
    )  # fmt: skip
    sg.ingest(rows, source="wire")
    assert _everything(sg, '"rare phrase"') == ["old"]
    first_year = datetime(1, 1, 1, tzinfo=UTC)
    assert _everything(sg, '"rare phrase"', since=first_year) == ["old"]
    assert _everything(sg, '"no match"', since=datetime(1000, 1, 1, tzinfo=UTC)) == [
        f"r{n}" for n in reversed(range(20))
    ]


def test_signals_arriving_during_a_page_neither_repeat_nor_hide_one(
    sg: SignalGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    from signalgraph.query import signal_pages

    monkeypatch.setattr(signal_pages, "PHRASE_WALK", 3)
    monkeypatch.setattr(signal_pages, "PHRASE_WALK_MAX", 3)
    sg.sources.add("wire")
    sg.ingest(_news_over_months(40), source="wire")
    expected = _postgres_says(sg, '"funding round"')
    gathered = signal_pages._gathered
    arrived: list[str] = []

    def newer_signal_first(*args: Any, **kwargs: Any) -> list[Any]:
        # Another connection commits a newer matching signal between the walk and each
        # slice (in a month that has its partition: making one would wait for the page).
        key = f"late{len(arrived)}"
        sg.ingest(
            [
                {
                    "external_id": key,
                    "kind": "article",
                    "title": "Late",
                    "text": "the funding round closed late",
                    "lang": "en",
                    "published_at": "2025-10-31T00:00:00Z",
                }
            ],
            source="wire",
        )
        arrived.append(key)
        return gathered(*args, **kwargs)

    monkeypatch.setattr(signal_pages, "_gathered", newer_signal_first)
    page = sg.signals.search('"funding round"', limit=4)
    assert arrived, "the page was read without a slice"
    assert [s.external_id for s in page] == expected[:4]
    monkeypatch.setattr(signal_pages, "_gathered", gathered)
    # The next pages carry on from the cursor: every older match once, none twice.
    rest: list[str] = []
    cursor = page.next_cursor
    while cursor is not None:
        more = sg.signals.search('"funding round"', limit=4, cursor=cursor)
        rest.extend(s.external_id for s in more)
        cursor = more.next_cursor
    assert rest == expected[4:]


def test_building_the_pair_index_ignores_the_statement_time_limit(tricky: SignalGraph) -> None:
    from signalgraph.db.phrase_index import set_phrase_index

    # A limit of 1 ms cancels any index build; on a big table the build takes minutes.
    # Set on each checkout, after the driver's own first queries.
    @sa.event.listens_for(tricky.engine, "checkout")
    def hurry(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        dbapi_connection.execute("SET statement_timeout = 1")

    try:
        assert set_phrase_index(tricky.engine, False) is True
        assert set_phrase_index(tricky.engine, True) is True
    finally:
        sa.event.remove(tricky.engine, "checkout", hurry)
        tricky.engine.dispose()  # the pooled sessions keep their 1 ms limit
