"""The derived fact tables (`fact_current`, `fact_daily`) and how to check them.

Triggers (migration 0009) keep both equal to what precedence decides over `fact`,
following merges; these queries recompute that from scratch and count the rows where
the stored tables differ (zero on a healthy database, `signalgraph db check --deep`).
Both order by facts.reads.PRECEDENCE, written out (a unit test checks that they do).
"""

from __future__ import annotations

CURRENT_DRIFT = """
WITH expected AS (
    SELECT DISTINCT ON (f.workspace_id, coalesce(r.to_id, f.entity_id), f.property)
           f.workspace_id, coalesce(r.to_id, f.entity_id) AS entity_id, f.property,
           f.id AS fact_id, f.value_num, f.value_text, f.value_date
    FROM fact f
    JOIN source s ON s.workspace_id = f.workspace_id AND s.id = f.source_id
    LEFT JOIN entity_redirect r ON r.workspace_id = f.workspace_id AND r.from_id = f.entity_id
    ORDER BY f.workspace_id, coalesce(r.to_id, f.entity_id), f.property,
             s.trust_rank DESC, coalesce(f.confidence, 1) DESC,
             CASE WHEN f.dated THEN f.as_of ELSE f.last_seen END DESC, f.last_seen DESC,
             f.id DESC
), stored AS (
    SELECT workspace_id, entity_id, property, fact_id, value_num, value_text, value_date
    FROM fact_current
)
SELECT (SELECT count(*) FROM (SELECT * FROM expected EXCEPT SELECT * FROM stored) AS missing)
     + (SELECT count(*) FROM (SELECT * FROM stored EXCEPT SELECT * FROM expected) AS extra)
"""

DAILY_DRIFT = """
WITH expected AS (
    SELECT DISTINCT ON (f.workspace_id, coalesce(r.to_id, f.entity_id), f.property,
                        (f.as_of AT TIME ZONE 'UTC')::date)
           f.workspace_id, coalesce(r.to_id, f.entity_id) AS entity_id, f.property,
           (f.as_of AT TIME ZONE 'UTC')::date AS day,
           f.id AS fact_id, f.value_num, e.type AS entity_type,
           e.archived_at IS NOT NULL AS archived
    FROM fact f
    JOIN source s ON s.workspace_id = f.workspace_id AND s.id = f.source_id
    LEFT JOIN entity_redirect r ON r.workspace_id = f.workspace_id AND r.from_id = f.entity_id
    JOIN entity e ON e.workspace_id = f.workspace_id AND e.id = coalesce(r.to_id, f.entity_id)
    WHERE f.value_num IS NOT NULL
    ORDER BY f.workspace_id, coalesce(r.to_id, f.entity_id), f.property,
             (f.as_of AT TIME ZONE 'UTC')::date,
             s.trust_rank DESC, coalesce(f.confidence, 1) DESC,
             CASE WHEN f.dated THEN f.as_of ELSE f.last_seen END DESC, f.last_seen DESC,
             f.id DESC
), stored AS (
    SELECT workspace_id, entity_id, property, day, fact_id, value_num, entity_type, archived
    FROM fact_daily
)
SELECT (SELECT count(*) FROM (SELECT * FROM expected EXCEPT SELECT * FROM stored) AS missing)
     + (SELECT count(*) FROM (SELECT * FROM stored EXCEPT SELECT * FROM expected) AS extra)
"""
