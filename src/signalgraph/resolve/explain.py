"""Why two entities match or not: their best pair of records, compared field by field.

The pair is scored as the resolver scores it (scoring.py: the same word weights, term
frequencies and model, from the same record key counts), so for data unchanged since a
decision, explaining the two records the resolver compared shows the stored score.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.errors import UsageError
from signalgraph.resolve import decisions
from signalgraph.resolve.candidates import count_population
from signalgraph.resolve.compare import Profile, make_profile, unique_agreement
from signalgraph.resolve.model import Model, probability
from signalgraph.resolve.scoring import score_pair, stored_model, term_frequencies, weigh_words
from signalgraph.schema import entity_record

# Records compared on each side at most (the best pair is shown).
MAX_RECORDS = 50


def explain_pair(
    connection: Connection,
    workspace_id: uuid.UUID,
    a: uuid.UUID,
    b: uuid.UUID,
    *,
    records: tuple[uuid.UUID, uuid.UUID] | None = None,
) -> dict[str, Any]:
    """Return the best pair of records of two canonical entities, field by field, with the
    judgements between them.

    `records` (a record of `a`, then one of `b`) compares that pair only, the first as
    the resolver's subject: the record being decided, whose names' frequencies count.
    """
    subjects = _profiles(connection, workspace_id, a)
    others = subjects if b == a else _profiles(connection, workspace_id, b)
    if records is not None:
        subjects = [p for p in subjects if p.record_id == records[0]]
        others = [p for p in others if p.record_id == records[1]]
        if not subjects or not others:
            raise UsageError(
                f"records {records[0]} and {records[1]} are not records of {a} and {b}"
            )
    kind = subjects[0].type if subjects else "other"
    model = stored_model(connection, workspace_id, kind) or Model.default(kind)
    verdicts = decisions.judgements_between(connection, workspace_id, a, b) if a != b else []
    subjects, others = subjects[:MAX_RECORDS], others[:MAX_RECORDS]
    counts: dict[str, int] = {}
    total = count_population(connection, workspace_id)
    weigh_words(connection, workspace_id, subjects, others, counts=counts, population=total)
    return {
        "a": a,
        "b": b,
        "same_entity": a == b,
        "model_trained": model.trained,
        "best_pair": _best_pair(subjects, others, model, counts, total),
        "judgements": [v.as_dict() for v in verdicts],
    }


def _best_pair(
    subjects: Sequence[Profile],
    others: Sequence[Profile],
    model: Model,
    counts: dict[str, int],
    total: int,
) -> dict[str, Any] | None:
    """Return the strongest pair, rounded as the resolver keeps a decision's evidence."""
    best: dict[str, Any] | None = None
    for left in subjects:
        tf = term_frequencies(left, model, counts=counts, population=total)
        for right in others:
            levels, weight, contributions = score_pair(left, right, model, tf)
            shared, conflict = unique_agreement(left, right)
            if best is None or weight > best["weight"]:
                best = {
                    "weight": round(weight, 3),
                    "probability": round(probability(weight), 6),
                    "shared_unique_identifier": shared,
                    "unique_identifier_conflict": conflict,
                    "records": [str(left.record_id), str(right.record_id)],
                    "names": [left.name, right.name],
                    "levels": levels,
                    "weights": {k: round(v, 3) for k, v in contributions.items()},
                }
    return best


def _profiles(conn: Connection, workspace_id: uuid.UUID, entity_id: uuid.UUID) -> list[Profile]:
    rows = conn.execute(
        sa.select(entity_record).where(
            entity_record.c.workspace_id == workspace_id, entity_record.c.entity_id == entity_id
        )
    ).all()
    return [
        make_profile(
            r.id,
            r.entity_id,
            r.type,
            r.name,
            r.aliases or [],
            r.identifiers or {},
            r.properties or {},
            r.created_at,
        )
        for r in rows
    ]
