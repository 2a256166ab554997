from __future__ import annotations

import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.errors import NotFound, UsageError


def test_run_lifecycle_accumulates_counters(sg: SignalGraph) -> None:
    source = sg.sources.add("feed")
    run_id = sg.runs.start("ingest", source_id=source.id, params={"files": ["a.ndjson"]})
    with sg.transaction() as conn:
        sg.runs.record(run_id, conn, counters={"seen": 10, "inserted": 7, "rejected": 3})
    with sg.transaction() as conn:
        sg.runs.record(
            run_id, conn, counters={"seen": 5, "inserted": 5}, progress={"done": 15, "total": 20}
        )
    running = sg.runs.get(run_id)
    assert running.status == "running"
    assert running.counters == {"seen": 15, "inserted": 12, "rejected": 3}
    assert running.progress == {"done": 15, "total": 20}
    sg.runs.finish(run_id, "succeeded")
    done = sg.runs.get(run_id)
    assert done.status == "succeeded"
    assert done.source == "feed"
    assert done.finished_at is not None
    assert done.duration_s is not None
    assert done.params == {"files": ["a.ndjson"]}


def test_counters_roll_back_with_the_work(sg: SignalGraph) -> None:
    run_id = sg.runs.start("ingest")

    def failing_batch() -> None:
        with sg.transaction() as conn:
            sg.runs.record(run_id, conn, counters={"seen": 10})
            raise RuntimeError("batch failed")

    with pytest.raises(RuntimeError):
        failing_batch()
    assert sg.runs.get(run_id).counters == {}


def test_stale_running_run_is_seen_as_abandoned(sg: SignalGraph) -> None:
    run_id = sg.runs.start("ingest")
    with sg.transaction() as conn:
        conn.execute(
            sa.text("UPDATE run SET heartbeat_at = now() - interval '1 hour' WHERE id = :id"),
            {"id": run_id},
        )
    assert sg.runs.get(run_id).status == "abandoned"
    assert [r.id for r in sg.runs.list(status="abandoned")] == [run_id]
    assert sg.runs.list(status="running") == []


def test_runs_are_found_by_unique_prefix(sg: SignalGraph) -> None:
    run_id = sg.runs.start("export")
    assert sg.runs.get(str(run_id)[:13]).id == run_id
    with pytest.raises(NotFound):
        sg.runs.get("ffffffff")
    with pytest.raises(UsageError, match="not a run id"):
        sg.runs.get("'; drop table run; --")


def test_list_filters_and_orders_newest_first(sg: SignalGraph) -> None:
    ids = [sg.runs.start(kind) for kind in ("ingest", "resolve", "ingest")]
    assert [r.id for r in sg.runs.list()] == list(reversed(ids))
    assert [r.id for r in sg.runs.list(kind="ingest")] == [ids[2], ids[0]]
    assert len(sg.runs.list(limit=1)) == 1
    with pytest.raises(UsageError, match="unknown run status"):
        sg.runs.list(status="exploded")


def test_status_check_constraint_guards_the_table(sg: SignalGraph) -> None:
    run_id = sg.runs.start("ingest")
    with pytest.raises(sa.exc.IntegrityError, match="ck_run_status_known"), sg.transaction() as c:
        c.execute(sa.text("UPDATE run SET status = 'exploded' WHERE id = :id"), {"id": run_id})


def test_finish_refuses_a_non_final_status(sg: SignalGraph) -> None:
    run_id = sg.runs.start("ingest")
    with pytest.raises(UsageError):
        sg.runs.finish(run_id, "running")
