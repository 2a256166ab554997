"""Decisions as data: judgements, merges with redirects, exact undo, splits.

A merge keeps the older entity (UUIDv7 ids sort by creation) and moves the other's
records to it; the absorbed id redirects to the survivor, and redirects that pointed at
the absorbed id are re-pointed so every redirect names a live entity. The merge row
records exactly which records and redirects moved, so an unmerge puts them back; pending
review items inside the merged cluster are settled in the same transaction. Nothing is
deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.curate.groups import annotation_conflicts
from signalgraph.errors import NotFound, SignalgraphError, UsageError
from signalgraph.ids import uuid7
from signalgraph.resolve.review_queue import decide_pair, settle_cluster
from signalgraph.schema import (
    JUDGEMENTS,
    entity,
    entity_record,
    entity_redirect,
    judgement,
    merge,
)


@dataclass(frozen=True)
class Judgement:
    """A pairwise decision about two entities."""

    id: uuid.UUID
    entity_a: uuid.UUID
    entity_b: uuid.UUID
    decision: str
    actor: str | None
    reason: str | None
    origin: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """Return the judgement as a plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class MergeRecord:
    """One merge or split, as stored."""

    id: uuid.UUID
    kind: str
    survivor_id: uuid.UUID
    absorbed_id: uuid.UUID
    records: list[uuid.UUID]
    redirects: list[str]
    actor: str | None
    reason: str | None
    created_at: datetime
    undone_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """Return the merge as a plain dict."""
        return asdict(self)


class JudgedDifferent(SignalgraphError):
    """A merge would join entities that someone judged to be different."""


class MergedMeanwhile(SignalgraphError):
    """An entity to merge was merged away by a concurrent transaction."""


