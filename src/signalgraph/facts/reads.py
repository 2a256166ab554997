"""Reading facts: current values under precedence, history, series, percentiles, conditions.

Two times: `as_of` is the valid time (when the statement was true, as its source says),
`first_seen` the recorded time (when signalgraph learnt it). An as-of read at T keeps the
statements recorded by T that were valid by T. Every read canonicalises the stored
entity id through `entity_redirect`, so merged entities read as one and an unmerge
restores each side.

Precedence for the current value: the source's trust rank (higher wins), then
confidence (a missing confidence counts as 1), then recency (as_of, then last_seen).
Each statement below writes PRECEDENCE (or PRECEDENCE_THEN) out in full, as do the
drift checks of facts/derived.py and the triggers of migration 0009; a unit test checks
that the statements hold it.
"""

from __future__ import annotations

import operator
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.errors import UsageError
from signalgraph.facts.values import ValueProblem, parse_number
from signalgraph.schema import fact_current

INTERVALS = ("hour", "day", "week", "month", "quarter", "year")
# An undated statement is true whenever it was seen: its recency is its last sighting.
PRECEDENCE = """
s.trust_rank DESC, coalesce(f.confidence, 1) DESC,
CASE WHEN f.dated THEN f.as_of ELSE f.last_seen END DESC, f.last_seen DESC, f.id DESC
"""
# An as-of read cannot know later sightings: recorded time replaces last_seen.
PRECEDENCE_THEN = """
s.trust_rank DESC, coalesce(f.confidence, 1) DESC, f.as_of DESC, f.first_seen DESC, f.id DESC
"""

_CURRENT = """
SELECT DISTINCT ON (f.property)
       f.id, f.entity_id AS stored_entity_id, coalesce(r.to_id, f.entity_id) AS entity_id,
       f.entity_ref, f.property, f.value, f.value_type, f.unit, f.currency, f.as_of, f.dated,
       s.name AS source, s.trust_rank, f.confidence, f.run_id, f.signal_id, f.first_seen,
       f.last_seen
FROM fact f
JOIN source s ON s.workspace_id = f.workspace_id AND s.id = f.source_id
LEFT JOIN entity_redirect r ON r.workspace_id = f.workspace_id AND r.from_id = f.entity_id
WHERE f.workspace_id = :ws AND f.entity_id = ANY(:members)
  AND (CAST(:at AS timestamptz) IS NULL OR (f.first_seen <= :at AND f.as_of <= :at))
ORDER BY f.property,
         s.trust_rank DESC, coalesce(f.confidence, 1) DESC,
         CASE WHEN f.dated THEN f.as_of ELSE f.last_seen END DESC, f.last_seen DESC, f.id DESC
"""

# The same, as recorded at :at (PRECEDENCE_THEN).
_CURRENT_THEN = """
SELECT DISTINCT ON (f.property)
       f.id, f.entity_id AS stored_entity_id, coalesce(r.to_id, f.entity_id) AS entity_id,
       f.entity_ref, f.property, f.value, f.value_type, f.unit, f.currency, f.as_of, f.dated,
       s.name AS source, s.trust_rank, f.confidence, f.run_id, f.signal_id, f.first_seen,
       f.last_seen
FROM fact f
JOIN source s ON s.workspace_id = f.workspace_id AND s.id = f.source_id
LEFT JOIN entity_redirect r ON r.workspace_id = f.workspace_id AND r.from_id = f.entity_id
WHERE f.workspace_id = :ws AND f.entity_id = ANY(:members)
  AND (CAST(:at AS timestamptz) IS NULL OR (f.first_seen <= :at AND f.as_of <= :at))
ORDER BY f.property,
         s.trust_rank DESC, coalesce(f.confidence, 1) DESC, f.as_of DESC, f.first_seen DESC,
         f.id DESC
"""

_HISTORY = """
SELECT f.id, f.entity_id AS stored_entity_id, coalesce(r.to_id, f.entity_id) AS entity_id,
       f.entity_ref, f.property, f.value, f.value_type, f.unit, f.currency, f.as_of, f.dated,
       s.name AS source, s.trust_rank, f.confidence, f.run_id, f.signal_id, f.first_seen,
       f.last_seen,
       row_number() OVER (ORDER BY
           s.trust_rank DESC, coalesce(f.confidence, 1) DESC,
           CASE WHEN f.dated THEN f.as_of ELSE f.last_seen END DESC, f.last_seen DESC, f.id DESC
       ) = 1 AS current
FROM fact f
JOIN source s ON s.workspace_id = f.workspace_id AND s.id = f.source_id
LEFT JOIN entity_redirect r ON r.workspace_id = f.workspace_id AND r.from_id = f.entity_id
WHERE f.workspace_id = :ws AND f.entity_id = ANY(:members) AND f.property = :prop
ORDER BY f.as_of DESC, f.first_seen DESC, f.id DESC
"""

