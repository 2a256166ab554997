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
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph import lookup
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
    return _merge(row)


def _merge(row: Any) -> MergeRecord:
    return MergeRecord(
        row.id, row.kind, row.survivor_id, row.absorbed_id, list(row.records), list(row.redirects),
        row.actor, row.reason, row.created_at, row.undone_at,
    )  # fmt: skip


def find_merge(
    connection: Connection, workspace_id: uuid.UUID, value: str | uuid.UUID
) -> MergeRecord:
    """Return the merge named by its id, or the live merge that absorbed the given entity."""
    typed = lookup.parse_id(value, "merge or entity")
    base = sa.select(merge).where(merge.c.workspace_id == workspace_id, merge.c.undone_at.is_(None))
    by_id = connection.execute(
        base.where(typed.condition(merge.c.id)).limit(lookup.SHOWN_CANDIDATES)
    ).all()
    # The newest live merge that absorbed each entity the text can name.
    newest: dict[uuid.UUID, Any] = {}
    for row in connection.execute(
        base.where(typed.condition(merge.c.absorbed_id), merge.c.kind == "merge")
        .order_by(merge.c.created_at.desc())
        .limit(4 * lookup.SHOWN_CANDIDATES)
    ):
        newest.setdefault(row.absorbed_id, row)
    by_entity = list(newest.values())
    found = by_id or by_entity
    if not found:
        raise NotFound(
            f"no merge {typed.text} to undo",
            hint="give a merge id, or the id of an entity that was merged into another "
            "(see `signalgraph entities show`)",
        )
    if len(found) > 1:
        raise lookup.ambiguous("merge", typed.text, [row.id for row in found])
    return _merge(found[0])


def undo_merge(
    connection: Connection, workspace_id: uuid.UUID, record: MergeRecord, *, actor: str | None
) -> MergeRecord:
    """Undo a merge or a split exactly: records and redirects go back where they were."""
    connection.execute(
        sa.select(merge.c.id)
        .where(merge.c.workspace_id == workspace_id, merge.c.id == record.id)
        .with_for_update()
    ).one()
    if record.kind == "merge":
        # The absorbed entity's records come back, wherever later merges took them.
        connection.execute(
            entity_record.update()
            .where(
                entity_record.c.workspace_id == workspace_id,
                entity_record.c.id.in_(record.records),
            )
            .values(entity_id=record.absorbed_id, updated_at=sa.func.now())
        )
        connection.execute(
            entity_redirect.delete().where(
                entity_redirect.c.workspace_id == workspace_id,
                entity_redirect.c.from_id == record.absorbed_id,
            )
        )
        if record.redirects:
            connection.execute(
                entity_redirect.update()
                .where(
                    entity_redirect.c.workspace_id == workspace_id,
                    entity_redirect.c.from_id.in_([uuid.UUID(v) for v in record.redirects]),
                )
                .values(to_id=record.absorbed_id)
            )
    else:  # a split: the records go back to the entity they were split from
        home = canonical_ids(connection, workspace_id, [record.survivor_id])[record.survivor_id]
        connection.execute(
            entity_record.update()
            .where(
                entity_record.c.workspace_id == workspace_id,
                entity_record.c.id.in_(record.records),
            )
            .values(entity_id=home, updated_at=sa.func.now())
        )
    row = connection.execute(
        merge.update()
        .where(merge.c.workspace_id == workspace_id, merge.c.id == record.id)
        .values(undone_at=sa.func.now(), undone_by=actor)
        .returning(merge)
    ).one()
    return _merge(row)


def split_records(
    connection: Connection,
    workspace_id: uuid.UUID,
    entity_id: uuid.UUID,
    record_ids: Sequence[uuid.UUID],
    *,
    actor: str | None,
    reason: str | None,
) -> tuple[uuid.UUID, MergeRecord]:
    """Move records out of an entity into a new one; the two are judged different."""
    if not record_ids:
        raise UsageError("give the records to split out (--records ID …)")
    rows = connection.execute(
        sa.select(entity_record.c.id, entity_record.c.entity_id, entity_record.c.name)
        .where(entity_record.c.workspace_id == workspace_id, entity_record.c.id.in_(record_ids))
        .with_for_update()
    ).all()
    found = {row.id: row for row in rows}
    missing = [str(r) for r in record_ids if r not in found]
    if missing:
        raise NotFound(f"no such record(s): {', '.join(missing)}")
    strangers = [str(row.id) for row in rows if row.entity_id != entity_id]
    if strangers:
        raise UsageError(f"record(s) {', '.join(strangers)} do not belong to entity {entity_id}")
    total = connection.execute(
        sa.select(sa.func.count())
        .select_from(entity_record)
        .where(entity_record.c.workspace_id == workspace_id, entity_record.c.entity_id == entity_id)
    ).scalar_one()
    if total == len(record_ids):
        raise UsageError("that would move every record; an entity keeps at least one")
    kind = connection.execute(
        sa.select(entity.c.type).where(
            entity.c.workspace_id == workspace_id, entity.c.id == entity_id
        )
    ).scalar_one()
    new_id = uuid7()
    connection.execute(
        entity.insert().values(
            workspace_id=workspace_id, id=new_id, type=kind, name=found[record_ids[0]].name
        )
    )
    connection.execute(
        entity_record.update()
        .where(entity_record.c.workspace_id == workspace_id, entity_record.c.id.in_(record_ids))
        .values(entity_id=new_id, updated_at=sa.func.now())
    )
    verdict = record_judgement(
        connection, workspace_id, entity_id, new_id, "different", actor=actor, reason=reason,
        origin="split",
    )  # fmt: skip
    row = connection.execute(
        merge.insert()
        .values(
            workspace_id=workspace_id,
            id=uuid7(),
            kind="split",
            survivor_id=entity_id,
            absorbed_id=new_id,
            records=list(record_ids),
            redirects=[],
            judgement_id=verdict.id,
            actor=actor,
            reason=reason,
        )
        .returning(merge)
    ).one()
    return new_id, _merge(row)


def merge_history(
    connection: Connection, workspace_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> list[MergeRecord]:
    """Return the merges and splits that involve any of the ids, newest first."""
    wanted = list(ids)
    rows = connection.execute(
        sa.select(merge)
        .where(
            merge.c.workspace_id == workspace_id,
            sa.or_(merge.c.survivor_id.in_(wanted), merge.c.absorbed_id.in_(wanted)),
        )
        .order_by(merge.c.created_at.desc())
    ).all()
    return [_merge(row) for row in rows]


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
