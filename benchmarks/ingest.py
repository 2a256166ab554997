"""Ingest benchmark: signalgraph against a raw COPY floor and the ORM pattern, same process.

    python benchmarks/ingest.py --rows 200000 --json

Generates a deterministic NDJSON corpus (texts of about 1-2 KB, 5 % exact duplicates,
3 % near duplicates, 1 % bad lines), then measures against one PostgreSQL server:

- rows_per_s: `signalgraph ingest` of the file into a fresh database (validation,
  fingerprints, duplicate and near-duplicate detection, keys, mentions, rejects, run).
- reingest_rows_per_s: the same file again (everything unchanged).
- raw_copy_rows_per_s: read and parse the same file, binary COPY of its fields into an
  UNLOGGED table with no index (the floor: no checks, no dedup, no durability).
- orm_bulk_save_rows_per_s: read and parse the same file, SQLAlchemy ORM objects saved
  with `Session.bulk_save_objects` (the seed-000 pattern, in chunks of 5,000 so memory
  stays bounded) into a logged table with the indexes an idempotent signal table needs
  (primary key, unique (source, external_id), published_at, (source, published_at)).
- peak_rss_mb: the process's peak resident memory after the signalgraph ingest, before
  the baselines run.

The server is SIGNALGRAPH_DATABASE_URL / --database-url if given, else the embedded one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import signalgraph
from _db import drop_database, fresh_database, server_url
from signalgraph.db.migrate import upgrade
from signalgraph.db.phrase_index import set_phrase_index

VOCABULARY = 30_000
SEED = 20261127


def _words(rng: np.random.Generator) -> list[str]:
    letters = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
    weights = np.linspace(2.0, 0.2, letters.size)
    weights /= weights.sum()
    words = set()
    while len(words) < VOCABULARY:
        size = int(rng.integers(2, 11))
        words.add("".join(rng.choice(letters, size=size, p=weights)))
    return sorted(words)


def generate(path: Path, rows: int) -> dict[str, int]:
    """Write the corpus; return how many duplicates, near duplicates and bad lines it holds."""
    rng = np.random.default_rng(SEED)
    words = np.array(_words(rng), dtype=object)
    zipf = 1.0 / np.arange(1, VOCABULARY + 1) ** 1.05
    zipf /= zipf.sum()
    planted = {"duplicates": 0, "near_duplicates": 0, "bad_lines": 0}
    recent: list[str] = []
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    chunk = 2000
    with path.open("wb") as out:
        for offset in range(0, rows, chunk):
            size = min(chunk, rows - offset)
            lengths = rng.integers(160, 320, size=size)
            picks = rng.choice(VOCABULARY, size=(size, 320), p=zipf)
            roll = rng.random(size)
            lines = []
            for i in range(size):
                index = offset + i
                if roll[i] < 0.01:
                    planted["bad_lines"] += 1
                    bad = index % 3
                    lines.append(
                        b'{"external_id": "broken-' + str(index).encode() + b'", "text": "cut'
                        if bad == 0
                        else b'{"title": "no external id"}'
                        if bad == 1
                        else orjson.dumps({"external_id": f"d-{index}", "published_at": "soon"})
                    )
                    continue
                text = " ".join(words[picks[i, : lengths[i]]])
                if roll[i] < 0.06 and recent:
                    text = recent[int(rng.integers(0, len(recent)))]
                    planted["duplicates"] += 1
                elif roll[i] < 0.09 and recent:
                    base = recent[int(rng.integers(0, len(recent)))].split(" ")
                    base[int(rng.integers(0, len(base)))] = str(words[int(rng.integers(0, 500))])
                    text = " ".join(base)
                    planted["near_duplicates"] += 1
                else:
                    recent.append(text)
                    if len(recent) > 2000:
                        recent.pop(0)
                published = start + dt.timedelta(minutes=index * 3)
                lines.append(
                    orjson.dumps(
                        {
                            "external_id": f"n-{index}",
                            "kind": "article",
                            "title": f"Story {index}",
                            "text": text,
                            "url": f"https://news.example.com/{published:%Y/%m/%d}/{index}",
                            "author": "Newsdesk",
                            "published_at": published.isoformat(),
                            "metadata": {"section": "business", "words": int(lengths[i])},
                            "raw": {"provider": "bench", "id": index},
                            "mentions": [{"type": "company", "text": f"Company {index % 500}"}],
                        }
                    )
                )
            out.write(b"\n".join(lines) + b"\n")
    return planted


def _parsed(path: Path) -> Any:
    for line in path.open("rb"):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("external_id"), str):
            try:
                published = dt.datetime.fromisoformat(record["published_at"])
            except (KeyError, ValueError):
                continue
            yield record, published


def raw_copy(url: str, path: Path) -> float:
    """Return seconds to parse the file and binary-COPY its fields into an unlogged table."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE UNLOGGED TABLE raw_copy (external_id text, kind text, title text, text text, "
            "url text, author text, published_at timestamptz, metadata jsonb, raw jsonb, "
            "mentions jsonb)"
        )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy("COPY raw_copy FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(
                ["text", "text", "text", "text", "text", "text", "timestamptz", "jsonb", "jsonb",
                 "jsonb"]
            )  # fmt: skip
            for record, published in _parsed(path):
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
        return time.perf_counter() - started


