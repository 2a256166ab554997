"""Entity queries: by name (prefix, words, fuzzy), identifier and structured filters, paged.

Filters from other areas (list membership, annotations, fact conditions) arrive as
selects of canonical entity ids, so each area owns its SQL and this module only
combines them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.errors import UsageError
from signalgraph.pages import Page, check_limit, decode_cursor, encode_cursor
from signalgraph.resolve.entity_refs import entity_ids_with_key
from signalgraph.resolve.identifiers import InvalidIdentifier, identifier_key, normalize_identifier
from signalgraph.resolve.names import fold, normalize_name
from signalgraph.schema import entity, entity_record, entity_redirect, record_key

CURSOR_KIND = "entities"
MAX_CANDIDATES = 5000
# A name word shared by this many records (Labs, Capital, Holdings…) finds too much to be
# worth scoring; it still counts through the name prefix and the fuzzy score.
COMMON_WORD = 500


@dataclass(frozen=True)
class EntityFilter:
    """What to select: every field narrows the result."""

    text: str | None = None
    entity_type: str | None = None
    identifier: str | None = None  # "scheme:value"
    include_archived: bool = False
    # Selects of canonical entity ids each result must be in (lists, annotations, facts).
    within: Sequence[Any] = field(default_factory=tuple)


def _name_conditions(text: str) -> tuple[list[str], list[sa.ColumnElement[bool]]]:
    exact: list[str] = []
    scheme, _, value = text.partition(":")
    if value and scheme.replace("_", "").isalnum():
        try:
            exact.append(normalize_identifier(scheme, value).key)
        except InvalidIdentifier:
            pass
    ranges: list[sa.ColumnElement[bool]] = []
    for norm in filter(None, {normalize_name(text, "company"), normalize_name(text, "person"),
                              fold(text)}):  # fmt: skip
        ranges.append(record_key.c.key.between(f"n:{norm}", f"n:{norm}\uffff"))
        exact.extend(f"t:{token}" for token in norm.split() if len(token) >= 3)
    return exact, ranges


def _structural(workspace_id: uuid.UUID, where: EntityFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [
        entity.c.workspace_id == workspace_id,
        ~sa.exists().where(
            entity_redirect.c.workspace_id == entity.c.workspace_id,
            entity_redirect.c.from_id == entity.c.id,
        ),
    ]
    if where.entity_type is not None:
        conditions.append(entity.c.type == where.entity_type)
    if not where.include_archived:
        conditions.append(entity.c.archived_at.is_(None))
    if where.identifier is not None:
        conditions.append(
            entity.c.id.in_(entity_ids_with_key(workspace_id, [identifier_key(where.identifier)]))
        )
    conditions.extend(entity.c.id.in_(subquery) for subquery in where.within)
    return conditions


# How many records hold each key, counted up to :cap (a common word is not worth more).
_KEY_COUNTS = """
SELECT k, (SELECT count(*) FROM (SELECT 1 FROM record_key
                                 WHERE workspace_id = :ws AND key = k LIMIT :cap) c)
