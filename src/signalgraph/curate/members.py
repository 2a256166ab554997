"""Turn the ids an analyst typed into list members: entities (full, prefix or merged) or signals."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.errors import UsageError
from signalgraph.ids import id_or_prefix
from signalgraph.resolve.decisions import canonical_ids
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
    prefixes: dict[str, str] = {}
    for value in values:
        shown = str(value)
        try:
            wanted = id_or_prefix(value, "entity or signal")
        except UsageError:
            found.invalid[shown] = "is not an entity or signal id"
            continue
        if isinstance(wanted, uuid.UUID):
            full[shown] = wanted
        else:
            prefixes[shown] = wanted
    entity_hits: dict[str, set[uuid.UUID]] = {shown: set() for shown in [*full, *prefixes]}
    signal_hits: dict[str, set[uuid.UUID]] = {shown: set() for shown in [*full, *prefixes]}
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
    if prefixes:
        patterns = [f"{prefix}%" for prefix in set(prefixes.values())]
        for column, table_hits in (
            (entity.c.id, entity_hits),
            (signal_key.c.signal_id, signal_hits),
        ):
            table = column.table
            rows = connection.execute(
                sa.select(column).where(
                    table.c.workspace_id == workspace_id,
                    sa.cast(column, sa.Text).like(sa.any_(sa.cast(patterns, _TEXT_ARRAY))),
                )
            ).scalars()
            for candidate in rows:
                text = str(candidate)
                for shown, prefix in prefixes.items():
                    if text.startswith(prefix):
                        table_hits[shown].add(candidate)
    canonical = canonical_ids(
        connection, workspace_id, [i for hits in entity_hits.values() for i in hits]
    )
    for shown, hits in entity_hits.items():
        matches = len(hits) + len(signal_hits[shown])
        if matches == 0:
            found.invalid[shown] = "does not exist in this workspace"
        elif matches > 1:
            found.invalid[shown] = "is an ambiguous prefix; give more characters"
        elif hits:
            found.entities[shown] = canonical[next(iter(hits))]
        else:
            found.signals[shown] = next(iter(signal_hits[shown]))
    return found


_TEXT_ARRAY = sa.dialects.postgresql.ARRAY(sa.Text)
