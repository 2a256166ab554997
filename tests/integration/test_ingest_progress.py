"""Progress reports what is written, not what the reader has run ahead to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signalgraph.client import SignalGraph
from signalgraph.load.options import IngestProgress

READ_BUFFER = 1 << 16  # the reader pulls the file in 64 KiB pieces


@pytest.mark.parametrize("workers", [1, 2])
def test_each_snapshot_reaches_only_as_far_as_the_written_records(
    sg: SignalGraph, tmp_path: Path, workers: int
) -> None:
    sg.sources.add("wire")
    lines = [
        json.dumps(
            {"external_id": f"n{i}", "title": f"Story {i}", "text": f"{i} " + "x" * 900}
        ).encode()
        for i in range(3000)
    ]
    path = tmp_path / "news.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    ends = []  # the byte position where each record's line ends
    position = 0
    for line in lines:
        position += len(line) + 1
        ends.append(position)
    snapshots: list[IngestProgress] = []
    result = sg.ingest(
        str(path), source="wire", batch_size=200, progress=snapshots.append, workers=workers
    )
    assert result.counters["inserted"] == 3000
    assert [s.counters["seen"] for s in snapshots] == list(range(200, 3001, 200))
    positions = [snapshot.bytes_read for snapshot in snapshots]
    assert positions == sorted(positions)
    for snapshot in snapshots:
        written = snapshot.counters["seen"]
        # The written records end at ends[written - 1]; the reader's buffer may hold a
        # little more, never a whole batch (200 records are ~180 KB here). With two
        # writers, a batch may be written before the one ahead of it: the position is
        # the end of the batches written with every batch before them.
        assert snapshot.bytes_read <= ends[written - 1] + READ_BUFFER
        if workers == 1:
            assert ends[written - 1] <= snapshot.bytes_read
        assert snapshot.bytes_total == path.stat().st_size
    assert snapshots[-1].bytes_read == path.stat().st_size
