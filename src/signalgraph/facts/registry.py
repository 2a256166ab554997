"""The property registry: each property's type, unit and description, per workspace.

A property not in the registry is still accepted (as a string, numbers kept comparable)
and reported: runs count such statements, `facts properties --unknown` lists them.
Defining a property, or changing its type, re-types its stored statements
(signalgraph.facts.retype).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from signalgraph.errors import UsageError
from signalgraph.facts.statements import PROPERTY_NAME
from signalgraph.schema import PROPERTY_TYPES, fact, fact_property

# A fact batch holds its properties' locks shared and define holds one exclusively, each
# until its transaction ends: a batch never types statements by a registry entry that is
# being changed, and define re-types every statement committed before it.
LOCK_SHARED_SQL = """
SELECT pg_advisory_xact_lock_shared(hashtextextended('fact_property:' || %s::text || ':' || p, 0))
FROM (SELECT DISTINCT p FROM unnest(%s::text[]) AS p ORDER BY p) AS each_property
"""
_LOCK_SQL = (
    "SELECT pg_advisory_xact_lock(hashtextextended("
    "'fact_property:' || CAST(:ws AS text) || ':' || :name, 0))"
)

_UNKNOWN = """
SELECT f.property AS name, count(*) AS statements, max(f.last_seen) AS last_seen
FROM fact f
WHERE f.workspace_id = :ws
  AND NOT EXISTS (SELECT 1 FROM fact_property p
                  WHERE p.workspace_id = f.workspace_id AND p.name = f.property)
GROUP BY f.property ORDER BY f.property
"""


def define(
    conn: Connection,
    workspace_id: uuid.UUID,
    name: str,
    kind: str,
    *,
    description: str | None,
    unit: str | None,
) -> dict[str, Any]:
    """Add a property to the registry, or change its type, description and unit."""
    name = name.strip().lower()
    if not PROPERTY_NAME.match(name):
        raise UsageError(
            f"{name[:80]!r} is not a property name",
            hint="use letters, digits, _ . : - (starting with a letter), 100 at most",
        )
    if kind not in PROPERTY_TYPES:
        raise UsageError(
            f"unknown property type {kind!r}", hint=f"expected {', '.join(PROPERTY_TYPES)}"
        )
    conn.execute(sa.text(_LOCK_SQL), {"ws": workspace_id, "name": name})
    values = {"type": kind, "description": description, "unit": unit}
    row = conn.execute(
        insert(fact_property)
        .values(workspace_id=workspace_id, name=name, **values)
        .on_conflict_do_update(index_elements=["workspace_id", "name"], set_=values)
        .returning(fact_property)
    ).one()
    return _property(row)


def _property(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "type": row.type,
        "unit": row.unit,
        "description": row.description,
        "created_at": row.created_at,
    }


def properties(conn: Connection, workspace_id: uuid.UUID) -> list[dict[str, Any]]:
    """Return the registered properties with how many statements each has."""
    counts = (
        sa.select(sa.func.count())
        .where(fact.c.workspace_id == workspace_id, fact.c.property == fact_property.c.name)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(fact_property, counts.label("statements"))
        .where(fact_property.c.workspace_id == workspace_id)
        .order_by(fact_property.c.name)
    ).all()
    return [_property(row) | {"statements": row.statements} for row in rows]


def unknown(conn: Connection, workspace_id: uuid.UUID) -> list[dict[str, Any]]:
    """Return the property names used by statements but not registered, with counts."""
    rows = conn.execute(sa.text(_UNKNOWN), {"ws": workspace_id})
    return [dict(row._mapping) for row in rows]
