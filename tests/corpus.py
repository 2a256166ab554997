"""Deterministic test records: signal dicts and NDJSON files built from them."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson

WORDS = [
    "market",
    "company",
    "shares",
    "investors",
    "quarter",
    "growth",
    "revenue",
    "deal",
    "board",
    "launch",
    "product",
    "platform",
    "customers",
    "analysts",
    "report",
    "capital",
    "round",
    "funding",
    "acquisition",
    "merger",
    "chief",
    "officer",
    "executive",
    "strategy",
    "expansion",
    "europe",
    "asia",
    "america",
    "health",
    "energy",
    "software",
    "robotics",
    "logistics",
    "security",
    "materials",
    "trial",
    "results",
    "approval",
    "regulator",
    "statement",
]


def text(rng: random.Random, words: int = 80) -> str:
    """Return a pseudo-article of `words` words."""
    return " ".join(rng.choice(WORDS) + str(rng.randint(0, 999)) for _ in range(words))


def record(index: int, rng: random.Random | None = None, **fields: Any) -> dict[str, Any]:
    """Return one valid signal record, unique by index unless fields override it."""
    rng = rng or random.Random(index)
    base: dict[str, Any] = {
        "external_id": f"r-{index}",
        "kind": "article",
        "title": f"Story number {index}",
        "text": text(rng),
        "url": f"https://news.example.com/story/{index}",
        "author": "Desk",
        "published_at": f"2025-{(index % 12) + 1:02d}-15T12:00:00Z",
        "metadata": {"n": index},
        "mentions": [
            {
                "type": "company",
                "text": f"Company {index % 7}",
                "identifiers": {"domain": f"c{index % 7}.com"},
            }
        ],
    }
    base.update(fields)
    return base


def write_ndjson(path: Path, records: list[Any], extra_lines: list[bytes] | None = None) -> Path:
    """Write records (dicts or raw bytes lines) as NDJSON."""
    lines = [r if isinstance(r, bytes) else orjson.dumps(r) for r in records]
    lines += extra_lines or []
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def one_company(sg: Any, *, ticker: str = "AC") -> Any:
    """Add source harmonic and one resolved company with the ticker; return its entity id."""
    sg.sources.add("harmonic")
    company = {"external_id": "h1", "type": "company", "name": "Acme"}
    sg.entities.ingest([company | {"identifiers": {"ticker": ticker}}], source="harmonic")
    sg.resolve()
    (cluster,) = sg.entities.clusters(source_name="harmonic")
    return cluster["entity_id"]
