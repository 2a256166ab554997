from __future__ import annotations

import gzip
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.errors import InputError, NotFound, UsageError
from tests.corpus import record, text, write_ndjson


def count(sg: SignalGraph, sql: str, **params: Any) -> int:
    with sg.engine.connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar_one())


def assert_accounting(sg: SignalGraph, counters: dict[str, int]) -> None:
    """inserted + updated + unchanged + rejected = seen; every signal is classified."""
    assert (
        counters["inserted"] + counters["updated"] + counters["unchanged"] + counters["rejected"]
        == counters["seen"]
    )
    with sg.engine.connect() as conn:
        bad_pointers = conn.execute(
            sa.text(
                """
                SELECT count(*) FROM signal s
                LEFT JOIN signal o ON o.workspace_id = s.workspace_id AND o.id = s.duplicate_of
                WHERE s.duplicate_of IS NOT NULL AND (o.id IS NULL OR o.duplicate_of IS NOT NULL)
                """
            )
        ).scalar_one()
        both = conn.execute(
            sa.text(
                "SELECT count(*) FROM signal "
                "WHERE duplicate_of IS NOT NULL AND near_duplicate_of IS NOT NULL"
            )
        ).scalar_one()
        orphans = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM signal) - (SELECT count(*) FROM signal_key), "
                "(SELECT count(*) FROM signal_key) - (SELECT count(*) FROM fingerprint)"
            )
        ).one()
    assert bad_pointers == 0, "a duplicate points at something that is not an original"
    from signalgraph.db.admin import check

    deep = check(sg.engine, deep=True)
    assert deep["ok"], deep
    assert set(deep["integrity"].values()) == {0}
    assert both == 0
    assert tuple(orphans) == (0, 0)


@pytest.fixture
def feed(sg: SignalGraph) -> SignalGraph:
    sg.sources.add("feed", kind="news")
    return sg


def test_ingest_stores_records_mentions_and_raw(feed: SignalGraph, tmp_path: Path) -> None:
    records = [record(i) for i in range(20)]
    records[0]["vendor_score"] = 0.7
    path = write_ndjson(tmp_path / "in.ndjson", records)
    result = feed.ingest(path, source="feed")
    assert result.status == "succeeded"
    assert result.exit_code == 0
    assert result.counters["inserted"] == 20
    assert_accounting(feed, result.counters)
    assert count(feed, "SELECT count(*) FROM signal") == 20
    assert count(feed, "SELECT count(*) FROM mention") == 20
    stored = feed.signals.list(limit=100)
    first = next(s for s in stored if s.external_id == "r-0")
    detail = feed.signals.get(first.id)
    assert detail.text == records[0]["text"]
    assert detail.raw["vendor_score"] == 0.7
    assert detail.mentions[0]["identifiers"] == {"domain": "c0.com"}
    assert detail.published_at.year == 2025
    run = feed.runs.get(result.run_id)  # type: ignore[arg-type]
    assert run.status == "succeeded"
    assert run.counters["inserted"] == 20
    assert run.counters["seen"] == 20


def test_reingesting_the_same_file_changes_nothing(feed: SignalGraph, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "in.ndjson", [record(i) for i in range(50)])
    feed.ingest(path, source="feed", batch_size=7)
    before = count(feed, "SELECT count(*) FROM signal")
    again = feed.ingest(path, source="feed", batch_size=7)
    assert again.counters["unchanged"] == 50
    assert again.counters["inserted"] == again.counters["updated"] == 0
    assert count(feed, "SELECT count(*) FROM signal") == before == 50
    assert count(feed, "SELECT count(*) FROM signal_revision") == 0


def test_changed_record_is_revised_and_the_old_content_kept(
    feed: SignalGraph, tmp_path: Path
) -> None:
    original = record(1)
    feed.ingest([original], source="feed")
    changed = dict(original, title="Corrected headline", mentions=[])
    result = feed.ingest([changed], source="feed")
    assert result.counters["updated"] == 1
    [stored] = feed.signals.list()
    detail = feed.signals.get(stored.id)
    assert detail.title == "Corrected headline"
    assert detail.revision == 2
    assert detail.mentions == []
    assert [r["title"] for r in detail.revisions] == ["Story number 1"]
    with feed.engine.connect() as conn:
        old_mentions = conn.execute(sa.text("SELECT mentions FROM signal_revision")).scalar_one()
    assert old_mentions[0]["text"] == "Company 1"
    # The same content again changes nothing.
    assert feed.ingest([changed], source="feed").counters["unchanged"] == 1
    assert count(feed, "SELECT count(*) FROM signal_revision") == 1


