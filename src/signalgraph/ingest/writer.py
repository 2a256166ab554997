"""Write one batch of validated records: a few set-based statements in one transaction.

1. Look up the batch's keys: each record is new, changed (updated) or the same (unchanged).
2. Look up the originals that share a content hash or normalised URL with the new
   records.
3. Decide duplicates in input order, so records within the batch are compared too; near
   duplicates are matched to representatives sharing a simhash band (`ingest.near`).
4. COPY new keys, signals, fingerprints and mentions; update changed signals after
   copying their previous content into `signal_revision`; COPY the rejects; add the
   counts to the run. The caller commits.

Concurrent writers are kept apart by unique indexes (keys, and one original per content
and per URL): a writer that loses a race gets a unique violation, rolls back and runs
the batch again, and then finds the other writer's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from signalgraph.fingerprint import (
    SKETCH_MAX_TOKENS,
    bands,
    normalize_url,
    to_signed,
    url_hash,
    word_sketch,
)
from signalgraph.fingerprint_batch import fingerprint_batch
from signalgraph.ids import uuid7
from signalgraph.ingest.near import NearMatcher
from signalgraph.links.store import LinkStore

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


FINGERPRINT_SLICE = 1000
FINGERPRINT_SLICE_BYTES = 2 << 20


class RetryBatch(Exception):
    """The batch lost a race with another writer; roll back and run it again."""


@dataclass(slots=True)
class Row:
    """One validated record on its way into the database."""

    seq: int
    file: str | None
    line: int
    record: Any  # the loader's record: SignalRecord, or an entity record
    signal_id: uuid.UUID | None = None
    status: str = "pending"  # then new, updated or unchanged
    prev_hash: bytes | None = None  # the stored record hash of an updated row
    stored_at: datetime | None = None  # when an updated row was first stored
    content_hash: bytes | None = None
    url_normalized: str | None = None
    url_hash: bytes | None = None
    simhash: int | None = None
    tokens: int = 0
    sketch: bytes | None = None  # short texts only (fingerprint.word_sketch)
    fingerprinted: bool = False
    duplicate_of: uuid.UUID | None = None
    near_duplicate_of: uuid.UUID | None = None
    near_distance: int | None = None
    # The input bytes, kept only for records the writer may still reject (links that
    # name another source or a signal id, checked against the database).
    raw: bytes | None = None


@dataclass(slots=True)
class RejectRow:
    """One refused input record, kept verbatim."""

    file: str | None
    line: int
    field: str | None
    reason: str
    raw: bytes


@dataclass
class Batch:
    """A batch of input records: the valid ones and the refused ones."""

    rows: list[Row] = field(default_factory=list)
    rejects: list[RejectRow] = field(default_factory=list)
    bytes: int = 0
    nul_stripped: int = 0
    # Where the batch ends in its input (name, byte position, input size), for progress.
    input_end: tuple[str | None, int, int | None] = (None, 0, None)

    @property
    def seen(self) -> int:
        """Return how many input records the batch holds."""
        return len(self.rows) + len(self.rejects)


def signal_id_for(published_at: datetime) -> uuid.UUID:
    """Return a new signal id whose time part is the published time (clamped to 1970)."""
    return uuid7(max(published_at, _EPOCH))


def fingerprint_rows(rows: Sequence[Row], *, min_tokens: int) -> None:
    """Fill in content hash, normalised URL and hash, simhash and tokens for each row."""
    todo = [row for row in rows if not row.fingerprinted]
    # Slices bound the vectorised work's temporary arrays (tens of bytes per byte of
    # text) whatever the batch size and the size of each text.
    chunk: list[Row] = []
    size = 0
    for row in todo:
        length = len(row.record.text or row.record.title or "")
        if chunk and (len(chunk) >= FINGERPRINT_SLICE or size + length > FINGERPRINT_SLICE_BYTES):
            _fingerprint_slice(chunk, min_tokens)
            chunk, size = [], 0
        chunk.append(row)
        size += length
    if chunk:
        _fingerprint_slice(chunk, min_tokens)


def _fingerprint_slice(todo: Sequence[Row], min_tokens: int) -> None:
    texts = [row.record.text or row.record.title for row in todo]
    prints = fingerprint_batch(texts, min_tokens=min_tokens)
    for row, text, printed in zip(todo, texts, prints, strict=True):
        if printed is not None:
            row.content_hash = printed.content_hash
            row.simhash = printed.simhash
            row.tokens = printed.tokens
            if text and printed.simhash is not None and printed.tokens <= SKETCH_MAX_TOKENS:
                row.sketch = word_sketch(text)
        if row.record.url:
            row.url_normalized = normalize_url(row.record.url)
            if row.url_normalized is not None:
                row.url_hash = url_hash(row.url_normalized)
        row.fingerprinted = True


# Lists of keys and hashes travel as one JSON document: building it with orjson is far
# cheaper than adapting a Python list element by element.
_KEYS = """
SELECT k.external_id, k.signal_id, k.record_hash, k.created_at
FROM signal_key k
WHERE k.workspace_id = %s AND k.source_id = %s
  AND k.external_id IN (SELECT jsonb_array_elements_text(%s::jsonb))
