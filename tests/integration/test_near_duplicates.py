from __future__ import annotations

import uuid
from typing import Any

import orjson
import psycopg
import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.fingerprint import bands, hamming, simhash, to_signed
from signalgraph.signals.near import (
    CANDIDATE_DETAILS,
    CANDIDATES_PER_BAND,
    STORED_CANDIDATES,
    stored_candidates,
)
from signalgraph.signals.rows import SignalRow
from tests.corpus import record
from tests.integration.test_ingest import assert_accounting

STORY = (
    "Tidewater Logistics acquires smaller rival Harbor Foods for $120 million. The deal, "
    "announced on Tuesday in Baltimore, expands the network of Tidewater Logistics across "
    "the region. Chief executive Jane Smith said the combined business would serve more "
    "customers and cut costs within two years. Shares of the company rose 4% in early trading."
)
# Light re-wordings of the story: one word added before "said".
COPY_WORDS = ["today", "also", "again", "recently", "already"]


def copy_with(word: str) -> str:
    return STORY.replace(" said ", f" {word} said ", 1)


@pytest.fixture
def feed(sg: SignalGraph) -> SignalGraph:
    sg.sources.add("feed", kind="news")
    return sg


def test_copies_written_at_once_by_two_writers_point_only_at_representatives(
    feed: SignalGraph,
) -> None:
    """Two writers: a copy sees what was committed before it looked, and its own batch."""
    texts = [STORY, *(copy_with(word) for word in COPY_WORDS)] * 4
    records = [record(index, text=text) for index, text in enumerate(texts)]
    result = feed.ingest(records, source="feed", batch_size=2, workers=2)

    assert result.counters["inserted"] == len(texts)
    pointers = near_pointers(feed)
    with feed.engine.connect() as conn:
        exact = dict(
            conn.execute(
                sa.text(
                    "SELECT s.external_id, o.external_id FROM signal s JOIN signal o "
                    "ON o.workspace_id = s.workspace_id AND o.id = s.duplicate_of"
                )
            ).all()
        )
    # The repeats of each text (three of four) are exact duplicates of one original.
    assert len(exact) == len(texts) * 3 // 4
    assert not set(exact.values()) & set(exact)
    marked = {key for key, (target, _) in pointers.items() if target is not None}
    # Never a chain: a near duplicate points at a signal that is neither a near nor an
    # exact duplicate itself.
    assert {pointers[key][0] for key in marked}.isdisjoint(marked | set(exact))
    assert pointers["r-0"] == (None, None)
    assert result.counters["near_duplicates"] == len(marked) >= 1
    assert_accounting(feed, result.counters)


def near_pointers(sg: SignalGraph) -> dict[str, tuple[str | None, int | None]]:
    with sg.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT s.external_id, o.external_id, s.near_distance FROM signal s "
                "LEFT JOIN signal o ON o.workspace_id = s.workspace_id "
                "AND o.id = s.near_duplicate_of"
            )
        ).all()
    return {external_id: (target, distance) for external_id, target, distance in rows}


