"""Applying decisions: new entities, entity ids on records, review items and flags; and
merging the entities two concurrent runs made for one thing."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import psycopg

from signalgraph.resolve import queries
from signalgraph.resolve.candidates import count_population, profile_of
from signalgraph.resolve.decisions import (
    JudgedDifferent,
    MergedMeanwhile,
    canonical_ids,
    merge_entities,
)
from signalgraph.resolve.model import Model
from signalgraph.resolve.review_queue import RAISE
from signalgraph.resolve.scoring import rank, weighed_candidates

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope


def write_batch(
    connection: psycopg.Connection[Any],
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    new_entities: list[dict[str, Any]],
    assignments: list[dict[str, Any]],
    reviews: list[dict[str, Any]],
    flags: list[dict[str, Any]],
) -> None:
    """Write one batch's decisions (the caller commits)."""
    if new_entities:
        connection.execute(
            queries.NEW_ENTITIES, {"ws": workspace_id, "rows": queries.document(new_entities)}
        )
    connection.execute(queries.ASSIGN, {"ws": workspace_id, "rows": queries.document(assignments)})
    if reviews:
        connection.execute(
            RAISE, {"ws": workspace_id, "run": run_id, "rows": queries.document(reviews)}
        )
    if flags:
        connection.execute(
            queries.FLAG, {"ws": workspace_id, "run": run_id, "rows": queries.document(flags)}
        )


def overlapped(
    connection: psycopg.Connection[Any], workspace_id: uuid.UUID, run_id: uuid.UUID
) -> bool:
    """Tell whether another resolve run in this workspace ran while this one did."""
    row = connection.execute(queries.OVERLAPPED, {"ws": workspace_id, "run": run_id}).fetchone()
    connection.rollback()
    return bool(row and row[0])


def merge_twins(
    scope: Scope,
    connection: psycopg.Connection[Any],
    workspace_id: uuid.UUID,
    created: list[uuid.UUID],
    *,
    models: Mapping[str, Model],
    link: float,
    batch_size: int,
    actor: str | None,
) -> int:
    """Merge entities this run created into matching ones another run made meanwhile;
    return how many were merged (each merge in its own transaction of `scope`)."""
    mine = set(created)
    merged = 0
    for start in range(0, len(created), batch_size):
        chunk = [str(entity_id) for entity_id in created[start : start + batch_size]]
        rows = connection.execute(
            queries.RECORDS_OF_ENTITIES, {"ws": workspace_id, "ids": queries.document(chunk)}
        ).fetchall()
        profiles = [profile_of(row[:9], row[9]) for row in rows]
        total = count_population(connection, workspace_id)
        connection.rollback()
        found = weighed_candidates(
            connection, workspace_id, profiles, batch=set(), population=total
        )
        connection.rollback()
        merges: dict[uuid.UUID, uuid.UUID] = {}
        for profile in profiles:
            others = [
                found.stored[o]
                for o in found.ranked.get(profile.record_id, [])
                if o in found.stored and found.stored[o].entity_id not in mine
            ]
            if not others or profile.entity_id in merges:
                continue
            model = models.get(profile.type) or Model.default(profile.type)
            ranked = rank(profile, others, model, counts=found.counts, population=total)
            strong = ranked and (ranked[0].certain or ranked[0].probability >= link)
            if strong and not ranked[0].conflict:
                assert profile.entity_id is not None
                merges[profile.entity_id] = ranked[0].entity_id
        for ours, theirs in merges.items():
            try:
                with scope.transaction(actor=actor) as transaction:
                    current = canonical_ids(transaction, workspace_id, [ours, theirs])
                    if current[ours] != current[theirs]:
                        merge_entities(
                            transaction,
                            workspace_id,
                            current[ours],
                            current[theirs],
                            actor=actor or "resolve",
                            reason="created concurrently by two resolve runs",
                        )
                        merged += 1
            except (JudgedDifferent, MergedMeanwhile):
                continue
    return merged
