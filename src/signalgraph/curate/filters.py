"""SQL selects of canonical entity ids by annotation, for entity search filters.

Scalar conditions (stage, rank, hidden, custom fields) hold for an entity when the
value its merge group shows (the first set one in merge precedence, see `groups`)
matches; a tag matches when any id of the group carries it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from signalgraph.curate.groups import TREE_CTE

# Rows matching a condition, then kept only when no member before them in precedence
# sets the same value (roots, with an empty path, need no check).
_SCALAR = """
SELECT c.root FROM (
    SELECT coalesce(t.root, a.entity_id) AS root, coalesce(t.path, ARRAY[]::uuid[]) AS path
    FROM annotation a LEFT JOIN tree t ON t.id = a.entity_id
    WHERE a.workspace_id = :ws AND {condition}
) c
WHERE cardinality(c.path) = 0 OR NOT EXISTS (
    SELECT 1 FROM annotation b LEFT JOIN tree tb ON tb.id = b.entity_id
    WHERE b.workspace_id = :ws AND (b.entity_id = c.root OR tb.root = c.root)
      AND coalesce(tb.path, ARRAY[]::uuid[]) < c.path AND {value} IS NOT NULL)
"""

_TAG = """
SELECT coalesce(r.to_id, a.entity_id) FROM annotation a
LEFT JOIN entity_redirect r ON r.workspace_id = a.workspace_id AND r.from_id = a.entity_id
WHERE a.workspace_id = :ws AND a.tags @> ARRAY[CAST(:{param} AS text)]
"""

_CANONICAL = """
SELECT e.id FROM entity e WHERE e.workspace_id = :ws
AND NOT EXISTS (SELECT 1 FROM entity_redirect r WHERE r.workspace_id = :ws AND r.from_id = e.id)
"""


def annotation_filter(
    workspace_id: uuid.UUID,
    *,
    stage: str | None = None,
    tag: str | None = None,
    hidden: bool | None = None,
    rank_max: int | None = None,
    rank_min: int | None = None,
    fields: Mapping[str, Any] | None = None,
) -> sa.TextualSelect:
    """Return a SELECT of canonical entity ids meeting every given annotation condition.

    Use it as `entity.c.id.in_(annotation_filter(ws, stage="In Review"))`. Custom field
    values must already be coerced to their JSON form (`Annotations.coerce_fields`).
    `hidden=False` selects every canonical entity not hidden.
    """
    parts: list[str] = []
    params: dict[str, Any] = {"ws": workspace_id}

    def scalar(condition: str, value: str) -> None:
        parts.append(_SCALAR.format(condition=condition, value=value.replace("a.", "b.")))

    if stage is not None:
        params["stage"] = stage
        scalar("a.stage = :stage", "a.stage")
    if rank_max is not None:
        params["rank_max"] = rank_max
        scalar("a.rank <= :rank_max", "a.rank")
    if rank_min is not None:
        params["rank_min"] = rank_min
        scalar("a.rank >= :rank_min", "a.rank")
    if hidden is not None:
        hidden_sql = _SCALAR.format(condition="a.hidden", value="b.hidden")
        parts.append(hidden_sql if hidden else f"{_CANONICAL} EXCEPT {hidden_sql}")
    if tag is not None:
        params["tag"] = tag
        parts.append(_TAG.format(param="tag"))
    for number, (name, value) in enumerate((fields or {}).items()):
        params[f"field_{number}"] = name
        params[f"value_{number}"] = _json(value)
        scalar(
            f"a.fields -> CAST(:field_{number} AS text) = CAST(:value_{number} AS jsonb)",
            f"a.fields -> CAST(:field_{number} AS text)",
        )
    if not parts:
        parts.append(_CANONICAL)
    body = " INTERSECT ".join(f"({part})" for part in parts)
    # Only fixed SQL fragments are joined here; every value is a bound parameter.
    sql = f"WITH RECURSIVE {TREE_CTE} SELECT entity_id FROM ({body}) AS matched(entity_id)"  # noqa: S608
    return sa.text(sql).bindparams(**params).columns(sa.column("entity_id", sa.Uuid))


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()
