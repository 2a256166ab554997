"""The resolution funnel's statements (see funnel.py for the steps).

Lists of ids, keys and decisions travel as one JSON document, like the ingest writer's.
"""

from __future__ import annotations

CLAIM = """
SELECT id, source_id, external_id, type, name, aliases, identifiers, properties, created_at
FROM entity_record
WHERE workspace_id = %(ws)s AND entity_id IS NULL AND type = %(type)s
  AND (%(source)s::uuid IS NULL OR source_id = %(source)s::uuid)
ORDER BY created_at, id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""

# How many records hold each key, counted only so far (the funnel's WORD_COUNT_LIMIT and
# blocking cap are the parameters).
FREQ = """
SELECT k.key, (SELECT count(*) FROM (SELECT 1 FROM record_key r
                                     WHERE r.workspace_id = %s AND r.key = k.key
                                     LIMIT CASE WHEN k.key LIKE 't:%%' THEN %s
                                                ELSE %s END) AS held)
FROM jsonb_array_elements_text(%s::jsonb) AS k(key)
"""

# Each record's candidates: the records sharing its keys, best first by the summed
# rarity of the keys they share, at most MAX_CANDIDATES each.
RANKED = """
SELECT r, record_id FROM (
    SELECT w.r, k.record_id,
        row_number() OVER (PARTITION BY w.r ORDER BY sum(w.w) DESC, k.record_id) AS rank
    FROM jsonb_to_recordset(%s::jsonb) AS w(r uuid, k text, w float8)
    JOIN record_key k ON k.workspace_id = %s AND k.key = w.k
    WHERE k.record_id <> w.r
    GROUP BY w.r, k.record_id
) AS ranked
WHERE rank <= %s
ORDER BY r, rank
"""

RECORDS = """
SELECT id, entity_id, type, name, aliases, identifiers, properties, created_at
FROM entity_record
WHERE workspace_id = %s AND id IN (SELECT (jsonb_array_elements_text(%s::jsonb))::uuid)
"""

NEW_ENTITIES = """
INSERT INTO entity (workspace_id, id, type, name)
SELECT %s, d.id, d.type, d.name
FROM jsonb_to_recordset(%s::jsonb) AS d(id uuid, type text, name text)
"""

ASSIGN = """
UPDATE entity_record r SET entity_id = d.entity_id, resolution = d.resolution,
    resolved_at = now(), updated_at = now()
FROM jsonb_to_recordset(%s::jsonb) AS d(id uuid, entity_id uuid, resolution jsonb)
WHERE r.workspace_id = %s AND r.id = d.id
"""

FLAG = """
INSERT INTO flag (workspace_id, id, kind, severity, object_type, object_id, message, details,
    run_id)
SELECT %(ws)s, d.id, d.kind, 'warning', d.object_type, d.object_id, d.message, d.details, %(run)s
FROM jsonb_to_recordset(%(rows)s::jsonb)
    AS d(id uuid, kind text, object_type text, object_id uuid, message text, details jsonb)
"""
