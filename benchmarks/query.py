"""Query benchmark: a fixed mix of reads over 1M signals and 100k entities, p50/p95/p99 each.

    python benchmarks/query.py --json                      # 1,000,000 signals, 100,000 entities
    python benchmarks/query.py --signals 100000 --entities 20000 --repeat 100

Builds a corpus in a fresh database: entity records ingested and resolved through
signalgraph; signals and their mentions generated set-based in SQL (the benchmark is
about reads, and 1M signals through the ingest pipeline is the ingest benchmark's job);
facts ingested through signalgraph (timed twice: with the audit triggers and without,
for the audit overhead ratio); lists and annotations through the Python API. Then it
runs each query kind `--repeat` times with varied parameters through the Python API (as
a caller sees it) and prints latency percentiles in milliseconds, and whether each p95
is under the 50 ms target.

The server is SIGNALGRAPH_DATABASE_URL / --database-url if given, else the embedded one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

import signalgraph
from _db import drop_database, fresh_database, server_url
from signalgraph.client import SignalGraph
from signalgraph.db.migrate import upgrade

SEED = 20261128
TARGET_P95_MS = 50.0
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAYS = 730
SYLLABLES = (
    "ka ro mi ta ne lo su vi da re no fi ga le po mu sa te bi zo ha ri ku ma ve lu di ko pa xe"
).split()
STAGES = ("Sourced", "In Review", "Diligence", "Passed", "Invested")
INDUSTRY_WORDS = (
    "merger acquisition funding round revenue guidance layoffs hiring partnership trial "
    "approval lawsuit settlement ipo dividend earnings forecast contract launch recall "
    "investment expansion restructuring patent licence"
).split()

UUID7_AT = """
CREATE FUNCTION pg_temp.uuid7_at(at timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send(floor(extract(epoch FROM at) * 1000)::bigint) FROM 3)
        FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$
