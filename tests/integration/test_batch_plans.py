"""Every statement of a batch reads a growing table through an index keyed by the batch (issue 21).

The database is filled with the library (10,000 signals with mentions, URLs, texts and
links; 5,000 entity records, resolved with the signals' mentions; facts and relations
about them), and its tables never get statistics: autovacuum is off on every table
before the fill and nothing analyses them, the state of a fresh or fast-growing table.
Each test then runs one small batch (20 records) on a copy of that database with every
statement explained and measured (tests/plans.py): no statement may read more of a
growing table than an index probe per record needs (`plans.bound`), whatever plan the
missing statistics suggest.

Company names are made-up words that few other names resemble: the resolver counts,
through the index, how many records hold each of a record's blocking keys (words,
prefixes, spellings one letter apart, initials), capped per key by design
(resolve.candidates); keys held by thousands would be that design's cost, not a plan's.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql
from psycopg.pq import TransactionStatus

import signalgraph
from signalgraph.client import SignalGraph
from signalgraph.load.options import IngestResult
from signalgraph.resolve.candidates import MAX_CANDIDATES
from tests import corpus
from tests.conftest import PACKAGE_DIR, TEST_URL_ENV, DatabaseFactory
from tests.corpus import WORDS
from tests.plans import (
    PlanCapture,
    assert_batch_plans,
    bound,
    capture_plans,
    offences,
    rows_read,
)

pytestmark = pytest.mark.slow

SIGNALS = 10_000
RECORDS = 5_000  # entity records of the vendor source
MENTIONED = 1_000  # the companies the signals mention
STATEMENTS = 2_000  # facts, and relations
BATCH = 20
FILL_BUILD_LOCK = 0x5167_F111  # held while a filled database is being made
FILL_USERS_LOCK = 0x5167_F112  # held shared by each module copying one
FIRST_DAY = date(2026, 1, 1)
DAYS = 181  # January to June 2026: six monthly partitions, made before the fill
SYLLABLES = [c + v for c in "bcdfghjklmnprstvwxz" for v in "aeiou"]
SYLLABLES += ["qua", "que", "qui", "quo", "quy"]
# The tables that grow with what is ingested; the fill makes each far bigger than a
# batch's bound (test_the_fill_leaves_big_tables_without_statistics).
GROWING = (
    "signal_key",
    "signal",
    "fingerprint",
    "mention",
    "signal_link",
    "entity_record",
    "record_key",
    "entity",
    "fact",
    "fact_current",
    "relation",
    "audit_event",
)
# Statements that take no batch and read a whole workspace on purpose: no index makes
# them shorter, so they are a cost per run, not a plan gone wrong.
WHOLE_WORKSPACE = {
    "SELECT count(*) FROM entity_record WHERE workspace_id = %(ws)s": (
        "the resolver's population, counted once per run: key rarity is relative to it"
    ),
}
# A resolved record counts the holders of its dozen or so blocking keys through the
# index (two or three each here: the record and its namesakes), and loads up to
# MAX_CANDIDATES candidates.
RESOLVE_PER_RECORD = MAX_CANDIDATES + 10


# -- the records ------------------------------------------------------------------------


def article(index: int, words: int) -> str:
    """Return a pseudo-article, the same for the same index."""
    rng = random.Random(index)
    return " ".join(rng.choice(WORDS) + str(rng.randint(0, 999)) for _ in range(words))


def company_word(index: int) -> str:
    """Return a made-up word of three syllables, one per index below 10,000."""
    syllables = (index % 100, index // 100 % 100, (index * 7 + 3) % 100)
    return "".join(SYLLABLES[s] for s in syllables).capitalize()


def company_name(index: int) -> str:
    """Return a company's name: one made-up word that few other names resemble."""
    return company_word(index)


def domain(index: int) -> str:
    return f"{company_word(index).lower()}-{index}.example"


def day(index: int) -> date:
    return FIRST_DAY + timedelta(days=index % DAYS)


