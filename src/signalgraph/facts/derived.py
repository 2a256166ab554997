# ruff: noqa: S608 -- SQL is built from constant fragments only.
"""The derived fact tables (`fact_current`, `fact_daily`) and how to check them.

Triggers (migration 0009) keep both equal to what precedence decides over `fact`,
following merges; these queries recompute that from scratch and count the rows where
the stored tables differ (zero on a healthy database, `signalgraph db check --deep`).
"""

from __future__ import annotations

from signalgraph.facts.reads import PRECEDENCE

_CANONICAL = "coalesce(r.to_id, f.entity_id)"
_FROM = """
FROM fact f
JOIN source s ON s.workspace_id = f.workspace_id AND s.id = f.source_id
LEFT JOIN entity_redirect r ON r.workspace_id = f.workspace_id AND r.from_id = f.entity_id
"""
_DAY = "(f.as_of AT TIME ZONE 'UTC')::date"

CURRENT_DRIFT = f"""
WITH expected AS (
    SELECT DISTINCT ON (f.workspace_id, {_CANONICAL}, f.property)
           f.workspace_id, {_CANONICAL} AS entity_id, f.property, f.id AS fact_id,
           f.value_num, f.value_text, f.value_date
    {_FROM}
    ORDER BY f.workspace_id, {_CANONICAL}, f.property, {PRECEDENCE}
), stored AS (
    SELECT workspace_id, entity_id, property, fact_id, value_num, value_text, value_date
    FROM fact_current
)
SELECT (SELECT count(*) FROM (SELECT * FROM expected EXCEPT SELECT * FROM stored) AS missing)
     + (SELECT count(*) FROM (SELECT * FROM stored EXCEPT SELECT * FROM expected) AS extra)
"""

DAILY_DRIFT = f"""
WITH expected AS (
    SELECT DISTINCT ON (f.workspace_id, {_CANONICAL}, f.property, {_DAY})
           f.workspace_id, {_CANONICAL} AS entity_id, f.property, {_DAY} AS day,
           f.id AS fact_id, f.value_num, e.type AS entity_type,
           e.archived_at IS NOT NULL AS archived
    {_FROM}
    JOIN entity e ON e.workspace_id = f.workspace_id AND e.id = {_CANONICAL}
    WHERE f.value_num IS NOT NULL
    ORDER BY f.workspace_id, {_CANONICAL}, f.property, {_DAY}, {PRECEDENCE}
), stored AS (
    SELECT workspace_id, entity_id, property, day, fact_id, value_num, entity_type, archived
    FROM fact_daily
)
SELECT (SELECT count(*) FROM (SELECT * FROM expected EXCEPT SELECT * FROM stored) AS missing)
     + (SELECT count(*) FROM (SELECT * FROM stored EXCEPT SELECT * FROM expected) AS extra)
"""
