"""SELECTs of canonical entity ids by annotation, for entity search filters (Core).

Scalar conditions (stage, rank, hidden, custom fields) hold for an entity when the
value its merge group shows (the first set one in merge precedence, see `groups`)
matches; a tag matches when any id of the group carries it.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import array as postgresql_array
from sqlalchemy.sql.expression import CTE, ColumnElement

from signalgraph.curate.groups import merge_tree
from signalgraph.schema import annotation, entity, entity_redirect

# The path of a root: nothing comes before it in merge precedence.
_ROOT_PATH = sa.cast(sa.literal_column("ARRAY[]"), ARRAY(sa.Uuid))

_Column = Callable[[Any], ColumnElement[Any]]


def _scalar(tree: CTE, workspace_id: Any, condition: _Column, value: _Column) -> sa.Select[Any]:
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


def _tagged(workspace_id: Any, tag: Any) -> sa.Select[Any]:
    a, r = annotation.alias("a"), entity_redirect.alias("r")
    return (
        sa.select(sa.func.coalesce(r.c.to_id, a.c.entity_id).label("entity_id"))
        .select_from(
            a.outerjoin(
                r, sa.and_(r.c.workspace_id == a.c.workspace_id, r.c.from_id == a.c.entity_id)
            )
        )
        .where(
            a.c.workspace_id == workspace_id,
            a.c.tags.contains(sa.cast(postgresql_array([tag]), ARRAY(sa.Text))),
        )
    )


def _canonical(workspace_id: Any) -> sa.Select[Any]:
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
    names = tuple(fields or {})
    shape = (stage is not None, rank_max is not None, rank_min is not None, hidden,
             tag is not None, names)  # fmt: skip
    values: dict[str, Any] = {"ws": workspace_id, "stage": stage, "rank_max": rank_max,
                              "rank_min": rank_min, "tag": tag}  # fmt: skip
    for index, (name, value) in enumerate((fields or {}).items()):
        values[f"field_{index}"] = name
        values[f"value_{index}"] = orjson.dumps(value).decode()
    used = {"ws", *(name for name, given in (("stage", stage), ("rank_max", rank_max),
            ("rank_min", rank_min), ("tag", tag)) if given is not None)}  # fmt: skip
    used |= {key for key in values if key.startswith(("field_", "value_"))}
    wanted = {key: value for key, value in values.items() if key in used}
    return _statement(shape).params(**wanted)


# Building the Core expression (a few ms) costs more than running it: each shape of filter
# is built once per process with named parameters, then given each search's values
# (`params`), and SQLAlchemy compiles each shape once.
@functools.lru_cache(maxsize=256)
def _statement(shape: tuple[Any, ...]) -> sa.Select[Any]:
    has_stage, has_rank_max, has_rank_min, hidden, has_tag, names = shape
    workspace = sa.bindparam("ws", type_=sa.Uuid)
    tree = merge_tree(workspace)
    parts: list[sa.Select[Any] | sa.CompoundSelect[Any]] = []
    if has_stage:
        stage = sa.bindparam("stage", type_=sa.Text)
        parts.append(_scalar(tree, workspace, lambda a: a.c.stage == stage, lambda b: b.c.stage))
    if has_rank_max:
        rank_max = sa.bindparam("rank_max", type_=sa.Integer)
        parts.append(_scalar(tree, workspace, lambda a: a.c.rank <= rank_max, lambda b: b.c.rank))
    if has_rank_min:
        rank_min = sa.bindparam("rank_min", type_=sa.Integer)
        parts.append(_scalar(tree, workspace, lambda a: a.c.rank >= rank_min, lambda b: b.c.rank))
    if hidden is not None:
        is_hidden = _scalar(tree, workspace, lambda a: a.c.hidden, lambda b: b.c.hidden)
        parts.append(is_hidden if hidden else sa.except_(_canonical(workspace), is_hidden))
    if has_tag:
        parts.append(_tagged(workspace, sa.bindparam("tag", type_=sa.Text)))
    parts.extend(_field_is(tree, workspace, index) for index in range(len(names)))
    if not parts:
        parts.append(_canonical(workspace))
    body = parts[0] if len(parts) == 1 else sa.intersect(*parts)
    matched = body.subquery("matched")
    return sa.select(matched.c.entity_id)


def _field_is(tree: CTE, workspace: Any, index: int) -> sa.Select[Any]:
    """Return the roots whose effective custom field `:field_N` is `:value_N` (JSON text)."""
    name = sa.bindparam(f"field_{index}", type_=sa.Text)
    wanted = sa.cast(sa.bindparam(f"value_{index}", type_=sa.Text), JSONB)
    return _scalar(tree, workspace, lambda a: _field(a, name) == wanted, lambda b: _field(b, name))


def _field(alias: Any, name: Any) -> ColumnElement[Any]:
    """Return `alias.fields -> name` (the field's JSON value, or NULL)."""
    fields: ColumnElement[Any] = alias.c.fields
    return fields.op("->", return_type=JSONB)(name)
