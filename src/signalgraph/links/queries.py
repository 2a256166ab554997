"""The statements of signal-link storage and resolution (see store.py for the steps).

Lists of ids and keys travel as one JSON document (cheaper than adapting a Python list
element by element), like the ingest writer's. A batch is always the outer side of
LATERAL subqueries that probe an index once per value (LIMIT 1 on a unique key, OFFSET 0
otherwise, so the planner cannot flatten them): a link, key or flag table without
statistics otherwise looks as if its workspace prefix matched a handful of rows, and is
read whole for each batch. Updates and deletes take the row addresses (ctid) those
probes found, with the key repeated, and no workspace condition of their own (which
would again look like a handful of rows to hash): a row changed by another transaction
since is skipped, and left for the recheck at the end of the run (`RECHECK_KEYS`).
"""

from __future__ import annotations

PROBE = """
SELECT EXISTS (SELECT 1 FROM signal_link WHERE workspace_id = %(ws)s
                 AND target_source_id = %(src)s AND status <> 'resolved') AS waiting_key,
       EXISTS (SELECT 1 FROM signal_link WHERE workspace_id = %(ws)s
                 AND from_source_id = %(src)s AND status <> 'resolved'
                 AND reference_normalized IS NOT NULL) AS waiting_reference
"""

HAS_RECORD_LINKS = """
SELECT EXISTS (
    SELECT 1 FROM jsonb_array_elements_text(%(ids)s::jsonb) AS b(id)
    CROSS JOIN LATERAL (SELECT 1 FROM signal_link x
                        WHERE x.workspace_id = %(ws)s AND x.from_signal_id = b.id::uuid
                          AND x.origin = 'record'
                        LIMIT 1) AS x)
"""

REPLACE = """
DELETE FROM signal_link l
USING (SELECT x.* FROM jsonb_array_elements_text(%(ids)s::jsonb) AS b(id)
      CROSS JOIN LATERAL (SELECT x.ctid AS tid, x.* FROM signal_link x
                          WHERE x.workspace_id = %(ws)s AND x.from_signal_id = b.id::uuid
                          OFFSET 0) AS x) AS x
WHERE l.ctid = x.tid AND x.origin = 'record'
  AND NOT EXISTS (
      SELECT 1 FROM jsonb_to_recordset(%(links)s::jsonb) AS p(id uuid, from_signal_id uuid,
          type text, target_source_id uuid, target_external_id text, reference text,
          reference_normalized text, reference_words text[], reference_date date)
      WHERE p.from_signal_id = x.from_signal_id AND p.type = x.type
        AND (p.reference_normalized = x.reference_normalized
             OR (p.target_source_id = x.target_source_id
                 AND p.target_external_id = x.target_external_id)))
RETURNING l.id
"""

INSERT = """
INSERT INTO signal_link (workspace_id, id, from_signal_id, from_source_id, type,
    target_source_id, target_external_id, reference, reference_normalized, reference_words,
    reference_date, origin, run_id)
SELECT %(ws)s, p.id, p.from_signal_id, %(src)s, p.type, p.target_source_id,
    p.target_external_id, p.reference, p.reference_normalized, p.reference_words,
    p.reference_date, %(origin)s, %(run)s
FROM jsonb_to_recordset(%(links)s::jsonb) AS p(id uuid, from_signal_id uuid, type text,
    target_source_id uuid, target_external_id text, reference text, reference_normalized text,
    reference_words text[], reference_date date)
ON CONFLICT DO NOTHING
RETURNING id
"""

