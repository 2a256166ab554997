"""Start-up benchmark: how long short `signalgraph` commands take, as whole processes.

    python benchmarks/startup.py --runs 10 --json

Runs each command (`--version`, `--help`, `db check`) once to warm the file cache, then
`--runs` times, and reports per command the minimum and median wall-clock seconds and
CPU seconds (user + system of the finished process). The minimum is the figure to
compare with a target: it is the run least disturbed by whatever else the machine did.

`db check` runs against SIGNALGRAPH_DATABASE_URL (at the schema head) if set; else an
embedded server in a temporary directory is started (and migrated) before the runs and
stopped after, so its start-up is not counted. The program run is the `signalgraph`
next to this interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

COMMANDS = (("--version",), ("--help",), ("db", "check"))


def _one_run(program: Path, args: tuple[str, ...]) -> tuple[float, float]:
    """Return (wall, cpu) seconds of one run of `program args`."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(program), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"signalgraph {' '.join(args)} exited {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


@contextmanager
def _database(program: Path) -> Iterator[None]:
    """Make `db check` find a database at head: the configured one, or a fresh embedded one."""
    if os.environ.get("SIGNALGRAPH_DATABASE_URL"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="signalgraph-startup-") as home:
        os.environ["SIGNALGRAPH_HOME"] = home
        subprocess.run([str(program), "server", "start"], check=True, capture_output=True)
        try:
            subprocess.run([str(program), "db", "upgrade"], check=True, capture_output=True)
            yield
        finally:
            subprocess.run([str(program), "server", "stop"], check=False, capture_output=True)


def main() -> None:
    """Time each command and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="counted runs per command")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    options = parser.parse_args()
    program = Path(sys.executable).parent / "signalgraph"
    figures: dict[str, dict[str, float]] = {}
    with _database(program):
        for args in COMMANDS:
            _one_run(program, args)
            runs = [_one_run(program, args) for _ in range(options.runs)]
            walls, cpus = [wall for wall, _ in runs], [cpu for _, cpu in runs]
            figures[" ".join(args)] = {
                "wall_min_s": round(min(walls), 3),
                "wall_median_s": round(statistics.median(walls), 3),
                "cpu_min_s": round(min(cpus), 3),
                "cpu_median_s": round(statistics.median(cpus), 3),
            }
    if options.json:
        print(json.dumps(figures, indent=2))
        return
    for command, row in figures.items():
        cells = "  ".join(f"{key} {value:.3f}" for key, value in row.items())
        print(f"signalgraph {command:10}  {cells}")


if __name__ == "__main__":
    main()
