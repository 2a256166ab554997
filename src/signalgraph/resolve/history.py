"""Merges and splits as history: find one, undo it exactly, split records out, list them.

A merge row records exactly which records and redirects moved, so an unmerge puts them
back; a split moves records into a new entity judged different from the old one.
Nothing is deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph import lookup
from signalgraph.errors import NotFound, UsageError
from signalgraph.ids import uuid7
from signalgraph.resolve.decisions import MergeRecord, canonical_ids, merge_row, record_judgement
from signalgraph.schema import entity, entity_record, entity_redirect, merge


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
    return merge_row(found[0])


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
    return merge_row(row)


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
    return new_id, merge_row(row)


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
    return [merge_row(row) for row in rows]
