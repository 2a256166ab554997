"""Near-duplicate benchmark: precision and recall on templated news, and the cost of similar texts.

    python benchmarks/near_duplicates.py --json
    python benchmarks/near_duplicates.py --database-url postgresql://postgres@127.0.0.1:5432/test

Two parts, each ingested through the library (`ingest` of an NDJSON file) into a fresh
database:

- similar: 20,000 short texts from a small vocabulary (three templates, a few names and
  figures each, many texts nearly equal): rows/s, the counters, and the process's peak
  resident memory (measured before the labelled part runs).
- labelled: distinct templated stories (different companies, people, places and figures
  in the same templates, some differing in one name or figure only) and light
  re-wordings of some of them (punctuation, one word, a sentence added or removed, the
  casing, a boilerplate line; see near_stories.py). A signal marked near duplicate is
  right when it points at a signal of the same story. Precision: right marks / marks.
  Recall: right marks / re-wordings (those not stored as exact duplicates). Recall is
  bounded by the simhash: many light re-wordings of a 50-word text move it by more
  than 3 bits, and texts under 32 words get none.

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
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import psycopg

import signalgraph
from _db import drop_database, fresh_database, server_url
from near_stories import labelled_set, similar_texts
from signalgraph.db.migrate import upgrade

SEED = 20261202
START = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def write_corpus(path: Path, texts: list[str], prefix: str) -> None:
    """Write one NDJSON record per text, each with its own id, URL and published time."""
    with path.open("wb") as out:
        for index, text in enumerate(texts):
            published = START + dt.timedelta(minutes=index * 3)
            record = {
                "external_id": f"{prefix}-{index}",
                "kind": "article",
                "text": text,
                "url": f"https://wire{index % 7}.example.com/{prefix}/{index}",
                "published_at": published.isoformat(),
            }
            out.write(orjson.dumps(record) + b"\n")


def ingest(admin_url: str, name: str, corpus: Path, batch_size: int | None) -> tuple[str, Any]:
    """Ingest the corpus into a fresh database; return its URL and the ingest result."""
    url = fresh_database(admin_url, name)
    client = signalgraph.connect(url=url)
    upgrade(client.engine)
    client.sources.add("wire")
    options = {"batch_size": batch_size} if batch_size else {}
    result = client.ingest(corpus, source="wire", **options)
    client.close()
    return url, result


def pointers(url: str) -> dict[str, tuple[str | None, str | None]]:
    """Return, per external id, the external ids its duplicate and near-duplicate point at."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            SELECT s.external_id, d.external_id, n.external_id
            FROM signalgraph.signal s
            LEFT JOIN signalgraph.signal d
                ON d.workspace_id = s.workspace_id AND d.id = s.duplicate_of
            LEFT JOIN signalgraph.signal n
                ON n.workspace_id = s.workspace_id AND n.id = s.near_duplicate_of
            """
        ).fetchall()
    return {external_id: (duplicate, near) for external_id, duplicate, near in rows}


def score(stories: list[Any], marks: dict[str, tuple[str | None, str | None]]) -> dict[str, Any]:
    """Return precision and recall of near-duplicate marks against the story labels."""
    label = {f"l-{index}": story.story for index, story in enumerate(stories)}
    counts: Counter[str] = Counter()
    by_edit: Counter[str] = Counter()
    found_by_edit: Counter[str] = Counter()
    for index, story in enumerate(stories):
        external_id = f"l-{index}"
        duplicate, near = marks[external_id]
        if story.edits and duplicate is None:
            counts["rewordings"] += 1
            for edit in story.edits:
                by_edit[edit] += 1
        if near is None:
            continue
        counts["marked"] += 1
        if label[near] == story.story:
            counts["right"] += 1
            for edit in story.edits:
                found_by_edit[edit] += 1
        elif not story.edits:
            counts["distinct_story_hidden"] += 1
        else:
            counts["wrong_story"] += 1
    marked, right, rewordings = counts["marked"], counts["right"], counts["rewordings"]
    return {
        "texts": len(stories),
        "stories": len(set(label.values())),
        "rewordings": rewordings,
        "marked": marked,
        "right": right,
        "distinct_stories_hidden": counts["distinct_story_hidden"],
        "pointed_at_another_story": counts["wrong_story"],
        "precision": round(right / marked, 4) if marked else None,
        "recall": round(right / rewordings, 4) if rewordings else None,
        "recall_by_edit": {
            edit: round(found_by_edit[edit] / total, 3) for edit, total in sorted(by_edit.items())
        },
    }


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=6000, help="distinct labelled stories")
    parser.add_argument("--similar", type=int, default=20_000, help="similar short texts")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--database-url", default=os.environ.get("SIGNALGRAPH_DATABASE_URL"))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()

    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
    result: dict[str, Any] = {"seed": args.seed}
    with tempfile.TemporaryDirectory(prefix="sg-bench-near-") as tmp:
        work = Path(tmp)
        admin_url = server_url(args.database_url, work / "home")
        names = []
        if args.similar:
            corpus = work / "similar.ndjson"
            write_corpus(corpus, similar_texts(args.similar, seed=args.seed), "s")
            started = time.perf_counter()
            _, similar = ingest(admin_url, "sg_bench_near_similar", corpus, args.batch_size)
            names.append("sg_bench_near_similar")
            result["similar"] = {
                "texts": args.similar,
                "seconds": round(time.perf_counter() - started, 1),
                "rows_per_s": round(similar.rows_per_s, 1),
                "counters": similar.counters,
                "peak_rss_mb": round(peak_rss_mb(), 1),
            }
            log(f"similar: {result['similar']}")
        if args.stories:
            stories = labelled_set(args.stories, seed=args.seed)
            corpus = work / "labelled.ndjson"
            write_corpus(corpus, [story.text for story in stories], "l")
            url, labelled = ingest(admin_url, "sg_bench_near_labelled", corpus, args.batch_size)
            names.append("sg_bench_near_labelled")
            result["labelled"] = score(stories, pointers(url)) | {
                "rows_per_s": round(labelled.rows_per_s, 1),
                "counters": labelled.counters,
            }
            log(f"labelled: {result['labelled']}")
        if not args.keep:
            for name in names:
                drop_database(admin_url, name)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