def signal(index: int, **fields: Any) -> dict[str, Any]:
    """Return signal number `index` of the wire source as the fill sends it."""
    record: dict[str, Any] = {
        "external_id": f"w-{index}",
        "kind": "article",
        "title": f"Story {index}",
        # One in a hundred is long: a long text's near copies are found by simhash.
        "text": article(index, 200 if index % 100 == 0 else 60),
        "url": f"https://news.example.com/{index}?utm_source=feed",
        "author": "Desk",
        "published_at": f"{day(index)}T12:00:00Z",
        "mentions": [
            {
                "type": "company",
                "text": company_name(index % MENTIONED),
                "identifiers": {"domain": domain(index % MENTIONED)},
            }
        ],
    }
    if index % 10 == 9:
        record["links"] = [{"type": "references", "to": {"external_id": f"w-{index - 1}"}}]
    if index < 5:  # waits for a signal that a later batch brings
        record["links"] = [{"type": "replies_to", "to": {"external_id": f"late-{index}"}}]
    return record | fields


def new_signal(index: int, external_id: str, **fields: Any) -> dict[str, Any]:
    """Return a signal the fill did not store (its own text, URL and key)."""
    return signal(SIGNALS + index, external_id=external_id, **fields)


def entity_record(index: int, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": f"v-{index}",
        "type": "company",
        "name": company_name(index),
        "identifiers": {"domain": domain(index), "vendor_id": f"V{index:05d}"},
        "properties": {"country": "US", "founded": str(1950 + index % 70)},
    } | fields


def fact(index: int, value: int, **fields: Any) -> dict[str, Any]:
    return {
        "entity": {"source": "vendor", "external_id": f"v-{index}"},
        "property": "headcount",
        "value": value,
        "as_of": "2026-01-01",
    } | fields


def relation(index: int, **fields: Any) -> dict[str, Any]:
    return {
        "subject": {"source": "vendor", "external_id": f"v-{index}"},
        "predicate": "invests_in",
        "object": {"source": "vendor", "external_id": f"v-{(index + 1) % RECORDS}"},
        "valid_from": "2025-01-01",
    } | fields


# -- the database -----------------------------------------------------------------------


def never_analysed(url: str) -> None:
    """Turn autovacuum (and so auto-analyse) off on every table of the schema.

    Partitioned tables take no storage parameters, and partitions do not inherit them:
    each leaf is set. Run again after the fill, for any partition made meanwhile.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        leaves = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'signalgraph' AND c.relkind = 'r'"
        ).fetchall()
        for (name,) in leaves:
            conn.execute(
                sql.SQL("ALTER TABLE signalgraph.{} SET (autovacuum_enabled = false)").format(
                    sql.Identifier(name)
                )
            )


def statistics_held(url: str, *, autovacuum: bool = False) -> list[str]:
    """Return each table of the schema that has statistics or was vacuumed or analysed.

    A table never vacuumed nor analysed has `reltuples` -1 (PostgreSQL 14 and later) and
    no `pg_stats` rows. With `autovacuum`, a table autovacuum may still visit is named too.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            """
            SELECT c.relname, c.relkind, c.reltuples, c.reloptions,
                   EXISTS (SELECT 1 FROM pg_stats s
                           WHERE s.schemaname = n.nspname AND s.tablename = c.relname),
                   t.last_analyze, t.last_autoanalyze, t.last_vacuum, t.last_autovacuum
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_stat_user_tables t ON t.relid = c.oid
            WHERE n.nspname = 'signalgraph' AND c.relkind IN ('r', 'p')
            """
        ).fetchall()
    found = []
    for name, kind, reltuples, options, has_stats, *times in tables:
        if reltuples >= 0 or has_stats or any(times):
            found.append(f"{name}: reltuples {reltuples}, pg_stats {has_stats}, times {times}")
        if autovacuum and kind == "r" and "autovacuum_enabled=false" not in (options or []):
            found.append(f"{name}: autovacuum may analyse it (options {options})")
    return found


def row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        counts = {}
        for table in GROWING:
            count = sql.SQL("SELECT count(*) FROM signalgraph.{}").format(sql.Identifier(table))
            (counts[table],) = conn.execute(count).fetchone() or (0,)
        return counts


def connect(url: str) -> SignalGraph:
    return signalgraph.connect(url=url, pool_size=2, max_overflow=2)


