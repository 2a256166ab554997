"""The ingest benchmark's baselines: the same signal file written without signalgraph.

- raw_copy: parse the file and binary-COPY its fields into an UNLOGGED table without
  indexes (no checks, no dedup, no durability, no search vector).
- indexed_copy: parse the file and binary-COPY the same rows, a batch per transaction,
  into a logged copy of the signal table: its columns, its generated search vector and
  every index it and its partitions have (the pair index too when the database has it),
  partitioned by month like it. The database's own work for these rows, with nothing
  of signalgraph's: the floor.
- orm_same_work: the seed-000 pattern (SQLAlchemy ORM objects saved with
  `Session.bulk_save_objects`, a batch per transaction) into another such copy.

Each reads the file as it goes, a batch at a time: memory stays bounded at any size.
The copies live in schema `bench` of the database signalgraph ingested into, and take
its partitions' bounds, so they are made after that ingest.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import sqlalchemy as sa
from psycopg import sql
from psycopg.types.json import set_json_dumps
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from signalgraph.ids import uuid7

BENCH_SCHEMA = "bench"
# The same constants on every row: one workspace, one source, one run, as an ingest run.
WORKSPACE_ID = uuid.UUID("00000000-0000-7000-8000-000000000001")
SOURCE_ID = uuid.UUID("00000000-0000-7000-8000-000000000002")
RUN_ID = uuid.UUID("00000000-0000-7000-8000-000000000003")


def parsed_batches(path: Path, size: int) -> Iterator[list[tuple[dict[str, Any], dt.datetime]]]:
    """Yield the file's valid records with their published time, `size` at a time."""
    batch: list[tuple[dict[str, Any], dt.datetime]] = []
    with path.open("rb") as lines:
        for line in lines:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(record, dict) or not isinstance(record.get("external_id"), str):
                continue
            try:
                published = dt.datetime.fromisoformat(record["published_at"])
            except (KeyError, TypeError, ValueError):
                continue
            batch.append((record, published))
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def _connect(url: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(url)
    # JSON written as signalgraph writes it (orjson), not by the slower standard module.
    set_json_dumps(orjson.dumps, context=conn)
    return conn


def raw_copy(url: str, path: Path) -> float:
    """Return seconds to parse the file and binary-COPY its fields into an unlogged table."""
    with _connect(url) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(BENCH_SCHEMA)))
        conn.execute(
            "CREATE UNLOGGED TABLE bench.raw_copy (external_id text, kind text, title text, "
            "text text, url text, author text, published_at timestamptz, metadata jsonb, "
            "raw jsonb, mentions jsonb) WITH (autovacuum_enabled = false)"
        )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy("COPY bench.raw_copy FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(
                ["text", "text", "text", "text", "text", "text", "timestamptz", "jsonb", "jsonb",
                 "jsonb"]
            )  # fmt: skip
            for batch in parsed_batches(path, 5000):
                for record, published in batch:
                    copy.write_row(
                        (
                            record["external_id"],
                            record.get("kind"),
                            record.get("title"),
                            record.get("text"),
                            record.get("url"),
                            record.get("author"),
                            published,
                            record.get("metadata"),
                            record.get("raw"),
                            record.get("mentions"),
                        )
                    )
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench.raw_copy")
        conn.commit()
    return elapsed


# -- the copies of the signal table ----------------------------------------------------

_PARTITIONS = """
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'signalgraph.signal'::regclass ORDER BY c.relname
"""
_INDEXES = """
SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
WHERE c.relnamespace = CAST(%s AS regnamespace) AND c.relname = %s
"""


def clone_signal_table(conn: psycopg.Connection[Any], name: str) -> int:
    """Create bench.<name> like signalgraph.signal, partitions and all; return its indexes.

    `LIKE … INCLUDING ALL` brings the columns, defaults, the generated search vector
    and every index (checked on PostgreSQL 15 and 18); the partitions take the bounds of
    the signal table's own. Autovacuum is off on each, as on the signal partitions.
    """
    table = sql.Identifier(BENCH_SCHEMA, name)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(BENCH_SCHEMA)))
    conn.execute(
        sql.SQL("CREATE TABLE {} (LIKE signalgraph.signal INCLUDING ALL) PARTITION BY RANGE (id)")
        .format(table)
    )  # fmt: skip
    for partition, bound in conn.execute(_PARTITIONS).fetchall():
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} PARTITION OF {} {} "
                "WITH (autovacuum_enabled = false, toast.autovacuum_enabled = false)"
            ).format(
                sql.Identifier(BENCH_SCHEMA, f"{name}_{partition.removeprefix('signal_')}"),
                table,
                sql.SQL(bound),
            )
        )
    conn.commit()
    source = conn.execute(_INDEXES, ("signalgraph", "signal")).fetchone()
    copied = conn.execute(_INDEXES, (BENCH_SCHEMA, name)).fetchone()
    if not source or not copied or source[0] != copied[0]:
        raise RuntimeError(f"bench.{name} has {copied} indexes, signalgraph.signal {source}")
    return int(copied[0])


