"""`explain` reproduces the resolver's automatic decisions: one scoring for both."""

from __future__ import annotations

import random
import uuid
from typing import Any

import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.resolve.explain import explain_pair

COMPARED = ("weight", "probability", "levels", "weights")
FORMS = ("", " Inc", " Ltd", " Holdings", " Corp.")
COMMON_WORDS = ("Robotics", "Capital", "Systems", "Analytics")


def invented_word(rng: random.Random) -> str:
    return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3)).title()


def typo(word: str, rng: random.Random) -> str:
    """Swap two neighbouring letters past the first: one typo, same word to the resolver."""
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def companies(rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Return company records with near-name variants, by source.

    Some names share a common word (word weights matter), some variants only differ by
    legal form or case (exact names: term frequencies matter), some have a typo (close
    names, linked when a domain is shared too), and one name is held by more records
    than blocking uses a key for (its count is capped), its records found through shared
    phone numbers. People are compared on first and last names (their own frequencies).
    """
    by_source: dict[str, list[dict[str, Any]]] = {"vendor": [], "crm": []}
    for i in range(160):
        first, second = invented_word(rng), invented_word(rng)
        name = f"{first} {second}"
        if i % 3 == 0:
            name = f"{name} {rng.choice(COMMON_WORDS)}"
        country = rng.choice(["US", "GB", "DE"])
        domain = {"domain": [f"{first}{second}.example".lower()]} if i % 2 else {}
        spellings = [name + rng.choice(FORMS)]
        if rng.random() < 0.8:
            spellings.append(name.upper() + rng.choice(FORMS))
        if rng.random() < 0.5:
            spellings.append(f"{first} {typo(second, rng)}" + name[len(first) + len(second) + 1 :])
        for n, spelling in enumerate(spellings):
            source = "vendor" if n % 2 == 0 else "crm"
            by_source[source].append(
                {"external_id": f"c{i}-{n}", "type": "company", "name": spelling,
                 "identifiers": domain, "properties": {"country": country}}
            )  # fmt: skip
    for i in range(110):
        by_source["vendor" if i % 2 else "crm"].append(
            {"external_id": f"nova-{i}", "type": "company", "name": "Nova Systems",
             "identifiers": {"phone": [f"+1555010{i // 2:04d}"]},
             "properties": {"country": "US"}}
        )  # fmt: skip
    for i in range(40):
        first, last = invented_word(rng), invented_word(rng)
        birth = f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        for n, surname in enumerate((last, last if i % 2 else typo(last, rng))):
            by_source["vendor" if n == 0 else "crm"].append(
                {"external_id": f"p{i}-{n}", "type": "person", "name": f"{first} {surname}",
                 "properties": {"birth_date": birth, "country": "GB"}}
            )  # fmt: skip
    return by_source


def test_explain_reproduces_every_decision_linked_by_score(sg: SignalGraph) -> None:
    for source, records in companies(random.Random(13)).items():
        sg.sources.add(source)
        sg.entities.ingest(records, source=source)
    result = sg.resolve()
    assert result.counters["models_trained"] >= 1
    with sg.engine.connect() as conn:
        linked = conn.execute(
            sa.text(
                "SELECT workspace_id, id, entity_id, type, resolution FROM entity_record "
                "WHERE resolution->>'method' = 'score' ORDER BY id"
            )
        ).all()
        differing = []
        for row in linked:
            stored = row.resolution
            candidate = uuid.UUID(stored["candidate"])
            assert candidate == row.entity_id  # linked to the entity it was compared with
            report = explain_pair(
                conn, row.workspace_id, row.entity_id, candidate,
                records=(row.id, uuid.UUID(stored["matched_record"])),
            )  # fmt: skip
            shown = {key: report["best_pair"][key] for key in COMPARED}
            if shown != {key: stored[key] for key in COMPARED}:
                differing.append((row.id, stored, shown))
    assert result.counters["linked_by_score"] == len(linked)
    name_levels = [row.resolution["levels"].get("name") for row in linked]
    # Every kind of evidence the weighting touches is among the decisions checked:
    # exact names (term frequencies), close names (word weights), people, the capped name.
    assert name_levels.count(4) >= 50
    assert name_levels.count(3) >= 20
    assert sum(row.type == "person" for row in linked) >= 20
    assert sum(row.resolution["weights"].get("phone", 0) > 0 for row in linked) >= 40
    assert differing == []