def test_exact_duplicates_within_and_across_batches_and_sources(
    feed: SignalGraph, tmp_path: Path
) -> None:
    feed.sources.add("other")
    body = text(random.Random(3))
    first = [record(i, text=body if i in {2, 5} else None) for i in range(10)]
    for item in first:
        if item["text"] is None:
            item["text"] = text(random.Random(100 + int(item["external_id"][2:])))
    result = feed.ingest(first, source="feed", batch_size=3)
    assert result.counters["duplicates"] == 1
    copy = record(99, text=body.upper() + "  ")  # same text once case and space are folded
    other = feed.ingest([copy], source="other")
    assert other.counters["duplicates"] == 1
    groups = feed.signals.duplicates()
    assert len(groups) == 1
    assert groups[0]["original"]["external_id"] == "r-2"
    assert sorted(m["external_id"] for m in groups[0]["members"]) == ["r-5", "r-99"]
    assert_accounting(feed, result.counters)


def test_url_duplicates_ignore_tracking_parameters(feed: SignalGraph) -> None:
    a = record(1, url="https://www.news.example.com/story/1/")
    b = record(2, url="https://news.example.com/story/1?utm_source=newsletter&fbclid=x#top")
    result = feed.ingest([a, b], source="feed")
    assert result.counters["duplicates"] == 1
    members = feed.signals.duplicates()[0]["members"]
    assert [m["external_id"] for m in members] == ["r-2"]


def test_near_duplicates_are_marked_with_their_distance(feed: SignalGraph) -> None:
    words = text(random.Random(5), words=150).split()
    edited = [*words[:70], "different", *words[71:]]
    base = record(1, text=" ".join(words))
    near = record(2, text=" ".join(edited))
    unrelated = record(3, text=text(random.Random(6), words=150))
    short = record(4, text="too short to compare")
    feed.ingest([base], source="feed")
    result = feed.ingest([near, unrelated, short], source="feed")
    assert result.counters["near_duplicates"] == 1
    [group] = feed.signals.duplicates(near=True)
    assert group["original"]["external_id"] == "r-1"
    member = group["members"][0]
    assert member["external_id"] == "r-2"
    assert 0 <= member["near_distance"] <= 3
    listed = {s.external_id for s in feed.signals.list()}
    assert listed == {"r-1", "r-3", "r-4"}  # duplicates hidden by default
    assert len(feed.signals.list(include_duplicates=True)) == 4


