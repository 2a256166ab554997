"""Write the demo's registry records, fact statements and relations (package data).

    python scripts/make_sample_facts.py

Deterministic. The companies are those of sample_signals.ndjson, named by identifier
(domain or ticker) as an enrichment vendor would; people, investors and a drug come from
a small registry source, referenced by source record.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import orjson

DATA = Path(__file__).resolve().parents[1] / "src" / "signalgraph" / "data"
COMPANIES = {
    "Kestrel Logistics": "kestrel-logistics.com",
    "Bluefin Analytics": "bluefin.ai",
    "Tessellate": "tessellate.dev",
    "Vantage Orbital": "vantageorbital.space",
    "Quarry Health": "quarryhealth.io",
    "Northwind Robotics": "northwind-robotics.com",
    "Lumen Foods": "lumenfoods.com",
    "Ostrava Materials": "ostravamaterials.cz",
    "Parallax Security": "parallaxsec.com",
    "Helix Therapeutics": "helixtx.com",
    "Meridian Bio": "meridianbio.com",
    "Cobalt Grid": "cobaltgrid.energy",
}
PEOPLE = {
    "p-lindqvist": ("Maya Lindqvist", "Kestrel Logistics", "chief executive"),
    "p-achterberg": ("Samuel Achterberg", "Tessellate", "chief technology officer"),
    "p-raman": ("Priya Raman", "Northwind Robotics", "head of sales"),
    "p-okafor": ("Daniel Okafor", "Quarry Health", "chief financial officer"),
    "p-herrera": ("Tomás Herrera", "Lumen Foods", "head of research"),
    "p-petrova": ("Elena Petrova", "Juniper Road Capital", "partner"),
}
INVESTORS = {
    "o-juniper": ("Juniper Road Capital", ["Bluefin Analytics", "Quarry Health"]),
    "o-seaborne": ("Seaborne Ventures", ["Kestrel Logistics", "Tessellate"]),
    "o-foxglove": ("Foxglove Ventures", ["Helix Therapeutics"]),
}


def _lines(rows: list[dict[str, object]]) -> bytes:
    return b"".join(orjson.dumps(row) + b"\n" for row in rows)


def main() -> None:
    """Write the three files."""
    rng = random.Random(20261128)
    registry: list[dict[str, object]] = [
        {"external_id": key, "type": "person", "name": name,
         "properties": {"employer": company, "title": title}}
        for key, (name, company, title) in PEOPLE.items()
    ] + [
        {"external_id": key, "type": "organization", "name": name}
        for key, (name, _) in INVESTORS.items()
    ] + [
        {"external_id": "d-hlx101", "type": "drug", "name": "HLX-101",
         "properties": {"phase": "2"}},
    ]  # fmt: skip
    facts: list[dict[str, object]] = []
    for domain in COMPANIES.values():
        ref = {"domain": domain}
        headcount = rng.randrange(40, 900)
        revenue = rng.randrange(2, 120) * 1_000_000
        for quarter, grow in ((dt.date(2026, 1, 1), 1.0), (dt.date(2026, 4, 1), 1.08)):
            facts.append(
                {
                    "entity": ref,
                    "property": "headcount",
                    "value": int(headcount * grow),
                    "as_of": quarter.isoformat(),
                }
            )
        facts.append(
            {
                "entity": ref,
                "property": "revenue",
                "value": revenue,
                "unit": "USD",
                "as_of": "2025-12-31",
                "confidence": 0.8,
            }
        )
        facts.append({"entity": ref, "property": "founded", "value": rng.randrange(2009, 2022)})
        for day in range(5):
            facts.append(
                {
                    "entity": ref,
                    "property": "momentum_score",
                    "value": round(rng.uniform(0, 100), 1),
                    "as_of": (dt.date(2026, 7, 6) + dt.timedelta(days=day)).isoformat(),
                }
            )
    relations: list[dict[str, object]] = []
    for key, (_, company, title) in PEOPLE.items():
        if company in COMPANIES:
            target: dict[str, object] = {"domain": COMPANIES[company]}
        else:
            target = {"source": "registry", "external_id": "o-juniper"}
        relations.append(
            {
                "subject": {"source": "registry", "external_id": key},
                "predicate": "works_at",
                "object": target,
                "valid_from": "2022-03-01",
                "properties": {"title": title},
            }
        )
    for key, (_, portfolio) in INVESTORS.items():
        for company in portfolio:
            relations.append(
                {
                    "subject": {"source": "registry", "external_id": key},
                    "predicate": "invests_in",
                    "object": {"domain": COMPANIES[company]},
                    "valid_from": "2024-06-01",
                }
            )
    relations.append(
        {
            "subject": {"domain": "helixtx.com"},
            "predicate": "develops",
            "object": {"source": "registry", "external_id": "d-hlx101"},
        }
    )
    relations.append(
        {
            "subject": {"domain": "parallaxsec.com"},
            "predicate": "acquirer_match",
            "object": {"domain": "tessellate.dev"},
            "confidence": 0.82,
            "properties": {"score": 0.82, "reason": "adjacent products"},
        }
    )
    (DATA / "sample_registry.ndjson").write_bytes(_lines(registry))
    (DATA / "sample_facts.ndjson").write_bytes(_lines(facts))
    (DATA / "sample_relations.ndjson").write_bytes(_lines(relations))


if __name__ == "__main__":
    main()