@pytest.mark.parametrize("batch_size", [1, 100], ids=["across-batches", "one-batch"])
def test_every_copy_of_a_story_points_at_its_first_signal_never_at_another_copy(
    feed: SignalGraph, batch_size: int
) -> None:
    texts = [STORY, *(copy_with(word) for word in COPY_WORDS)]
    hashes = dict(zip(["story", *COPY_WORDS], (simhash(text) for text in texts), strict=True))
    assert all(value is not None for value in hashes.values())
    # Why comparing with copies made chains: "again" is closer to the earlier copy
    # "today" than to the story itself, though within reach of both.
    assert hamming(hashes["again"], hashes["today"]) < hamming(hashes["again"], hashes["story"])  # type: ignore[arg-type]
    assert hamming(hashes["again"], hashes["story"]) <= 3  # type: ignore[arg-type]

    records = [record(index, text=text) for index, text in enumerate(texts)]
    # One writer: each batch sees every batch before it.
    result = feed.ingest(records, source="feed", batch_size=batch_size, workers=1)

    assert result.counters["near_duplicates"] == len(COPY_WORDS)
    pointers = near_pointers(feed)
    assert pointers["r-0"] == (None, None)
    assert {external_id: target for external_id, (target, _) in pointers.items()} == {
        "r-0": None,
        **{f"r-{index}": "r-0" for index in range(1, len(texts))},
    }
    [group] = feed.signals.duplicates(near=True)
    assert group["original"]["external_id"] == "r-0"
    assert len(group["members"]) == len(COPY_WORDS)
    assert_accounting(feed, result.counters)
    with feed.engine.connect() as conn:
        representatives = conn.execute(
            sa.text(
                "SELECT count(*) FROM fingerprint "
                "WHERE duplicate_of IS NULL AND near_duplicate_of IS NULL"
            )
        ).scalar_one()
    assert representatives == 1


def test_templated_stories_about_other_names_or_figures_are_not_near_duplicates(
    feed: SignalGraph,
) -> None:
    others = {
        "opal": STORY.replace("Tidewater Logistics", "Opal Health"),
        "zenith": STORY.replace("Tidewater Logistics", "Zenith Logistics"),
        "amount": STORY.replace("$120 million", "$26 million"),
    }
    story_hash = simhash(STORY)
    assert story_hash is not None
    for text in others.values():
        # Within the simhash distance: only the names and figures tell these apart.
        other_hash = simhash(text)
        assert other_hash is not None
        assert hamming(story_hash, other_hash) <= 3
    feed.ingest([record(0, text=STORY)], source="feed")
    records = [
        record(1, text=others["opal"]),
        record(2, text=others["zenith"]),
        record(3, text=others["amount"]),
        # Real re-wordings still are near duplicates: a word added, a sentence dropped, the
        # text in capitals, a boilerplate line, punctuation.
        record(4, text=copy_with("also")),
        record(5, text=STORY.replace(" Shares of the company rose 4% in early trading.", "")),
        record(6, text=copy_with("recently").upper()),
        record(7, text=STORY + " Reporting by the business desk."),
        record(8, text=STORY.replace("The deal, announced", "The deal announced")),
    ]
    result = feed.ingest(records, source="feed")
    pointers = near_pointers(feed)
    assert pointers["r-1"] == pointers["r-2"] == pointers["r-3"] == (None, None)
    listed = {signal.external_id for signal in feed.signals.list(limit=100)}
    assert {"r-0", "r-1", "r-2", "r-3"} <= listed
    # The re-wordings whose simhash is within reach are marked, and point at the story.
    within = {
        f"r-{item['external_id'][2:]}"
        for item in records[3:]
        if hamming(story_hash, simhash(item["text"]) or 0) <= 3
    }
    assert len(within) >= 3
    assert result.counters["near_duplicates"] == len(within)
    assert {key for key, (target, _) in pointers.items() if target == "r-0"} == within
    assert_accounting(feed, result.counters)


def test_a_changed_signal_is_compared_by_its_new_content_and_leaves_the_representatives(
    feed: SignalGraph,
) -> None:
    other = STORY.replace("Tidewater Logistics", "Opal Health")
    feed.ingest([record(0, text=STORY), record(1, text=other)], source="feed")
    assert near_pointers(feed)["r-1"] == (None, None)
    # r-1 is re-sent as a copy of the story: it becomes its near duplicate, and a later
    # copy of the story points at the story, not at r-1.
    changed = feed.ingest([record(1, text=copy_with("today"))], source="feed")
    assert changed.counters["updated"] == 1
    assert changed.counters["near_duplicates"] == 1
    later = feed.ingest([record(2, text=copy_with("again"))], source="feed")
    assert later.counters["near_duplicates"] == 1
    pointers = near_pointers(feed)
    assert pointers["r-1"][0] == pointers["r-2"][0] == "r-0"
    # And back: r-1 becomes a distinct story again, a representative once more.
    back = feed.ingest([record(1, text=other)], source="feed")
    assert back.counters["near_duplicates"] == 0
    assert near_pointers(feed)["r-1"] == (None, None)
    assert_accounting(feed, back.counters)


