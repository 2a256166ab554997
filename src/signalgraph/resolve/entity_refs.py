"""Naming entities: the one resolver of what a user typed for an entity.

An entity is named by its id (full, a prefix, the short id tables print), by an id that
was merged away (read as its survivor), by an identifier (`domain:acme.ai`,
`ticker:MRNA`) or, when none of those matches, by its name. Every command that takes an
entity goes through `resolve_entity_id`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph import lookup
from signalgraph.errors import NotFound, UsageError
from signalgraph.resolve.decisions import canonical_ids
from signalgraph.resolve.identifiers import identifier_key
from signalgraph.schema import entity, entity_record, record_key


def resolve_entity_id(
    connection: Connection, workspace_id: uuid.UUID, value: str | uuid.UUID
) -> uuid.UUID:
    """Return the canonical id of an entity given by id, prefix, short id, merged-away id,
    identifier (`domain:acme.ai`, `ticker:MRNA`) or, failing those, its name."""
    if isinstance(value, str) and _IDENTIFIER_REF.match(value.strip()):
        return _entity_by_keys(
            connection, workspace_id, value.strip(), [identifier_key(value.strip())]
        )
    try:
        typed = lookup.parse_id(value, "entity")
    except UsageError:
        typed = None
    hint = "see `signalgraph entities list`, or name it by an identifier like domain:acme.ai"
    if typed is None:
        assert isinstance(value, str)
        return _entity_by_keys(connection, workspace_id, value.strip(), name_keys(value))
    query = sa.select(entity.c.id).where(entity.c.workspace_id == workspace_id)
    try:
        found = lookup.find(connection, query, entity.c.id, value, noun="entity", hint=hint)
    except NotFound:
        if isinstance(value, uuid.UUID) or typed.full is not None:
            raise
        try:  # short hexadecimal words ("Cafe", "Beef") are names too
            return _entity_by_keys(connection, workspace_id, value.strip(), name_keys(value))
        except NotFound:
            pass
        raise
    return canonical_ids(connection, workspace_id, [found.id])[found.id]


# "scheme:value" with a scheme of letters, digits and underscores; no UUID has a colon.
_IDENTIFIER_REF = re.compile(r"^[A-Za-z][A-Za-z0-9_]*:\S")


def name_keys(text: str) -> list[str]:
    """Return the record keys of a name as typed, normalised as company, person and plain."""
    from signalgraph.resolve.names import fold, normalize_name

    norms = {normalize_name(text, "company"), normalize_name(text, "person"), fold(text)}
    return sorted(f"n:{norm}" for norm in norms if norm)


def _entity_by_keys(
    connection: Connection, workspace_id: uuid.UUID, text: str, keys: list[str]
) -> uuid.UUID:
    rows: Iterable[uuid.UUID] = (
        connection.execute(entity_ids_with_key(workspace_id, keys)).scalars() if keys else []
    )
    entity_ids = sorted(set(canonical_ids(connection, workspace_id, rows).values()))
    if not entity_ids:
        what = "the identifier" if keys and keys[0].startswith("id:") else "the name"
        raise NotFound(
            f"no entity has {what} {text[:80]!r}",
            hint="see `signalgraph entities search`; run `signalgraph resolve` if its record "
            "was ingested but not resolved yet",
        )
    if len(entity_ids) > 1:
        raise lookup.ambiguous("entity", text, entity_ids)
    return entity_ids[0]


def entity_ids_with_key(workspace_id: uuid.UUID, keys: Sequence[str]) -> sa.Select[Any]:
    """Return a SELECT of the (not yet canonical) entity ids of the records holding a key."""
    return (
        sa.select(entity_record.c.entity_id)
        .join(
            record_key,
            sa.and_(
                record_key.c.workspace_id == entity_record.c.workspace_id,
                record_key.c.record_id == entity_record.c.id,
            ),
        )
        .where(
            record_key.c.workspace_id == workspace_id,
            record_key.c.key.in_(keys),
            entity_record.c.entity_id.is_not(None),
        )
    )