"""


def _name(rng: random.Random) -> str:
    parts = rng.randint(1, 2)
    words = [
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        for _ in range(parts)
    ]
    return " ".join(words) + rng.choice(["", " Inc", " Ltd", " GmbH", " Therapeutics", " Labs"])


def entity_records(count: int) -> list[dict[str, Any]]:
    """Return company and person records; 10 % re-sent by a second source under a variant."""
    rng = random.Random(SEED)
    records: list[dict[str, Any]] = []
    for index in range(count):
        if index % 5 == 4:
            first = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()
            last = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
            records.append(
                {
                    "external_id": f"p{index}",
                    "type": "person",
                    "name": f"{first} {last}",
                    "properties": {"first_name": first, "last_name": last},
                }
            )
            continue
        name = _name(rng)
        identifiers: dict[str, Any] = {"domain": f"c{index}.example.com"}
        if index % 10 == 0:
            identifiers["ticker"] = f"T{index:06d}"
        records.append(
            {
                "external_id": f"c{index}",
                "type": "company",
                "name": name,
                "identifiers": identifiers,
                "properties": {"country": rng.choice(["US", "DE", "GB", "FR", "SE"])},
            }
        )
    return records


def build_signals(sg: SignalGraph, count: int, vocabulary: list[str]) -> float:
    """Generate `count` signals over two years with mentions, in SQL; return seconds."""
    started = time.perf_counter()
    months = {
        ((START + dt.timedelta(days=d)).year, (START + dt.timedelta(days=d)).month)
        for d in range(0, DAYS + 31, 28)
    }
    sg.partitions.ensure_for(months)
    # A real run and source for the generated rows to belong to.
    sg.sources.add("newswire")
    seed_run = sg.ingest(
        [{"external_id": "seed", "kind": "article", "title": "seed", "text": "seed"}],
        source="newswire",
    )
    workspace_id = sg.workspace_id
    source_id = sg.sources.get("newswire").id
    raw = sg.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(UUID7_AT)
        cursor.execute(
            "CREATE TEMP TABLE generated (n int, at timestamptz, lang text, title text, text text)"
        )
        with cursor.copy("COPY generated FROM STDIN") as copy:
            for row in _generated_rows(count, vocabulary):
                copy.write_row(row)
        cursor.execute(
            """
            INSERT INTO signal (workspace_id, id, source_id, external_id, kind, title, text,
                                lang, published_at, run_id)
            SELECT %s, pg_temp.uuid7_at(at), %s, 'q' || n, 'article', title, text, lang, at, %s
            FROM generated
            """,
            (workspace_id, source_id, seed_run.run_id),
        )
        raw.commit()
    finally:
        raw.close()
    with sg.engine.begin() as conn:
        conn.execute(
            sa.text(
                """
                INSERT INTO signal_key (workspace_id, signal_id, source_id, external_id,
                                        record_hash)
                SELECT workspace_id, id, source_id, external_id, sha256(external_id::bytea)
                FROM signal WHERE workspace_id = :ws AND external_id <> 'seed'
                """
            ),
            {"ws": workspace_id},
        )
        # One signal in a thousand re-dated by a later revision (its id keeps the first
        # date): date windows must find these through signal_moved.
        conn.execute(
            sa.text(
                "UPDATE signal SET published_at = published_at - interval '40 days' "
                "WHERE workspace_id = :ws AND hashtext(external_id) % 1000 = 0"
            ),
            {"ws": workspace_id},
        )
        # Two mentions per signal; a few entities are mentioned very often (skewed).
        records = _record_ids(conn, workspace_id)
        conn.execute(
            sa.text(
                """
                INSERT INTO mention (workspace_id, signal_id, ordinal, type, text, record_id,
                                     published_at)
                SELECT s.workspace_id, s.id, o, r.type, r.name, r.id, s.published_at
                FROM signal s
                CROSS JOIN generate_series(0, 1) AS o
                JOIN LATERAL (
                    SELECT (CAST(:records AS uuid[]))[1 + floor(random() ^ 3 * :nrec)::int
                                      + 0 * (length(s.external_id) + o)] AS id
                ) AS pick ON true
                JOIN entity_record r ON r.workspace_id = s.workspace_id AND r.id = pick.id
                WHERE s.workspace_id = :ws AND s.external_id <> 'seed'
                """
            ),
            {"ws": workspace_id, "records": records, "nrec": len(records) - 1},
        )
    with sg.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # What autovacuum does after a bulk load: statistics, and the full-text index's
        # pending entries merged into the index proper.
        conn.execute(sa.text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def fact_statements(companies: list[str], part: int) -> list[dict[str, Any]]:
    """Return one half (`part` 0 or 1) of the statements: revenue, headcount, daily scores."""
    rng = random.Random(SEED + part)
    statements: list[dict[str, Any]] = []
    for index, external_id in enumerate(companies):
        if index % 2 != part:
            continue
        ref = {"source": "registry", "external_id": external_id}
        statements.append(
            {
                "entity": ref,
                "property": "revenue",
                "value": rng.randrange(1, 500) * 1_000_000,
                "as_of": "2025-12-31",
            }
        )
        statements.append(
            {
                "entity": ref,
                "property": "headcount",
                "value": rng.randrange(5, 5000),
                "as_of": "2026-01-01",
            }
        )
        for day in range(3):
            statements.append(
                {
                    "entity": ref,
                    "property": "score",
                    "value": round(rng.uniform(0, 100), 2),
                    "as_of": f"2026-07-0{day + 1}",
                }
            )
    return statements  # fmt: skip


def _audit_triggers(action: str) -> str:
    # The audit triggers only: those keeping fact_current and fact_daily stay on.
    events = ("insert", "update", "delete")
    return "ALTER TABLE fact " + ", ".join(f"{action} TRIGGER audit_{e}" for e in events)


def build_facts(sg: SignalGraph, companies: list[str]) -> dict[str, Any]:
    """Ingest the statements, half with the audit triggers on and half with them off."""
    sg.sources.add("vendor", trust_rank=5)
    sg.facts.define("revenue", "money", unit="USD")
    sg.facts.define("headcount", "integer")
    sg.facts.define("score", "number")
    timings = {}
    for part, audited in ((0, True), (1, False)):
        statements = fact_statements(companies, part)
        if not audited:
            with sg.engine.begin() as conn:
                conn.execute(sa.text(_audit_triggers("DISABLE")))
        try:
            started = time.perf_counter()
            result = sg.facts.add(statements, source="vendor")
            elapsed = time.perf_counter() - started
        finally:
            if not audited:
                with sg.engine.begin() as conn:
                    conn.execute(sa.text(_audit_triggers("ENABLE")))
        assert result.counters["rejected"] == 0, result.counters
        timings["with_audit" if audited else "without_audit"] = len(statements) / elapsed
    return {
        "fact_rows_per_s_with_audit": round(timings["with_audit"], 1),
        "fact_rows_per_s_without_audit": round(timings["without_audit"], 1),
        "fact_audit_ratio": round(timings["with_audit"] / timings["without_audit"], 3),
    }


def build_curation(sg: SignalGraph, entities: list[Any], lists: int, annotated: int) -> None:
    """Lists of 500 entities (and one of signals) and annotated entities, via the API."""
    rng = random.Random(SEED)
    for number in range(lists):
        name = f"list {number}"
        sg.lists.create(name)
        sg.lists.add(name, rng.sample(entities, min(500, len(entities))))
    signals = [s.id for s in sg.signals.list(limit=500)]
    sg.lists.create("reading")
    sg.lists.add("reading", signals)
    for entity_id in rng.sample(entities, min(annotated, len(entities))):
        sg.annotations.set(
            entity_id, stage=rng.choice(STAGES), rank=rng.randrange(1, 100), actor="bench"
        )


def _generated_rows(count: int, vocabulary: list[str]) -> Any:
    """Yield (n, published_at, lang, title, text) rows; word frequencies are skewed."""
    rng = np.random.default_rng(SEED)
    words = np.array(vocabulary, dtype=object)
    weights = 1.0 / np.arange(1, len(vocabulary) + 1) ** 0.9
    weights /= weights.sum()
    step = dt.timedelta(days=DAYS) / count
    chunk = 10_000
    for offset in range(0, count, chunk):
        size = min(chunk, count - offset)
        picks = rng.choice(len(vocabulary), size=(size, 100), p=weights)
        lengths = rng.integers(50, 100, size=size)
        for i in range(size):
            n = offset + i
            row = words[picks[i]]
            yield (
                n,
                START + step * n,
                "de" if n % 10 == 0 else "en",
                " ".join(row[:8]),
                " ".join(row[8 : 8 + lengths[i]]),
            )


def _record_ids(conn: sa.Connection, workspace_id: Any) -> list[Any]:
    return list(
        conn.execute(
            sa.text("SELECT id FROM entity_record WHERE workspace_id = :ws ORDER BY id"),
            {"ws": workspace_id},
        ).scalars()
    )


def percentiles(samples: list[float]) -> dict[str, float]:
    """Return p50/p95/p99 and the mean of latencies in milliseconds."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "runs": len(ordered),
    }


