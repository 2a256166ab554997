"""Ingest under real process failure and concurrency, through the console script.

The tests never guess at timing. To stop an ingest at a known point they hold, in an
open transaction of their own, a `signal_key` row with the key of a record of the input:
the ingest's COPY of that key into `signal_key` then waits on the test's transaction
(a unique index waits for the transaction that holds the conflicting row to end), in
the middle of the batch that holds the record. The test sees the wait in
`pg_blocking_pids` and acts: kills the process, or lets several go at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest

import signalgraph
from tests.conftest import console_script
from tests.corpus import record, write_ndjson

pytestmark = pytest.mark.slow

WAIT_S = 120  # the longest a test waits for an ingest to reach the held key


def command(url: str, *args: str) -> list[str]:
    return [str(console_script()), "--database-url", url, *args]


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SIGNALGRAPH_")} | {
        "SIGNALGRAPH_HOME": os.environ["SIGNALGRAPH_HOME"]
    }


def make_corpus(path: Path, size: int) -> Path:
    records = [record(i) for i in range(size)]
    # Every 50th record repeats record 0's text, so the counts below check duplicate
    # handling across restarts and between processes.
    for i in range(0, size, 50):
        records[i]["text"] = records[0]["text"]
    return write_ndjson(path, records)


def totals(url: str) -> dict[str, int]:
    """Return what is stored now, committed: signals, their keys, fingerprints, duplicates."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM signalgraph.signal), "
            "(SELECT count(DISTINCT external_id) FROM signalgraph.signal), "
            "(SELECT count(*) FROM signalgraph.signal_key), "
            "(SELECT count(*) FROM signalgraph.fingerprint), "
            "(SELECT count(*) FROM signalgraph.signal WHERE duplicate_of IS NOT NULL)"
        ).fetchone()
    assert row is not None
    names = ("signals", "distinct", "keys", "fingerprints", "duplicates")
    return dict(zip(names, row, strict=True))


def counted(counters: dict[str, int]) -> dict[str, int]:
    """Return the counters these tests check, zero when a run row leaves them out."""
    names = ("seen", "inserted", "duplicates", "updated", "unchanged", "rejected")
    return {name: counters.get(name, 0) for name in names}


