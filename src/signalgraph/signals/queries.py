"""The signal writer's SQL: key and original lookups, COPY of new signals, revisions.

Every lookup by a batch of values probes an index once per value: the batch is the outer
side of a LATERAL subquery that the planner cannot flatten (LIMIT 1 on a unique key).
With `key IN (SELECT …batch…)` or `key = ANY(batch)`, a table that has no statistics yet
(fresh, or grown since autovacuum last analysed it) looks as if its leading key columns
(workspace, source) matched a handful of rows, and the planner reads every key of the
source for each batch instead.
"""

from __future__ import annotations

# Lists of keys and hashes travel as one JSON document: building it with orjson is far
# cheaper than adapting a Python list element by element.
KEYS = """
SELECT b.external_id, k.signal_id, k.record_hash, k.created_at
FROM jsonb_array_elements_text(%(keys)s::jsonb) AS b(external_id)
CROSS JOIN LATERAL (
    SELECT k.signal_id, k.record_hash, k.created_at FROM signal_key k
    WHERE k.workspace_id = %(ws)s AND k.source_id = %(source)s AND k.external_id = b.external_id
    LIMIT 1
) AS k
"""

# One original per content hash and per URL hash (unique partial indexes).
ORIGINALS_BY_CONTENT = """
SELECT b.hash, f.signal_id, f.created_at
FROM (SELECT DISTINCT decode(h, 'hex')
      FROM jsonb_array_elements_text(%(hashes)s::jsonb) AS h) AS b(hash)
CROSS JOIN LATERAL (
    SELECT f.signal_id, f.created_at FROM fingerprint f
    WHERE f.workspace_id = %(ws)s AND f.content_hash = b.hash
      AND f.duplicate_of IS NULL AND f.content_hash IS NOT NULL
      AND f.signal_id <> ALL(%(exclude)s)
    LIMIT 1
) AS f
"""

ORIGINALS_BY_URL = """
SELECT b.hash, f.signal_id, f.created_at
FROM (SELECT DISTINCT decode(h, 'hex')
      FROM jsonb_array_elements_text(%(hashes)s::jsonb) AS h) AS b(hash)
CROSS JOIN LATERAL (
    SELECT f.signal_id, f.created_at FROM fingerprint f
    WHERE f.workspace_id = %(ws)s AND f.url_hash = b.hash
      AND f.duplicate_of IS NULL AND f.url_hash IS NOT NULL
      AND f.signal_id <> ALL(%(exclude)s)
    LIMIT 1
) AS f
"""

STAGE_UPDATES = """
CREATE TEMPORARY TABLE IF NOT EXISTS sg_stage_update (
    signal_id uuid PRIMARY KEY, kind text, title text, text text, url text, author text,
    lang text, published_at timestamptz, metadata jsonb, raw jsonb, mentions jsonb,
    record_hash bytea, prev_hash bytea, duplicate_of uuid, near_duplicate_of uuid,
    near_distance smallint, content_hash bytea, url_normalized text, url_hash bytea,
    simhash bigint, band0 int, band1 int, band2 int, band3 int, tokens int, word_sketch bytea
) ON COMMIT DELETE ROWS
"""

# Changed signals are staged in sg_stage_update; each statement below finds its rows
# through a LATERAL probe per staged signal (keyed by workspace), and updates or deletes
# them by their row address (ctid, a TID scan; with the key the probe found where the
# table is partitioned, as addresses repeat across partitions). The changed table
# itself gets no workspace condition: with one, a table without statistics looks as if
# its workspace held a handful of rows, and the planner hashed the batch against all of
# them. A row changed by another transaction since the probe is skipped (its address
# moved); the writer counts the rows each statement changed and writes the batch again
# if one was skipped.