def measure(repeat: int, make_call: Callable[[random.Random], Callable[[], Any]]) -> list[float]:
    """Time `repeat` calls, each with fresh parameters (parameter choice is not timed)."""
    rng = random.Random(SEED)
    make_call(rng)()  # warm the plan cache and the connection
    samples = []
    for _ in range(repeat):
        call = make_call(rng)
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def vocabulary_words() -> list[str]:
    """Return a deterministic vocabulary: topic words first (frequent), then made-up words."""
    rng = np.random.default_rng(SEED)
    letters = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
    made = {"".join(rng.choice(letters, size=int(rng.integers(3, 10)))) for _ in range(20_000)}
    return [*INDUSTRY_WORDS, *sorted(made)]


def query_mix(
    sg: SignalGraph, context: dict[str, Any]
) -> dict[str, Callable[[random.Random], Callable[[], Any]]]:
    """Return, per query kind, a factory of one call with random parameters."""
    entities: list[Any] = context["entities"]
    popular: list[Any] = context["popular"]
    names: list[str] = context["names"]
    rare_words: list[str] = context["rare_words"]

    def page_after(r: random.Random) -> Callable[[], Any]:
        cursors = context["signal_cursors"]
        return partial(sg.signals.list, limit=50, cursor=cursors[r.randrange(len(cursors))])

    def phrase_in_month(r: random.Random) -> Callable[[], Any]:
        first, second = r.sample(INDUSTRY_WORDS, 2)
        day = START + dt.timedelta(days=r.randrange(DAYS - 30))
        return partial(
            sg.signals.search,
            f'"{first} {second}"',
            since=day,
            until=day + dt.timedelta(days=30),
            limit=50,
        )

    mix: dict[str, Callable[[random.Random], Callable[[], Any]]] = {
        "signals_latest_page": lambda r: partial(sg.signals.list, limit=50),
        "signals_next_page": page_after,
        "signals_search_common_word": lambda r: partial(
            sg.signals.search, r.choice(INDUSTRY_WORDS), limit=50
        ),
        "signals_search_rare_word": lambda r: partial(
            sg.signals.search, r.choice(rare_words), limit=50
        ),
        "signals_search_phrase_in_month": phrase_in_month,
        "signals_of_entity": lambda r: partial(sg.signals.list, entity=r.choice(entities)),
        "signals_of_popular_entity": lambda r: partial(sg.signals.list, entity=r.choice(popular)),
        "entities_search_name": lambda r: partial(sg.entities.search, r.choice(names)),
        "entities_search_prefix": lambda r: partial(sg.entities.search, r.choice(names)[:5]),
        "entities_by_identifier": lambda r: partial(
            sg.entities.search,
            identifier=f"ticker:T{r.randrange(0, context['entity_count'], 10):06d}",
        ),
        "entity_dossier": lambda r: partial(sg.entities.show, r.choice(entities)),
        "entities_by_fact_condition": lambda r: partial(
            sg.entities.search, where=[f"revenue > {r.randrange(10, 490)}M"], limit=50
        ),
        "entities_in_list_at_stage": lambda r: partial(
            sg.entities.search,
            in_list=f"list {r.randrange(context['lists'])}",
            stage=r.choice(STAGES),
            limit=50,
        ),
        "signals_in_list": lambda r: partial(sg.signals.list, list_name="reading", limit=50),
        "facts_current": lambda r: partial(sg.facts.current, r.choice(entities)),
        "facts_history": lambda r: partial(sg.facts.history, r.choice(entities), "score"),
        "facts_percentile_of_a_day": lambda r: partial(
            sg.facts.percentile, "score", date=dt.date(2026, 7, r.randrange(1, 4)), limit=50
        ),
    }
    return mix