# Step (a): the batch's keys, probed in ix_signal_link_waiting_key and in signal_key.
RESOLVE_WAITING_KEYS = """
UPDATE signal_link l SET status = 'resolved', target_signal_id = m.signal_id,
    candidates = '{}', resolution = 'key', resolved_at = now(), updated_at = now()
FROM (SELECT w.tid, k.signal_id
      FROM jsonb_array_elements_text(%(keys)s::jsonb) AS b(external_id)
      CROSS JOIN LATERAL (SELECT k.signal_id FROM signal_key k
                          WHERE k.workspace_id = %(ws)s AND k.source_id = %(src)s
                            AND k.external_id = b.external_id LIMIT 1) AS k
      CROSS JOIN LATERAL (SELECT w.ctid AS tid FROM signal_link w
                          WHERE w.workspace_id = %(ws)s AND w.target_source_id = %(src)s
                            AND w.target_external_id = b.external_id
                            AND w.status <> 'resolved' AND w.from_signal_id <> k.signal_id
                          OFFSET 0) AS w) AS m
WHERE l.ctid = m.tid AND l.status <> 'resolved'
RETURNING l.id
"""

# Step (b): served by uq_signal_link_key (workspace_id, from_signal_id, …).
RESOLVE_KEYS_FROM = """
UPDATE signal_link l SET status = 'resolved', target_signal_id = m.signal_id,
    candidates = '{}', resolution = 'key', resolved_at = now(), updated_at = now()
FROM (SELECT x.tid, k.signal_id
      FROM jsonb_array_elements_text(%(ids)s::jsonb) AS b(id)
      CROSS JOIN LATERAL (SELECT x.ctid AS tid, x.* FROM signal_link x
                          WHERE x.workspace_id = %(ws)s AND x.from_signal_id = b.id::uuid
                          OFFSET 0) AS x
      CROSS JOIN LATERAL (SELECT k.signal_id FROM signal_key k
                          WHERE k.workspace_id = %(ws)s AND k.source_id = x.target_source_id
                            AND k.external_id = x.target_external_id LIMIT 1) AS k
      WHERE x.status <> 'resolved' AND x.target_external_id IS NOT NULL
        AND k.signal_id <> x.from_signal_id) AS m
WHERE l.ctid = m.tid AND l.status <> 'resolved'
RETURNING l.id
"""

# After a run, and `links recheck`: every waiting key link whose target is stored now,
# source by source through ix_signal_link_waiting_key.
# Two runs committing a link and its target at the same moment cannot see each other's
# rows in their batch steps; the one that commits last finds the pair here.
RECHECK_KEYS = """
UPDATE signal_link l SET status = 'resolved', target_signal_id = m.signal_id,
    candidates = '{}', resolution = 'key', resolved_at = now(), updated_at = now()
FROM (SELECT w.tid, k.signal_id
      FROM source t
      CROSS JOIN LATERAL (SELECT w.ctid AS tid, w.target_external_id, w.from_signal_id
                          FROM signal_link w
                          WHERE w.workspace_id = %(ws)s AND w.target_source_id = t.id
                            AND w.status <> 'resolved' AND w.target_external_id IS NOT NULL
                          OFFSET 0) AS w
      CROSS JOIN LATERAL (SELECT k.signal_id FROM signal_key k
                          WHERE k.workspace_id = %(ws)s AND k.source_id = t.id
                            AND k.external_id = w.target_external_id LIMIT 1) AS k
      WHERE t.workspace_id = %(ws)s AND k.signal_id <> w.from_signal_id) AS m
WHERE l.ctid = m.tid AND l.status <> 'resolved'
RETURNING l.id
"""

SOURCES_WAITING_FOR_REFERENCES = """
SELECT from_source_id, array_agg(DISTINCT from_signal_id)
FROM signal_link
WHERE workspace_id = %(ws)s AND status <> 'resolved' AND reference_normalized IS NOT NULL
GROUP BY from_source_id
"""

# Step (c): served by ix_signal_link_waiting_reference.
WAITING_REFERENCES = """
SELECT id, from_signal_id, reference_words, reference_date, candidates
FROM signal_link
WHERE workspace_id = %(ws)s AND from_source_id = %(src)s AND status <> 'resolved'
  AND reference_normalized IS NOT NULL
  AND (reference_date IS NULL
       OR reference_date IN (SELECT d::date FROM jsonb_array_elements_text(%(days)s::jsonb) d)
       OR from_signal_id IN (SELECT (jsonb_array_elements_text(%(fresh)s::jsonb))::uuid))
"""

