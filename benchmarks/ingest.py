"""Ingest benchmark: signalgraph against the database's own floor and the ORM pattern.

    python benchmarks/ingest.py --rows 200000 --json
    python benchmarks/ingest.py --rows 5000 --server external --json
    python benchmarks/ingest.py --rows 20000 --skip-baselines --kinds signals --json

One process, one server. The signal corpus (benchmarks/ingest_data.py: texts of about
1-2 KB, 5 % exact duplicates, 3 % near duplicates, 1 % bad lines) is ingested into a
fresh database with the pair (phrase) index on, then into another with it off
(`--phrase-index both`, the default), each with autovacuum off on every table so that
nothing but the ingest runs. Per setting:

- rows_per_s: `signalgraph ingest` of the file (validation, fingerprints, duplicate and
  near-duplicate detection, keys, mentions, rejects, the run); tail_ratio: rows/s of its
  last fifth over rows/s of its first fifth, from the progress reported after each batch.
- reingest_rows_per_s: the same file again (everything unchanged).
- peak_rss_mb: the process's peak resident memory during those two ingests.
- indexed_copy_rows_per_s: parse the file and binary-COPY the rows into a logged copy
  of the signal table (its columns, generated search vector, every index, its monthly
  partitions): the database's own work, the floor.
- orm_same_work_rows_per_s: the seed-000 pattern (ORM objects, `bulk_save_objects`) into
  such a copy.
- the ratios, and whether each target is met (`targets`).

Once: raw_copy_rows_per_s (parse and COPY into an unlogged table without indexes), and,
in the first setting's database after the signals, entity records, facts and relations
ingested through the library (benchmarks/ingest_data.py), each with its rows/s and
tail_ratio; entity records are resolved between (resolve_s), as facts name entities.

The server: `--server embedded` (started in a temporary directory), `--server external`
(the PostgreSQL 15 at 127.0.0.1:5432), else SIGNALGRAPH_DATABASE_URL / --database-url,
else the embedded one. Databases are created and dropped there.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import signalgraph
from _db import (
    autovacuum_off,
    autovacuum_report,
    choose_server,
    drop_database,
    fresh_database,
    server_version,
    stop_server,
)
from ingest_baselines import indexed_copy, orm_same_work, raw_copy
from ingest_data import (
    ENTITY_SOURCE,
    PROPERTIES,
    STATEMENT_SOURCE,
    EntityPlan,
    entity_records,
    facts,
    generate,
    relations,
)
from signalgraph.db.migrate import upgrade
from signalgraph.db.phrase_index import set_phrase_index
from signalgraph.load.options import IngestProgress, IngestResult
from signalgraph.load.pool import writer_count

KINDS = ("signals", "entities", "facts", "relations")
SETTINGS = {"both": ("on", "off"), "on": ("on",), "off": ("off",)}
# A fifth of a run is measured between progress reports: fewer batches say nothing.
MIN_BATCHES_FOR_TAIL = 5
# (figure, at least or at most, bound) per phrase-index setting; issue 21's targets.
SETTING_TARGETS = (
    ("ratio_to_indexed_copy", ">=", 0.6),
    ("ratio_to_orm_same_work", ">=", 1.5),
    ("reingest_ratio_to_copy", ">=", 0.5),
    ("peak_rss_mb", "<=", 300.0),
    ("tail_ratio", ">=", 0.8),
)
PHRASE_INDEX_COST_TARGET = 0.25
TAIL_TARGET = 0.8


# -- measuring -----------------------------------------------------------------------------


class Progress:
    """Record (seconds since the run started, records seen) after each committed batch."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int]] = [(0.0, 0)]

    def __call__(self, snapshot: IngestProgress) -> None:
        self.samples.append((snapshot.elapsed_s, snapshot.counters.get("seen", 0)))


def _time_at(samples: list[tuple[float, int]], rows: float) -> float:
    """Return when `rows` records had been seen, interpolated between two reports."""
    for (t0, r0), (t1, r1) in itertools.pairwise(samples):
        if r1 >= rows:
            return t0 + (t1 - t0) * ((rows - r0) / (r1 - r0) if r1 > r0 else 1.0)
    return samples[-1][0]