def fill(sg: SignalGraph) -> None:
    """Store the signals, records, entities, facts and relations the batches meet."""
    sg.sources.add("wire")
    sg.sources.add("vendor")
    sg.partitions.ensure_range(FIRST_DAY, FIRST_DAY + timedelta(days=DAYS - 1))
    never_analysed(sg.url)
    # One batch per kind: the fill is quick whatever the plans.
    signals = sg.ingest([signal(i) for i in range(SIGNALS)], source="wire", batch_size=SIGNALS)
    assert signals.counters["inserted"] == SIGNALS
    records = [entity_record(i) for i in range(RECORDS)]
    result = sg.entities.ingest(records, source="vendor", batch_size=RECORDS)
    assert result.counters["inserted"] == RECORDS
    assert sg.resolve().counters["records"] == RECORDS + MENTIONED
    sg.facts.define("headcount", type="integer")
    facts = [fact(i, i) for i in range(STATEMENTS)]
    result = sg.facts.add(facts, source="vendor", batch_size=STATEMENTS)
    assert result.counters["inserted"] == STATEMENTS
    relations = [relation(i) for i in range(STATEMENTS)]
    result = sg.relations.add(relations, source="vendor", batch_size=STATEMENTS)
    assert result.counters["inserted"] == STATEMENTS


def fill_digest() -> str:
    """Return a digest of what the filled database is made by: the library and this fill."""
    digest = hashlib.sha256()
    for path in [*sorted(PACKAGE_DIR.rglob("*.py")), Path(__file__), Path(corpus.__file__)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def build_filled(server_url: str, template: str, name: str, home: Path) -> None:
    """Make database `name`: the migrated template, filled, with no statistics."""
    building = DatabaseFactory(server_url, template, [])
    url = building.clone()
    try:
        with pytest.MonkeyPatch.context() as env:
            # The fill runs outside conftest's per-test isolation: isolate it the same way.
            for key in list(os.environ):
                if key.startswith("SIGNALGRAPH_") and key not in {
                    TEST_URL_ENV,
                    "SIGNALGRAPH_TEST_HOME",
                }:
                    env.delenv(key)
            env.setenv("SIGNALGRAPH_HOME", str(home))
            sg = connect(url)
            try:
                fill(sg)
            finally:
                sg.close()
        never_analysed(url)
        held = statistics_held(url, autovacuum=True)
        assert not held, "the fill left statistics behind:\n" + "\n".join(held)
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(building.created[0]), sql.Identifier(name)
                )
            )
        building.created.clear()
    finally:
        building.drop_all()


def drop_other_fills(admin: psycopg.Connection[Any], keep: str) -> None:
    """Drop the filled databases of other versions of the code, when no test copies them."""
    (alone,) = admin.execute("SELECT pg_try_advisory_lock(%s)", (FILL_USERS_LOCK,)).fetchone() or ()
    if not alone:
        return
    try:
        stale = admin.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, 'sg_plans_') "
            "AND datname <> %s",
            (keep,),
        ).fetchall()
        for (name,) in stale:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        admin.execute("SELECT pg_advisory_unlock(%s)", (FILL_USERS_LOCK,))


