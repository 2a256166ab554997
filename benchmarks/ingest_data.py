"""The ingest benchmark's corpora: signals, entity records, facts and relations, as NDJSON.

Each corpus is written to a file chunk by chunk from a seeded generator, so the same
arguments give the same bytes and no corpus is ever held in memory whole.

- signals: texts of about 1-2 KB from a 30,000-word Zipf vocabulary, 5 % exact
  duplicates, 3 % near duplicates, 1 % bad lines.
- entity records (source `bench-crm`): companies (three in five; a name, aliases, a
  unique domain, a ticker for one in five, country, industry, founded) and people (a
  name, a unique email, their employer); one company in ten is written a second time
  under another external id with a variant of its name and the same domain (another
  sighting that resolution links).
- facts (source `bench-vendor`): headcount, revenue and a daily score of companies on
  successive dates, the company named by its record (`{"source", "external_id"}`) three
  times in four and by its domain otherwise.
- relations (source `bench-vendor`): each person `works_at` their employer, then
  companies `invests_in` other companies, both ends named by their records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

VOCABULARY = 30_000
SEED = 20261127
ENTITY_SOURCE = "bench-crm"
STATEMENT_SOURCE = "bench-vendor"
# Properties the fact corpus uses, with their registered types (`sg.facts.define`).
PROPERTIES = (
    ("headcount", "integer", None),
    ("revenue", "money", "USD"),
    ("score", "number", None),
)
_CHUNK = 2000


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
    """Write the signal corpus; return how many duplicates, near duplicates and bad lines it
    holds."""
    rng = np.random.default_rng(SEED)
    words = np.array(_words(rng), dtype=object)
    zipf = 1.0 / np.arange(1, VOCABULARY + 1) ** 1.05
    zipf /= zipf.sum()
    planted = {"duplicates": 0, "near_duplicates": 0, "bad_lines": 0}
    recent: list[str] = []
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with path.open("wb") as out:
        for offset in range(0, rows, _CHUNK):
            size = min(_CHUNK, rows - offset)
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


# -- entities, facts and relations ------------------------------------------------------

SUFFIXES = ("Inc.", "Ltd", "GmbH", "Group", "Holdings", "Labs", "Systems", "AG", "SA", "LLC")
INDUSTRIES = ("software", "biotech", "logistics", "fintech", "energy", "retail", "media")
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "SE", "JP", "IN", "BR", "CA")
FIRST_NAMES = (
    "Maya Tomas Priya Jonas Lena Omar Sofia Arjun Elena Felix Nadia Hugo Ines Kenji Laura "
    "Mateo Noor Oskar Rosa Samir Tara Viktor Yara Zoe Amir Clara David Eva Farah Gustav"
).split()
TITLES = ("chief executive", "head of sales", "engineer", "analyst", "founder", "director")


@dataclass(frozen=True)
class EntityPlan:
    """How many companies and people the entity corpus holds (facts and relations name them)."""

    companies: int
    people: int

    @classmethod
    def for_records(cls, records: int) -> EntityPlan:
        """Split `records` entity records: one company in ten is written twice."""
        companies = max(1, records * 3 // 5 * 10 // 11)
        return cls(companies=companies, people=max(1, records - companies - companies // 10))


def _capitalised(rng: np.random.Generator, size: int) -> list[str]:
    words = [w for w in _words(rng) if len(w) >= 4][:5000]
    picks = rng.integers(0, len(words), size=size)
    return [words[i].capitalize() for i in picks]


def _ticker(index: int) -> str:
    letters = ""
    index += 26**2  # three letters at least
    while index:
        index, digit = divmod(index, 26)
        letters = chr(ord("A") + digit) + letters
    return letters


def _domain(first: str, second: str, index: int) -> str:
    return f"{first.lower()}{second.lower()}{index}.com"


def _write_ndjson(path: Path, records: Iterator[dict[str, Any]]) -> int:
    written = 0
    with path.open("wb") as out:
        chunk: list[bytes] = []
        for record in records:
            chunk.append(orjson.dumps(record))
            if len(chunk) >= _CHUNK:
                out.write(b"\n".join(chunk) + b"\n")
                written += len(chunk)
                chunk = []
        if chunk:
            out.write(b"\n".join(chunk) + b"\n")
            written += len(chunk)
    return written


def _company_names(plan: EntityPlan) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(SEED + 1)
    return _capitalised(rng, plan.companies), _capitalised(rng, plan.companies)


def entity_records(path: Path, plan: EntityPlan) -> int:
    """Write the entity records; return how many."""
    firsts, seconds = _company_names(plan)
    rng = np.random.default_rng(SEED + 2)
    last_names = _capitalised(rng, plan.people)

    def records() -> Iterator[dict[str, Any]]:
        for index in range(plan.companies):
            first, second = firsts[index], seconds[index]
            name = f"{first} {second} {SUFFIXES[index % len(SUFFIXES)]}"
            identifiers: dict[str, Any] = {"domain": _domain(first, second, index)}
            if index % 5 == 0:
                identifiers["ticker"] = _ticker(index)
            yield {
                "external_id": f"c-{index}",
                "type": "company",
                "name": name,
                "aliases": [f"{first} {second}"],
                "identifiers": identifiers,
                "properties": {
                    "country": COUNTRIES[index % len(COUNTRIES)],
                    "industry": INDUSTRIES[index % len(INDUSTRIES)],
                    "founded": str(1990 + index % 35),
                },
            }
            if index % 10 == 9:  # another sighting of the same company
                yield {
                    "external_id": f"c-{index}-again",
                    "type": "company",
                    "name": f"{first.upper()} {second}",
                    "identifiers": {"website": f"https://www.{_domain(first, second, index)}/"},
                }
        for index in range(plan.people):
            employer = index % plan.companies
            given, family = FIRST_NAMES[index % len(FIRST_NAMES)], last_names[index]
            domain = _domain(firsts[employer], seconds[employer], employer)
            yield {
                "external_id": f"p-{index}",
                "type": "person",
                "name": f"{given} {family}",
                "identifiers": {"email": f"{given.lower()}.{family.lower()}.{index}@{domain}"},
                "properties": {
                    "first_name": given,
                    "last_name": family,
                    "employer": f"{firsts[employer]} {seconds[employer]}",
                },
            }

    return _write_ndjson(path, records())


def _record_ref(external_id: str) -> dict[str, str]:
    return {"source": ENTITY_SOURCE, "external_id": external_id}


def facts(path: Path, plan: EntityPlan, count: int) -> int:
    """Write `count` fact statements about the companies; return how many."""
    firsts, seconds = _company_names(plan)
    start = dt.date(2020, 1, 1)

    def statements() -> Iterator[dict[str, Any]]:
        for index in range(count):
            company = index % plan.companies
            day = index // plan.companies
            prop = PROPERTIES[day % len(PROPERTIES)][0]
            value: Any
            if prop == "headcount":
                value = 10 + (company * 7 + day) % 5000
            elif prop == "revenue":
                value = {"amount": 1_000_000 + (company * 13 + day) * 1000, "currency": "USD"}
            else:
                value = round(((company * 31 + day * 17) % 1000) / 10, 1)
            entity = (
                {"domain": _domain(firsts[company], seconds[company], company)}
                if index % 4 == 3
                else _record_ref(f"c-{company}")
            )
            yield {
                "entity": entity,
                "property": prop,
                "value": value,
                "as_of": (start + dt.timedelta(days=day)).isoformat(),
            }

    return _write_ndjson(path, statements())


def relations(path: Path, plan: EntityPlan, count: int) -> int:
    """Write `count` relation statements (people's employers, then investments)."""
    start = dt.date(2015, 1, 1)

    def statements() -> Iterator[dict[str, Any]]:
        for index in range(count):
            if index < plan.people:
                yield {
                    "subject": _record_ref(f"p-{index}"),
                    "predicate": "works_at",
                    "object": _record_ref(f"c-{index % plan.companies}"),
                    "valid_from": (start + dt.timedelta(days=index % 3000)).isoformat(),
                    "properties": {"title": TITLES[index % len(TITLES)]},
                }
                continue
            step = index - plan.people
            investor = step % plan.companies
            target = (investor + 1 + step // plan.companies % max(1, plan.companies - 1)) % (
                plan.companies
            )
            yield {
                "subject": _record_ref(f"c-{investor}"),
                "predicate": "invests_in",
                "object": _record_ref(f"c-{target}"),
                "valid_from": (start + dt.timedelta(days=step % 3000)).isoformat(),
            }

    return _write_ndjson(path, statements())