def tail(samples: list[tuple[float, int]]) -> dict[str, Any]:
    """Return rows/s of the first and the last fifth of a run and their ratio (last/first).

    None when the run reported fewer than MIN_BATCHES_FOR_TAIL batches.
    """
    batches = len(samples) - 1
    end, total = samples[-1]
    if batches < MIN_BATCHES_FOR_TAIL or total == 0:
        return {"tail_ratio": None, "batches": batches}
    fifth = total / 5
    first = fifth / _time_at(samples, fifth)
    last = fifth / (end - _time_at(samples, 4 * fifth))
    return {
        "tail_ratio": round(last / first, 3),
        "first_fifth_rows_per_s": round(first, 1),
        "last_fifth_rows_per_s": round(last, 1),
        "batches": batches,
    }


def reset_peak_rss() -> None:
    """Start measuring peak memory from now (Linux; elsewhere the process's peak stays)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    """Return the peak resident set size in MiB since reset_peak_rss (or since start)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)


def timed_ingest(
    ingest: Callable[..., IngestResult], path: Path, *, source: str, batch_size: int | None
) -> tuple[IngestResult, dict[str, Any]]:
    """Run one ingest with a progress recorder; return its result and its figures."""
    progress = Progress()
    options = {"batch_size": batch_size} if batch_size else {}
    result = ingest(path, source=source, progress=progress, **options)
    if result.status != "succeeded":
        raise RuntimeError(f"ingest of {path.name} {result.status}: {result.error}")
    figures = {
        "records": result.counters.get("seen", 0),
        "rows_per_s": round(result.rows_per_s, 1),
        "seconds": round(result.duration_s, 2),
        **tail(progress.samples),
        "counters": result.counters,
    }
    return result, figures


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


# -- the parts of a run ----------------------------------------------------------------------


def signal_figures(
    client: signalgraph.SignalGraph, corpus: Path, batch_size: int | None
) -> dict[str, Any]:
    """Ingest the signal corpus, then again; return the figures of both and the peak memory."""
    reset_peak_rss()
    _, first = timed_ingest(client.ingest, corpus, source="bench", batch_size=batch_size)
    again, _ = timed_ingest(client.ingest, corpus, source="bench", batch_size=batch_size)
    rss = peak_rss_mb()
    counters = first.pop("counters")
    del first["records"]
    return first | {
        "reingest_rows_per_s": round(again.rows_per_s, 1),
        "peak_rss_mb": round(rss, 1),
        "counters": counters,
        "found": client.signals.count(),
    }


