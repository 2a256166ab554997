"""SELECTs of canonical entity ids by annotation, for entity search filters (Core).

Scalar conditions (stage, rank, hidden, custom fields) hold for an entity when the
value its merge group shows (the first set one in merge precedence, see `groups`)
matches; a tag matches when any id of the group carries it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql.expression import CTE, ColumnElement

from signalgraph.curate.groups import merge_tree
from signalgraph.schema import annotation, entity, entity_redirect

# The path of a root: nothing comes before it in merge precedence.
_ROOT_PATH = sa.cast(sa.literal_column("ARRAY[]"), ARRAY(sa.Uuid))

_Column = Callable[[Any], ColumnElement[Any]]


def _scalar(
    tree: CTE, workspace_id: uuid.UUID, condition: _Column, value: _Column
) -> sa.Select[Any]:
    """Return the roots whose effective `value` meets `condition`.

    Rows matching the condition count only when no member before them in merge
    precedence sets the same value (roots, with an empty path, need no check).
    """
    a, b = annotation.alias("a"), annotation.alias("b")
    t, tb = tree.alias(), tree.alias()
    matched = (
        sa.select(
            sa.func.coalesce(t.c.root, a.c.entity_id).label("root"),
            sa.func.coalesce(t.c.path, _ROOT_PATH).label("path"),
        )
        .select_from(a.outerjoin(t, t.c.id == a.c.entity_id))
        .where(a.c.workspace_id == workspace_id, condition(a))
        .subquery("c")
    )
    shadowed = (
        sa.select(sa.literal(1))
        .select_from(b.outerjoin(tb, tb.c.id == b.c.entity_id))
        .where(
            b.c.workspace_id == workspace_id,
            sa.or_(b.c.entity_id == matched.c.root, tb.c.root == matched.c.root),
            sa.func.coalesce(tb.c.path, _ROOT_PATH) < matched.c.path,
            value(b).is_not(None),
        )
    )
    return sa.select(matched.c.root.label("entity_id")).where(
        sa.or_(sa.func.cardinality(matched.c.path) == 0, ~shadowed.exists())
    )


def _tagged(workspace_id: uuid.UUID, tag: str) -> sa.Select[Any]:
    a, r = annotation.alias("a"), entity_redirect.alias("r")
    return (
        sa.select(sa.func.coalesce(r.c.to_id, a.c.entity_id).label("entity_id"))
        .select_from(
            a.outerjoin(
                r, sa.and_(r.c.workspace_id == a.c.workspace_id, r.c.from_id == a.c.entity_id)
            )
        )
        .where(a.c.workspace_id == workspace_id, a.c.tags.contains([tag]))
    )


def _canonical(workspace_id: uuid.UUID) -> sa.Select[Any]:
    e, r = entity.alias("e"), entity_redirect.alias("r")
    redirected = sa.select(sa.literal(1)).where(
        r.c.workspace_id == workspace_id, r.c.from_id == e.c.id
    )
    return sa.select(e.c.id.label("entity_id")).where(
        e.c.workspace_id == workspace_id, ~redirected.exists()
    )


def annotation_filter(
    workspace_id: uuid.UUID,
    *,
    stage: str | None = None,
    tag: str | None = None,
    hidden: bool | None = None,
    rank_max: int | None = None,
    rank_min: int | None = None,
    fields: Mapping[str, Any] | None = None,
) -> sa.Select[Any]:
    """Return a SELECT of canonical entity ids meeting every given annotation condition.

    Use it as `entity.c.id.in_(annotation_filter(ws, stage="In Review"))`. Custom field
    values must already be coerced to their JSON form (`Annotations.coerce_fields`).
    `hidden=False` selects every canonical entity not hidden.
    """
    tree = merge_tree(workspace_id)
    parts: list[sa.Select[Any] | sa.CompoundSelect[Any]] = []
    if stage is not None:
        parts.append(_scalar(tree, workspace_id, lambda a: a.c.stage == stage, lambda b: b.c.stage))
    if rank_max is not None:
        parts.append(
            _scalar(tree, workspace_id, lambda a: a.c.rank <= rank_max, lambda b: b.c.rank)
        )
    if rank_min is not None:
        parts.append(
            _scalar(tree, workspace_id, lambda a: a.c.rank >= rank_min, lambda b: b.c.rank)
        )
    if hidden is not None:
        is_hidden = _scalar(tree, workspace_id, lambda a: a.c.hidden, lambda b: b.c.hidden)
        parts.append(is_hidden if hidden else sa.except_(_canonical(workspace_id), is_hidden))
    if tag is not None:
        parts.append(_tagged(workspace_id, tag))
    parts.extend(_field_is(tree, workspace_id, n, v) for n, v in (fields or {}).items())
    if not parts:
        parts.append(_canonical(workspace_id))
    body = parts[0] if len(parts) == 1 else sa.intersect(*parts)
    matched = body.subquery("matched")
    return sa.select(matched.c.entity_id)


def _field_is(tree: CTE, workspace_id: uuid.UUID, name: str, value: Any) -> sa.Select[Any]:
    """Return the roots whose effective custom field `name` is `value` (its JSON form)."""
    wanted = sa.cast(sa.bindparam(None, orjson.dumps(value).decode(), type_=sa.Text), JSONB)
    return _scalar(
        tree, workspace_id, lambda a: _field(a, name) == wanted, lambda b: _field(b, name)
    )


def _field(alias: Any, name: str) -> ColumnElement[Any]:
    """Return `alias.fields -> name` (the field's JSON value, or NULL)."""
    fields: ColumnElement[Any] = alias.c.fields
    return fields.op("->", return_type=JSONB)(sa.cast(sa.literal(name), sa.Text))