_SERIES = """
SELECT b.entity_id, e.name, e.type, b.bucket, b.value, b.value_num, b.unit, b.currency,
       b.as_of, b.source
FROM (
    SELECT DISTINCT ON (coalesce(r.to_id, f.entity_id), date_trunc(:interval, f.as_of))
           coalesce(r.to_id, f.entity_id) AS entity_id,
           date_trunc(:interval, f.as_of) AS bucket, f.value, f.value_num, f.unit,
           f.currency, f.as_of, s.name AS source
    FROM fact f
    JOIN source s ON s.workspace_id = f.workspace_id AND s.id = f.source_id
    LEFT JOIN entity_redirect r ON r.workspace_id = f.workspace_id AND r.from_id = f.entity_id
    WHERE f.workspace_id = :ws AND f.property = :prop
      AND (CAST(:members AS uuid[]) IS NULL OR f.entity_id = ANY(:members))
      AND (CAST(:start AS timestamptz) IS NULL OR f.as_of >= :start)
      AND (CAST(:end AS timestamptz) IS NULL OR f.as_of < :end)
    ORDER BY 1, 2, f.as_of DESC,
             s.trust_rank DESC, coalesce(f.confidence, 1) DESC,
             CASE WHEN f.dated THEN f.as_of ELSE f.last_seen END DESC, f.last_seen DESC,
             f.id DESC
) b
JOIN entity e ON e.workspace_id = :ws AND e.id = b.entity_id
 AND (e.archived_at IS NULL OR CAST(:members AS uuid[]) IS NOT NULL)
ORDER BY b.bucket, e.name, b.entity_id LIMIT :limit
"""

# fact_daily holds each canonical entity's winning number per day (kept by triggers,
# migration 0009). percent_rank = values below / (peers - 1). The page is read from the
# index top down (with every tie of its last value, so names break ties right); it
# holds, per day and type, every value at or above its own, so the values at or above
# are counted on the page, and peers only for the groups on it. `head` and `peers`
# filter fact_daily alike.
_PERCENTILE = """
WITH head AS (
    SELECT day, entity_type, entity_id, value_num FROM fact_daily
    WHERE workspace_id = :ws AND property = :prop AND NOT archived
      AND (CAST(:day AS date) IS NULL OR day = :day)
      AND (CAST(:type AS text) IS NULL OR entity_type = :type)
    ORDER BY day, entity_type, value_num DESC LIMIT :limit
), last AS (
    SELECT day, entity_type, value_num FROM head
    ORDER BY day DESC, entity_type DESC, value_num LIMIT 1
), page AS (
    SELECT * FROM head
  UNION
    SELECT d.day, d.entity_type, d.entity_id, d.value_num FROM fact_daily d, last l
    WHERE d.workspace_id = :ws AND d.property = :prop AND NOT d.archived
      AND d.day = l.day AND d.entity_type = l.entity_type AND d.value_num = l.value_num
), peers AS MATERIALIZED (
    SELECT g.day, g.entity_type,
           (SELECT count(*) FROM fact_daily
            WHERE workspace_id = :ws AND property = :prop AND NOT archived
              AND (CAST(:day AS date) IS NULL OR day = :day)
              AND (CAST(:type AS text) IS NULL OR entity_type = :type)
              AND day = g.day AND entity_type = g.entity_type) AS n
    FROM (SELECT DISTINCT day, entity_type FROM page) AS g
)
SELECT t.day, t.entity_type AS type, t.entity_id, e.name, t.value_num AS value,
       CASE WHEN p.n > 1 THEN (p.n - count(*) OVER (PARTITION BY t.day, t.entity_type
            ORDER BY t.value_num DESC RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
            )::float8 / (p.n - 1) ELSE 0 END AS percentile,
       p.n AS peers
FROM page t JOIN peers p ON p.day = t.day AND p.entity_type = t.entity_type
JOIN entity e ON e.workspace_id = :ws AND e.id = t.entity_id
ORDER BY t.day, t.entity_type, t.value_num DESC, e.name, t.entity_id LIMIT :limit
"""