def stored_external_ids(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [
            external_id
            for (external_id,) in conn.execute(
                "SELECT external_id FROM signalgraph.signal ORDER BY external_id"
            )
        ]


def hold_key(url: str, source: str, external_id: str) -> psycopg.Connection:
    """Return a connection whose open transaction holds a `signal_key` row for the key."""
    conn = psycopg.connect(url)
    conn.execute(
        "INSERT INTO signalgraph.signal_key "
        "(workspace_id, signal_id, source_id, external_id, record_hash) "
        "SELECT workspace_id, %s, id, %s, '\\x00' FROM signalgraph.source WHERE name = %s",
        (uuid.uuid4(), external_id, source),
    )
    return conn  # not committed: a writer of the same key waits for it


def wait_until_blocked(
    holder: psycopg.Connection, url: str, processes: list[subprocess.Popen[bytes]], count: int
) -> list[int]:
    """Return the backends waiting on `holder` once `count` of them do; fail on a timeout."""
    holder_pid = holder.info.backend_pid
    deadline = time.monotonic() + WAIT_S
    with psycopg.connect(url, autocommit=True) as watcher:
        while True:
            waiting = [
                pid
                for (pid,) in watcher.execute(
                    "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                    (holder_pid,),
                )
            ]
            if len(waiting) >= count:
                return waiting
            ended = [p for p in processes if p.poll() is not None]
            assert not ended, f"an ingest ended before reaching the held key: {ended[0].args}"
            assert time.monotonic() < deadline, f"no ingest waited on the held key in {WAIT_S}s"
            time.sleep(0.05)  # a poll interval, not a guess at how long anything takes


def wait_until_gone(url: str, pids: list[int]) -> None:
    """Return once none of the backends `pids` is connected (their transactions are over)."""
    deadline = time.monotonic() + WAIT_S
    with psycopg.connect(url, autocommit=True) as watcher:
        while watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
        ).fetchone() != (0,):
            assert time.monotonic() < deadline, f"backends {pids} still there after {WAIT_S}s"
            time.sleep(0.05)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigkill_mid_batch_keeps_whole_batches_and_a_rerun_stores_every_key_once(
    database_url: str, tmp_path: Path, workers: int
) -> None:
    size, batch, committed = 6000, 200, 7
    corpus = make_corpus(tmp_path / "big.ndjson", size)
    client = signalgraph.connect(url=database_url)
    client.sources.add("feed")
    args = command(
        database_url, "ingest", str(corpus), "--source", "feed", "--batch-size", str(batch),
        "--workers", str(workers),
    )  # fmt: skip
    # The middle record of batch 8: when the ingest waits on it, batches 1-7 are
    # committed and batch 8 has written half its keys in its open transaction. With two
    # writers, the other one goes on with the batches after it meanwhile.
    held = committed * batch + batch // 2
    holder = hold_key(database_url, "feed", f"r-{held}")
    victim = subprocess.Popen(
        args, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        backends = wait_until_blocked(holder, database_url, [victim], count=1)
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=30) == -signal.SIGKILL
    finally:
        holder.rollback()
        holder.close()
    wait_until_gone(database_url, backends)  # the killed batches' transactions are over

    stored = totals(database_url)
    ids = stored_external_ids(database_url)
    batches = sorted({int(external_id[2:]) // batch for external_id in ids})
    # Whole batches only: each stored batch has every one of its keys, batch 8 none.
    assert ids == sorted(f"r-{i}" for n in batches for i in range(n * batch, (n + 1) * batch))
    assert committed not in batches
    if workers == 1:
        assert batches == list(range(committed))
    else:
        # The batches are handed out in order: of those before batch 8, only the one
        # the other writer was writing when the process died can be missing.
        assert len(set(range(committed)) - set(batches)) <= workers - 1
    whole = len(ids)
    assert stored == {
        "signals": whole,
        "distinct": whole,
        "keys": whole,
        "fingerprints": whole,
        "duplicates": stored["duplicates"],
    }
    # Every 50th record repeats record 0's text: all but the first stored are duplicates.
    assert stored["duplicates"] == sum(batch // 50 - (n == 0) for n in batches)
    killed = client.runs.list(kind="ingest")
    assert len(killed) == 1
    assert killed[0].status == "abandoned"  # its process is gone
    # The run's counters were committed with the batches, and only with them (a run
    # row keeps only the counters that are not zero).
    assert counted(killed[0].counters) == {
        "seen": whole,
        "inserted": whole,
        "duplicates": stored["duplicates"],
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
    }

    done = subprocess.run(
        [*args, "--json"],
        env=environment(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert totals(database_url) == {
        "signals": size,
        "distinct": size,
        "keys": size,
        "fingerprints": size,
        "duplicates": size // 50 - 1,
    }
    assert stored_external_ids(database_url) == sorted(f"r-{i}" for i in range(size))
    runs = client.runs.list(kind="ingest")
    assert [run.status for run in runs] == ["succeeded", "abandoned"]
    reported = json.loads(done.stdout)["counters"]
    assert {name: value for name, value in reported.items() if value} == runs[0].counters
    # What the killed run committed is found unchanged, and only the rest is written.
    assert counted(reported) == {
        "seen": size,
        "inserted": size - whole,
        "duplicates": size // 50 - 1 - stored["duplicates"],
        "updated": 0,
        "unchanged": whole,
        "rejected": 0,
    }
    client.close()


def test_two_processes_ingesting_the_same_file_store_every_key_once(
    database_url: str, tmp_path: Path
) -> None:
    size, batch = 3000, 250
    corpus = make_corpus(tmp_path / "same.ndjson", size)
    client = signalgraph.connect(url=database_url)
    client.sources.add("feed")
    args = command(
        database_url, "ingest", str(corpus), "--source", "feed", "--batch-size", str(batch),
        "--json",
    )  # fmt: skip
    # Both processes wait on the first key of their first batch, then are let go at once:
    # they are writing the same keys at the same time, whatever the machine's speed.
    holder = hold_key(database_url, "feed", "r-0")
    processes = [
        subprocess.Popen(args, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    try:
        wait_until_blocked(holder, database_url, processes, count=2)
    finally:
        holder.rollback()
        holder.close()
    outcomes = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outcomes
    results = [json.loads(out) for out, _ in outcomes]
    assert [r["status"] for r in results] == ["succeeded", "succeeded"]
    assert sum(r["counters"]["inserted"] for r in results) == size
    assert sum(r["counters"]["duplicates"] for r in results) == size // 50 - 1
    for result in results:
        counters = counted(result["counters"])
        assert counters["seen"] == size
        assert counters["inserted"] + counters["unchanged"] == size
        assert counters["updated"] == counters["rejected"] == 0
    assert totals(database_url) == {
        "signals": size,
        "distinct": size,
        "keys": size,
        "fingerprints": size,
        "duplicates": size // 50 - 1,
    }
    assert stored_external_ids(database_url) == sorted(f"r-{i}" for i in range(size))
    client.close()