def test_bad_input_is_rejected_and_everything_else_stored(
    feed: SignalGraph, tmp_path: Path
) -> None:
    good = [record(i) for i in range(3)]
    lines = [
        b'{"external_id": "truncated", "title": "cut',
        b"not json at all",
        b"[1, 2, 3]",
        b'{"external_id": 42}',
        b'{"external_id": ""}',
        b'{"title": "no id"}',
        b'{"external_id": "bad-date", "published_at": "31/02/2026"}',
        b'{"external_id": "far", "published_at": 1e30}',
        b'{"external_id": "nul", "text": "a\\u0000b"}',
        b'{"external_id": "latin1", "title": "caf\xe9"}',
        b'{"external_id": "types", "metadata": "not an object"}',
        b'{"external_id": "sql\'); DROP TABLE signal; --", "title": "Robert\'); DROP TABLE x"}',
        b'{"external_id": "big", "metadata": {"n": 123456789012345678901234567890}}',
        b'{"external_id": "inf", "metadata": {"x": 1e400}}',
        b'{"external_id": "nan", "metadata": {"x": NaN}}',
        b"",
        b"   ",
    ]
    path = write_ndjson(tmp_path / "mixed.ndjson", good, lines)
    result = feed.ingest(path, source="feed")
    assert result.status == "succeeded"
    assert result.exit_code == 3
    assert result.counters["inserted"] == 5  # 3 good + SQL-looking + huge integer
    assert result.counters["rejected"] == 13
    assert_accounting(feed, result.counters)
    rejects = {r.line: r for r in feed.rejects.list(run_id=result.run_id)}
    assert rejects[4].reason.startswith("invalid JSON")
    assert rejects[4].raw == b'{"external_id": "truncated", "title": "cut'
    assert rejects[6].reason == "expected a JSON object, got an array"
    assert rejects[7].field == "external_id"
    assert rejects[10].field == "published_at"
    assert rejects[11].field == "published_at"
    assert rejects[12].field == "text"
    assert "NUL" in rejects[12].reason
    assert rejects[13].reason.startswith("invalid UTF-8 at byte")
    assert rejects[13].raw == b'{"external_id": "latin1", "title": "caf\xe9"}'
    assert rejects[14].field == "metadata"
    assert rejects[17].reason.startswith("invalid JSON")
    assert rejects[18].reason.startswith("invalid JSON")
    hostile = "sql'); DROP TABLE signal; --"
    assert count(feed, "SELECT count(*) FROM signal WHERE external_id = :e", e=hostile) == 1
    big = count(feed, "SELECT count(*) FROM signal WHERE metadata ->> 'n' = :n", n="1234567890" * 3)
    assert big == 1


def test_rejects_export_round_trip(feed: SignalGraph, tmp_path: Path) -> None:
    path = write_ndjson(
        tmp_path / "in.ndjson",
        [record(1)],
        [b'{"external_id": "fixme", "published_at": "tomorrow"}', b"{broken"],
    )
    result = feed.ingest(path, source="feed")
    exported = tmp_path / "rejects.ndjson"
    report = feed.rejects.export(str(result.run_id), exported)
    assert report["written"] == 2
    assert exported.read_bytes() == (
        b'{"external_id": "fixme", "published_at": "tomorrow"}\n{broken\n'
    )
    fixed = (
        exported.read_bytes()
        .replace(b"tomorrow", b"2026-01-02")
        .replace(b"{broken", b'{"external_id": "repaired"}')
    )
    exported.write_bytes(fixed)
    again = feed.ingest(exported, source="feed")
    assert again.counters["inserted"] == 2
    assert again.exit_code == 0


def test_oversized_records_and_fields(feed: SignalGraph, tmp_path: Path) -> None:
    small = feed.use_workspace("default")
    small.settings = small.settings.model_copy(
        update={"max_field_bytes": 2048, "max_record_bytes": 4096}
    )
    path = write_ndjson(
        tmp_path / "big.ndjson",
        [record(1), record(2, text="x" * 3000), record(3, text="y" * 10_000), record(4)],
    )
    result = small.ingest(path, source="feed")
    assert result.counters["inserted"] == 2
    rejects = {r.line: r for r in small.rejects.list(run_id=result.run_id)}
    assert rejects[2].field == "text"
    assert "the limit is 2,048" in rejects[2].reason
    assert "the limit is 4,096" in rejects[3].reason
    assert len(rejects[3].raw) == 4096


def test_nul_policy_strip(feed: SignalGraph) -> None:
    result = feed.ingest([record(1, text="a\x00b " * 40)], source="feed", nul_policy="strip")
    assert result.counters["inserted"] == 1
    assert result.counters["nul_stripped"] == 1
    [stored] = feed.signals.list()
    assert feed.signals.get(stored.id).text == "ab " * 40