@pytest.fixture(scope="module")
def filled_template(
    server_url: str, template_name: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Yield the name of the filled database, made once per version of the code.

    Like the migrated template (conftest), it is kept: the next session, and every
    xdist worker, copies it rather than filling again. FILL_BUILD_LOCK serialises
    building; a module copying a fill holds FILL_USERS_LOCK shared, and the fills of
    other versions are dropped (by a builder) only when no module holds it.
    """
    name = f"sg_plans_{fill_digest()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute("SELECT pg_advisory_lock(%s)", (FILL_BUILD_LOCK,))
        try:
            found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if not found.fetchone():
                home = tmp_path_factory.mktemp("plans-home")
                build_filled(server_url, template_name, name, home)
                drop_other_fills(admin, keep=name)
            # Taken before the build lock is let go: no fill is dropped from under it.
            admin.execute("SELECT pg_advisory_lock_shared(%s)", (FILL_USERS_LOCK,))
        finally:
            admin.execute("SELECT pg_advisory_unlock(%s)", (FILL_BUILD_LOCK,))
        yield name  # the shared lock is held until the module is done


@pytest.fixture
def filled(server_url: str, filled_template: str) -> Iterator[SignalGraph]:
    """Yield a client on a fresh copy of the filled database, still without statistics."""
    copies = DatabaseFactory(server_url, filled_template, [])
    url = copies.clone()
    try:
        held = statistics_held(url, autovacuum=True)
        assert not held, "the copy has statistics:\n" + "\n".join(held)
        sg = connect(url)
        try:
            yield sg
        finally:
            sg.close()
        held = statistics_held(url)
        assert not held, "statistics appeared during the test:\n" + "\n".join(held)
    finally:
        copies.drop_all()


def scalars(sg: SignalGraph, query: str, **params: Any) -> dict[str, Any]:
    with sg.engine.connect() as conn:
        return {str(k): v for k, v in conn.execute(sa.text(query), params).all()}


def assert_captured(capture: PlanCapture, at_least: int, *tables: str) -> None:
    """Make sure the capture saw the batch's statements, and the tables they read."""
    assert len(capture.plans) >= at_least, [p.first_line for p in capture.plans]
    assert not capture.failures, capture.failures
    for table in tables:
        assert capture.reading(table), f"no captured statement read {table}"


# -- the fill, and the helper -----------------------------------------------------------


def test_the_fill_leaves_big_tables_without_statistics(filled: SignalGraph) -> None:
    assert statistics_held(filled.url, autovacuum=True) == []
    counts = row_counts(filled.url)
    # A scan of any of them is beyond every bound used here.
    assert min(counts.values()) > 3 * bound(BATCH), counts
    assert counts["entity_record"] > 3 * bound(BATCH, RESOLVE_PER_RECORD), counts


# The shape, with the planner kept off every index: a scan of the workspace.
SCANNED_KEYS = """
SELECT k.signal_id FROM signal_key k
WHERE k.workspace_id = %s AND k.external_id IN (SELECT jsonb_array_elements_text(%s::jsonb))
"""
# One probe of the unique index per key, whatever the planner believes of the table.
# (`k.external_id = ANY(%s::text[])` alone is not enough: PostgreSQL 15 without
# statistics probes (workspace_id, source_id) and filters the whole source.)
PROBED_KEYS = """
SELECT k.signal_id FROM unnest(%s::text[]) AS b(external_id) CROSS JOIN LATERAL (
    SELECT k.signal_id FROM signal_key k
    WHERE k.workspace_id = %s AND k.source_id = %s AND k.external_id = b.external_id LIMIT 1
) AS k
"""


def test_the_helper_flags_a_scan_and_passes_an_index_probe(filled: SignalGraph) -> None:
    keys = [f"w-{i}" for i in range(0, SIGNALS, SIGNALS // BATCH)]
    workspace = filled.workspace_id
    source = scalars(filled, "SELECT name, id FROM source WHERE name = 'wire'")["wire"]

    with filled.transaction() as conn, capture_plans(GROWING) as scanned:
        conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        found = conn.exec_driver_sql(SCANNED_KEYS, (workspace, orjson.dumps(keys).decode()))
        assert len(found.all()) == BATCH
    (flagged,) = offences(scanned, BATCH)
    assert "signal_key: 10000 rows read (bound 300)" in flagged
    assert "Seq Scan on signal_key" in flagged
    with pytest.raises(AssertionError, match="signal_key: 10000 rows read"):
        assert_batch_plans(scanned, BATCH)

    with filled.transaction() as conn, capture_plans(GROWING) as probed:
        assert len(conn.exec_driver_sql(PROBED_KEYS, (keys, workspace, source)).all()) == BATCH
    (plan,) = probed.reading("signal_key")
    assert rows_read(plan.plan, GROWING, plan.roots) == {"signal_key": BATCH}
    assert_batch_plans(probed, BATCH)


def test_the_helper_flags_a_batch_expanded_once_per_row(filled: SignalGraph) -> None:
    keys = orjson.dumps([f"w-{i}" for i in range(BATCH)]).decode()
    with filled.transaction() as conn, capture_plans(GROWING) as capture:
        for method in ("hashjoin", "mergejoin", "material"):
            conn.exec_driver_sql(f"SET LOCAL enable_{method} = off")
        conn.exec_driver_sql(
            "SELECT count(*) FROM signal_key k WHERE k.workspace_id = %s AND EXISTS "
            "(SELECT 1 FROM jsonb_array_elements_text(%s::jsonb) b WHERE b = k.external_id)",
            (filled.workspace_id, keys),
        )
    (flagged,) = offences(capture, BATCH)
    assert "Function Scan jsonb_array_elements_text run 10000 times" in flagged


def test_the_helper_names_each_partition_by_its_table(filled: SignalGraph) -> None:
    with filled.transaction() as conn, capture_plans(GROWING) as capture:
        conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        conn.exec_driver_sql(
            "SELECT count(*) FROM mention WHERE workspace_id = %s AND ordinal > 0",
            (filled.workspace_id,),
        )
    (plan,) = capture.reading("mention")
    assert {plan.roots[name] for name in plan.roots if name.startswith("mention_")} == {"mention"}
    assert rows_read(plan.plan, GROWING, plan.roots) == {"mention": SIGNALS}


def test_the_capture_runs_each_statement_once_and_keeps_its_transaction(
    database_url: str,
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE scratch (n int)")
    with capture_plans(["scratch"]) as capture:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("INSERT INTO scratch VALUES (1)")  # explained in BEGIN … ROLLBACK
            assert conn.info.transaction_status == TransactionStatus.IDLE
        with psycopg.connect(database_url) as conn:
            insert = sql.SQL("INSERT INTO {} VALUES (%s)").format(sql.Identifier("scratch"))
            conn.execute(insert, (2,))  # a Composable
            assert conn.info.transaction_status == TransactionStatus.INTRANS
            with pytest.raises(psycopg.errors.DivisionByZero):
                conn.execute(b"SELECT n / 0 FROM scratch")
            conn.rollback()
            conn.execute("INSERT INTO scratch VALUES (3)")
            conn.execute("SAVEPOINT kept")  # not a data statement: run, not explained
            conn.commit()
        with psycopg.connect(database_url) as conn:
            (stored,) = conn.execute("SELECT array_agg(n ORDER BY n) FROM scratch").fetchone() or ()
    assert stored == [1, 3]
    explained = [" ".join(p.statement.split()) for p in capture.plans]
    assert explained[:3] == [
        "INSERT INTO scratch VALUES (1)",
        'INSERT INTO "scratch" VALUES (%s)',
        "INSERT INTO scratch VALUES (3)",
    ]
    assert [statement for statement, _ in capture.failures] == ["SELECT n / 0 FROM scratch"]


# -- the batches ------------------------------------------------------------------------


def write_captured(
    load: Callable[..., IngestResult], batch: list[dict[str, Any]], source: str
) -> tuple[dict[str, int], Any]:
    """Write one batch with every statement's plan captured; return its counters and plans."""
    with capture_plans(GROWING) as capture:
        result = load(batch, source=source, batch_size=BATCH)
    assert result.status == "succeeded", result.error
    return result.counters, capture


def test_a_signal_batch_reads_by_index(filled: SignalGraph) -> None:
    long_text = signal(100)["text"].split()
    batch = [
        *(new_signal(i, f"new-{i}") for i in range(5)),
        *(signal(i) for i in (11, 12, 13)),  # unchanged
        *(signal(i, title=f"Story {i}, revised") for i in (21, 22)),  # changed
        signal(23, text=article(23, 60) + " update", mentions=[]),  # changed, no mention
        *(new_signal(i, f"copy-{i}", text=signal(i)["text"]) for i in (31, 32)),
        # the same page as a stored signal's, written another way
        new_signal(33, "same-url", url="https://www.news.example.com/33/?utm_source=mail"),
        new_signal(200, "near-200", text=" ".join([*long_text, "extra"])),
        new_signal(300, "near-300", text=" ".join(long_text[1:])),
        # the targets two stored signals wait for
        *(new_signal(50 + i, f"late-{i}") for i in (0, 1)),
        new_signal(
            41,
            "linking",
            links=[
                {"type": "references", "to": {"external_id": "w-41"}},
                {"type": "amends", "reference": f"amends the Story 42 of {day(42)}"},
            ],
        ),
        new_signal(43, "dangling", links=[{"type": "references", "to": {"external_id": "x"}}]),
    ]
    assert len(batch) == BATCH
    counters, capture = write_captured(filled.ingest, batch, "wire")
    assert (counters["inserted"], counters["updated"], counters["unchanged"]) == (14, 3, 3)
    assert (counters["duplicates"], counters["near_duplicates"]) == (3, 2), counters
    assert counters["links_resolved"] == 4, counters
    assert_captured(capture, 20, "signal_key", "fingerprint", "signal", "mention", "signal_link")
    assert_batch_plans(capture, BATCH, ignore=WHOLE_WORKSPACE)


def test_an_entity_record_batch_reads_by_index(filled: SignalGraph) -> None:
    batch = [
        *(entity_record(RECORDS + i) for i in range(10)),  # new
        *(entity_record(i, name=f"{company_name(i)} Inc") for i in range(100, 106)),  # changed
        *(entity_record(i) for i in range(200, 204)),  # unchanged
    ]
    assert len(batch) == BATCH
    counters, capture = write_captured(filled.entities.ingest, batch, "vendor")
    assert (counters["inserted"], counters["updated"], counters["unchanged"]) == (10, 6, 4)
    assert_captured(capture, 5, "entity_record", "record_key")
    assert_batch_plans(capture, BATCH, ignore=WHOLE_WORKSPACE)


def test_resolving_a_batch_of_new_records_and_mentions_reads_by_index(
    filled: SignalGraph,
) -> None:
    records = [
        *(entity_record(RECORDS + i) for i in range(8)),  # new companies
        # new records of stored companies: the same vendor id links them
        *(
            entity_record(i, external_id=f"v-again-{i}", name=f"{company_word(i)} Holdings")
            for i in range(300, 306)
        ),
    ]
    assert filled.entities.ingest(records, source="vendor").counters["inserted"] == 14
    mentioning = [
        new_signal(
            60 + i,
            f"mentions-{i}",
            mentions=[
                {"type": "company", "text": company_name(i), "identifiers": {"domain": domain(i)}}
            ],
        )
        for i in range(6)
    ]
    assert filled.ingest(mentioning, source="wire").counters["inserted"] == 6
    with capture_plans(GROWING) as capture:
        result = filled.resolve()
    assert result.status == "succeeded"
    counters = result.counters
    assert (counters["records"], counters["mentions"]) == (14, 6), counters
    assert (counters["linked_by_identifier"], counters["new_entities"]) == (6, 8), counters
    assert_captured(capture, 10, "entity_record", "record_key", "mention")
    assert_batch_plans(capture, BATCH, per_record=RESOLVE_PER_RECORD, ignore=WHOLE_WORKSPACE)


def test_a_fact_batch_reads_by_index(filled: SignalGraph) -> None:
    entity_ids = scalars(
        filled,
        "SELECT external_id, entity_id FROM entity_record WHERE external_id = ANY(:ids)",
        ids=[f"v-{i}" for i in range(40, 43)],
    )
    batch = [
        *(fact(i, 10_000 + i) for i in range(8)),  # new values, by source record
        *(fact(i, i) for i in range(20, 26)),  # the same statements again
        *(fact(i, 20_000 + i, entity={"domain": domain(i)}) for i in range(30, 33)),
        *(fact(i, 30_000 + i, entity=str(entity_ids[f"v-{i}"])) for i in range(40, 43)),
    ]
    assert len(batch) == BATCH
    counters, capture = write_captured(filled.facts.add, batch, "vendor")
    assert (counters["inserted"], counters["unchanged"], counters["rejected"]) == (14, 6, 0)
    assert_captured(capture, 5, "entity", "entity_record", "record_key")
    assert_batch_plans(capture, BATCH, ignore=WHOLE_WORKSPACE)


def test_a_relation_batch_reads_by_index(filled: SignalGraph) -> None:
    batch = [
        *(relation(i, predicate="acquired") for i in range(10)),  # new
        *(relation(i) for i in range(50, 56)),  # the same statements again
        *(relation(i, subject={"domain": domain(i)}, predicate="founded") for i in range(60, 64)),
    ]
    assert len(batch) == BATCH
    counters, capture = write_captured(filled.relations.add, batch, "vendor")
    assert (counters["inserted"], counters["unchanged"], counters["rejected"]) == (14, 6, 0)
    assert_captured(capture, 5, "entity_record", "record_key")
    assert_batch_plans(capture, BATCH, ignore=WHOLE_WORKSPACE)
