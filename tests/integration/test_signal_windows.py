"""Date windows over signals: a window reads its months' partitions plus the re-dated signals."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.db.admin import check
from signalgraph.query import signals as query
from signalgraph.query.signals import SignalFilter, moved_in_window, select_signals


def news(external_id: str, published_at: str, title: str = "Acme news") -> dict[str, Any]:
    return {
        "external_id": external_id,
        "kind": "article",
        "title": title,
        "text": f"{title} ({external_id})",
        "lang": "en",
        "published_at": published_at,
    }


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def window(sg: SignalGraph, since: str | None, until: str | None, **filters: Any) -> list[str]:
    page = sg.signals.list(
        since=at(since) if since else None, until=at(until) if until else None, **filters
    )
    return [s.external_id for s in page]


def moved(sg: SignalGraph) -> dict[str, datetime]:
    with sg.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT k.external_id, m.published_at FROM signal_moved m "
                "JOIN signal_key k ON k.workspace_id = m.workspace_id "
                "AND k.signal_id = m.signal_id"
            )
        ).all()
    return dict(rows)


def scanned_partitions(sg: SignalGraph, since: str, until: str) -> set[str]:
    """Return the signal partitions the page's plan reads."""
    with sg.engine.connect() as conn:
        workspace_id = sg.workspace_id_in(conn)
        where = SignalFilter(
            since=at(since),
            until=at(until),
            moved=moved_in_window(conn, workspace_id, at(since), at(until)),
        )
        compiled = select_signals(workspace_id, where, cursor=None, limit=50).compile(
            dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
        )
        plan = conn.exec_driver_sql(f"EXPLAIN (COSTS OFF) {compiled}", compiled.params).scalars()
        text = "\n".join(plan)
    return set(re.findall(r"\bsignal_p\d{6}\b", text))


@pytest.fixture
def wire(sg: SignalGraph) -> SignalGraph:
    sg.sources.add("wire")
    sg.ingest(
        [
            news("jan", "2026-01-06T10:00:00Z"),
            news("feb", "2026-02-10T10:00:00Z"),
            news("mar", "2026-03-03T10:00:00Z"),
        ],
        source="wire",
    )
    return sg


def test_a_window_reads_only_its_months(wire: SignalGraph) -> None:
    assert window(wire, "2026-02-01", "2026-03-01") == ["feb"]
    assert scanned_partitions(wire, "2026-02-01", "2026-03-01") == {"signal_p202602"}
    assert scanned_partitions(wire, "2026-01-20", "2026-02-20") == {
        "signal_p202601",
        "signal_p202602",
    }
    assert moved(wire) == {}


def test_a_redated_signal_is_found_in_its_new_window_only(wire: SignalGraph) -> None:
    # A later revision moves "mar" to January: its id (and partition) stays March's.
    wire.ingest([news("mar", "2026-01-20T08:00:00Z", title="Acme news, corrected")], source="wire")
    assert moved(wire) == {"mar": at("2026-01-20T08:00:00")}
    assert window(wire, "2026-01-01", "2026-02-01") == ["mar", "jan"]
    assert window(wire, "2026-03-01", "2026-04-01") == []
    assert window(wire, None, "2026-01-10") == ["jan"]
    assert window(wire, "2026-01-10", None) == ["feb", "mar"]
    # The same through a word search and a phrase search (each reads range and list apart).
    assert window(wire, "2026-01-01", "2026-02-01", text="acme") == ["mar", "jan"]
    assert window(wire, "2026-01-01", "2026-02-01", text='"news corrected"') == ["mar"]
    assert window(wire, "2026-01-01", "2026-02-01", limit=1) == ["mar"]
    # January's window reads March's partition for the moved signal, and not February's.
    assert scanned_partitions(wire, "2026-01-01", "2026-02-01") == {
        "signal_p202601",
        "signal_p202603",
    }
    assert check(wire.engine, deep=True)["integrity"]["signal_moved_drift"] == 0

    # Moved back to its own millisecond, it leaves the list.
    wire.ingest([news("mar", "2026-03-03T10:00:00Z", title="Acme news, again")], source="wire")
    assert moved(wire) == {}
    assert window(wire, "2026-03-01", "2026-04-01") == ["mar"]