def test_csv_input_maps_columns_and_rejects_ragged_rows(feed: SignalGraph, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(
        b"external_id,title,text,published_at,metadata,extra\n"
        b'c1,First,"Some text, with a comma",2024-01-02T00:00:00Z,"{""a"": 1}",x\n'
        b"c2,Second,More text,1704153600,,\n"
        b"c3,Ragged,row\n"
        b"c4,Bad json,t,2024-01-02,{nope,\n"
        b"c5,Bad \xff bytes,t,2024-01-02,,\n"
    )
    result = feed.ingest(path, source="feed")
    assert result.counters["inserted"] == 2
    assert result.counters["rejected"] == 3
    rejects = {r.line: r for r in feed.rejects.list(run_id=result.run_id)}
    assert rejects[4].reason == "row has 3 fields, the header has 6"
    assert rejects[4].raw == b"c3,Ragged,row"
    assert rejects[5].field == "metadata"
    assert rejects[6].field == "title"
    assert rejects[6].reason == "invalid UTF-8"
    assert rejects[6].raw == b"c5,Bad \xff bytes,t,2024-01-02,,"
    first = feed.signals.get(next(s.id for s in feed.signals.list() if s.external_id == "c1"))
    assert first.metadata == {"a": 1}
    assert first.raw["extra"] == "x"
    exported = tmp_path / "rejects.csv"
    feed.rejects.export(str(result.run_id), exported)
    assert (
        exported.read_bytes().splitlines()[0]
        == b"external_id,title,text,published_at,metadata,extra"
    )


def test_csv_without_external_id_column_is_a_clear_error(feed: SignalGraph, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,title\n1,x\n")
    with pytest.raises(InputError, match="no external_id column"):
        feed.ingest(path, source="feed")


def test_parquet_input_and_wrong_column_types(feed: SignalGraph, tmp_path: Path) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "external_id": ["p1", "p2", "p3"],
            "title": ["One", "Two", "Three"],
            "published_at": pa.array(
                [dt.datetime(2024, 2, 1, tzinfo=dt.UTC)] * 3, type=pa.timestamp("us", tz="UTC")
            ),
            "metadata": [{"k": 1}, {"k": 2}, {"k": 3}],
            "mentions": [[{"type": "company", "text": "Acme"}], [], None],
        }
    )
    pq.write_table(table, tmp_path / "good.parquet")
    result = feed.ingest(tmp_path / "good.parquet", source="feed")
    assert result.counters["inserted"] == 3
    assert count(feed, "SELECT count(*) FROM mention") == 1
    wrong = pa.table({"external_id": [1, 2], "title": [True, False]})
    pq.write_table(wrong, tmp_path / "wrong.parquet")
    bad = feed.ingest(tmp_path / "wrong.parquet", source="feed")
    assert bad.counters["rejected"] == 2
    assert {r.field for r in feed.rejects.list(run_id=bad.run_id)} == {"external_id"}


