"""The resolver's statements, in psycopg's `%(name)s` style (see funnel.py for the steps).

They run on the resolver's own psycopg connection, and those `explain` shares with it
(key counts, the population) on SQLAlchemy connections too, through `db.driver`. Lists
of ids, keys and decisions travel as one JSON document, like the ingest writer's.
"""

from __future__ import annotations

from typing import Any

import orjson


def document(rows: Any) -> str:
    """Return ids, keys or rows as the one JSON document a statement takes."""
    return orjson.dumps(rows).decode()


# -- the run -----------------------------------------------------------------------------

# The entity types that have unresolved records (in one source, if given).
UNRESOLVED_TYPES = """
SELECT DISTINCT type FROM entity_record
WHERE workspace_id = %(ws)s AND entity_id IS NULL
  AND (%(source)s::uuid IS NULL OR source_id = %(source)s::uuid)
"""

# Records claimed for one batch; concurrent resolvers skip each other's.
CLAIM = """
SELECT id, source_id, external_id, type, name, aliases, identifiers, properties, created_at
FROM entity_record
WHERE workspace_id = %(ws)s AND entity_id IS NULL AND type = %(type)s
  AND (%(source)s::uuid IS NULL OR source_id = %(source)s::uuid)
ORDER BY created_at, id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""

# -- mentions into records ------------------------------------------------------------------

UNRESOLVED_MENTIONS = """
SELECT m.signal_id, m.ordinal, m.type, m.text, m.identifiers, k.source_id
FROM mention m
JOIN signal_key k ON k.workspace_id = m.workspace_id AND k.signal_id = m.signal_id
WHERE m.workspace_id = %(ws)s AND m.record_id IS NULL
  AND (%(source)s::uuid IS NULL OR k.source_id = %(source)s::uuid)
LIMIT %(limit)s
"""

MENTION_RECORDS = """
INSERT INTO entity_record (workspace_id, id, source_id, external_id, type, name,
    aliases, identifiers, properties, record_hash, run_id)
SELECT %(ws)s, d.id, d.source_id, d.external_id, d.type, d.name, d.aliases,
    d.identifiers, '{"from": "mentions"}'::jsonb, decode(d.hash, 'hex'), %(run)s
FROM jsonb_to_recordset(%(rows)s::jsonb) AS d(id uuid, source_id uuid,
    external_id text, type text, name text, aliases text[], identifiers jsonb,
    hash text)
ON CONFLICT (workspace_id, source_id, external_id) DO UPDATE
    SET aliases = ARRAY(SELECT DISTINCT unnest(entity_record.aliases
                        || EXCLUDED.aliases)),
        updated_at = now()
RETURNING id, source_id, external_id, type, name, aliases, identifiers
"""

RECORD_KEYS = """
INSERT INTO record_key (workspace_id, key, record_id)
SELECT %(ws)s, d.k, d.r FROM jsonb_to_recordset(%(rows)s::jsonb) AS d(k text, r uuid)
ON CONFLICT DO NOTHING
"""

MENTIONS_TO_RECORDS = """
UPDATE mention m SET record_id = d.r
FROM (SELECT d.*, x.tid FROM jsonb_to_recordset(%(rows)s::jsonb) AS d(s uuid, o int, r uuid)
      CROSS JOIN LATERAL (SELECT x.ctid AS tid FROM mention x
                          WHERE x.workspace_id = %(ws)s AND x.signal_id = d.s
                            AND x.ordinal = d.o LIMIT 1) AS x) AS d
WHERE m.ctid = d.tid AND m.signal_id = d.s AND m.ordinal = d.o
"""

# -- candidates ---------------------------------------------------------------------------

# The number of records in the workspace (record keys count across types).
POPULATION = "SELECT count(*) FROM entity_record WHERE workspace_id = %(ws)s"

# How many records hold each key, counted only so far: name words (`t:`) up to
# `word_limit`, other keys up to `key_limit` (candidates.WORD_COUNT_LIMIT and just past
# the blocking cap).
KEY_COUNTS = """
SELECT k.key, (SELECT count(*) FROM (SELECT 1 FROM record_key r
                                     WHERE r.workspace_id = %(ws)s AND r.key = k.key
                                     LIMIT CASE WHEN k.key LIKE 't:%%' THEN %(word_limit)s
                                                ELSE %(key_limit)s END) AS held)
