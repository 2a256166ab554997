"""Unsupervised entity-resolution baselines on the resolve_data sets, set up as careful users would.

    /tmp/benchvenv/bin/python benchmarks/resolve_baselines.py [--json]

Needs recordlinkage, splink (5, DuckDB backend), pytickersymbols, pandas and numpy.

- `exact_name_clusters`: records whose normalised names are equal share a cluster.
- `recordlinkage_clusters`: recordlinkage blocking / sorted neighbourhood, binary field
  comparisons, unsupervised ECM classifier, connected components of the predicted links.
- `splink_clusters`: Splink with DuckDB; u by random sampling, m by EM over two blocking rules,
  lambda from deterministic rules; predictions clustered at match probability 0.95.

Each takes a `Dataset` and returns {external_id: cluster label}; no truth labels are used. A
data set with exactly two sources is linked (FEBRL4: file A against file B), any other one is
deduplicated. The `__main__` block prints pairwise precision, recall, F1 and seconds for
FEBRL 1-4 and the company data set.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

if __package__:
    from .resolve_data import Dataset, company_dataset, load_febrl, pairwise_prf
else:
    from resolve_data import Dataset, company_dataset, load_febrl, pairwise_prf

PERSON_FIELDS = (
    "first_name",
    "last_name",
    "birth_date",
    "address",
    "city",
    "postcode",
    "region",
    "soc_sec_id",
)
COMPANY_FIELDS = (
    "name_key",
    "first_token",
    "last_token",
    "ticker",
    "domain",
    "country",
    "industry",
)
SPLINK_THRESHOLD = 0.95

# Trailing words that only name a legal form (after dots are dropped and case is folded).
_LEGAL_WORDS = frozenset(
    {
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "ltd",
        "limited",
        "plc",
        "ag",
        "se",
        "sa",
        "nv",
        "bv",
        "gmbh",
        "kgaa",
        "oyj",
        "ab",
        "publ",
        "asa",
        "spa",
        "llc",
        "lp",
        "llp",
        "holding",
        "holdings",
        "hldgs",
        "group",
        "grp",
    }
)


# --------------------------------------------------------------------------- helpers


def normalise_name(name: str, company: bool = False) -> str:
    """Casefold, fold accents, drop punctuation, collapse spaces; companies lose legal forms."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    text = text.replace("&", " and ").replace(".", "").replace("'", "")
    words = re.sub(r"[^0-9a-z]+", " ", text).split()
    if company:
        if len(words) > 1 and words[0] == "the":
            words = words[1:]
        stripped = list(words)
        while stripped and (
            stripped[-1] in _LEGAL_WORDS or (stripped[-1] == "and" and len(stripped) < len(words))
        ):
            stripped.pop()
        words = stripped or words
    return " ".join(words)


def _kind(ds: Dataset) -> str:
    """Return the single record type of a data set."""
    kinds = {r["type"] for r in ds.records}
    if len(kinds) != 1:
        raise ValueError(f"{ds.name} mixes record types {sorted(kinds)}")
    return kinds.pop()


def _link_sources(ds: Dataset) -> list[str] | None:
    """Return the two sources to link, or None when the data set is to be deduplicated."""
    sources = sorted({r["source"] for r in ds.records})
    return sources if len(sources) == 2 else None


def _text(value: Any) -> str | None:
    """Return a casefolded, space-collapsed string, or None."""
    if value is None:
        return None
    text = " ".join(str(value).casefold().split())
    return text or None


def _frame(ds: Dataset) -> pd.DataFrame:
    """Return one row per record with the comparison fields, indexed by external_id."""
    rows = []
    for record in ds.records:
        row: dict[str, Any] = {"unique_id": record["external_id"], "source": record["source"]}
        props, ids = record["properties"], record["identifiers"]
        if record["type"] == "person":
            row.update({f: _text(props.get(f)) for f in PERSON_FIELDS})
        else:
            key = normalise_name(record["name"], company=True)
            words = key.split()
            row.update(
                {
                    "name_key": key or None,
                    "first_token": words[0] if words else None,
                    "last_token": words[-1] if len(words) > 1 else None,
                    "ticker": _text(ids.get("ticker")),
                    "domain": _text(ids.get("domain")),
                    "country": _text(props.get("country")),
                    "industry": _text(props.get("industry")),
                }
            )
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("unique_id", drop=False)
    frame.index.name = "external_id"
    return frame.astype(object).where(frame.notna(), None)