"""

_ORIGINALS_BY_CONTENT = """
SELECT content_hash, signal_id, created_at
FROM fingerprint
WHERE workspace_id = %s AND duplicate_of IS NULL
  AND content_hash IN (SELECT decode(h, 'hex') FROM jsonb_array_elements_text(%s::jsonb) h)
  AND signal_id <> ALL(%s)
"""

_ORIGINALS_BY_URL = """
SELECT url_hash, signal_id, created_at
FROM fingerprint
WHERE workspace_id = %s AND duplicate_of IS NULL
  AND url_hash IN (SELECT decode(h, 'hex') FROM jsonb_array_elements_text(%s::jsonb) h)
  AND signal_id <> ALL(%s)
"""

_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS sg_stage_update (
    signal_id uuid PRIMARY KEY, kind text, title text, text text, url text, author text,
    lang text, published_at timestamptz, metadata jsonb, raw jsonb, mentions jsonb,
    record_hash bytea, prev_hash bytea, duplicate_of uuid, near_duplicate_of uuid,
    near_distance smallint, content_hash bytea, url_normalized text, url_hash bytea,
    simhash bigint, band0 int, band1 int, band2 int, band3 int, tokens int, word_sketch bytea
) ON COMMIT DELETE ROWS
"""

# Claims the keys first: only if each still holds the content we classified against.
# Its row locks make a concurrent writer of the same keys wait, then fail this check.
_CLAIM = """
UPDATE signal_key k SET record_hash = u.record_hash, revision = k.revision + 1,
    updated_at = now()
FROM sg_stage_update u
WHERE k.workspace_id = %(ws)s AND k.signal_id = u.signal_id AND k.record_hash = u.prev_hash
"""

_REVISE = [
    # The previous content becomes a revision before the signal changes.
    """
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
    JOIN signal s ON s.workspace_id = %(ws)s AND s.id = u.signal_id
    """,
    """
    UPDATE signal s SET kind = u.kind, title = u.title, text = u.text, url = u.url,
        author = u.author, lang = u.lang, published_at = u.published_at,
        metadata = u.metadata, raw = u.raw, duplicate_of = u.duplicate_of,
        near_duplicate_of = u.near_duplicate_of, near_distance = u.near_distance,
        revision = s.revision + 1, run_id = %(run)s, updated_at = now()
    FROM sg_stage_update u
    WHERE s.workspace_id = %(ws)s AND s.id = u.signal_id
    """,
    # Two steps, so that signals swapping contents never hold the same original hash at
    # once (the unique indexes are checked row by row).
    """
    UPDATE fingerprint f SET content_hash = NULL, url_hash = NULL
    FROM sg_stage_update u
    WHERE f.workspace_id = %(ws)s AND f.signal_id = u.signal_id
    """,
    """
    UPDATE fingerprint f SET content_hash = u.content_hash, url_normalized = u.url_normalized,
        url_hash = u.url_hash, simhash = u.simhash, band0 = u.band0, band1 = u.band1,
        band2 = u.band2, band3 = u.band3, tokens = u.tokens, duplicate_of = u.duplicate_of,
        near_duplicate_of = u.near_duplicate_of, word_sketch = u.word_sketch
    FROM sg_stage_update u
    WHERE f.workspace_id = %(ws)s AND f.signal_id = u.signal_id
    """,
    """
    DELETE FROM mention m USING sg_stage_update u
    WHERE m.workspace_id = %(ws)s AND m.signal_id = u.signal_id
    """,
    """
    INSERT INTO mention (workspace_id, signal_id, ordinal, type, text, identifiers,
        span_start, span_end, confidence, published_at)
    SELECT %(ws)s, u.signal_id, e.ordinal::int - 1, e.item ->> 'type', e.item ->> 'text',
        coalesce(e.item -> 'identifiers', '{}'::jsonb), (e.item ->> 'start')::int,
        (e.item ->> 'end')::int, (e.item ->> 'confidence')::float8, u.published_at
    FROM sg_stage_update u, jsonb_array_elements(u.mentions) WITH ORDINALITY AS e(item, ordinal)
    """,
]