def canonical_ids(
    connection: Connection, workspace_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """Return each id's canonical entity id (itself unless it was merged away)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    rows = connection.execute(
        sa.select(entity_redirect.c.from_id, entity_redirect.c.to_id).where(
            entity_redirect.c.workspace_id == workspace_id, entity_redirect.c.from_id.in_(wanted)
        )
    ).all()
    redirected = {row.from_id: row.to_id for row in rows}
    return {value: redirected.get(value, value) for value in wanted}


def members(
    connection: Connection, workspace_id: uuid.UUID, entity_id: uuid.UUID
) -> set[uuid.UUID]:
    """Return an entity's id and every id that redirects to it."""
    absorbed = connection.execute(
        sa.select(entity_redirect.c.from_id).where(
            entity_redirect.c.workspace_id == workspace_id, entity_redirect.c.to_id == entity_id
        )
    ).scalars()
    return {entity_id, *absorbed}


def _pair(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (a, b) if a < b else (b, a)


def judgements_between(
    connection: Connection, workspace_id: uuid.UUID, a: uuid.UUID, b: uuid.UUID
) -> list[Judgement]:
    """Return every judgement between any member of a and any member of b, newest first."""
    side_a = members(connection, workspace_id, a)
    side_b = members(connection, workspace_id, b)
    rows = connection.execute(
        sa.select(judgement)
        .where(
            judgement.c.workspace_id == workspace_id,
            sa.or_(
                sa.and_(judgement.c.entity_a.in_(side_a), judgement.c.entity_b.in_(side_b)),
                sa.and_(judgement.c.entity_a.in_(side_b), judgement.c.entity_b.in_(side_a)),
            ),
        )
        .order_by(judgement.c.created_at.desc(), judgement.c.id.desc())
    ).all()
    return [_judgement(row) for row in rows]


def blocking_judgement(
    connection: Connection, workspace_id: uuid.UUID, a: uuid.UUID, b: uuid.UUID
) -> Judgement | None:
    """Return a standing 'different' judgement between the two entities' members, if any.

    For each judged pair of member ids the newest judgement stands; any that says
    "different" blocks joining the entities, however they were merged since.
    """
    newest: dict[tuple[uuid.UUID, uuid.UUID], Judgement] = {}
    for item in judgements_between(connection, workspace_id, a, b):
        newest.setdefault((item.entity_a, item.entity_b), item)
    for item in newest.values():
        if item.decision == "different":
            return item
    return None


def _judgement(row: Any) -> Judgement:
    return Judgement(
        row.id, row.entity_a, row.entity_b, row.decision, row.actor, row.reason, row.origin,
        row.created_at,
    )  # fmt: skip


def check_decision(decision: str) -> None:
    """Raise UsageError unless `decision` is a judgement (same, different, unsure)."""
    if decision not in JUDGEMENTS:
        raise UsageError(
            f"unknown judgement {decision!r}", hint="expected same, different or unsure"
        )


def record_judgement(
    connection: Connection,
    workspace_id: uuid.UUID,
    a: uuid.UUID,
    b: uuid.UUID,
    decision: str,
    *,
    actor: str | None,
    reason: str | None,
    origin: str = "user",
) -> Judgement:
    """Append a judgement about two (distinct) entity ids."""
    check_decision(decision)
    if a == b:
        raise UsageError("an entity cannot be judged against itself")
    first, second = _pair(a, b)
    row = connection.execute(
        judgement.insert()
        .values(
            workspace_id=workspace_id,
            id=uuid7(),
            entity_a=first,
            entity_b=second,
            decision=decision,
            actor=actor,
            reason=reason,
            origin=origin,
        )
        .returning(judgement)
    ).one()
    return _judgement(row)


def merge_entities(
    connection: Connection,
    workspace_id: uuid.UUID,
    a: uuid.UUID,
    b: uuid.UUID,
    *,
    actor: str | None,
    reason: str | None,
    judgement_id: uuid.UUID | None = None,
) -> MergeRecord:
    """Merge two canonical entities: the older survives, the other's records move to it."""
    if a == b:
        raise UsageError("these ids are already the same entity")
    locked = connection.execute(
        sa.select(entity.c.id, entity.c.type)
        .where(entity.c.workspace_id == workspace_id, entity.c.id.in_([a, b]))
        .order_by(entity.c.id)
        .with_for_update()
    ).all()
    if len(locked) != 2:
        raise NotFound("one of the entities to merge does not exist")
    moved_away = (
        connection.execute(
            sa.select(entity_redirect.c.from_id).where(
                entity_redirect.c.workspace_id == workspace_id,
                entity_redirect.c.from_id.in_([a, b]),
            )
        )
        .scalars()
        .all()
    )
    if moved_away:
        # Someone merged one of them while we waited for the locks.
        raise MergedMeanwhile(f"entity {moved_away[0]} was merged into another meanwhile")
    # A "same" judgement just given for this pair overrides older "different" ones.
    blocker = (
        None if judgement_id is not None else blocking_judgement(connection, workspace_id, a, b)
    )
    if blocker is not None:
        who = f" by {blocker.actor}" if blocker.actor else ""
        why = f" ({blocker.reason})" if blocker.reason else ""
        raise JudgedDifferent(
            f"these entities were judged different{who}{why}",
            hint="judge them the same first if they really are",
        )
    survivor, absorbed = min(a, b), max(a, b)
    merge_id = uuid7()
    # Before the redirect exists, while each side is still its own group.
    annotation_conflicts(connection, workspace_id, survivor, absorbed, merge_id)
    moved = list(
        connection.execute(
            entity_record.update()
            .where(
                entity_record.c.workspace_id == workspace_id, entity_record.c.entity_id == absorbed
            )
            .values(entity_id=survivor, updated_at=sa.func.now())
            .returning(entity_record.c.id)
        ).scalars()
    )
    repointed = list(
        connection.execute(
            entity_redirect.update()
            .where(
                entity_redirect.c.workspace_id == workspace_id, entity_redirect.c.to_id == absorbed
            )
            .values(to_id=survivor)
            .returning(entity_redirect.c.from_id)
        ).scalars()
    )
    connection.execute(
        entity_redirect.insert().values(
            workspace_id=workspace_id, from_id=absorbed, to_id=survivor, merge_id=merge_id
        )
    )
    row = connection.execute(
        merge.insert()
        .values(
            workspace_id=workspace_id,
            id=merge_id,
            kind="merge",
            survivor_id=survivor,
            absorbed_id=absorbed,
            records=moved,
            redirects=[str(value) for value in repointed],
            judgement_id=judgement_id,
            actor=actor,
            reason=reason,
        )
        .returning(merge)
    ).one()
    connection.execute(
        entity.update()
        .where(entity.c.workspace_id == workspace_id, entity.c.id == survivor)
        .values(updated_at=sa.func.now())
    )
    # Whoever merges, the questions this merge answered leave the review queue with it.
    settle_cluster(connection, workspace_id, survivor, merge_id=merge_id, decided_by=actor)
    return merge_row(row)


def merge_row(row: Any) -> MergeRecord:
    """Return a stored merge row as a MergeRecord."""
    return MergeRecord(
        row.id, row.kind, row.survivor_id, row.absorbed_id, list(row.records), list(row.redirects),
        row.actor, row.reason, row.created_at, row.undone_at,
    )  # fmt: skip


def judge(
    connection: Connection,
    workspace_id: uuid.UUID,
    a: uuid.UUID,
    b: uuid.UUID,
    decision: str,
    *,
    actor: str | None,
    reason: str | None,
) -> dict[str, Any]:
    """Record a judgement about two canonical entities; 'same' merges them at once.

    The pending review item of exactly this pair is decided by it.
    """
    check_decision(decision)
    if a == b and decision == "different":
        raise UsageError(
            "these are one entity now",
            hint="unmerge it (`signalgraph entities unmerge`) or split records out first",
        )
    if a == b:
        return {"judgement": None, "merge": None, "entity": a}
    verdict = record_judgement(connection, workspace_id, a, b, decision, actor=actor, reason=reason)
    decide_pair(connection, workspace_id, a, b, judgement_id=verdict.id, actor=actor)
    merged = None
    if decision == "same":
        merged = merge_entities(
            connection, workspace_id, a, b, actor=actor, reason=reason, judgement_id=verdict.id
        )
    return {
        "judgement": verdict.as_dict(),
        "merge": merged.as_dict() if merged else None,
        "entity": merged.survivor_id if merged else None,
    }
