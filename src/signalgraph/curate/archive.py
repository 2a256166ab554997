"""Archive (soft delete) of entities: hidden from default reads, restorable (sources are
archived by signalgraph.sources.archive_source).

Archiving sets `archived_at` and nothing else: records, mentions, list members,
annotations, facts and relations keep pointing at the archived object. The resolver
still matches records to archived entities (a company that re-appears is found, not
created twice); ingest into an archived source is refused.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.curate.fields import clean_text
from signalgraph.errors import UsageError
from signalgraph.resolve import entity_refs
from signalgraph.schema import entity


def archive_entity(
    connection: Connection,
    workspace_id: uuid.UUID,
    value: str | uuid.UUID,
    *,
    reason: str | None,
    restore: bool = False,
) -> dict[str, Any]:
    """Archive (or restore) an entity given by any id form; its canonical is the one changed."""
    if reason is not None:
        reason = clean_text("reason", reason, limit=2000, multiline=True)
    entity_id = entity_refs.resolve_entity_id(connection, workspace_id, value)
    current = connection.execute(
        sa.select(entity.c.archived_at)
        .where(entity.c.workspace_id == workspace_id, entity.c.id == entity_id)
        .with_for_update()
    ).scalar_one()
    if restore and current is None:
        raise UsageError(f"entity {entity_id} is not archived")
    if not restore and current is not None:
        raise UsageError(f"entity {entity_id} is already archived", hint="restore it first")
    row = connection.execute(
        entity.update()
        .where(entity.c.workspace_id == workspace_id, entity.c.id == entity_id)
        .values(
            archived_at=None if restore else sa.func.now(),
            archive_reason=None if restore else reason,
            updated_at=sa.func.now(),
        )
        .returning(entity.c.id, entity.c.name, entity.c.archived_at, entity.c.archive_reason)
    ).one()
    return dict(row._mapping)