FROM unnest(CAST(:keys AS text[])) AS k
"""


def _without_common_words(
    connection: Connection, workspace_id: uuid.UUID, keys: list[str]
) -> list[str]:
    words = [key for key in keys if key.startswith("t:")]
    if not words:
        return keys
    counts: dict[str, int] = dict(
        connection.execute(
            sa.text(_KEY_COUNTS),
            {"keys": words, "ws": workspace_id, "cap": COMMON_WORD},
        ).all()
    )
    if not any(0 < counts.get(word, 0) < COMMON_WORD for word in words):
        return keys  # only common (or unknown) words: they are all there is to search by
    return [key for key in keys if counts.get(key, 0) < COMMON_WORD]


def _row(row: Any, **extra: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "type": row.type, "archived": row.archived} | extra


def search_entities(
    connection: Connection,
    workspace_id: uuid.UUID,
    where: EntityFilter,
    *,
    limit: int = 20,
    cursor: str | None = None,
) -> Page[dict[str, Any]]:
    """Return a page of live entities: best name matches first with text, else by id."""
    check_limit(limit)
    columns = (
        entity.c.id,
        entity.c.name,
        entity.c.type,
        entity.c.archived_at.is_not(None).label("archived"),
    )
    conditions = _structural(workspace_id, where)
    if where.text is None or not where.text.strip():
        if where.text is not None:
            raise UsageError("give some text to search for")
        after = _cursor(cursor)
        if after is not None:
            conditions.append(entity.c.id > uuid.UUID(str(after[1])))
        rows = connection.execute(
            sa.select(*columns).where(*conditions).order_by(entity.c.id).limit(limit + 1)
        ).all()
        items = [_row(row) for row in rows[:limit]]
        following = encode_cursor(CURSOR_KIND, (0, items[-1]["id"])) if len(rows) > limit else None
        return Page(items, following)
    return _ranked(connection, workspace_id, where, columns, conditions, limit, cursor)


def _ranked(
    connection: Connection,
    workspace_id: uuid.UUID,
    where: EntityFilter,
    columns: tuple[Any, ...],
    conditions: list[sa.ColumnElement[bool]],
    limit: int,
    cursor: str | None,
) -> Page[dict[str, Any]]:
    from rapidfuzz import fuzz

    text = (where.text or "").strip()
    if "\x00" in text or len(text) > 1000:
        raise UsageError("the search text has a NUL character or is over 1000 characters")
    exact, ranges = _name_conditions(text)
    if not exact and not ranges:
        return Page([])
    exact = _without_common_words(connection, workspace_id, exact)
    matched = (
        sa.select(entity_record.c.entity_id, entity_record.c.name, record_key.c.key)
        .select_from(
            record_key.join(
                entity_record,
                sa.and_(
                    entity_record.c.workspace_id == record_key.c.workspace_id,
                    entity_record.c.id == record_key.c.record_id,
                ),
            )
        )
        .where(
            record_key.c.workspace_id == workspace_id,
            sa.or_(record_key.c.key.in_(exact), *ranges),
            entity_record.c.entity_id.is_not(None),
        )
        .limit(MAX_CANDIDATES)
        .subquery()
    )
    rows = connection.execute(
        sa.select(*columns, matched.c.name.label("matched_name"), matched.c.key)
        .select_from(matched.join(entity, entity.c.id == matched.c.entity_id))
        .where(*conditions)
    ).all()
    folded = fold(text)
    best: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        identified = row.key.startswith("id:")
        score = 100.0 if identified else float(fuzz.WRatio(folded, fold(row.matched_name)))
        current = best.get(row.id)
        if current is None or score > current["score"]:
            best[row.id] = _row(
                row,
                score=round(score, 1),
                matched="identifier" if identified else "name",
                matched_name=row.matched_name,
            )
    ranked = sorted(best.values(), key=lambda r: (-r["score"], r["id"]))
    after = _cursor(cursor)
    if after is not None:
        key = (-float(str(after[0])), uuid.UUID(str(after[1])))
        ranked = [r for r in ranked if (-r["score"], r["id"]) > key]
    items = ranked[:limit]
    following = (
        encode_cursor(CURSOR_KIND, (items[-1]["score"], items[-1]["id"]))
        if len(ranked) > limit
        else None
    )
    return Page(items, following)


def _cursor(cursor: str | None) -> list[str | None] | None:
    if cursor is None:
        return None
    values = decode_cursor(CURSOR_KIND, cursor)
    try:
        if len(values) != 2:
            raise ValueError("two values expected")
        float(str(values[0]))
        uuid.UUID(str(values[1]))
    except ValueError as exc:
        raise UsageError(f"cursor {cursor[:40]!r} is damaged") from exc
    return values