def test_windows_hold_at_the_millisecond_and_before_1970(sg: SignalGraph) -> None:
    sg.sources.add("wire")
    sg.ingest(
        [
            news("micro", "2026-01-06T10:00:00.000700Z"),
            news("old", "1969-07-20T20:17:40Z"),
            news("epoch", "1970-01-01T00:00:00Z"),
        ],
        source="wire",
    )
    # The id holds 10:00:00.000; the window's bounds are finer than that.
    assert window(sg, "2026-01-06T10:00:00.000600", "2026-01-06T10:00:00.000701") == ["micro"]
    assert window(sg, "2026-01-06T10:00:00.000701", "2026-01-07") == []
    assert window(sg, "2026-01-06T10:00:00", "2026-01-06T10:00:00.000700") == []
    # Before 1970 the id is clamped to 1970: such signals are listed as moved.
    assert set(moved(sg)) == {"old"}
    assert window(sg, "1969-01-01", "1970-01-01") == ["old"]
    assert window(sg, None, "1970-01-01T00:00:00.000001") == ["epoch", "old"]
    assert window(sg, "1970-01-01", "1970-01-02") == ["epoch"]


def test_too_many_moved_signals_read_every_month(
    wire: SignalGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    wire.ingest([news("mar", "2026-01-20T08:00:00Z", title="Acme news, corrected")], source="wire")
    monkeypatch.setattr(query, "MOVED_LISTED_MAX", 0)
    with wire.engine.connect() as conn:
        workspace_id = wire.workspace_id_in(conn)
        assert moved_in_window(conn, workspace_id, at("2026-01-01"), at("2026-02-01")) is None
        assert moved_in_window(conn, workspace_id, at("2026-02-01"), at("2026-03-01")) == ()
    assert scanned_partitions(wire, "2026-01-01", "2026-02-01") >= {
        "signal_p202601",
        "signal_p202602",
        "signal_p202603",
    }
    assert window(wire, "2026-01-01", "2026-02-01") == ["mar", "jan"]
    assert window(wire, "2026-01-01", "2026-02-01", text="acme") == ["mar", "jan"]


def test_the_deep_check_sees_a_tampered_moved_list(wire: SignalGraph) -> None:
    wire.ingest([news("mar", "2026-01-20T08:00:00Z", title="Acme news, corrected")], source="wire")
    with wire.engine.begin() as conn:
        conn.execute(sa.text("UPDATE signal_moved SET published_at = published_at + interval '1s'"))
    report = check(wire.engine, deep=True)
    assert not report["ok"]
    assert report["integrity"]["signal_moved_drift"] == 2
    with wire.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM signal_moved"))
    assert check(wire.engine, deep=True)["integrity"]["signal_moved_drift"] == 1


def test_detaching_a_month_forgets_its_moved_signals(wire: SignalGraph) -> None:
    wire.ingest([news("mar", "2026-01-20T08:00:00Z", title="Acme news, corrected")], source="wire")
    wire.partitions.detach_before(datetime(2026, 4, 1, tzinfo=UTC).date())
    assert moved(wire) == {}
    assert window(wire, "2026-01-01", "2026-02-01") == []
    assert check(wire.engine, deep=True)["integrity"]["signal_moved_drift"] == 0


def test_a_window_ending_at_the_last_representable_time_in_any_zone() -> None:
    from datetime import timedelta, timezone

    from signalgraph.query.signals import id_window

    late = datetime(9999, 12, 31, 23, 59, 59, 999500, tzinfo=timezone(timedelta(hours=14)))
    bounds = id_window(at("2026-01-01"), late, ())
    assert bounds.low is not None
    assert bounds.high is not None
    assert bounds.low < bounds.high
    assert id_window(None, datetime.max.replace(tzinfo=UTC), ()).high is None