_SIGNAL_COLUMNS = (
    "workspace_id, id, source_id, external_id, kind, title, text, url, author, lang, "
    "published_at, metadata, raw, duplicate_of, near_duplicate_of, near_distance, run_id"
)
_SIGNAL_TYPES = [
    "uuid", "uuid", "uuid", "text", "text", "text", "text", "text", "text", "text",
    "timestamptz", "jsonb", "jsonb", "uuid", "uuid", "int2", "uuid",
]  # fmt: skip
_FINGERPRINT_COLUMNS = (
    "workspace_id, signal_id, content_hash, url_normalized, url_hash, simhash, "
    "band0, band1, band2, band3, tokens, duplicate_of, near_duplicate_of, word_sketch"
)
_FINGERPRINT_TYPES = [
    "uuid", "uuid", "bytea", "text", "bytea", "int8", "int4", "int4", "int4", "int4",
    "int4", "uuid", "uuid", "bytea",
]  # fmt: skip
_MENTION_TYPES = [
    "uuid", "uuid", "int4", "text", "text", "jsonb", "int4", "int4", "float8", "timestamptz"
]  # fmt: skip
_REJECT_TYPES = ["uuid", "uuid", "uuid", "text", "int8", "text", "text", "bytea"]


@dataclass
class WriteResult:
    """What one batch did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    near_duplicates: int = 0
    rejected: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def counters(self) -> dict[str, int]:
        """Return the counts as run counters."""
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "near_duplicates": self.near_duplicates,
            "rejected": self.rejected,
            **self.extra,
        }


class BatchWriter:
    """Writes batches for one run, on one psycopg connection, inside the caller's transaction."""

    def __init__(
        self,
        connection: psycopg.Connection[Any],
        *,
        workspace_id: uuid.UUID,
        source_id: uuid.UUID,
        run_id: uuid.UUID,
        near_distance: int,
        min_tokens: int,
    ) -> None:
        self.conn = connection
        self.workspace_id = workspace_id
        self.source_id = source_id
        self.run_id = run_id
        self.near_distance = near_distance
        self.min_tokens = min_tokens
        self.links = LinkStore(
            connection, workspace_id=workspace_id, source_id=source_id, run_id=run_id
        )

    # -- classification ------------------------------------------------------------

    def prefilter(self, rows: Sequence[Row], connection: psycopg.Connection[Any]) -> None:
        """Fingerprint the rows that are not stored unchanged (run ahead, off the write path)."""
        if not rows:
            return
        stored = {
            external_id: (signal_id, bytes(record_hash))
            for external_id, signal_id, record_hash, _ in connection.execute(
                _KEYS,
                (self.workspace_id, self.source_id, json_list(r.record.external_id for r in rows)),
            )
        }
        changed = []
        for row in rows:
            found = stored.get(row.record.external_id)
            if found is not None and found[1] == row.record.record_hash:
                # Stored with the same content: nothing to write, whatever happens next.
                row.status, row.signal_id = "unchanged", found[0]
            else:
                row.status = "pending"
                changed.append(row)
        fingerprint_rows(changed, min_tokens=self.min_tokens)

    def classify(self, rows: Sequence[Row]) -> None:
        """Mark each row new, updated or unchanged from the keys stored now.

        Every row is looked up again here, inside the batch's transaction, whatever the
        reader thread guessed earlier: an earlier batch or another process may have
        changed the key since.
        """
        if not rows:
            return
        found = {
            external_id: (signal_id, bytes(record_hash), created_at)
            for external_id, signal_id, record_hash, created_at in self.conn.execute(
                _KEYS,
                (self.workspace_id, self.source_id, json_list(r.record.external_id for r in rows)),
            )
        }
        for row in rows:
            existing = found.get(row.record.external_id)
            if existing is None:
                row.status = "new"
                row.prev_hash = row.stored_at = None
                row.signal_id = signal_id_for(row.record.published_at)
            else:
                row.signal_id, row.prev_hash, row.stored_at = existing
                row.status = "unchanged" if row.prev_hash == row.record.record_hash else "updated"

    # -- duplicates ------------------------------------------------------------------

    def decide_duplicates(self, rows: Sequence[Row]) -> None:
        """Set duplicate_of / near_duplicate_of for new and updated rows.

        Updated rows are stored signals, older than anything new: they are decided first
        (in input order), compared by their new content, and take the place of their old
        content as candidates for the new rows that follow (in input order).
        """
        updated = [row for row in rows if row.status == "updated"]
        new = [row for row in rows if row.status == "new"]
        if not updated and not new:
            return
        writing = updated + new
        fingerprint_rows(writing, min_tokens=self.min_tokens)
        stale = [row.signal_id for row in updated]  # their stored content is being replaced
        by_content = self._originals(
            _ORIGINALS_BY_CONTENT, {r.content_hash for r in writing if r.content_hash}, stale
        )
        by_url = self._originals(
            _ORIGINALS_BY_URL, {r.url_hash for r in writing if r.url_hash}, stale
        )
        near = NearMatcher(
            self.conn,
            workspace_id=self.workspace_id,
            max_distance=self.near_distance,
            rows=writing,
            exclude=stale,
        )

        # Originals of this batch, by key, with a rank: stored signals (oldest first) come
        # before new ones (in input order).
        batch_content: dict[bytes, tuple[Any, uuid.UUID | None]] = {}
        batch_url: dict[bytes, tuple[Any, uuid.UUID | None]] = {}
        for row in writing:
            rank: Any = (
                (0, row.stored_at, row.signal_id) if row.status == "updated" else (1, row.seq)
            )
            row.duplicate_of = row.near_duplicate_of = row.near_distance = None
            exact: list[tuple[Any, uuid.UUID | None]] = []
            for table, key in ((by_content, row.content_hash), (by_url, row.url_hash)):
                if key is not None and key in table:
                    signal_id, created_at = table[key]
                    exact.append(((0, created_at, signal_id), signal_id))
            for registry, key in ((batch_content, row.content_hash), (batch_url, row.url_hash)):
                if key is not None and key in registry:
                    exact.append(registry[key])
            if exact:
                row.duplicate_of = min(exact, key=lambda option: option[0])[1]
                continue
            for registry, key in ((batch_content, row.content_hash), (batch_url, row.url_hash)):
                if key is not None and (key not in registry or rank < registry[key][0]):
                    registry[key] = (rank, row.signal_id)
            near.match(row, rank)

    def _originals(
        self, query: str, hashes: set[bytes], exclude: list[uuid.UUID | None]
    ) -> dict[bytes, tuple[uuid.UUID, datetime]]:
        if not hashes:
            return {}
        return {
            bytes(value): (signal_id, created_at)
            for value, signal_id, created_at in self.conn.execute(
                query, (self.workspace_id, json_list(h.hex() for h in hashes), exclude)
            )
        }

    # -- writing ---------------------------------------------------------------------

    def write(self, batch: Batch) -> WriteResult:
        """Classify, decide duplicates and store one batch; raise RetryBatch on a lost race."""
        self._refuse_bad_link_targets(batch)
        rows = batch.rows
        self.classify(rows)
        self.decide_duplicates(rows)
        new = [row for row in rows if row.status == "new"]
        updated = [row for row in rows if row.status == "updated"]
        try:
            # Updates first: a changed signal may give up an original hash a new row takes.
            if updated:
                self._apply_updates(updated)
            if new:
                self._copy_new(new)
            # Links last: their targets may be signals this batch just stored.
            link_counts = self.links.after_write(rows)
        except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected) as exc:
            raise RetryBatch(str(exc)) from exc
        if batch.rejects:
            self._copy_rejects(batch.rejects)
        written = new + updated
        return WriteResult(
            inserted=len(new),
            updated=len(updated),
            unchanged=sum(1 for row in rows if row.status == "unchanged"),
            duplicates=sum(1 for row in written if row.duplicate_of is not None),
            near_duplicates=sum(1 for row in written if row.near_duplicate_of is not None),
            rejected=len(batch.rejects),
            extra=link_counts,
        )

    def after_run(self) -> None:
        """Resolve key links that a concurrent run's uncommitted batch hid from ours."""
        self.links.recheck_keys()

    def _refuse_bad_link_targets(self, batch: Batch) -> None:
        """Move records whose links name an unknown source or signal id to the rejects."""
        refused = self.links.check_targets(batch.rows)
        if not refused:
            return
        gone = {id(row) for row, _, _ in refused}
        batch.rows = [row for row in batch.rows if id(row) not in gone]
        for row, field_name, reason in refused:
            batch.rejects.append(RejectRow(row.file, row.line, field_name, reason, row.raw or b""))

    def _copy_new(self, rows: Sequence[Row]) -> None:
        ws, source, run = self.workspace_id, self.source_id, self.run_id
        cursor = self.conn.cursor()
        with cursor.copy(
            "COPY signal_key (workspace_id, signal_id, source_id, external_id, record_hash) "
            "FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["uuid", "uuid", "uuid", "text", "bytea"])
            for row in rows:
                copy.write_row(
                    (ws, row.signal_id, source, row.record.external_id, row.record.record_hash)
                )
        with cursor.copy(f"COPY signal ({_SIGNAL_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_SIGNAL_TYPES)
            for row in rows:
                record = row.record
                copy.write_row(
                    (
                        ws,
                        row.signal_id,
                        source,
                        record.external_id,
                        record.kind,
                        record.title,
                        record.text,
                        record.url,
                        record.author,
                        record.lang,
                        record.published_at,
                        record.metadata,
                        record.raw,
                        row.duplicate_of,
                        row.near_duplicate_of,
                        row.near_distance,
                        run,
                    )
                )
        with cursor.copy(
            f"COPY fingerprint ({_FINGERPRINT_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(_FINGERPRINT_TYPES)
            for row in rows:
                copy.write_row(self._fingerprint_tuple(row))
        mentions = [(row, m) for row in rows for m in row.record.mentions]
        if mentions:
            with cursor.copy(
                "COPY mention (workspace_id, signal_id, ordinal, type, text, identifiers, "
                "span_start, span_end, confidence, published_at) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(_MENTION_TYPES)
                ordinal: dict[uuid.UUID | None, int] = {}
                for row, mention in mentions:
                    index = ordinal.get(row.signal_id, 0)
                    ordinal[row.signal_id] = index + 1
                    copy.write_row(
                        (
                            ws,
                            row.signal_id,
                            index,
                            mention.type,
                            mention.text,
                            mention.identifiers,
                            mention.start,
                            mention.end,
                            mention.confidence,
                            row.record.published_at,
                        )
                    )

    def _fingerprint_tuple(self, row: Row) -> tuple[Any, ...]:
        band_values: Iterable[int | None] = (
            bands(row.simhash) if row.simhash is not None else (None, None, None, None)
        )
        return (
            self.workspace_id,
            row.signal_id,
            row.content_hash,
            row.url_normalized,
            row.url_hash,
            to_signed(row.simhash) if row.simhash is not None else None,
            *band_values,
            row.tokens,
            row.duplicate_of,
            row.near_duplicate_of,
            row.sketch,
        )

    def _apply_updates(self, rows: Sequence[Row]) -> None:
        self.conn.execute(_STAGE)
        self.conn.execute("DELETE FROM sg_stage_update")
        cursor = self.conn.cursor()
        with cursor.copy("COPY sg_stage_update FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(
                ["uuid", "text", "text", "text", "text", "text", "text", "timestamptz",
                 "jsonb", "jsonb", "jsonb", "bytea", "bytea", "uuid", "uuid", "int2", "bytea",
                 "text", "bytea", "int8", "int4", "int4", "int4", "int4", "int4", "bytea"]
            )  # fmt: skip
            for row in rows:
                record = row.record
                fingerprint = self._fingerprint_tuple(row)
                copy.write_row(
                    (
                        row.signal_id,
                        record.kind,
                        record.title,
                        record.text,
                        record.url,
                        record.author,
                        record.lang,
                        record.published_at,
                        record.metadata,
                        record.raw,
                        [m.as_dict() for m in record.mentions],
                        record.record_hash,
                        row.prev_hash,
                        row.duplicate_of,
                        row.near_duplicate_of,
                        row.near_distance,
                        *fingerprint[2:11],
                        row.sketch,
                    )
                )
        params = {"ws": self.workspace_id, "run": self.run_id}
        claimed = self.conn.execute(_CLAIM, params).rowcount
        if claimed != len(rows):
            raise RetryBatch(f"{len(rows) - claimed} key(s) changed by another writer meanwhile")
        for statement in _REVISE:
            self.conn.execute(statement, params)

    def _copy_rejects(self, rejects: Sequence[RejectRow]) -> None:
        copy_rejects(self.conn, self.workspace_id, self.run_id, rejects)


def copy_rejects(
    conn: psycopg.Connection[Any],
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    rejects: Sequence[RejectRow],
) -> None:
    """COPY rejected records, verbatim, into the reject table."""
    with conn.cursor().copy(
        "COPY reject (workspace_id, id, run_id, file, line, field, reason, raw) "
        "FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(_REJECT_TYPES)
        for reject in rejects:
            copy.write_row(
                (
                    workspace_id,
                    uuid7(),
                    run_id,
                    reject.file,
                    reject.line,
                    reject.field,
                    reject.reason,
                    reject.raw,
                )
            )


def json_list(values: Iterable[str]) -> str:
    """Return values as one JSON array (cheaper to send than a Python list adapted by element)."""
    return orjson.dumps(list(values)).decode()