def statement_figures(
    client: signalgraph.SignalGraph,
    work: Path,
    plan: EntityPlan,
    *,
    kinds: set[str],
    facts_count: int,
    relations_count: int,
    batch_size: int | None,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Ingest entity records, resolve them, then facts and relations; return their figures."""
    figures: dict[str, Any] = {}
    records_file = work / "entities.ndjson"
    entity_records(records_file, plan)
    client.sources.add(ENTITY_SOURCE)
    client.sources.add(STATEMENT_SOURCE)
    _, figures["entities"] = timed_ingest(
        client.entities.ingest, records_file, source=ENTITY_SOURCE, batch_size=batch_size
    )
    log(f"entity records: {figures['entities']['rows_per_s']:,.0f} rows/s")
    started = time.perf_counter()
    resolved = client.resolve()
    figures["resolve"] = {
        "seconds": round(time.perf_counter() - started, 2),
        "counters": resolved.counters,
    }
    for name, kind, unit in PROPERTIES:
        client.facts.define(name, kind, unit=unit)
    if "facts" in kinds:
        facts_file = work / "facts.ndjson"
        facts(facts_file, plan, facts_count)
        _, figures["facts"] = timed_ingest(
            client.facts.ingest, facts_file, source=STATEMENT_SOURCE, batch_size=batch_size
        )
        log(f"facts: {figures['facts']['rows_per_s']:,.0f} rows/s")
    if "relations" in kinds:
        relations_file = work / "relations.ndjson"
        relations(relations_file, plan, relations_count)
        _, figures["relations"] = timed_ingest(
            client.relations.ingest, relations_file, source=STATEMENT_SOURCE,
            batch_size=batch_size,
        )  # fmt: skip
        log(f"relations: {figures['relations']['rows_per_s']:,.0f} rows/s")
    return figures


def baseline_figures(url: str, corpus: Path, rows: int, batch_size: int) -> dict[str, Any]:
    """Return rows/s of the indexed COPY and of the ORM pattern into copies of the signal
    table of the database at `url`."""
    copy_s, copied = indexed_copy(url, corpus, batch_size)
    orm_s, saved = orm_same_work(url, corpus, batch_size)
    return {
        "indexed_copy_rows_per_s": round(rows / copy_s, 1),
        "orm_same_work_rows_per_s": round(rows / orm_s, 1),
        "baseline_rows_stored": {"indexed_copy": copied, "orm_same_work": saved},
    }


def _verdict(value: float | None, sense: str, bound: float) -> dict[str, Any]:
    met = None if value is None else (value >= bound if sense == ">=" else value <= bound)
    return {"value": value, "target": f"{sense} {bound}", "met": met}


def targets(result: dict[str, Any]) -> dict[str, Any]:
    """Return each target with its figure and whether it is met (None: not measured)."""
    verdicts: dict[str, Any] = {}
    for setting, figures in result.get("phrase_index", {}).items():
        for name, sense, bound in SETTING_TARGETS:
            verdicts[f"{setting}.{name}"] = _verdict(figures.get(name), sense, bound)
    if "phrase_index_cost" in result:
        verdicts["phrase_index_cost"] = _verdict(
            result["phrase_index_cost"], "<=", PHRASE_INDEX_COST_TARGET
        )
    for kind in ("entities", "facts", "relations"):
        if kind in result:
            verdicts[f"{kind}.tail_ratio"] = _verdict(result[kind]["tail_ratio"], ">=", TAIL_TARGET)
    return verdicts


# -- the run -----------------------------------------------------------------------------------


def _kinds(value: str) -> set[str]:
    kinds = {kind.strip() for kind in value.split(",") if kind.strip()}
    unknown = kinds - set(KINDS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown kinds {sorted(unknown)}; known: {KINDS}")
    return kinds


def parse_args() -> argparse.Namespace:
    """Return the command line's options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="signals in the corpus")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--server", choices=("embedded", "external"), default=None,
        help="embedded (a server in a temporary directory) or external (PostgreSQL 15 at "
        "127.0.0.1:5432); default: --database-url if given, else embedded",
    )  # fmt: skip
    parser.add_argument(
        "--database-url", default=os.environ.get("SIGNALGRAPH_DATABASE_URL"),
        help="a server to create the benchmark's databases on (env SIGNALGRAPH_DATABASE_URL)",
    )  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=None, help="records per transaction")
    parser.add_argument(
        "--workers", type=int, default=None,
        help="connections each ingest writes over (default: the library's, the cores "
        "available up to ingest_workers_max)",
    )  # fmt: skip
    parser.add_argument(
        "--skip-baselines", action="store_true", help="no raw COPY, indexed COPY or ORM runs"
    )
    parser.add_argument(
        "--phrase-index", choices=tuple(SETTINGS), default="both",
        help="ingest signals with the index of adjacent word pairs on, off, or both (default)",
    )  # fmt: skip
    parser.add_argument(
        "--kinds", type=_kinds, default=set(KINDS),
        help=f"what to ingest, comma-separated (default all: {','.join(KINDS)}); facts and "
        "relations bring the entity records they name",
    )  # fmt: skip
    parser.add_argument("--entities", type=int, help="entity records (default rows / 10)")
    parser.add_argument("--facts", type=int, help="fact statements (default rows / 2)")
    parser.add_argument("--relations", type=int, help="relation statements (default rows / 5)")
    return parser.parse_args()


