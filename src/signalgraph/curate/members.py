"""Turn the ids an analyst typed into list members: entities (by id, prefix, short
id, merged id or identifier) or signals."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph import lookup
from signalgraph.errors import NotFound, UsageError
from signalgraph.resolve.decisions import canonical_ids
from signalgraph.resolve.entity_refs import resolve_entity_id
from signalgraph.schema import entity, signal_key


@dataclass
class ResolvedMembers:
    """Each typed id as a canonical entity id or a signal id, and those that did not resolve."""

    entities: dict[str, uuid.UUID] = field(default_factory=dict)
    signals: dict[str, uuid.UUID] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)


def resolve_members(
    connection: Connection, workspace_id: uuid.UUID, values: Sequence[str | uuid.UUID]
) -> ResolvedMembers:
    """Resolve typed ids in a few set-based queries (one per table for full ids and prefixes)."""
    found = ResolvedMembers()
    full: dict[str, uuid.UUID] = {}
    partial: dict[str, lookup.TypedId] = {}
    for value in values:
        shown = str(value)
        try:
            typed = lookup.parse_id(value, "entity or signal")
        except UsageError:
            typed = None
        if typed is None or (isinstance(value, str) and ":" in value):
            # Not an id: an entity's identifier (domain:acme.ai) or its name.
            try:
                found.entities[shown] = resolve_entity_id(connection, workspace_id, value)
            except (NotFound, UsageError) as exc:
                found.invalid[shown] = exc.message
            continue
        if typed.full is not None:
            full[shown] = typed.full
        else:
            partial[shown] = typed
    entity_hits: dict[str, set[uuid.UUID]] = {shown: set() for shown in [*full, *partial]}
    signal_hits: dict[str, set[uuid.UUID]] = {shown: set() for shown in [*full, *partial]}
    if full:
        ids = list(set(full.values()))
        known_entities = set(
            connection.execute(
                sa.select(entity.c.id).where(
                    entity.c.workspace_id == workspace_id, entity.c.id.in_(ids)
                )
            ).scalars()
        )
        known_signals = set(
            connection.execute(
                sa.select(signal_key.c.signal_id).where(
                    signal_key.c.workspace_id == workspace_id, signal_key.c.signal_id.in_(ids)
                )
            ).scalars()
        )
        for shown, wanted in full.items():
            if wanted in known_entities:
                entity_hits[shown].add(wanted)
            if wanted in known_signals:
                signal_hits[shown].add(wanted)
    # Prefixes and short ids are typed by hand, a few at a time: one query each.
    for shown, typed in partial.items():
        for column, table_hits in (
            (entity.c.id, entity_hits),
            (signal_key.c.signal_id, signal_hits),
        ):
            table = column.table
            table_hits[shown].update(
                connection.execute(
                    sa.select(column)
                    .where(table.c.workspace_id == workspace_id, typed.condition(column))
                    .limit(lookup.SHOWN_CANDIDATES)
                ).scalars()
            )
    canonical = canonical_ids(
        connection, workspace_id, [i for hits in entity_hits.values() for i in hits]
    )
    for shown, hits in entity_hits.items():
        matches = len(hits) + len(signal_hits[shown])
        if matches == 0:
            found.invalid[shown] = "does not exist in this workspace"
        elif matches > 1:
            found.invalid[shown] = "matches several objects; give more characters or the full id"
        elif hits:
            found.entities[shown] = canonical[next(iter(hits))]
        else:
            found.signals[shown] = next(iter(signal_hits[shown]))
    return found
