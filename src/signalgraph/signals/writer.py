"""Write one batch of signals: a few set-based statements in one transaction.

1. Look up the batch's keys: each record is new, changed (updated) or the same (unchanged).
2. Look up the originals that share a content hash or normalised URL with the new
   records.
3. Decide duplicates in input order, so records within the batch are compared too; near
   duplicates are matched to representatives sharing a simhash band (`signals.near`).
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
from datetime import datetime
from typing import Any

import psycopg

from signalgraph.fingerprint import bands, to_signed
from signalgraph.links.store import LinkStore
from signalgraph.load.batches import Batch, RejectRow, RetryBatch, Row, WriteResult, json_list
from signalgraph.load.rejects import copy_rejects
from signalgraph.signals import queries as sql
from signalgraph.signals.fingerprints import fingerprint_rows
from signalgraph.signals.near import NearMatcher
from signalgraph.signals.rows import SignalRow, signal_id_for, signal_rows


class SignalWriter:
    """Writes signal batches for one run, on one psycopg connection, in the caller's transaction."""

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

    def _key_params(self, rows: Sequence[Row] | Sequence[SignalRow]) -> dict[str, Any]:
        return {
            "ws": self.workspace_id,
            "source": self.source_id,
            "keys": json_list(r.record.external_id for r in rows),
        }

    def prefilter(self, rows: Sequence[Row], connection: psycopg.Connection[Any]) -> None:
        """Fingerprint the rows that are not stored unchanged (run ahead, off the write path)."""
        if not rows:
            return
        signals = signal_rows(rows)
        stored = {
            external_id: (signal_id, bytes(record_hash))
            for external_id, signal_id, record_hash, _ in connection.execute(
                sql.KEYS,
                self._key_params(rows),
            )
        }
        changed = []
        for row in signals:
            found = stored.get(row.record.external_id)
            if found is not None and found[1] == row.record.record_hash:
                # Stored with the same content: nothing to write, whatever happens next.
                row.status, row.id = "unchanged", found[0]
            else:
                row.status = "pending"
                changed.append(row)
        fingerprint_rows(changed, min_tokens=self.min_tokens)

    def classify(self, rows: Sequence[SignalRow]) -> None:
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
                sql.KEYS,
                self._key_params(rows),
            )
        }
        for row in rows:
            existing = found.get(row.record.external_id)
            if existing is None:
                row.status = "new"
                row.prev_hash = row.stored_at = None
                row.id = signal_id_for(row.record.published_at)
            else:
                row.id, row.prev_hash, row.stored_at = existing
                row.status = "unchanged" if row.prev_hash == row.record.record_hash else "updated"

    # -- duplicates ------------------------------------------------------------------

    def decide_duplicates(self, rows: Sequence[SignalRow]) -> None:
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
        stale = [row.id for row in updated]  # their stored content is being replaced
        by_content = self._originals(
            sql.ORIGINALS_BY_CONTENT, {r.content_hash for r in writing if r.content_hash}, stale
        )
        by_url = self._originals(
            sql.ORIGINALS_BY_URL, {r.url_hash for r in writing if r.url_hash}, stale
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
            rank: Any = (0, row.stored_at, row.id) if row.status == "updated" else (1, row.seq)
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
                    registry[key] = (rank, row.id)
            near.match(row, rank)

    def _originals(
        self, query: str, hashes: set[bytes], exclude: list[uuid.UUID | None]
    ) -> dict[bytes, tuple[uuid.UUID, datetime]]:
        if not hashes:
            return {}
        return {
            bytes(value): (signal_id, created_at)
            for value, signal_id, created_at in self.conn.execute(
                query,
                {
                    "ws": self.workspace_id,
                    "hashes": json_list(h.hex() for h in hashes),
                    "exclude": exclude,
                },
            )
        }

    # -- writing ---------------------------------------------------------------------

    def write(self, batch: Batch) -> WriteResult:
        """Classify, decide duplicates and store one batch; raise RetryBatch on a lost race."""
        self._refuse_bad_link_targets(batch)
        rows = signal_rows(batch.rows)
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
            rejected=len(batch.rejects),
            extra={
                "duplicates": sum(1 for row in written if row.duplicate_of is not None),
                "near_duplicates": sum(1 for row in written if row.near_duplicate_of is not None),
                **link_counts,
            },
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

    def _copy_new(self, rows: Sequence[SignalRow]) -> None:
        ws, source, run = self.workspace_id, self.source_id, self.run_id
        cursor = self.conn.cursor()
        with cursor.copy(sql.COPY_KEYS) as copy:
            copy.set_types(sql.KEY_TYPES)
            for row in rows:
                copy.write_row((ws, row.id, source, row.record.external_id, row.record.record_hash))
        with cursor.copy(sql.COPY_SIGNALS) as copy:
            copy.set_types(sql.SIGNAL_TYPES)
            for row in rows:
                record = row.record
                copy.write_row(
                    (
                        ws,
                        row.id,
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
        with cursor.copy(sql.COPY_FINGERPRINTS) as copy:
            copy.set_types(sql.FINGERPRINT_TYPES)
            for row in rows:
                copy.write_row(self._fingerprint_tuple(row))
        mentions = [(row, m) for row in rows for m in row.record.mentions]
        if mentions:
            with cursor.copy(sql.COPY_MENTIONS) as copy:
                copy.set_types(sql.MENTION_TYPES)
                ordinal: dict[uuid.UUID | None, int] = {}
                for row, mention in mentions:
                    index = ordinal.get(row.id, 0)
                    ordinal[row.id] = index + 1
                    copy.write_row(
                        (
                            ws,
                            row.id,
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

    def _fingerprint_tuple(self, row: SignalRow) -> tuple[Any, ...]:
        band_values: Iterable[int | None] = (
            bands(row.simhash) if row.simhash is not None else (None, None, None, None)
        )
        return (
            self.workspace_id,
            row.id,
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

    def _apply_updates(self, rows: Sequence[SignalRow]) -> None:
        self.conn.execute(sql.STAGE_UPDATES)
        self.conn.execute(sql.CLEAR_STAGED_UPDATES)
        cursor = self.conn.cursor()
        with cursor.copy(sql.COPY_STAGED_UPDATES) as copy:
            copy.set_types(sql.STAGED_UPDATE_TYPES)
            for row in rows:
                record = row.record
                fingerprint = self._fingerprint_tuple(row)
                copy.write_row(
                    (
                        row.id,
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
        claimed = self.conn.execute(sql.CLAIM_KEYS, params).rowcount
        if claimed != len(rows):
            raise RetryBatch(f"{len(rows) - claimed} key(s) changed by another writer meanwhile")
        for statement, one_per_signal in sql.REVISE:
            changed = self.conn.execute(statement, params).rowcount
            if one_per_signal and changed != len(rows):
                raise RetryBatch(f"{len(rows) - changed} signal(s) changed meanwhile")

    def _copy_rejects(self, rejects: Sequence[RejectRow]) -> None:
        copy_rejects(self.conn, self.workspace_id, self.run_id, rejects)
