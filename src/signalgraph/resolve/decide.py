"""From a record's scored candidates to its outcome: link, review, or a new entity.

Pure: no SQL. The outcome says which entity the record joins (None for a new one), the
evidence kept with it, and the review items and flags to raise; reconcile.py writes
them. (People's judgements and merges are resolve/decisions.py.)

In order: a shared unique identifier links; a match probability at or above the link
threshold links, unless another compared record of that entity is clearly not this one;
between the thresholds the record gets a new entity and the pair goes to review; below,
a new entity.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from signalgraph.ids import uuid7
from signalgraph.resolve.compare import Profile
from signalgraph.resolve.scoring import Candidate

# A record that matches one record of an entity but is clearly not another of its records
# is not linked automatically (it goes to review): single-link chains through one
# ambiguous record ("Acadia" between Acadia Realty and Acadia Pharmaceuticals) stop here.
VETO = 0.05


@dataclass
class Outcome:
    """What to do with one record."""

    entity_id: uuid.UUID | None  # the entity it joins; None: a new one
    evidence: dict[str, Any]
    reviews: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def made(self, entity_id: uuid.UUID) -> None:
        """Pair the review items waiting for the record's new entity with it."""
        for review in self.reviews:
            if review.pop("pending_new", False):
                review["a"], review["b"] = _ordered(entity_id, review.pop("candidate"))


def decide(
    profile: Profile,
    ranked: list[Candidate],
    *,
    link: float,
    review: float,
    run_id: uuid.UUID,
) -> Outcome:
    """Return the outcome of a record given its candidates, strongest first."""
    certain = [c for c in ranked if c.certain and not c.conflict]
    if len(certain) > 1:
        outcome = Outcome(None, evidence("new", certain[0], run_id))
        outcome.flags.append(
            _flag(
                "identifier_conflict",
                profile.record_id,
                f"{profile.name}: shares unique identifiers with {len(certain)} different "
                "entities; not linked, sent to review",
                {"entities": [str(c.entity_id) for c in certain]},
            )
        )
        outcome.reviews.extend(_review(None, candidate, pending_new=True) for candidate in certain)
        outcome.counts["conflicts"] += 1
        return outcome
    if certain:
        outcome = Outcome(certain[0].entity_id, evidence("identifier", certain[0], run_id))
        outcome.counts["linked_by_identifier"] += 1
        return outcome
    best = ranked[0] if ranked else None
    if best is not None and best.probability >= link and best.worst >= VETO and not best.conflict:
        outcome = Outcome(best.entity_id, evidence("score", best, run_id))
        outcome.counts["linked_by_score"] += 1
        runner = ranked[1] if len(ranked) > 1 else None
        if runner is not None and runner.probability >= link and not runner.conflict:
            # The record fits two entities well: they may be one.
            outcome.reviews.append(_review(best.entity_id, runner))
            outcome.counts["review"] += 1
        return outcome
    if best is not None and best.probability >= review:
        outcome = Outcome(None, evidence("new+review", best, run_id))
        if best.conflict:
            outcome.flags.append(
                _flag(
                    "identifier_conflict",
                    profile.record_id,
                    f"{profile.name}: looks like an existing entity but their unique "
                    "identifiers differ; not linked, sent to review",
                    {"entity": str(best.entity_id)},
                )
            )
            outcome.counts["conflicts"] += 1
        outcome.reviews.append(_review(None, best, pending_new=True))
        outcome.counts["review"] += 1
        return outcome
    return Outcome(None, evidence("new", best, run_id))


def evidence(method: str, candidate: Candidate | None, run_id: uuid.UUID) -> dict[str, Any]:
    """Return what is kept with a record about its decision (its `resolution`)."""
    kept: dict[str, Any] = {"method": method, "run_id": str(run_id)}
    if candidate is not None:
        kept.update(
            candidate=str(candidate.entity_id),
            matched_record=str(candidate.record_id),
            probability=round(candidate.probability, 6),
            weight=round(candidate.weight, 3),
            levels=candidate.levels,
            weights={k: round(v, 3) for k, v in candidate.contributions.items()},
        )
    return kept


def _ordered(a: uuid.UUID, b: uuid.UUID) -> tuple[str, str]:
    first, second = (a, b) if a < b else (b, a)
    return str(first), str(second)


def _review(
    entity_id: uuid.UUID | None, candidate: Candidate, *, pending_new: bool = False
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": str(uuid7()),
        "probability": candidate.probability,
        "weight": candidate.weight,
        "features": {"levels": candidate.levels, "weights": candidate.contributions},
        "uncertainty": 1 - abs(2 * candidate.probability - 1) + 0.01,
    }
    if pending_new:
        item["pending_new"] = True
        item["candidate"] = candidate.entity_id
    else:
        assert entity_id is not None
        item["a"], item["b"] = _ordered(entity_id, candidate.entity_id)
    return item


def _flag(kind: str, record_id: uuid.UUID, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(uuid7()),
        "kind": kind,
        "object_type": "entity_record",
        "object_id": str(record_id),
        "message": message,
        "details": details,
    }
