"""Ingest under real process failure and concurrency, through the console script."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import signalgraph
from tests.conftest import console_script
from tests.corpus import record, write_ndjson

pytestmark = pytest.mark.slow


def command(url: str, *args: str) -> list[str]:
    return [str(console_script()), "--database-url", url, *args]


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SIGNALGRAPH_")} | {
        "SIGNALGRAPH_HOME": os.environ["SIGNALGRAPH_HOME"]
    }


def make_corpus(path: Path, size: int) -> Path:
    records = [record(i) for i in range(size)]
    # Some exact duplicates, so the counts below check duplicate handling across restarts.
    for i in range(0, size, 50):
        records[i]["text"] = records[0]["text"]
    return write_ndjson(path, records)


def totals(url: str) -> tuple[int, int, int, int]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM signalgraph.signal), "
                "(SELECT count(DISTINCT external_id) FROM signalgraph.signal), "
                "(SELECT count(*) FROM signalgraph.signal_key), "
                "(SELECT count(*) FROM signalgraph.signal WHERE duplicate_of IS NOT NULL)"
            )
        ).one()
    engine.dispose()
    return tuple(row)  # type: ignore[return-value]


def test_sigkill_mid_ingest_then_rerun_gives_exact_counts(
    database_url: str, tmp_path: Path
) -> None:
    size = 6000
    corpus = make_corpus(tmp_path / "big.ndjson", size)
    client = signalgraph.connect(url=database_url)
    client.sources.add("feed")
    args = command(database_url, "ingest", str(corpus), "--source", "feed", "--batch-size", "200")
    victim = subprocess.Popen(
        args, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline:
        stored = totals(database_url)[0]
        if stored >= 1000 or victim.poll() is not None:
            break
        time.sleep(0.05)
    assert victim.poll() is None, "the ingest finished before it could be killed; use more rows"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    signals, distinct, keys, _ = totals(database_url)
    assert signals == distinct == keys  # no half batch: every signal has its key
    assert signals % 200 == 0 or signals < size  # whole batches only
    killed_run = client.runs.list(kind="ingest")[0]
    assert killed_run.status == "abandoned"  # its process is gone
    assert killed_run.counters["inserted"] == signals  # counters committed with the rows

    done = subprocess.run(
        args, env=environment(), capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    signals, distinct, keys, duplicates = totals(database_url)
    assert signals == distinct == keys == size
    assert duplicates == size // 50 - 1
    rerun = client.runs.list(kind="ingest")[0]
    assert rerun.status == "succeeded"
    assert rerun.counters["inserted"] + rerun.counters["unchanged"] == size
    client.close()


def test_two_processes_ingesting_the_same_file(database_url: str, tmp_path: Path) -> None:
    size = 3000
    corpus = make_corpus(tmp_path / "same.ndjson", size)
    client = signalgraph.connect(url=database_url)
    client.sources.add("feed")
    args = command(
        database_url, "ingest", str(corpus), "--source", "feed", "--batch-size", "250", "--json"
    )
    processes = [
        subprocess.Popen(args, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outcomes = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outcomes
    results = [json.loads(out) for out, _ in outcomes]
    assert all(r["status"] == "succeeded" for r in results)
    inserted = sum(r["counters"]["inserted"] for r in results)
    assert inserted == size
    for result in results:
        counters = result["counters"]
        assert counters["inserted"] + counters["unchanged"] + counters["updated"] == size
    signals, distinct, keys, duplicates = totals(database_url)
    assert signals == distinct == keys == size
    assert duplicates == size // 50 - 1
    client.close()
