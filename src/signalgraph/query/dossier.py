"""The dossier of one entity: everything known about it, gathered in one read transaction."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.ids import short_id
from signalgraph.resolve import decisions, history
from signalgraph.schema import (
    audit_event,
    entity,
    entity_record,
    flag,
    judgement,
    mention,
    source,
)


def dossier(
    connection: Connection, workspace_id: uuid.UUID, entity_id: uuid.UUID, *, recent: int = 10
) -> dict[str, Any]:
    """Return names, identifiers, records, signals, decisions, flags and audit of an entity."""
    row = connection.execute(
        sa.select(entity).where(entity.c.workspace_id == workspace_id, entity.c.id == entity_id)
    ).one()
    records = _records(connection, workspace_id, entity_id)
    names: dict[str, int] = {}
    identifiers: dict[str, set[str]] = {}
    for record in records:
        for name in [record.name, *(record.aliases or [])]:
            names[name] = names.get(name, 0) + 1
        for scheme, values in (record.identifiers or {}).items():
            identifiers.setdefault(scheme, set()).update(values)
    record_ids = [record.id for record in records]
    mentions = connection.execute(
        sa.select(sa.func.count())
        .select_from(mention)
        .where(mention.c.workspace_id == workspace_id, mention.c.record_id.in_(record_ids))
    ).scalar_one()
    member_ids = decisions.members(connection, workspace_id, entity_id)
    merges = history.merge_history(connection, workspace_id, member_ids)
    return {
        "id": entity_id,
        "type": row.type,
        "name": row.name,
        "created_at": row.created_at,
        "archived_at": row.archived_at,
        "archive_reason": row.archive_reason,
        "names": sorted(names, key=lambda n: -names[n]),
        "identifiers": {k: sorted(v) for k, v in sorted(identifiers.items())},
        "records": [
            {
                "id": record.id,
                "source": record.source_name,
                "external_id": record.external_id,
                "name": record.name,
                "identifiers": record.identifiers,
                "properties": record.properties,
                "method": (record.resolution or {}).get("method"),
                "probability": (record.resolution or {}).get("probability"),
            }
            for record in records
        ],
        "mentions": mentions,
        "recent_signals": _recent_signals(connection, workspace_id, record_ids, mentions, recent),
        "merged_ids": sorted(member_ids - {entity_id}),
        "judgements": _judgements(connection, workspace_id, member_ids),
        "merge_history": [item.as_dict() for item in merges],
        "open_flags": _open_flags(connection, workspace_id, {*member_ids, *record_ids}),
        "audit": _last_events(connection, workspace_id, {*member_ids, *record_ids}, recent),
    }


def _records(connection: Connection, workspace_id: uuid.UUID, entity_id: uuid.UUID) -> list[Any]:
    return list(
        connection.execute(
            sa.select(entity_record, source.c.name.label("source_name"))
            .select_from(
                entity_record.join(
                    source,
                    sa.and_(
                        source.c.workspace_id == entity_record.c.workspace_id,
                        source.c.id == entity_record.c.source_id,
                    ),
                )
            )
            .where(
                entity_record.c.workspace_id == workspace_id,
                entity_record.c.entity_id == entity_id,
            )
            .order_by(entity_record.c.created_at)
        ).all()
    )


def _recent_signals(
    connection: Connection,
    workspace_id: uuid.UUID,
    record_ids: list[uuid.UUID],
    mentions: int,
    recent: int,
) -> list[dict[str, Any]]:
    from signalgraph.query.signal_pages import fetch_page
    from signalgraph.query.signals import POPULAR_MENTIONS, EntityScope, SignalFilter

    scope = EntityScope(tuple(record_ids), popular=mentions >= POPULAR_MENTIONS, mentions=mentions)
    rows, _ = fetch_page(connection, workspace_id, SignalFilter(entity=scope), limit=recent)
    if not rows:
        return []
    named = dict(
        connection.execute(
            sa.select(mention.c.signal_id, mention.c.text).where(
                mention.c.workspace_id == workspace_id,
                mention.c.signal_id.in_([row.id for row in rows]),
                mention.c.record_id.in_(record_ids),
            )
        ).all()
    )
    return [
        {
            "id": row.id,
            "title": row.title,
            "published_at": row.published_at,
            "as": named.get(row.id),
        }
        for row in rows
    ]


def _judgements(
    connection: Connection, workspace_id: uuid.UUID, member_ids: set[uuid.UUID]
) -> list[dict[str, Any]]:
    verdicts = connection.execute(
        sa.select(judgement)
        .where(
            judgement.c.workspace_id == workspace_id,
            sa.or_(judgement.c.entity_a.in_(member_ids), judgement.c.entity_b.in_(member_ids)),
        )
        .order_by(judgement.c.created_at.desc())
    ).all()
    return [decisions._judgement(v).as_dict() for v in verdicts]


def _open_flags(
    connection: Connection, workspace_id: uuid.UUID, object_ids: set[uuid.UUID]
) -> list[dict[str, Any]]:
    rows = connection.execute(
        sa.select(
            flag.c.id,
            flag.c.kind,
            flag.c.severity,
            flag.c.object_type,
            flag.c.message,
            flag.c.created_at,
        )
        .where(
            flag.c.workspace_id == workspace_id,
            flag.c.object_id.in_(object_ids),
            flag.c.resolved_at.is_(None),
        )
        .order_by(flag.c.created_at.desc())
    ).mappings()
    return [dict(item) for item in rows]


def _last_events(
    connection: Connection, workspace_id: uuid.UUID, object_ids: set[uuid.UUID], recent: int
) -> list[dict[str, Any]]:
    from signalgraph.audit import describe_change, newest_about

    rows = connection.execute(
        newest_about(object_ids, [audit_event.c.workspace_id == workspace_id], recent)
    ).mappings()
    return [
        {
            "at": item["created_at"],
            "actor": item["actor"],
            "action": item["action"],
            "object": f"{item['object_type']} {short_id(item['object_id'])}",
            "changed": describe_change(item["action"], item["before"], item["after"]),
        }
        for item in rows
    ]