# Originals of one source published on given days (ix_signal_workspace_id_source_id_published_at).
CANDIDATES_ON_DAYS = """
SELECT s.id, s.title, s.published_at
FROM (SELECT DISTINCT d::date AS day FROM jsonb_array_elements_text(%(days)s::jsonb) d) w
CROSS JOIN LATERAL (SELECT s.id, s.title, s.published_at FROM signal s
                    WHERE s.workspace_id = %(ws)s AND s.source_id = %(src)s
                      AND s.published_at >= (w.day::timestamp AT TIME ZONE 'UTC')
                      AND s.published_at < ((w.day + 1)::timestamp AT TIME ZONE 'UTC')
                      AND s.duplicate_of IS NULL AND s.title IS NOT NULL
                    OFFSET 0) AS s
"""

# A reference without a date: every original of the source is a candidate.
CANDIDATES_OF_SOURCE = """
SELECT s.id, s.title, s.published_at
FROM signal s
WHERE s.workspace_id = %(ws)s AND s.source_id = %(src)s
  AND s.duplicate_of IS NULL AND s.title IS NOT NULL
"""

SET_REFERENCE_MATCHES = """
UPDATE signal_link l SET status = u.status, target_signal_id = u.target,
    candidates = u.candidates,
    resolution = CASE WHEN u.status = 'resolved' THEN 'reference' END,
    resolved_at = CASE WHEN u.status = 'resolved' THEN now() END, updated_at = now()
FROM (SELECT u.*, x.tid
      FROM jsonb_to_recordset(%(matches)s::jsonb) AS u(id uuid, status text, target uuid,
                                                      candidates uuid[])
      CROSS JOIN LATERAL (SELECT x.ctid AS tid FROM signal_link x
                          WHERE x.workspace_id = %(ws)s AND x.id = u.id LIMIT 1) AS x) AS u
WHERE l.ctid = u.tid AND l.status <> 'resolved'
RETURNING l.id, l.status
"""

# Close the open link flags of links that resolved, went, or changed state.
CLOSE_FLAGS = """
UPDATE flag f SET resolved_at = now(),
    resolved_by = coalesce(nullif(current_setting('signalgraph.actor', true), ''), 'signalgraph'),
    resolution_note = CASE WHEN t.id IS NULL THEN 'link removed'
                           WHEN t.status = 'resolved' THEN 'link resolved'
                           ELSE 'link is now ' || t.status END
FROM (SELECT o.tid, o.id AS flag_id, l.id, l.status
      FROM jsonb_array_elements_text(%(ids)s::jsonb) AS b(id)
      CROSS JOIN LATERAL (SELECT o.ctid AS tid, o.id, o.kind FROM flag o
                          WHERE o.workspace_id = %(ws)s AND o.object_id = b.id::uuid
                            AND o.object_type = 'signal_link' AND o.resolved_at IS NULL
                            AND o.kind IN ('dangling_link', 'ambiguous_link')
                          OFFSET 0) AS o
      LEFT JOIN LATERAL (SELECT l.id, l.status FROM signal_link l
                         WHERE l.workspace_id = %(ws)s AND l.id = b.id::uuid
                         LIMIT 1) AS l ON true
      WHERE l.id IS NULL OR l.status = 'resolved' OR o.kind <> l.status || '_link') AS t
WHERE f.ctid = t.tid
"""