def build(sg: SignalGraph, args: argparse.Namespace, vocabulary: list[str]) -> dict[str, Any]:
    """Build the corpus in an empty database; return how long each part took."""
    figures: dict[str, Any] = {}
    sg.sources.add("registry")
    started = time.perf_counter()
    sg.entities.ingest(entity_records(args.entities), source="registry")
    sg.resolve()
    figures["build_entities_s"] = round(time.perf_counter() - started, 1)
    print(f"entities built in {figures['build_entities_s']} s", file=sys.stderr)
    figures["build_signals_s"] = round(build_signals(sg, args.signals, vocabulary), 1)
    print(f"signals built in {figures['build_signals_s']} s", file=sys.stderr)
    companies = [f"c{i}" for i in range(args.entities) if i % 5 != 4]
    figures |= build_facts(sg, companies)
    print(f"facts: {figures}", file=sys.stderr)
    started = time.perf_counter()
    build_curation(sg, _canonical(sg), args.lists, args.annotated)
    figures["build_curation_s"] = round(time.perf_counter() - started, 1)
    with sg.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    return figures


def reuse_url(admin_url: str, name: str) -> str:
    """Return the URL of a corpus kept by an earlier `--keep` run (upgraded on connect)."""
    url = sa.engine.make_url(admin_url).set(database=name)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build the corpus, run the mix, return the figures."""
    home = Path(tempfile.mkdtemp(prefix="sg-bench-"))
    admin = server_url(args.database_url, home)
    name = "sg_bench_query"
    url = reuse_url(admin, name) if args.reuse else fresh_database(admin, name)
    figures: dict[str, Any] = {"signals": args.signals, "entities": args.entities}
    sg = signalgraph.connect(url=url, workspace="default")
    try:
        upgrade(sg.engine)
        vocabulary = vocabulary_words()
        if not args.reuse:
            figures |= build(sg, args, vocabulary)
        context = _context(sg, vocabulary, args.entities) | {"lists": args.lists}
        results = {}
        for kind, factory in query_mix(sg, context).items():
            if args.only and kind not in args.only.split(","):
                continue
            results[kind] = percentiles(measure(args.repeat, factory))
            results[kind]["under_target"] = results[kind]["p95_ms"] < TARGET_P95_MS
            print(f"{kind}: {results[kind]}", file=sys.stderr)
        figures["queries"] = results
        figures["all_under_target"] = all(r["under_target"] for r in results.values())
    finally:
        sg.close()
        if not (args.keep or args.reuse):
            drop_database(admin, name)
    return figures


def _canonical(sg: SignalGraph) -> list[Any]:
    with sg.engine.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT id FROM entity e WHERE NOT EXISTS (SELECT 1 FROM entity_redirect r "
                    "WHERE r.workspace_id = e.workspace_id AND r.from_id = e.id) ORDER BY id"
                )
            ).scalars()
        )


def _context(sg: SignalGraph, vocabulary: list[str], entity_count: int) -> dict[str, Any]:
    entities = _canonical(sg)
    with sg.engine.connect() as conn:
        popular = list(
            conn.execute(
                sa.text(
                    "SELECT r.entity_id FROM mention m JOIN entity_record r "
                    "ON r.workspace_id = m.workspace_id AND r.id = m.record_id "
                    "GROUP BY r.entity_id ORDER BY count(*) DESC LIMIT 20"
                )
            ).scalars()
        )
        names = list(
            conn.execute(sa.text("SELECT name FROM entity ORDER BY id LIMIT 5000")).scalars()
        )
    cursors = []
    page = sg.signals.list(limit=50)
    for _ in range(50):
        if page.next_cursor is None:
            break
        cursors.append(page.next_cursor)
        page = sg.signals.list(limit=50, cursor=page.next_cursor)
    return {
        "entities": entities,
        "popular": popular,
        "names": names,
        "rare_words": vocabulary[len(vocabulary) - 2000 :],
        "signal_cursors": cursors,
        "entity_count": entity_count,
    }


def main() -> None:
    """Parse arguments, run the benchmark, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200, help="calls per query kind")
    parser.add_argument("--lists", type=int, default=20, help="lists of 500 entities")
    parser.add_argument("--annotated", type=int, default=2000, help="annotated entities")
    parser.add_argument("--database-url", default=os.environ.get("SIGNALGRAPH_DATABASE_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--only", help="run only these query kinds (comma-separated)")
    parser.add_argument(
        "--reuse", action="store_true", help="query the corpus an earlier --keep run left"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = run(args)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for kind, row in figures["queries"].items():
            print(
                f"{kind:34} p50 {row['p50_ms']:8.2f}  p95 {row['p95_ms']:8.2f}  "
                f"p99 {row['p99_ms']:8.2f} ms  {'ok' if row['under_target'] else 'SLOW'}"
            )


if __name__ == "__main__":
    main()
