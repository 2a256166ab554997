"""Why two entities match or not: their best pair of records, compared field by field."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.resolve import decisions
from signalgraph.resolve.compare import (
    Profile,
    compare,
    make_profile,
    set_weights,
    token_key,
    unique_agreement,
)
from signalgraph.resolve.model import Model, probability
from signalgraph.schema import entity_record, record_key, resolution_model

# Records compared on each side at most (the best pair is shown).
MAX_RECORDS = 50


def explain_pair(
    connection: Connection, workspace_id: uuid.UUID, a: uuid.UUID, b: uuid.UUID
) -> dict[str, Any]:
    """Return the best pair of records of two canonical entities, field by field, with the
    judgements between them."""
    profiles = {
        a: _profiles(connection, workspace_id, a),
        b: _profiles(connection, workspace_id, b),
    }
    kind = profiles[a][0].type if profiles[a] else "other"
    stored = connection.execute(
        sa.select(resolution_model.c.params, resolution_model.c.pairs).where(
            resolution_model.c.workspace_id == workspace_id,
            resolution_model.c.entity_type == kind,
        )
    ).one_or_none()
    model = Model.from_params(kind, stored.params, stored.pairs) if stored else Model.default(kind)
    verdicts = decisions.judgements_between(connection, workspace_id, a, b) if a != b else []
    _weigh_tokens(connection, workspace_id, [*profiles[a], *profiles[b]])
    best: dict[str, Any] | None = None
    for left in profiles[a][:MAX_RECORDS]:
        for right in profiles[b][:MAX_RECORDS]:
            levels = compare(left, right)
            weight, contributions = model.weigh(levels)
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
    return {
        "a": a,
        "b": b,
        "same_entity": a == b,
        "model_trained": model.trained,
        "best_pair": best,
        "judgements": [v.as_dict() for v in verdicts],
    }


def _weigh_tokens(conn: Connection, workspace_id: uuid.UUID, profiles: Sequence[Profile]) -> None:
    """Weigh the name words of profiles by how rare they are, as the funnel does."""
    keys = {
        key
        for profile in profiles
        for norm in profile.norms
        for key in map(token_key, norm.split())
        if key
    }
    counts: dict[str, int] = {}
    if keys:
        counts = {
            row.key: row.n
            for row in conn.execute(
                sa.select(record_key.c.key, sa.func.count().label("n"))
                .where(record_key.c.workspace_id == workspace_id, record_key.c.key.in_(keys))
                .group_by(record_key.c.key)
            )
        }
    population = conn.execute(
        sa.select(sa.func.count()).where(entity_record.c.workspace_id == workspace_id)
    ).scalar_one()
    for profile in profiles:
        set_weights(profile, counts, max(population, 1))


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
