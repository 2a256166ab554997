"""Scoring: levels of a pair of records into a match weight and probability, with the model.

The weights depend on how common a record's name words and exact names are in the
workspace. They are counted and applied here, once, for the resolver and for `explain`
(`weigh_words`, `term_frequencies`, `score_pair`), so that `explain` shows the score the
resolver computed for the same records, counts and model.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from signalgraph.db import driver
from signalgraph.db.driver import AnyConnection
from signalgraph.resolve import queries
from signalgraph.resolve.candidates import (
    Candidates,
    count_keys,
    count_population,
    find_candidates,
    profile_of,
)
from signalgraph.resolve.compare import (
    Profile,
    compare,
    family,
    fields_for,
    set_weights,
    token_key,
    unique_agreement,
)
from signalgraph.resolve.model import TF_FIELDS, Model, probability, train
from signalgraph.resolve.names import PERSON_TYPES

TF_SMOOTHING = 2000  # records' worth of weight given to the model's average frequency


@dataclass
class Candidate:
    """The best evidence that a record belongs to one entity."""

    entity_id: uuid.UUID
    weight: float
    probability: float
    levels: dict[str, int | None]
    contributions: dict[str, float]
    record_id: uuid.UUID
    certain: bool = False
    conflict: bool = False
    worst: float = 1.0  # the lowest match probability with any compared record of the entity


# -- how common words and names are ---------------------------------------------------------


def _tf_values(profile: Profile) -> dict[str, str | None]:
    return {"name": profile.norm, "first_name": profile.first, "last_name": profile.last}


def _tf_keys(profile: Profile) -> set[str]:
    values = _tf_values(profile)
    return {
        f"{prefix}:{values[name]}" for name, (_, prefix) in TF_FIELDS.items() if values.get(name)
    }


def _word_keys(profile: Profile) -> set[str]:
    return {key for norm in profile.norms for key in map(token_key, norm.split()) if key}


def weigh_words(
    connection: AnyConnection,
    workspace_id: uuid.UUID,
    subjects: Iterable[Profile],
    others: Iterable[Profile],
    *,
    counts: dict[str, int],
    population: int,
) -> None:
    """Weigh the name words of every profile by how rare they are in the workspace.

    Counts what scoring `subjects` against `others` reads and `counts` lacks (every name
    word, and the subjects' exact names for their term frequencies), adding it to
    `counts`, with candidates.count_keys' limits.
    """
    subjects, others = list(subjects), list(others)
    wanted = {key for profile in [*subjects, *others] for key in _word_keys(profile)}
    wanted.update(key for profile in subjects for key in _tf_keys(profile))
    missing = wanted - counts.keys()
    if missing:
        counts.update(count_keys(connection, workspace_id, missing, population=population))
    for profile in [*subjects, *others]:
        set_weights(profile, counts, population)


def weighed_candidates(
    connection: psycopg.Connection[Any],
    workspace_id: uuid.UUID,
    profiles: Sequence[Profile],
    *,
    batch: set[uuid.UUID],
    population: int,
) -> Candidates:
    """Find the profiles' candidates and weigh the name words of all of them."""
    found = find_candidates(connection, workspace_id, profiles, batch=batch, population=population)
    weigh_words(
        connection, workspace_id, profiles, found.stored.values(),
        counts=found.counts, population=population,
    )  # fmt: skip
    return found


def term_frequencies(
    profile: Profile, model: Model, *, counts: Mapping[str, int], population: int
) -> dict[str, float]:
    """Return, per name field, how common this record's value is (smoothed).

    The adjustment applies to exact agreement only, so the count leaves out the record
    itself and the candidate that shares the value (two "Apex Moss Analytics" records
    say nothing about the name being common). It is blended with the model's average
    exact-match u so that a small workspace, where every name is "frequent", does not
    discount every name.
    """
    tf: dict[str, float] = {}
    values = _tf_values(profile)
    for name, (level, prefix) in TF_FIELDS.items():
        value = values.get(name)
        if not value or name not in model.u:
            continue
        others = max(counts.get(f"{prefix}:{value}", 2) - 2, 0)
        average = model.u[name][level]
        tf[name] = (others + average * TF_SMOOTHING) / (population + TF_SMOOTHING)
    return tf


# -- pairs and candidates ------------------------------------------------------------------


def score_pair(
    subject: Profile, other: Profile, model: Model, tf: Mapping[str, float]
) -> tuple[dict[str, int | None], float, dict[str, float]]:
    """Return a pair's levels, match weight (bits) and each field's contribution.

    `tf` is the subject's term_frequencies: the record being decided is the subject.
    """
    levels = compare(subject, other)
    weight, contributions = model.weigh(levels, tf)
    return levels, weight, contributions


def rank(
    profile: Profile,
    others: Iterable[Profile],
    model: Model,
    *,
    counts: Mapping[str, int],
    population: int,
) -> list[Candidate]:
    """Return the best candidate per entity, strongest first."""
    tf = term_frequencies(profile, model, counts=counts, population=population)
    best: dict[uuid.UUID, Candidate] = {}
    conflicts: set[uuid.UUID] = set()
    for other in others:
        if other.entity_id is None or family(other.type) != family(profile.type):
            continue
        shared, conflict = unique_agreement(profile, other)
        if conflict:
            conflicts.add(other.entity_id)
        levels, weight, contributions = score_pair(profile, other, model, tf)
        chance = probability(weight)
        current = best.get(other.entity_id)
        worst = min(chance, current.worst) if current else chance
        if current is None or shared > current.certain or weight > current.weight:
            best[other.entity_id] = Candidate(
                other.entity_id, weight, chance, levels, contributions, other.record_id,
                certain=shared or (current.certain if current else False),
            )  # fmt: skip
        best[other.entity_id].worst = worst
    for entity_id in conflicts:
        if entity_id in best:
            best[entity_id].conflict = True
    return sorted(
        best.values(), key=lambda c: (c.certain and not c.conflict, c.weight), reverse=True
    )


# -- the model --------------------------------------------------------------------------------


def stored_model(
    connection: AnyConnection, workspace_id: uuid.UUID, entity_type: str
) -> Model | None:
    """Return the workspace's model of an entity type, if one was trained."""
    found = driver.rows(connection, queries.STORED_MODEL, {"ws": workspace_id, "type": entity_type})
    return Model.from_params(entity_type, found[0][0], found[0][1]) if found else None


def train_model(
    connection: psycopg.Connection[Any],
    workspace_id: uuid.UUID,
    entity_type: str,
    *,
    sample_size: int,
    min_records: int,
) -> Model | None:
    """Estimate and store the model from a sample of this type's records, if there are
    at least `min_records` (committing it)."""
    params = {"ws": workspace_id, "type": entity_type, "limit": sample_size}
    rows = connection.execute(queries.TRAINING_SAMPLE, params).fetchall()
    if len(rows) < min_records:
        connection.rollback()
        return None
    sample = [profile_of(row) for row in rows]
    fields = fields_for(entity_type)
    total = count_population(connection, workspace_id)
    connection.rollback()
    found = weighed_candidates(connection, workspace_id, sample, batch=set(), population=total)
    rng = random.Random(len(sample))
    random_pairs = [
        compare(a, b)
        for a, b in (rng.sample(sample, 2) for _ in range(min(20_000, len(sample) * 10)))
    ]
    by_id = {p.record_id: p for p in sample} | found.stored
    pairs = []
    for profile in sample:
        for other in found.ranked.get(profile.record_id, []):
            partner = by_id.get(other)
            if partner is not None and family(partner.type) == family(entity_type):
                pairs.append(compare(profile, partner))
    connection.rollback()
    model = train(entity_type, pairs, random_pairs, fields, person=entity_type in PERSON_TYPES)
    connection.execute(
        queries.SAVE_MODEL,
        {"ws": workspace_id, "type": entity_type, "params": Jsonb(model.params()),
         "pairs": len(pairs)},
    )  # fmt: skip
    connection.commit()
    return model