# Claims the keys first: only if each still holds the content we classified against.
# Its row locks make a concurrent writer of the same keys wait, then fail this check.
CLAIM_KEYS = """
UPDATE signal_key k SET record_hash = g.record_hash, revision = k.revision + 1,
    updated_at = now()
FROM (SELECT u.signal_id, u.record_hash, u.prev_hash, x.tid
      FROM sg_stage_update u
      CROSS JOIN LATERAL (SELECT k.ctid AS tid FROM signal_key k
                          WHERE k.workspace_id = %(ws)s AND k.signal_id = u.signal_id
                          LIMIT 1) AS x) AS g
WHERE k.ctid = g.tid
  AND k.record_hash = g.prev_hash
"""

# The previous content becomes a revision before the signal changes.
SAVE_REVISIONS = """
INSERT INTO signal_revision (workspace_id, signal_id, revision, kind, title, text, url,
    author, lang, published_at, metadata, raw, mentions, record_hash, run_id,
    replaced_by_run_id, replaced_at)
SELECT s.workspace_id, s.id, s.revision, s.kind, s.title, s.text, s.url, s.author, s.lang,
    s.published_at, s.metadata, s.raw,
    coalesce((SELECT jsonb_agg(jsonb_build_object('type', m.type, 'text', m.text,
                 'identifiers', m.identifiers, 'start', m.span_start, 'end', m.span_end,
                 'confidence', m.confidence) ORDER BY m.ordinal)
              FROM mention m WHERE m.workspace_id = s.workspace_id
                AND m.signal_id = s.id), '[]'::jsonb),
    u.prev_hash, s.run_id, %(run)s, now()
FROM sg_stage_update u
CROSS JOIN LATERAL (SELECT * FROM signal s
                    WHERE s.workspace_id = %(ws)s AND s.id = u.signal_id LIMIT 1) AS s
"""

UPDATE_SIGNALS = """
UPDATE signal s SET kind = u.kind, title = u.title, text = u.text, url = u.url,
    author = u.author, lang = u.lang, published_at = u.published_at,
    metadata = u.metadata, raw = u.raw, duplicate_of = u.duplicate_of,
    near_duplicate_of = u.near_duplicate_of, near_distance = u.near_distance,
    revision = s.revision + 1, run_id = %(run)s, updated_at = now()
FROM (SELECT u.*, x.tid, x.id FROM sg_stage_update u
      CROSS JOIN LATERAL (SELECT s.ctid AS tid, s.id FROM signal s
                          WHERE s.workspace_id = %(ws)s AND s.id = u.signal_id
                          LIMIT 1) AS x) AS u
WHERE s.ctid = u.tid AND s.id = u.id
"""

# Two steps, so that signals swapping contents never hold the same original hash at once
# (the unique indexes are checked row by row).
CLEAR_FINGERPRINT_HASHES = """
UPDATE fingerprint f SET content_hash = NULL, url_hash = NULL
FROM (SELECT u.signal_id, x.tid FROM sg_stage_update u
      CROSS JOIN LATERAL (SELECT f.ctid AS tid FROM fingerprint f
                          WHERE f.workspace_id = %(ws)s AND f.signal_id = u.signal_id
                          LIMIT 1) AS x) AS u
WHERE f.ctid = u.tid
"""

UPDATE_FINGERPRINTS = """
UPDATE fingerprint f SET content_hash = u.content_hash, url_normalized = u.url_normalized,
    url_hash = u.url_hash, simhash = u.simhash, band0 = u.band0, band1 = u.band1,
    band2 = u.band2, band3 = u.band3, tokens = u.tokens, duplicate_of = u.duplicate_of,
    near_duplicate_of = u.near_duplicate_of, word_sketch = u.word_sketch
FROM (SELECT u.*, x.tid FROM sg_stage_update u
      CROSS JOIN LATERAL (SELECT f.ctid AS tid FROM fingerprint f
                          WHERE f.workspace_id = %(ws)s AND f.signal_id = u.signal_id
                          LIMIT 1) AS x) AS u
WHERE f.ctid = u.tid
"""

