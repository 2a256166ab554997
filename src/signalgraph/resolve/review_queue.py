"""The review queue's statements: raising items, and settling those whose pair is one entity.

A review item asks whether two entities are one. Once they are (whoever merged them: a
concurrent resolve run, `entities merge`, a decision on another pair that joined the
clusters) the question is moot and the item is settled: `status = 'settled'`,
`resolution = 'merged'`, who or what settled it, and the merge when it is known. Nothing
is deleted.

Two settlements keep the queue honest under concurrency:

- every merge settles, in its own transaction, the pending items inside the cluster it
  made (`settle_cluster`, called by `merge_entities`);
- a sweep settles every pending item of the workspace whose two sides resolve to one
  entity (`settle_moot`): at the end of each resolve run, before `review list`, and when
  someone decides such an item. An item raised by one transaction while another merged
  its pair is invisible to that merge's settlement; the later of the two runs' sweeps
  sees both committed.

Both lock the items they settle with SKIP LOCKED: an item another transaction holds is
being settled or decided by it, and two settlements never wait on each other.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.schema import review_item

# A review item's sides are compared by their canonical ids: an id's redirect's target,
# else itself (`coalesce((SELECT to_id FROM entity_redirect …), id)` below).

# The resolver's new review items (psycopg parameters), leaving out pairs that a merge
# committed since the batch read its candidates has already made one entity.
RAISE = """
INSERT INTO review_item (workspace_id, id, entity_a, entity_b, probability, weight, features,
    priority, run_id)
SELECT %(ws)s, d.id, d.a, d.b, d.probability, d.weight, d.features,
    d.uncertainty * (1 + (SELECT count(*) FROM entity_record r
                          WHERE r.workspace_id = %(ws)s AND r.entity_id IN (d.a, d.b))),
    %(run)s
FROM jsonb_to_recordset(%(rows)s::jsonb)
    AS d(id uuid, a uuid, b uuid, probability float8, weight float8, features jsonb,
         uncertainty float8)
WHERE coalesce((SELECT e.to_id FROM entity_redirect e
                WHERE e.workspace_id = %(ws)s AND e.from_id = d.a), d.a)
   <> coalesce((SELECT e.to_id FROM entity_redirect e
                WHERE e.workspace_id = %(ws)s AND e.from_id = d.b), d.b)
ON CONFLICT (workspace_id, entity_a, entity_b) WHERE status = 'pending' DO NOTHING
"""

# Settle the pending items between two members of the cluster whose canonical id is
# :root (just made by a merge).
SETTLE_CLUSTER = """
UPDATE review_item r
SET status = 'settled', resolution = 'merged', decided_by = :by, merge_id = :merge,
    decided_at = now()
FROM (SELECT i.id FROM review_item i
      WHERE i.workspace_id = :ws AND i.status = 'pending'
        AND i.entity_a IN (SELECT CAST(:root AS uuid) UNION ALL SELECT e.from_id
                           FROM entity_redirect e WHERE e.workspace_id = :ws AND e.to_id = :root)
        AND i.entity_b IN (SELECT CAST(:root AS uuid) UNION ALL SELECT e.from_id
                           FROM entity_redirect e WHERE e.workspace_id = :ws AND e.to_id = :root)
      FOR UPDATE OF i SKIP LOCKED) AS moot
WHERE r.workspace_id = :ws AND r.id = moot.id
RETURNING r.id
"""

# Settle the pending items of the workspace (or the one item :item) whose sides are one
# entity now.
SETTLE_MOOT = """
UPDATE review_item r
SET status = 'settled', resolution = 'merged', decided_by = :by, merge_id = NULL,
    decided_at = now()
FROM (SELECT i.id FROM review_item i
      WHERE i.workspace_id = :ws AND i.status = 'pending'
        AND (CAST(:item AS uuid) IS NULL OR i.id = :item)
        AND coalesce((SELECT e.to_id FROM entity_redirect e
                      WHERE e.workspace_id = :ws AND e.from_id = i.entity_a), i.entity_a)
          = coalesce((SELECT e.to_id FROM entity_redirect e
                      WHERE e.workspace_id = :ws AND e.from_id = i.entity_b), i.entity_b)
      FOR UPDATE OF i SKIP LOCKED) AS moot
WHERE r.workspace_id = :ws AND r.id = moot.id
RETURNING r.id
"""

# `db check --deep`: pending items whose pair is one entity (zero once every run has ended
# and the queue has been listed; see the module's docstring).
MOOT_COUNT = """
SELECT count(*) FROM review_item i
WHERE i.status = 'pending'
  AND coalesce((SELECT e.to_id FROM entity_redirect e
                WHERE e.workspace_id = i.workspace_id AND e.from_id = i.entity_a), i.entity_a)
    = coalesce((SELECT e.to_id FROM entity_redirect e
                WHERE e.workspace_id = i.workspace_id AND e.from_id = i.entity_b), i.entity_b)
"""


def settle_cluster(
    connection: Connection,
    workspace_id: uuid.UUID,
    root: uuid.UUID,
    *,
    merge_id: uuid.UUID,
    decided_by: str | None,
) -> int:
    """Settle the pending items inside the cluster of `root`, just made by a merge."""
    rows = connection.execute(
        sa.text(SETTLE_CLUSTER),
        {"ws": workspace_id, "root": root, "merge": merge_id, "by": decided_by},
    )
    return len(rows.all())


def settle_moot(
    connection: Connection,
    workspace_id: uuid.UUID,
    *,
    decided_by: str | None,
    item: uuid.UUID | None = None,
) -> int:
    """Settle every pending item (or just `item`) whose two sides are one entity now."""
    rows = connection.execute(
        sa.text(SETTLE_MOOT),
        {"ws": workspace_id, "item": item, "by": decided_by},
    )
    return len(rows.all())


def decide_pair(
    connection: Connection,
    workspace_id: uuid.UUID,
    a: uuid.UUID,
    b: uuid.UUID,
    *,
    judgement_id: uuid.UUID,
    actor: str | None,
) -> None:
    """Mark the pending item of exactly this pair decided by a judgement."""
    first, second = (a, b) if a < b else (b, a)
    connection.execute(
        review_item.update()
        .where(
            review_item.c.workspace_id == workspace_id,
            review_item.c.status == "pending",
            review_item.c.entity_a == first,
            review_item.c.entity_b == second,
        )
        .values(
            status="decided",
            resolution="judged",
            decided_by=actor,
            decided_at=sa.func.now(),
            judgement_id=judgement_id,
        )
    )
