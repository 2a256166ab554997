from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.db.admin import check
from signalgraph.errors import SignalgraphError, UsageError
from tests.corpus import record


@pytest.fixture
def feed(sg: SignalGraph) -> SignalGraph:
    sg.sources.add("feed")
    return sg


def partition_rows(sg: SignalGraph) -> dict[str, int]:
    return {p.name: p.rows for p in sg.partitions.list(exact=True)}


def test_ingest_creates_monthly_partitions_and_sends_absurd_dates_to_default(
    feed: SignalGraph,
) -> None:
    records = [
        record(1, published_at="2024-01-10T00:00:00Z"),
        record(2, published_at="2024-03-10T00:00:00Z"),
        record(3, published_at="9999-06-01T00:00:00Z"),
        record(4, published_at="1950-06-01T00:00:00Z"),
    ]
    result = feed.ingest(records, source="feed")
    # Before 1970 the id carries 1970-01-01, so the record lives in 1970-01.
    assert sorted(result.partitions_created) == ["1970-01", "2024-01", "2024-03"]
    rows = partition_rows(feed)
    assert rows["signal_p202401"] == 1
    assert rows["signal_p202403"] == 1
    assert rows["signal_p197001"] == 1
    assert rows["signal_default"] == 1
    # Every partition exists for mentions and revisions too.
    with feed.engine.connect() as conn:
        names = set(
            conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'signalgraph'")
            ).scalars()
        )
    assert {"mention_p202401", "signal_revision_p202401", "mention_p202403"} <= names


def test_move_default_empties_the_default_partition_and_loses_nothing(feed: SignalGraph) -> None:
    far = feed.use_workspace("default")
    far.settings = far.settings.model_copy(update={"partition_future_years": 0})
    records = [
        record(i, published_at=f"20{40 + i % 3}-0{1 + i % 4}-02T00:00:00Z") for i in range(24)
    ]
    far.ingest(records, source="feed")
    # One re-dated by a later revision: the move must keep it listed (see signal_moved).
    far.ingest([record(0, published_at="2041-05-02T00:00:00Z")], source="feed")
    with feed.engine.connect() as conn:
        before = {
            row.external_id: row.id
            for row in conn.execute(sa.text("SELECT external_id, id FROM signal"))
        }
        in_default = conn.execute(sa.text("SELECT count(*) FROM signal_default")).scalar_one()
        mentions = conn.execute(sa.text("SELECT count(*) FROM mention_default")).scalar_one()
    assert in_default == 24
    assert mentions == 24
    report = feed.partitions.move_default()
    assert report["verified"] is True
    assert report["left_in_default"] == {"signal": 0, "mention": 0, "signal_revision": 0}
    assert report["moved"]["signal"] == 24
    assert len(report["months"]) == 12
    rows = partition_rows(feed)
    assert rows["signal_default"] == 0
    assert sum(rows.values()) == 24
    for external_id, signal_id in before.items():
        found = feed.signals.get(signal_id)
        assert found.external_id == external_id
        assert len(found.mentions) == 1
    with feed.engine.connect() as conn:
        listed = conn.execute(sa.text("SELECT signal_id FROM signal_moved")).scalars().all()
    assert listed == [before["r-0"]]
    may = feed.signals.list(
        since=datetime(2041, 5, 1, tzinfo=UTC), until=datetime(2041, 6, 1, tzinfo=UTC)
    )
    assert "r-0" in {s.external_id for s in may}
    assert check(feed.engine, deep=True)["integrity"]["signal_moved_drift"] == 0
    # Ingesting the same records again finds them all (r-0 with its new date).
    records[0] = record(0, published_at="2041-05-02T00:00:00Z")
    assert feed.ingest(records, source="feed").counters["unchanged"] == 24
    # Nothing left to move is fine.
    assert feed.partitions.move_default()["months"] == []


def test_ensure_range_and_refusals(feed: SignalGraph) -> None:
    created = feed.partitions.ensure_range(date(2031, 11, 1), date(2032, 2, 1))
    assert created == ["2031-11", "2031-12", "2032-01", "2032-02"]
    assert feed.partitions.ensure_range(date(2031, 11, 1), date(2032, 2, 1)) == []
    with pytest.raises(UsageError):
        feed.partitions.ensure_range(date(2032, 2, 1), date(2031, 1, 1))
    with pytest.raises(UsageError):
        feed.partitions.ensure_range(date(1960, 1, 1), date(1961, 1, 1))
    far = feed.use_workspace("default")
    far.settings = far.settings.model_copy(update={"partition_future_years": 0})
    far.ingest([record(1, published_at="2090-05-05T00:00:00Z")], source="feed")
    with pytest.raises(SignalgraphError, match="default partition"):
        feed.partitions.ensure_range(date(2090, 5, 1), date(2090, 5, 1))


def test_detach_keeps_tables_renamed_and_forgets_their_keys(feed: SignalGraph) -> None:
    feed.ingest(
        [
            record(1, published_at="2023-01-10T00:00:00Z"),
            record(2, published_at="2023-02-10T00:00:00Z"),
            record(3, published_at="2025-06-10T00:00:00Z"),
        ],
        source="feed",
    )
    report = feed.partitions.detach_before(date(2023, 3, 1))
    assert set(report["detached"]) >= {"signal_detached_p202301", "mention_detached_p202302"}
    assert report["keys_removed"] == 2
    assert [s.external_id for s in feed.signals.list()] == ["r-3"]
    with feed.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT count(*) FROM signal_detached_p202301")).scalar_one()
        fingerprints = conn.execute(sa.text("SELECT count(*) FROM fingerprint")).scalar_one()
    assert kept == 1
    assert fingerprints == 1


def test_the_last_month_a_date_can_name_moves_too(feed: SignalGraph) -> None:
    feed.ingest([record(1, published_at="9999-12-31T23:59:59Z")], source="feed")
    report = feed.partitions.move_default()
    assert report["months"] == ["9999-12"]
    assert partition_rows(feed)["signal_p999912"] == 1


def test_detaching_a_month_twice_keeps_both_archives(feed: SignalGraph) -> None:
    feed.ingest([record(1, published_at="2023-01-10T00:00:00Z")], source="feed")
    feed.partitions.detach_before(date(2023, 2, 1))
    feed.ingest([record(2, published_at="2023-01-11T00:00:00Z")], source="feed")
    report = feed.partitions.detach_before(date(2023, 2, 1))
    assert "signal_detached_p202301_2" in report["detached"]