def _drop(conn: psycopg.Connection[Any], name: str) -> None:
    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(BENCH_SCHEMA, name)))
    conn.commit()


def _count(conn: psycopg.Connection[Any], name: str) -> int:
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(BENCH_SCHEMA, name))
    ).fetchone()
    return int(row[0]) if row else 0


# What signalgraph's COPY of new signals writes, less the duplicate pointers (NULL for
# nearly every row; left to their default here).
_COLUMNS = (
    "workspace_id", "id", "source_id", "external_id", "kind", "title", "text", "url", "author",
    "lang", "published_at", "metadata", "raw", "run_id",
)  # fmt: skip
_TYPES = (
    "uuid", "uuid", "uuid", "text", "text", "text", "text", "text", "text", "text",
    "timestamptz", "jsonb", "jsonb", "uuid",
)  # fmt: skip


def _row(record: dict[str, Any], published: dt.datetime) -> tuple[Any, ...]:
    """Return a record as the signal table's row (ids in published-month partitions)."""
    return (
        WORKSPACE_ID,
        uuid7(published),
        SOURCE_ID,
        record["external_id"],
        record.get("kind") or "document",
        record.get("title"),
        record.get("text"),
        record.get("url"),
        record.get("author"),
        record.get("lang"),
        published,
        record.get("metadata") or {},
        record.get("raw"),
        RUN_ID,
    )


def indexed_copy(url: str, path: Path, batch_size: int) -> tuple[float, int]:
    """Return seconds to parse the file and COPY it into a copy of the signal table, and
    the rows stored."""
    name = "copy_signal"
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(BENCH_SCHEMA, name), sql.SQL(", ").join(map(sql.Identifier, _COLUMNS))
    )
    with _connect(url) as conn:
        clone_signal_table(conn, name)
        started = time.perf_counter()
        for batch in parsed_batches(path, batch_size):
            with conn.cursor().copy(statement) as copy:
                copy.set_types(list(_TYPES))
                for record, published in batch:
                    copy.write_row(_row(record, published))
            conn.commit()
        elapsed = time.perf_counter() - started
        stored = _count(conn, name)
        _drop(conn, name)
    return elapsed, stored


class _Base(DeclarativeBase):
    pass


class _OrmSignal(_Base):
    """bench.orm_signal (made by clone_signal_table): the stored columns of a signal."""

    __tablename__ = "orm_signal"
    __table_args__ = {"schema": BENCH_SCHEMA}  # noqa: RUF012 (SQLAlchemy's declaration)
    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    source_id: Mapped[uuid.UUID]
    external_id: Mapped[str]
    kind: Mapped[str]
    title: Mapped[str | None]
    text: Mapped[str | None]
    url: Mapped[str | None]
    author: Mapped[str | None]
    lang: Mapped[str | None]
    published_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)
    raw: Mapped[Any] = mapped_column(JSONB, nullable=True)
    run_id: Mapped[uuid.UUID]


def orm_same_work(url: str, path: Path, batch_size: int) -> tuple[float, int]:
    """Return seconds to parse the file and bulk_save_objects it into a copy of the signal
    table, and the rows stored."""
    name = _OrmSignal.__tablename__
    with _connect(url) as conn:
        clone_signal_table(conn, name)
    # The pattern as written (the default JSON serialiser, as seed 000 had it).
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    started = time.perf_counter()
    with Session(engine) as session:
        for batch in parsed_batches(path, batch_size):
            session.bulk_save_objects(
                [
                    _OrmSignal(
                        workspace_id=WORKSPACE_ID,
                        id=uuid7(published),
                        source_id=SOURCE_ID,
                        external_id=record["external_id"],
                        kind=record.get("kind") or "document",
                        title=record.get("title"),
                        text=record.get("text"),
                        url=record.get("url"),
                        author=record.get("author"),
                        lang=record.get("lang"),
                        published_at=published,
                        meta=record.get("metadata") or {},
                        raw=record.get("raw"),
                        run_id=RUN_ID,
                    )
                    for record, published in batch
                ]
            )
            session.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    with _connect(url) as conn:
        stored = _count(conn, name)
        _drop(conn, name)
    return elapsed, stored
