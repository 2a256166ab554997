"""Reading relations: both ends canonicalised through redirects at read time.

A relation whose two ends were merged into one entity reads as a self-relation and is
shown (direction "self"): it records that a source once saw two entities there, which a
reviewer of the merge wants to see. Unmerging restores both ends.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_RELATIONS = """
WITH rel AS (
    SELECT x.id, x.predicate, x.subject_id AS stored_subject_id, x.object_id AS stored_object_id,
           coalesce(rs.to_id, x.subject_id) AS subject_id,
           coalesce(ro.to_id, x.object_id) AS object_id,
           x.subject_ref, x.object_ref, x.valid_from, x.valid_to, s.name AS source,
           s.trust_rank, x.confidence, x.properties, x.signal_id, x.run_id, x.first_seen,
           x.last_seen
    FROM relation x
    JOIN source s ON s.workspace_id = x.workspace_id AND s.id = x.source_id
    LEFT JOIN entity_redirect rs ON rs.workspace_id = x.workspace_id AND rs.from_id = x.subject_id
    LEFT JOIN entity_redirect ro ON ro.workspace_id = x.workspace_id AND ro.from_id = x.object_id
    WHERE x.workspace_id = :ws
      AND (x.subject_id = ANY(:members) OR x.object_id = ANY(:members))
      AND (CAST(:predicate AS text) IS NULL OR x.predicate = :predicate)
      AND (CAST(:at AS timestamptz) IS NULL OR (x.first_seen <= :at
           AND (x.valid_from IS NULL OR x.valid_from <= :at)
           AND (x.valid_to IS NULL OR x.valid_to >= :at)))
)
SELECT rel.*,
       CASE WHEN rel.subject_id = rel.object_id THEN 'self'
            WHEN rel.subject_id = :entity THEN 'out' ELSE 'in' END AS direction,
       o.id AS other_id, o.name AS other_name, o.type AS other_type
FROM rel
JOIN entity o ON o.workspace_id = :ws
             AND o.id = CASE WHEN rel.subject_id = :entity THEN rel.object_id
                             ELSE rel.subject_id END
ORDER BY rel.predicate, direction, o.name, rel.valid_from DESC NULLS LAST, rel.id
LIMIT :limit
"""


def relations_of(
    conn: Connection,
    workspace_id: uuid.UUID,
    entity_id: uuid.UUID,
    members: set[uuid.UUID],
    *,
    predicate: str | None = None,
    at: datetime | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Return an entity's relations in both directions, with the other end's name and type."""
    rows = conn.execute(
        sa.text(_RELATIONS),
        {
            "ws": workspace_id,
            "entity": entity_id,
            "members": sorted(members),
            "predicate": predicate,
            "at": at,
            "limit": limit,
        },
    )
    return [dict(row._mapping) for row in rows]