def test_gzip_is_read_transparently(feed: SignalGraph, tmp_path: Path) -> None:
    plain = write_ndjson(tmp_path / "in.ndjson", [record(i) for i in range(5)])
    packed = tmp_path / "in.ndjson.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert feed.ingest(packed, source="feed").counters["inserted"] == 5
    mystery = tmp_path / "blob"
    mystery.write_bytes(gzip.compress(plain.read_bytes()))
    assert feed.ingest(mystery, source="feed").counters["unchanged"] == 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "is empty"),
        (b"\x00\x01\x02\xff\xfe binary", "does not look like NDJSON, CSV or Parquet"),
        (b"\x1f\x8b\x08\x00garbage", "not a readable gzip file"),
        (b"PAR1 not really parquet", "not a readable Parquet file"),
    ],
)
def test_unreadable_inputs_are_clear_errors(
    feed: SignalGraph, tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "input.dat"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        feed.ingest(path, source="feed")


def test_unknown_source_and_format(feed: SignalGraph, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "in.ndjson", [record(1)])
    with pytest.raises(NotFound, match="source 'nope' does not exist"):
        feed.ingest(path, source="nope")
    with pytest.raises(UsageError, match="unknown format 'xml'"):
        feed.ingest(path, source="feed", fmt="xml")
    created = feed.ingest(path, source="new-feed", create_source=True)
    assert created.counters["inserted"] == 1


def test_max_rejects_stops_the_run_and_keeps_what_was_accepted(
    feed: SignalGraph, tmp_path: Path
) -> None:
    items: list[Any] = []
    for i in range(40):
        items.append(record(i))
        items.append(b"broken line")
    path = write_ndjson(tmp_path / "in.ndjson", items)
    result = feed.ingest(path, source="feed", batch_size=10, max_rejects=3)
    assert result.status == "failed"
    assert result.exit_code == 1
    assert "max-rejects" in (result.error or "")
    stored = count(feed, "SELECT count(*) FROM signal")
    assert 0 < stored < 40
    assert stored == result.counters["inserted"]
    run = feed.runs.get(result.run_id)  # type: ignore[arg-type]
    assert run.status == "failed"
    assert run.counters["inserted"] == stored


def test_dry_run_stores_nothing(feed: SignalGraph, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "in.ndjson", [record(i) for i in range(5)], [b"bad"])
    result = feed.ingest(path, source="feed", dry_run=True)
    assert result.counters["inserted"] == 5
    assert result.counters["rejected"] == 1
    assert result.run_id is None
    assert count(feed, "SELECT count(*) FROM signal") == 0
    assert count(feed, "SELECT count(*) FROM run") == 0
    assert count(feed, "SELECT count(*) FROM reject") == 0


def test_python_objects_are_ingested_like_lines(feed: SignalGraph) -> None:
    result = feed.ingest(iter([record(1), "not a dict", record(2)]), source="feed")
    assert result.counters["inserted"] == 2
    assert result.counters["rejected"] == 1
    [bad] = feed.rejects.list(run_id=result.run_id)
    assert bad.line == 2
    assert bad.reason == "expected a dict, got str"
    assert orjson.loads(bad.raw) == "not a dict"


def test_repeated_key_in_one_file_is_an_update(feed: SignalGraph) -> None:
    result = feed.ingest([record(1), record(1, title="second version")], source="feed")
    assert result.counters["inserted"] == 1
    assert result.counters["updated"] == 1
    assert feed.signals.list()[0].title == "second version"


def test_last_record_for_a_key_wins_across_batches(feed: SignalGraph) -> None:
    feed.ingest([record(1, title="v1")], source="feed")
    result = feed.ingest([record(1, title="v2"), record(1, title="v1")], source="feed")
    assert result.counters["updated"] == 2
    [stored] = feed.signals.list()
    detail = feed.signals.get(stored.id)
    assert detail.title == "v1"
    assert [r["title"] for r in detail.revisions] == ["v1", "v2"]


def test_copy_and_edit_of_its_original_in_one_batch(feed: SignalGraph) -> None:
    body = text(random.Random(11))
    feed.ingest([record(1, text=body, url=None)], source="feed")
    result = feed.ingest(
        [record(2, text=body, url=None), record(1, text=body, url=None, title="edited")],
        source="feed",
    )
    assert result.status == "succeeded"
    assert result.counters["duplicates"] == 1
    [group] = feed.signals.duplicates()
    assert group["original"]["external_id"] == "r-1"
    assert [m["external_id"] for m in group["members"]] == ["r-2"]


def test_signals_swapping_contents_in_one_batch(feed: SignalGraph) -> None:
    one, two = text(random.Random(21)), text(random.Random(22))
    feed.ingest([record(1, text=one, url=None), record(2, text=two, url=None)], source="feed")
    swapped = feed.ingest(
        [record(1, text=two, url=None), record(2, text=one, url=None)], source="feed"
    )
    assert swapped.status == "succeeded"
    assert swapped.counters["updated"] == 2
    assert_accounting(feed, swapped.counters)
    changed = feed.ingest([record(1, text=one, url=None)], source="feed")
    assert changed.counters["duplicates"] == 1  # r-2 holds that text now


def test_concurrent_update_of_a_key_is_retried_not_corrupted(
    feed: SignalGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    from signalgraph.signals.writer import SignalWriter

    feed.ingest([record(1, title="v1")], source="feed")
    original = SignalWriter.classify
    interfered: list[bool] = []

    def classify_then_interfere(self: SignalWriter, rows: Any) -> None:
        original(self, rows)
        if not interfered:
            interfered.append(True)
            other = feed.use_workspace("default")
            monkeypatch.setattr(SignalWriter, "classify", original)
            other.ingest([record(1, title="v2-other")], source="feed")
            monkeypatch.setattr(SignalWriter, "classify", classify_then_interfere)

    monkeypatch.setattr(SignalWriter, "classify", classify_then_interfere)
    result = feed.ingest([record(1, title="v3-ours")], source="feed")
    assert result.status == "succeeded"
    detail = feed.signals.get(feed.signals.list()[0].id)
    assert detail.title == "v3-ours"
    assert detail.revision == 3
    assert [r["title"] for r in detail.revisions] == ["v1", "v2-other"]
    monkeypatch.setattr(SignalWriter, "classify", original)
    assert feed.ingest([record(1, title="v4")], source="feed").status == "succeeded"


def test_unbalanced_csv_quote_loses_only_its_own_line(feed: SignalGraph, tmp_path: Path) -> None:
    rows = [b"external_id,title"]
    rows += [f"g{i},Good {i}".encode() for i in range(3)]
    rows.append(b'bad,"never closed quote')
    rows += [f"h{i},After {i}".encode() for i in range(500)]
    path = tmp_path / "quote.csv"
    path.write_bytes(b"\n".join(rows) + b"\n")
    result = feed.ingest(path, source="feed")
    assert result.counters["inserted"] == 503
    [reject] = feed.rejects.list(run_id=result.run_id)
    assert reject.line == 5
    assert reject.reason == "a quoted field is never closed"
    assert reject.raw == b'bad,"never closed quote'


def test_csv_compact_dates_and_tsv_export(feed: SignalGraph, tmp_path: Path) -> None:
    path = tmp_path / "in.tsv"
    path.write_bytes(b"external_id\ttitle\tpublished_at\nd1\tx\t20260304\nd2\ty\tsoon\n")
    result = feed.ingest(path, source="feed")
    assert feed.signals.list()[0].published_at.date().isoformat() == "2026-03-04"
    exported = tmp_path / "rejects.tsv"
    feed.rejects.export(str(result.run_id), exported)
    assert exported.read_bytes() == b"external_id\ttitle\tpublished_at\nd2\ty\tsoon\n"


def test_literal_backslash_u0000_is_text_and_lone_surrogates_are_rejected(
    feed: SignalGraph,
) -> None:
    result = feed.ingest(
        [
            record(1, title="C:\\u0000 path"),
            record(2, title="bad \ud800 surrogate"),
            {"external_id": "x", "metadata": {"k": "\udcff"}},
        ],
        source="feed",
    )
    assert result.counters["inserted"] == 1
    assert result.counters["rejected"] == 2
    assert feed.signals.list()[0].title == "C:\\u0000 path"
    reasons = {r.reason for r in feed.rejects.list(run_id=result.run_id)}
    assert reasons == {"contains invalid Unicode (a lone surrogate)"}


def test_second_file_without_external_id_stops_before_writing(
    feed: SignalGraph, tmp_path: Path
) -> None:
    good = write_ndjson(tmp_path / "good.ndjson", [record(1)])
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title\n1,x\n")
    with pytest.raises(InputError, match="no external_id column"):
        feed.ingest([good, bad], source="feed")
    assert count(feed, "SELECT count(*) FROM signal") == 0


def test_ingest_works_with_a_one_connection_pool(database_url: str, tmp_path: Path) -> None:
    import signalgraph

    tiny = signalgraph.connect(url=database_url, pool_size=1, max_overflow=0, pool_timeout=2)
    tiny.sources.add("feed")
    result = tiny.ingest([record(i) for i in range(30)], source="feed", batch_size=7)
    assert result.counters["inserted"] == 30
    tiny.close()


def test_batches_are_also_bounded_by_bytes(
    feed: SignalGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    from signalgraph.signals.writer import SignalWriter

    sizes: list[int] = []
    original = SignalWriter.write

    def counting(self: SignalWriter, batch: Any) -> Any:
        sizes.append(batch.seen)
        return original(self, batch)

    monkeypatch.setattr(SignalWriter, "write", counting)
    small = feed.use_workspace("default")
    small.settings = small.settings.model_copy(update={"batch_max_bytes": 1 << 16})
    records = [record(i, text=text(random.Random(i), words=400)) for i in range(60)]
    result = small.ingest(records, source="feed")
    assert result.counters["inserted"] == 60
    assert sum(sizes) == 60
    assert len(sizes) > 3  # about 4.5 kB a record: a 64 kB cap splits 60 records up
