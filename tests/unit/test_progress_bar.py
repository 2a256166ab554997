"""The ingest progress line: written records first, fits 80 columns, clock runs to the end."""

from __future__ import annotations

import io

from rich.console import Console

from signalgraph.cli.ingest_cmd import ProgressBar
from signalgraph.load.options import IngestProgress


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=80, force_terminal=True, color_system=None), out


def _snapshot(**overrides: object) -> IngestProgress:
    values: dict[str, object] = {
        "counters": {"seen": 12_345_678, "rejected": 123_456},
        "input_name": "/data/exports/a-very-long-file-name-of-news-2026.ndjson.gz",
        "bytes_read": 1_234_000_000,
        "bytes_total": 80_500_000_000,
        "elapsed_s": 1000.0,
    }
    return IngestProgress(**(values | overrides))  # type: ignore[arg-type]


def _rendered(bar: ProgressBar) -> list[str]:
    """Return the lines the bar shows on an 80-column terminal."""
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(bar.progress.get_renderable())
    return [line.rstrip() for line in out.getvalue().splitlines()]


def test_the_line_fits_80_columns_with_large_figures() -> None:
    console, _ = _console()
    bar = ProgressBar(console)
    with bar:
        bar.update(_snapshot())
        lines = _rendered(bar)
    assert len(lines) == 1, lines  # nothing wrapped onto a second line
    line = lines[0]
    assert len(line) <= 80, line
    assert "12,345,678 rec" in line
    assert "12,346/s" in line
    assert "123,456 rej" in line
    assert "1.2/80.5 GB" in line
    assert "a-very-long-f…" in line


def test_the_clock_runs_while_the_last_batches_are_written() -> None:
    console, _ = _console()
    bar = ProgressBar(console)
    with bar:
        # Every byte is read (and written up to here) while the run goes on.
        bar.update(_snapshot(bytes_read=80_500_000_000))
        task = bar.progress.tasks[-1]
        assert not task.finished
        assert task.completed < task.total  # type: ignore[operator]
    assert bar.progress.tasks[-1].completed == bar.progress.tasks[-1].total


def test_standard_input_has_no_total_and_still_shows_its_bytes() -> None:
    console, _ = _console()
    bar = ProgressBar(console)
    with bar:
        bar.update(_snapshot(input_name=None, bytes_total=None, bytes_read=52_000_000))
        assert "52 MB" in _rendered(bar)[0]
