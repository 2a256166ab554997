"""Merge groups: which written ids make up a canonical entity, in merge precedence order.

An entity's group is its own id plus every id that redirects to it. Annotations keep
the survivor's scalar value when it is set, else the absorbed side's, merge by merge;
over a chain of merges that is a pre-order walk of the live merge tree (each entity
before what it absorbed, absorptions in time order), which the recursive queries here
express as a `path` of merge ids: a smaller path wins. Nothing is rewritten on merge,
so deleting a redirect (unmerge) restores each side exactly.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import CTE

from signalgraph.schema import entity_redirect, merge

# Each root's effective scalar annotations as (root, key, value): rank, stage, hidden
# and "field:NAME" for custom fields; the first set value in precedence order wins.
# Flag the keys both sides set differently, one flag per merge.
CONFLICTS_SQL = """
WITH RECURSIVE
grp(root, id, path) AS (
    SELECT root, root, ARRAY[]::uuid[] FROM unnest(CAST(:roots AS uuid[])) AS root
  UNION ALL
    SELECT g.root, m.absorbed_id, g.path || m.id
    FROM grp g
    JOIN merge m ON m.workspace_id = :ws AND m.survivor_id = g.id
                AND m.kind = 'merge' AND m.undone_at IS NULL
),
scalars AS (
    SELECT DISTINCT ON (g.root, e.key) g.root, e.key, e.value
    FROM grp g
    JOIN annotation a ON a.workspace_id = :ws AND a.entity_id = g.id
    CROSS JOIN LATERAL jsonb_each(
        jsonb_strip_nulls(jsonb_build_object('rank', a.rank, 'stage', a.stage,
                                             'hidden', a.hidden))
        || coalesce((SELECT jsonb_object_agg('field:' || f.key, f.value)
                     FROM jsonb_each(a.fields) f), '{}'::jsonb)) AS e(key, value)
    ORDER BY g.root, e.key, g.path
)
INSERT INTO flag (workspace_id, id, kind, severity, object_type, object_id, message,
                  details, actor)
SELECT CAST(:ws AS uuid), uuid7(), 'annotation_conflict', 'warning', 'entity',
       CAST(:survivor AS uuid), 'merge kept the survivor''s annotations: ' || c.summary,
       jsonb_build_object('merge_id', CAST(:merge_id AS uuid),
                          'survivor_id', CAST(:survivor AS uuid),
                          'absorbed_id', CAST(:absorbed AS uuid), 'conflicts', c.conflicts),
       nullif(current_setting('signalgraph.actor', true), '')
FROM (
    SELECT jsonb_object_agg(s.key, jsonb_build_object('survivor', s.value,
                                                      'absorbed', a.value)) AS conflicts,
           string_agg(format('%s %s over %s', s.key, s.value, a.value), ', '
                      ORDER BY s.key) AS summary
    FROM scalars s
    JOIN scalars a ON a.root = CAST(:absorbed AS uuid) AND a.key = s.key
    WHERE s.root = CAST(:survivor AS uuid) AND s.value <> a.value
) c
WHERE c.conflicts IS NOT NULL
"""

GROUP_PATHS_SQL = """
WITH RECURSIVE
grp(root, id, path) AS (
    SELECT root, root, ARRAY[]::uuid[] FROM unnest(CAST(:roots AS uuid[])) AS root
  UNION ALL
    SELECT g.root, m.absorbed_id, g.path || m.id
    FROM grp g
    JOIN merge m ON m.workspace_id = :ws AND m.survivor_id = g.id
                AND m.kind = 'merge' AND m.undone_at IS NULL
)
SELECT id, path FROM grp ORDER BY path
"""


def annotation_conflicts(
    connection: Connection,
    workspace_id: uuid.UUID,
    survivor: uuid.UUID,
    absorbed: uuid.UUID,
    merge_id: uuid.UUID,
) -> int:
    """Flag the scalar annotations two entities about to merge both set, differently.

    Called by `merge_entities` before the redirect is written; one statement, one flag
    per merge listing every conflicting field with both values. Returns flags raised.
    """
    result = connection.execute(
        sa.text(CONFLICTS_SQL),
        {
            "ws": workspace_id,
            "roots": [survivor, absorbed],
            "survivor": survivor,
            "absorbed": absorbed,
            "merge_id": merge_id,
        },
    )
    return int(result.rowcount or 0)


def group_paths(
    connection: Connection, workspace_id: uuid.UUID, root: uuid.UUID
) -> list[tuple[uuid.UUID, list[uuid.UUID]]]:
    """Return the ids of a canonical entity's group with their paths, precedence first."""
    rows = connection.execute(
        sa.text(GROUP_PATHS_SQL),
        {"ws": workspace_id, "roots": [root]},
    ).all()
    return [(row.id, list(row.path)) for row in rows]


def merge_tree(workspace_id: Any) -> CTE:
    """Return the recursive CTE `tree(root, id, path)`: every merged-away id of the workspace
    with its root and path (roots themselves absent)."""
    m, r = merge.alias("m"), entity_redirect.alias("r")
    survivor_redirected = sa.select(sa.literal(1)).where(
        r.c.workspace_id == workspace_id, r.c.from_id == m.c.survivor_id
    )
    tree = (
        sa.select(
            m.c.survivor_id.label("root"),
            m.c.absorbed_id.label("id"),
            array([m.c.id]).label("path"),
        )
        .where(
            m.c.workspace_id == workspace_id,
            m.c.kind == "merge",
            m.c.undone_at.is_(None),
            ~survivor_redirected.exists(),
        )
        .cte("tree", recursive=True)
    )
    t, step = tree.alias("parent"), merge.alias("m")
    return tree.union_all(
        sa.select(t.c.root, step.c.absorbed_id, t.c.path.op("||")(step.c.id)).select_from(
            t.join(
                step,
                sa.and_(
                    step.c.workspace_id == workspace_id,
                    step.c.survivor_id == t.c.id,
                    step.c.kind == "merge",
                    step.c.undone_at.is_(None),
                ),
            )
        )
    )