FROM jsonb_array_elements_text(%(keys)s::jsonb) AS k(key)
"""

# Each record's candidates: the records sharing its keys, best first by the summed
# rarity of the keys they share, at most `limit` each.
RANKED = """
SELECT r, record_id FROM (
    SELECT w.r, k.record_id,
        row_number() OVER (PARTITION BY w.r ORDER BY sum(w.w) DESC, k.record_id) AS rank
    FROM jsonb_to_recordset(%(pairs)s::jsonb) AS w(r uuid, k text, w float8)
    CROSS JOIN LATERAL (SELECT k.record_id FROM record_key k
                        WHERE k.workspace_id = %(ws)s AND k.key = w.k
                        OFFSET 0) AS k
    WHERE k.record_id <> w.r
    GROUP BY w.r, k.record_id
) AS ranked
WHERE rank <= %(limit)s
ORDER BY r, rank
"""

RECORDS = """
SELECT r.id, r.entity_id, r.type, r.name, r.aliases, r.identifiers, r.properties, r.created_at
FROM jsonb_array_elements_text(%(ids)s::jsonb) AS b(id)
CROSS JOIN LATERAL (SELECT * FROM entity_record r
                    WHERE r.workspace_id = %(ws)s AND r.id = b.id::uuid LIMIT 1) AS r
"""

# The records of some entities, each with its entity (the columns of CLAIM, then it).
RECORDS_OF_ENTITIES = """
SELECT r.id, r.source_id, r.external_id, r.type, r.name, r.aliases, r.identifiers,
    r.properties, r.created_at, r.entity_id
FROM (SELECT DISTINCT id::uuid FROM jsonb_array_elements_text(%(ids)s::jsonb) AS id) AS b(id)
CROSS JOIN LATERAL (SELECT * FROM entity_record r
                    WHERE r.workspace_id = %(ws)s AND r.entity_id = b.id OFFSET 0) AS r
"""

# -- the model ------------------------------------------------------------------------------

STORED_MODEL = """
SELECT params, pairs FROM resolution_model WHERE workspace_id = %(ws)s AND entity_type = %(type)s
"""

TRAINING_SAMPLE = """
SELECT id, source_id, external_id, type, name, aliases, identifiers, properties, created_at
FROM entity_record WHERE workspace_id = %(ws)s AND type = %(type)s
ORDER BY random() LIMIT %(limit)s
"""

SAVE_MODEL = """
INSERT INTO resolution_model (workspace_id, entity_type, params, pairs, trained_at)
VALUES (%(ws)s, %(type)s, %(params)s, %(pairs)s, now())
ON CONFLICT (workspace_id, entity_type) DO UPDATE
    SET params = EXCLUDED.params, pairs = EXCLUDED.pairs, trained_at = now()
"""

# -- applying decisions -----------------------------------------------------------------------

NEW_ENTITIES = """
INSERT INTO entity (workspace_id, id, type, name)
SELECT %(ws)s, d.id, d.type, d.name
FROM jsonb_to_recordset(%(rows)s::jsonb) AS d(id uuid, type text, name text)
"""

ASSIGN = """
UPDATE entity_record r SET entity_id = d.entity_id, resolution = d.resolution,
    resolved_at = now(), updated_at = now()
FROM (SELECT d.*, x.tid
      FROM jsonb_to_recordset(%(rows)s::jsonb) AS d(id uuid, entity_id uuid, resolution jsonb)
      CROSS JOIN LATERAL (SELECT x.ctid AS tid FROM entity_record x
                          WHERE x.workspace_id = %(ws)s AND x.id = d.id LIMIT 1) AS x) AS d
WHERE r.ctid = d.tid
"""

FLAG = """
INSERT INTO flag (workspace_id, id, kind, severity, object_type, object_id, message, details,
    run_id)
SELECT %(ws)s, d.id, d.kind, 'warning', d.object_type, d.object_id, d.message, d.details, %(run)s
FROM jsonb_to_recordset(%(rows)s::jsonb)
    AS d(id uuid, kind text, object_type text, object_id uuid, message text, details jsonb)
"""

# Whether another resolve run in the workspace ran while this one did.
OVERLAPPED = """
SELECT EXISTS (
    SELECT 1 FROM run o JOIN run me
      ON me.workspace_id = o.workspace_id AND me.id = %(run)s
    WHERE o.workspace_id = %(ws)s AND o.kind = 'resolve' AND o.id <> me.id
      AND o.started_at <= now()
      AND (o.finished_at IS NULL OR o.finished_at >= me.started_at))
"""