def _statement(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def current(
    conn: Connection, workspace_id: uuid.UUID, members: set[uuid.UUID], at: datetime | None
) -> dict[str, dict[str, Any]]:
    """Return each property's winning statement for an entity (and its merged ids)."""
    rows = conn.execute(
        sa.text(_CURRENT_THEN if at else _CURRENT),
        {"ws": workspace_id, "members": sorted(members), "at": at},
    )
    return {row.property: _statement(row) for row in rows}


def history(
    conn: Connection, workspace_id: uuid.UUID, members: set[uuid.UUID], prop: str
) -> list[dict[str, Any]]:
    """Return every statement of one property of an entity, newest valid time first."""
    rows = conn.execute(
        sa.text(_HISTORY), {"ws": workspace_id, "members": sorted(members), "prop": prop}
    )
    return [_statement(row) for row in rows]


def series(
    conn: Connection,
    workspace_id: uuid.UUID,
    prop: str,
    *,
    members: set[uuid.UUID] | None,
    start: datetime | None,
    end: datetime | None,
    interval: str,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Return the last value per canonical entity and bucket (date_trunc of as_of)."""
    if interval not in INTERVALS:
        raise UsageError(f"unknown interval {interval!r}", hint=f"expected {', '.join(INTERVALS)}")
    rows = conn.execute(
        sa.text(_SERIES),
        {
            "ws": workspace_id,
            "prop": prop,
            "interval": interval,
            "members": sorted(members) if members is not None else None,
            "start": start,
            "end": end,
            "limit": limit,
        },
    )
    return [dict(row._mapping) for row in rows]


def percentile(
    conn: Connection,
    workspace_id: uuid.UUID,
    prop: str,
    *,
    day: date | None,
    entity_type: str | None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Return each entity's value and its percentile rank among its type, per day.

    Archived entities are left out: they are no one's peers.
    """
    rows = conn.execute(
        sa.text(_PERCENTILE),
        {"ws": workspace_id, "prop": prop, "day": day, "type": entity_type, "limit": limit},
    )
    return [dict(row._mapping) for row in rows]


_CONDITION = re.compile(
    r"^\s*([A-Za-z][A-Za-z0-9_.:\-]*)\s*(>=|<=|!=|<>|==|=|>|<)\s*(.+?)\s*$", re.DOTALL
)
_OPS = {">": ">", "<": "<", ">=": ">=", "<=": "<=", "=": "=", "==": "=", "!=": "<>", "<>": "<>"}


def parse_condition(expression: str) -> tuple[str, str, Any, str]:
    """Return (property, SQL operator, value, column) from "revenue > 10M" and the like."""
    found = _CONDITION.match(expression)
    if found is None:
        raise UsageError(
            f"{expression!r} is not a fact condition",
            hint="write PROPERTY OP VALUE, e.g. revenue > 10M",
        )
    prop, op, text = found.groups()
    sql_op = _OPS[op]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return prop.lower(), sql_op, text[1:-1], "value_text"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return prop.lower(), sql_op, _condition_date(expression, text), "value_date"
    if text.lower() in ("true", "false"):
        return prop.lower(), sql_op, text.lower(), "value_text"
    try:
        return prop.lower(), sql_op, parse_number(text), "value_num"
    except ValueProblem:
        pass
    # Unquoted text: one bare word compared for (in)equality; anything else is a mistake.
    if sql_op in ("=", "<>") and re.fullmatch(r"[\w.\-]+", text):
        return prop.lower(), sql_op, text, "value_text"
    raise UsageError(
        f"{expression!r}: {text[:60]!r} is not a number, a date or a quoted text",
        hint="numbers may have k, M, B or T; quote text (country = 'DE'); "
        "< and > compare numbers and dates",
    )


def _condition_date(expression: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:  # 2024-02-30, 2024-13-01, 0000-01-01
        reason = str(exc).replace("must be in", "must be").strip()
        raise UsageError(
            f"{expression!r}: {text!r} is not a date ({reason})",
            hint="dates are YYYY-MM-DD, from 0001-01-01 to 9999-12-31",
        ) from None


# The SQL operators parse_condition returns, as Core comparisons.
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le,
    "=": operator.eq, "<>": operator.ne,
}  # fmt: skip


def condition(workspace_id: uuid.UUID, expression: str) -> sa.Select[Any]:
    """Return a SELECT of canonical entity ids whose current value satisfies the condition.

    Usable as a subquery: `entity.c.id.in_(condition(ws, "revenue > 10M"))`.
    """
    prop, op, value, column = parse_condition(expression)
    # fact_current holds each canonical entity's winning statement (kept by triggers,
    # migration 0009), so a condition is an index range scan.
    return sa.select(fact_current.c.entity_id).where(
        fact_current.c.workspace_id == workspace_id,
        fact_current.c.property == prop,
        _COMPARE[op](fact_current.c[column], value),
    )