def _fingerprints(conn: psycopg.Connection[Any], workspace_id: uuid.UUID, count: int) -> None:
    """Store `count` representatives sharing every band value with STORY's simhash."""
    value = simhash(STORY)
    assert value is not None
    b0, b1, b2, b3 = bands(value)
    conn.execute(
        """
        INSERT INTO fingerprint (workspace_id, signal_id, simhash, band0, band1, band2, band3,
            tokens)
        SELECT %s, gen_random_uuid(), %s, %s, %s, %s, %s, 50 FROM generate_series(1, %s)
        """,
        (workspace_id, to_signed(value), b0, b1, b2, b3, count),
    )


def test_stored_candidates_are_capped_per_band_value_most_recent_first(
    database_url: str,
) -> None:
    value = simhash(STORY)
    assert value is not None
    workspace_id = uuid.uuid4()
    with psycopg.connect(database_url) as conn:
        conn.execute("SET search_path = signalgraph")
        _fingerprints(conn, workspace_id, 5 * CANDIDATES_PER_BAND)
        rows = [
            SignalRow(seq=seq, file=None, line=seq, record=None, simhash=value) for seq in (7, 8)
        ]
        found = stored_candidates(
            conn, workspace_id=workspace_id, rows=rows, max_distance=3, exclude=[]
        )
        newest = conn.execute(
            "SELECT signal_id FROM fingerprint WHERE workspace_id = %s "
            "ORDER BY signal_id DESC LIMIT %s",
            (workspace_id, CANDIDATES_PER_BAND),
        ).fetchall()
    # All 320 share all four bands: each band reads the same 64 most recent ones.
    assert found == {seq: {row[0]: 0 for row in newest} for seq in (7, 8)}


def test_the_candidate_queries_read_indexes_on_a_table_without_statistics(
    database_url: str,
) -> None:
    workspace_id = uuid.uuid4()
    with psycopg.connect(database_url) as conn:
        conn.execute("SET search_path = signalgraph")
        conn.execute("ALTER TABLE fingerprint SET (autovacuum_enabled = off)")
        _fingerprints(conn, workspace_id, 20_000)
        conn.commit()
        [(analysed,)] = conn.execute(
            "SELECT reltuples FROM pg_class WHERE oid = 'fingerprint'::regclass"
        ).fetchall()
        assert analysed < 0  # never analysed: the planner has no statistics
        query_rows = [
            {"seq": seq, "simhash": seq, "b0": seq, "b1": seq, "b2": seq, "b3": seq}
            for seq in range(500)
        ]
        ids = [
            signal_id
            for (signal_id,) in conn.execute("SELECT signal_id FROM fingerprint LIMIT 5000")
        ]

        def plan(query: str, params: dict[str, Any]) -> str:
            return "\n".join(line for (line,) in conn.execute("EXPLAIN " + query, params))

        candidates = plan(
            STORED_CANDIDATES,
            {
                "rows": orjson.dumps(query_rows).decode(),
                "ws": workspace_id,
                "distance": 3,
                "exclude": [uuid.uuid4()],
                "cap": CANDIDATES_PER_BAND,
            },
        )
        details = plan(CANDIDATE_DETAILS, {"ids": ids, "ws": workspace_id})
    for band in range(4):
        assert f"using ix_fingerprint_representative_band{band} on fingerprint" in candidates
    assert "Index Scan using pk_fingerprint on fingerprint" in details, details
    for text in (candidates, details):
        assert "Seq Scan on fingerprint" not in text, text
        assert "Bitmap" not in text, text