def main() -> None:
    """Run the benchmark and print its figures."""
    args = parse_args()
    if args.workers is not None:
        # Read by the library's settings, so every ingest below (all kinds) uses it.
        os.environ["SIGNALGRAPH_INGEST_WORKERS"] = str(args.workers)
    log = (lambda _: None) if args.json else (lambda line: print(line, file=sys.stderr))
    kinds: set[str] = args.kinds
    if kinds & {"facts", "relations"}:
        kinds.add("entities")
    settings = SETTINGS[args.phrase_index] if "signals" in kinds else ("on",)
    plan = EntityPlan.for_records(args.entities or max(100, args.rows // 10))
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sg-bench-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus.ndjson"
        result: dict[str, Any] = {"rows": args.rows, "kinds": sorted(kinds, key=KINDS.index)}
        if "signals" in kinds:
            started = time.perf_counter()
            result["planted"] = generate(corpus, args.rows)
            result["corpus_bytes"] = corpus.stat().st_size
            log(f"corpus: {args.rows:,} lines, {corpus.stat().st_size / 1e6:.0f} MB "
                f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
        kind, admin_url = choose_server(args.server, args.database_url, work / "home")
        made: list[str] = []
        try:
            result["server"] = {"kind": kind, "version": server_version(admin_url)}
            result["phrase_index"] = {}
            for number, setting in enumerate(settings):
                name = f"sg_bench_ingest_{os.getpid()}_{setting}"
                made.append(name)
                url = fresh_database(admin_url, name)
                client = signalgraph.connect(url=url)
                upgrade(client.engine)
                set_phrase_index(client.engine, setting == "on")
                later_tables_off = autovacuum_off(url, ("signalgraph",))
                client.sources.add("bench")
                batch_size = args.batch_size or client.settings.batch_size
                result["batch_size"] = batch_size
                result["workers"] = writer_count(
                    client.settings.ingest_workers, cap=client.settings.ingest_workers_max
                )
                figures: dict[str, Any] = {}
                if "signals" in kinds:
                    figures = signal_figures(client, corpus, args.batch_size)
                    log(f"phrase index {setting}: {figures['rows_per_s']:,.0f} rows/s, "
                        f"re-ingest {figures['reingest_rows_per_s']:,.0f} rows/s, "
                        f"tail {figures['tail_ratio']}")  # fmt: skip
                if number == 0 and kinds - {"signals"}:
                    result |= statement_figures(
                        client, work, plan, kinds=kinds,
                        facts_count=args.facts or max(100, args.rows // 2),
                        relations_count=args.relations or max(100, args.rows // 5),
                        batch_size=args.batch_size, log=log,
                    )  # fmt: skip
                client.close()
                if "signals" in kinds and not args.skip_baselines:
                    if number == 0:
                        copy_s = raw_copy(url, corpus)
                        result["raw_copy_rows_per_s"] = round(args.rows / copy_s, 1)
                        log(f"raw copy: {result['raw_copy_rows_per_s']:,.0f} rows/s")
                    figures |= baseline_figures(url, corpus, args.rows, batch_size)
                    log(f"indexed copy: {figures['indexed_copy_rows_per_s']:,.0f} rows/s, "
                        f"orm: {figures['orm_same_work_rows_per_s']:,.0f} rows/s")  # fmt: skip
                    raw = result["raw_copy_rows_per_s"]
                    figures |= {
                        "ratio_to_copy": _ratio(figures["rows_per_s"], raw),
                        "ratio_to_indexed_copy": _ratio(
                            figures["rows_per_s"], figures["indexed_copy_rows_per_s"]
                        ),
                        "ratio_to_orm_same_work": _ratio(
                            figures["rows_per_s"], figures["orm_same_work_rows_per_s"]
                        ),
                        "reingest_ratio_to_copy": _ratio(figures["reingest_rows_per_s"], raw),
                    }
                figures["autovacuum"] = autovacuum_report(url, ("signalgraph", "bench")) | {
                    "later_tables_off": later_tables_off
                }
                if "signals" in kinds:
                    result["phrase_index"][setting] = figures
                else:
                    result["autovacuum"] = figures["autovacuum"]
                drop_database(admin_url, name)
        finally:
            for name in made:
                drop_database(admin_url, name)
            stop_server(kind, work / "home")
        on, off = (result["phrase_index"].get(s, {}).get("rows_per_s") for s in ("on", "off"))
        if on and off:
            result["phrase_index_cost"] = round(1 - on / off, 3)
        result["targets"] = targets(result)
        result["wall_s"] = round(time.perf_counter() - wall, 1)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