RAISE_FLAGS = """
INSERT INTO flag (workspace_id, id, kind, severity, object_type, object_id, message, details,
    run_id)
SELECT l.workspace_id, uuid7(), l.status || '_link',
    CASE l.status WHEN 'dangling' THEN 'info' ELSE 'warning' END, 'signal_link', l.id,
    CASE l.status
      WHEN 'dangling' THEN format('%%s link waits for its target: %%s', l.type,
           coalesce(l.reference, ts.name || ' / ' || l.target_external_id))
      ELSE format('%%s link is ambiguous: %%s could mean %%s signals; pick one with '
                  '`signalgraph links resolve %%s --to SIGNAL`', l.type, l.reference,
                  cardinality(l.candidates), l.id) END,
    jsonb_strip_nulls(jsonb_build_object('from_signal_id', l.from_signal_id,
        'type', l.type, 'reference', l.reference, 'target_source', ts.name,
        'target_external_id', l.target_external_id,
        'candidates', CASE WHEN cardinality(l.candidates) > 0 THEN to_jsonb(l.candidates) END)),
    %(run)s
FROM (SELECT l.* FROM jsonb_array_elements_text(%(ids)s::jsonb) AS b(id)
      CROSS JOIN LATERAL (SELECT * FROM signal_link l
                          WHERE l.workspace_id = %(ws)s AND l.id = b.id::uuid
                          LIMIT 1) AS l) AS l
LEFT JOIN source ts ON ts.workspace_id = l.workspace_id AND ts.id = l.target_source_id
WHERE l.status <> 'resolved'
"""

# Links that existed before may hold an open flag of the right kind already: probe
# ix_flag_workspace_id_object_id once per link (LIMIT keeps it a per-row index probe,
# whatever the planner thinks of a flag table that grew during the run).
RAISE_MISSING_FLAGS = """
INSERT INTO flag (workspace_id, id, kind, severity, object_type, object_id, message, details,
    run_id)
SELECT l.workspace_id, uuid7(), l.status || '_link',
    CASE l.status WHEN 'dangling' THEN 'info' ELSE 'warning' END, 'signal_link', l.id,
    CASE l.status
      WHEN 'dangling' THEN format('%%s link waits for its target: %%s', l.type,
           coalesce(l.reference, ts.name || ' / ' || l.target_external_id))
      ELSE format('%%s link is ambiguous: %%s could mean %%s signals; pick one with '
                  '`signalgraph links resolve %%s --to SIGNAL`', l.type, l.reference,
                  cardinality(l.candidates), l.id) END,
    jsonb_strip_nulls(jsonb_build_object('from_signal_id', l.from_signal_id,
        'type', l.type, 'reference', l.reference, 'target_source', ts.name,
        'target_external_id', l.target_external_id,
        'candidates', CASE WHEN cardinality(l.candidates) > 0 THEN to_jsonb(l.candidates) END)),
    %(run)s
FROM (SELECT l.* FROM jsonb_array_elements_text(%(ids)s::jsonb) AS b(id)
      CROSS JOIN LATERAL (SELECT * FROM signal_link l
                          WHERE l.workspace_id = %(ws)s AND l.id = b.id::uuid
                          LIMIT 1) AS l) AS l
LEFT JOIN source ts ON ts.workspace_id = l.workspace_id AND ts.id = l.target_source_id
WHERE l.status <> 'resolved'
  AND NOT EXISTS (SELECT 1 FROM (SELECT 1 FROM flag f WHERE f.workspace_id = l.workspace_id
                    AND f.object_id = l.id AND f.resolved_at IS NULL
                    AND f.kind = l.status || '_link' LIMIT 1) AS open_flag)
"""

TARGET_LOOKUP = """
SELECT 'source' AS what, name AS value, id AS source_id, NULL::text AS external_id
FROM source WHERE workspace_id = %(ws)s
  AND name IN (SELECT jsonb_array_elements_text(%(sources)s::jsonb))
UNION ALL
SELECT 'signal', k.signal_id::text, k.source_id, k.external_id
FROM jsonb_array_elements_text(%(signals)s::jsonb) AS b(id)
CROSS JOIN LATERAL (SELECT k.signal_id, k.source_id, k.external_id FROM signal_key k
                    WHERE k.workspace_id = %(ws)s AND k.signal_id = b.id::uuid LIMIT 1) AS k
"""