# A mention changed meanwhile (resolved to a record) is skipped here; inserting the new
# mentions then meets its key, and the batch is written again.
DELETE_MENTIONS = """
DELETE FROM mention m
USING (SELECT x.tid, x.signal_id, x.ordinal FROM sg_stage_update u
       CROSS JOIN LATERAL (SELECT m.ctid AS tid, m.signal_id, m.ordinal FROM mention m
                           WHERE m.workspace_id = %(ws)s AND m.signal_id = u.signal_id
                           OFFSET 0) AS x) AS u
WHERE m.ctid = u.tid AND m.signal_id = u.signal_id AND m.ordinal = u.ordinal
"""

INSERT_MENTIONS = """
INSERT INTO mention (workspace_id, signal_id, ordinal, type, text, identifiers,
    span_start, span_end, confidence, published_at)
SELECT %(ws)s, u.signal_id, e.ordinal::int - 1, e.item ->> 'type', e.item ->> 'text',
    coalesce(e.item -> 'identifiers', '{}'::jsonb), (e.item ->> 'start')::int,
    (e.item ->> 'end')::int, (e.item ->> 'confidence')::float8, u.published_at
FROM sg_stage_update u, jsonb_array_elements(u.mentions) WITH ORDINALITY AS e(item, ordinal)
"""

# In order; the ones whose row count must be the number of staged signals are marked.
REVISE = [
    (SAVE_REVISIONS, True),
    (UPDATE_SIGNALS, True),
    (CLEAR_FINGERPRINT_HASHES, True),
    (UPDATE_FINGERPRINTS, True),
    (DELETE_MENTIONS, False),
    (INSERT_MENTIONS, False),
]


COPY_KEYS = (
    "COPY signal_key (workspace_id, signal_id, source_id, external_id, record_hash) "
    "FROM STDIN (FORMAT BINARY)"
)
KEY_TYPES = ["uuid", "uuid", "uuid", "text", "bytea"]
COPY_SIGNALS = (
    "COPY signal (workspace_id, id, source_id, external_id, kind, title, text, url, author, "
    "lang, published_at, metadata, raw, duplicate_of, near_duplicate_of, near_distance, run_id) "
    "FROM STDIN (FORMAT BINARY)"
)
SIGNAL_TYPES = [
    "uuid", "uuid", "uuid", "text", "text", "text", "text", "text", "text", "text",
    "timestamptz", "jsonb", "jsonb", "uuid", "uuid", "int2", "uuid",
]  # fmt: skip
COPY_FINGERPRINTS = (
    "COPY fingerprint (workspace_id, signal_id, content_hash, url_normalized, url_hash, "
    "simhash, band0, band1, band2, band3, tokens, duplicate_of, near_duplicate_of, word_sketch) "
    "FROM STDIN (FORMAT BINARY)"
)
FINGERPRINT_TYPES = [
    "uuid", "uuid", "bytea", "text", "bytea", "int8", "int4", "int4", "int4", "int4",
    "int4", "uuid", "uuid", "bytea",
]  # fmt: skip
COPY_MENTIONS = (
    "COPY mention (workspace_id, signal_id, ordinal, type, text, identifiers, "
    "span_start, span_end, confidence, published_at) FROM STDIN (FORMAT BINARY)"
)
MENTION_TYPES = [
    "uuid", "uuid", "int4", "text", "text", "jsonb", "int4", "int4", "float8", "timestamptz"
]  # fmt: skip
CLEAR_STAGED_UPDATES = "DELETE FROM sg_stage_update"
COPY_STAGED_UPDATES = "COPY sg_stage_update FROM STDIN (FORMAT BINARY)"
STAGED_UPDATE_TYPES = [
    "uuid", "text", "text", "text", "text", "text", "text", "timestamptz", "jsonb", "jsonb",
    "jsonb", "bytea", "bytea", "uuid", "uuid", "int2", "bytea", "text", "bytea", "int8", "int4",
    "int4", "int4", "int4", "int4", "bytea",
]  # fmt: skip