class _Base(DeclarativeBase):
    pass


class _OrmSignal(_Base):
    __tablename__ = "orm_signal"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    source_id: Mapped[int]
    external_id: Mapped[str]
    kind: Mapped[str | None]
    title: Mapped[str | None]
    text: Mapped[str | None]
    url: Mapped[str | None]
    author: Mapped[str | None]
    published_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    mentions: Mapped[list[Any] | None] = mapped_column(JSONB)
    __table_args__ = (
        sa.UniqueConstraint("source_id", "external_id"),
        sa.Index("ix_orm_signal_published_at", "published_at"),
        sa.Index("ix_orm_signal_source_published", "source_id", "published_at"),
    )


def orm_bulk_save(url: str, path: Path) -> float:
    """Return seconds to parse the file and bulk_save_objects it through the ORM."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    _Base.metadata.create_all(engine)
    started = time.perf_counter()
    with Session(engine) as session:
        chunk: list[_OrmSignal] = []
        for record, published in _parsed(path):
            chunk.append(
                _OrmSignal(
                    id=uuid.uuid4(),
                    source_id=1,
                    external_id=record["external_id"],
                    kind=record.get("kind"),
                    title=record.get("title"),
                    text=record.get("text"),
                    url=record.get("url"),
                    author=record.get("author"),
                    published_at=published,
                    meta=record.get("metadata"),
                    raw=record.get("raw"),
                    mentions=record.get("mentions"),
                )
            )
            if len(chunk) >= 5000:
                session.bulk_save_objects(chunk)
                session.commit()
                chunk = []
        if chunk:
            session.bulk_save_objects(chunk)
            session.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--database-url", default=os.environ.get("SIGNALGRAPH_DATABASE_URL"))
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument(
        "--phrase-index",
        choices=("on", "off"),
        default="on",
        help="keep (default) or drop the index of adjacent word pairs before ingesting",
    )
    args = parser.parse_args()

    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
    with tempfile.TemporaryDirectory(prefix="sg-bench-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus.ndjson"
        started = time.perf_counter()
        planted = generate(corpus, args.rows)
        log(f"corpus: {args.rows:,} lines, {corpus.stat().st_size / 1e6:.0f} MB "
            f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
        admin_url = server_url(args.database_url, work / "home")
        url = fresh_database(admin_url, "sg_bench_ingest")
        client = signalgraph.connect(url=url)
        upgrade(client.engine)
        set_phrase_index(client.engine, args.phrase_index == "on")
        client.sources.add("bench")
        options = {"batch_size": args.batch_size} if args.batch_size else {}
        first = client.ingest(corpus, source="bench", **options)
        rss = peak_rss_mb()
        log(f"signalgraph: {first.rows_per_s:,.0f} rows/s {first.counters}")
        again = client.ingest(corpus, source="bench", **options)
        log(f"re-ingest: {again.rows_per_s:,.0f} rows/s")
        counts = client.signals.count()
        client.close()
        result: dict[str, Any] = {
            "rows": args.rows,
            "phrase_index": args.phrase_index,
            "corpus_bytes": corpus.stat().st_size,
            "planted": planted,
            "counters": first.counters,
            "found": counts,
            "rows_per_s": round(first.rows_per_s, 1),
            "reingest_rows_per_s": round(again.rows_per_s, 1),
            "peak_rss_mb": round(rss, 1),
        }
        if not args.skip_baselines:
            copy_url = fresh_database(admin_url, "sg_bench_copy")
            copy_s = raw_copy(copy_url, corpus)
            log(f"raw copy: {args.rows / copy_s:,.0f} rows/s")
            orm_url = fresh_database(admin_url, "sg_bench_orm")
            orm_s = orm_bulk_save(orm_url, corpus)
            log(f"orm bulk_save_objects: {args.rows / orm_s:,.0f} rows/s")
            copy_rate = args.rows / copy_s
            orm_rate = args.rows / orm_s
            result |= {
                "raw_copy_rows_per_s": round(copy_rate, 1),
                "orm_bulk_save_rows_per_s": round(orm_rate, 1),
                "ratio_to_copy": round(first.rows_per_s / copy_rate, 3),
                "ratio_to_orm": round(first.rows_per_s / orm_rate, 3),
                "reingest_ratio_to_copy": round(again.rows_per_s / copy_rate, 3),
            }
        for name in ("sg_bench_ingest", "sg_bench_copy", "sg_bench_orm"):
            drop_database(admin_url, name)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