def _components(ids: Iterable[str], pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Label records by the connected components of the linked pairs (union-find)."""
    parent = {i: i for i in ids}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for left, right in pairs:
        a, b = root(left), root(right)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return {i: root(i) for i in parent}


# --------------------------------------------------------------------------- exact names


def exact_name_clusters(ds: Dataset) -> dict[str, str]:
    """Cluster records whose normalised names are equal; empty names stay singletons."""
    company = _kind(ds) == "company"
    clusters = {}
    for record in ds.records:
        key = normalise_name(record["name"], company=company)
        clusters[record["external_id"]] = f"name:{key}" if key else f"id:{record['external_id']}"
    return clusters


# --------------------------------------------------------------------------- recordlinkage


def _rl_setup(kind: str) -> tuple[Any, Any]:
    """Return the recordlinkage indexer and comparer for people or companies."""
    import recordlinkage as rl
    from recordlinkage.index import Block, SortedNeighbourhood

    indexer = rl.Index()
    compare = rl.Compare()
    if kind == "person":
        indexer.add(SortedNeighbourhood("last_name", window=5))
        for field in ("first_name", "birth_date", "postcode", "soc_sec_id"):
            indexer.add(Block(field))
        for field in ("first_name", "last_name", "address", "city"):
            compare.string(field, field, method="jarowinkler", threshold=0.85, label=field)
        compare.string(
            "soc_sec_id",
            "soc_sec_id",
            method="damerau_levenshtein",
            threshold=0.85,
            label="soc_sec_id",
        )
        for field in ("birth_date", "postcode", "region"):
            compare.exact(field, field, label=field)
    else:
        indexer.add(SortedNeighbourhood("name_key", window=5))
        for field in ("first_token", "ticker", "domain"):
            indexer.add(Block(field))
        compare.string("name_key", "name_key", method="jarowinkler", threshold=0.9, label="name")
        for field in ("ticker", "domain", "country", "industry"):
            compare.exact(field, field, label=field)
    return indexer, compare


def recordlinkage_clusters(ds: Dataset) -> dict[str, str]:
    """Cluster with recordlinkage: blocking, binary comparisons, ECM, connected components."""
    import recordlinkage as rl

    frame = _frame(ds)
    indexer, compare = _rl_setup(_kind(ds))
    link = _link_sources(ds)
    if link is None:
        pairs = indexer.index(frame)
        features = compare.compute(pairs, frame)
    else:
        left, right = (frame[frame["source"] == s] for s in link)
        pairs = indexer.index(left, right)
        features = compare.compute(pairs, left, right)
    links = rl.ECMClassifier(binarize=None).fit_predict(features)
    return _components(frame.index, ((str(a), str(b)) for a, b in links))


# --------------------------------------------------------------------------- splink


def _splink_model(kind: str) -> tuple[list[Any], list[Any], list[Any], float, list[Any]]:
    """Return (comparisons, prediction blocking, deterministic rules, recall, EM blocking)."""
    import splink.comparison_library as cl
    from splink import block_on

    if kind == "person":
        comparisons = [
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "birth_date", input_is_string=True, datetime_format="%Y-%m-%d"
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.JaroWinklerAtThresholds("address", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("city", [0.9]),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("region").configure(term_frequency_adjustments=True),
        ]
        blocking = [
            block_on(f) for f in ("first_name", "last_name", "birth_date", "postcode", "soc_sec_id")
        ]
        deterministic = [block_on("first_name", "last_name", "birth_date"), block_on("soc_sec_id")]
        em_rules = [block_on("birth_date"), block_on("postcode")]
        return comparisons, blocking, deterministic, 0.8, em_rules
    # No term-frequency adjustment on the name: in a deduplication set a company name's
    # frequency mostly counts its own duplicates, so it would penalise exactly the matches.
    comparisons = [
        cl.JaroWinklerAtThresholds("name_key", [0.95, 0.88, 0.7]),
        cl.ExactMatch("ticker"),
        cl.ExactMatch("domain"),
        cl.ExactMatch("country").configure(term_frequency_adjustments=True),
        cl.ExactMatch("industry").configure(term_frequency_adjustments=True),
    ]
    blocking = [block_on(f) for f in ("first_token", "last_token", "ticker", "domain")]
    deterministic = [block_on("name_key"), block_on("ticker"), block_on("domain")]
    # EM wants blocks holding some matches and some non-matches (a ticker block is ~all matches).
    em_rules = [block_on("first_token"), block_on("country")]
    return comparisons, blocking, deterministic, 0.6, em_rules


def splink_clusters(ds: Dataset) -> dict[str, str]:
    """Cluster with Splink 5 on DuckDB: unsupervised training, predict, threshold clustering."""
    from splink import DuckDBAPI, Linker, SettingsCreator

    kind = _kind(ds)
    frame = _frame(ds)
    fields = list(PERSON_FIELDS if kind == "person" else COMPANY_FIELDS)
    data = frame[["unique_id", *fields]].reset_index(drop=True)
    comparisons, blocking, deterministic, recall, em_rules = _splink_model(kind)
    link = _link_sources(ds)
    db_api = DuckDBAPI()
    if link is None:
        inputs: Any = db_api.register(data, dataset_display_name="records")
    else:
        inputs = [
            db_api.register(
                data[frame["source"].to_numpy() == s].reset_index(drop=True), dataset_display_name=s
            )
            for s in link
        ]
    settings = SettingsCreator(
        link_type="dedupe_only" if link is None else "link_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(inputs, settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=SPLINK_THRESHOLD)
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=SPLINK_THRESHOLD
    ).as_pandas_dataframe()
    clusters = {
        str(u): str(c) for u, c in zip(clustered["unique_id"], clustered["cluster_id"], strict=True)
    }
    missing = set(frame.index) - set(clusters)
    if missing:
        raise RuntimeError(f"splink left {len(missing)} records unclustered")
    return clusters


# --------------------------------------------------------------------------- benchmark

BASELINES: dict[str, Callable[[Dataset], dict[str, str]]] = {
    "exact_name": exact_name_clusters,
    "recordlinkage": recordlinkage_clusters,
    "splink": splink_clusters,
}


def run(datasets: Iterable[Dataset]) -> list[dict[str, Any]]:
    """Run every baseline on every data set; return one result row per pair."""
    rows = []
    for ds in datasets:
        for name, baseline in BASELINES.items():
            start = time.perf_counter()
            predicted = baseline(ds)
            seconds = time.perf_counter() - start
            scores = pairwise_prf(ds.truth, predicted)
            rows.append(
                {
                    "dataset": ds.name,
                    "records": len(ds.records),
                    "baseline": name,
                    **scores,
                    "seconds": seconds,
                }
            )
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    """Format result rows as a fixed-width table."""
    head = (
        f"{'dataset':<10} {'records':>7} {'true pairs':>10} {'baseline':<14} "
        f"{'precision':>9} {'recall':>7} {'F1':>6} {'seconds':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['dataset']:<10} {r['records']:>7} {r['true_pairs']:>10} {r['baseline']:<14} "
            f"{r['precision']:>9.3f} {r['recall']:>7.3f} {r['f1']:>6.3f} {r['seconds']:>8.1f}"
        )
    return "\n".join(lines)


def main() -> None:
    """Print the baseline table (or JSON) for FEBRL 1-4 and the company data set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON rows instead")
    args = parser.parse_args()
    datasets = [*(load_febrl(n) for n in (1, 2, 3, 4)), company_dataset()]
    rows = run(datasets)
    print(json.dumps(rows, indent=2) if args.json else _table(rows))


if __name__ == "__main__":
    main()
