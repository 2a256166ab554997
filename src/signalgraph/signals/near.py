"""Near duplicates: the closest confirmed representative within the simhash distance.

A signal is compared with representatives only: signals that are neither duplicates nor
near duplicates. A group of copies is then a star around its first signal, and each
copy costs a handful of comparisons whatever the group's size (comparing with every
earlier copy made the work grow with the square of the group).

Candidates share at least one of the four 16-bit simhash bands with the signal. Per
band value at most CANDIDATES_PER_BAND representatives are read, the most recently
published first, from the stored ones (one index scan per band) and from the batch's
own (in memory): whatever the input, a signal meets at most 4 × CANDIDATES_PER_BAND
candidates per source. Those within the distance are tried closest first (then the
one stored first), and the first whose word sketch agrees with the signal's wins
(`signalgraph.fingerprint.sketches_agree`: templated texts that trade their names or
figures are distinct stories).

Memory stays bounded whatever the input: stored candidates are read for QUERY_ROWS
signals at a time (at most QUERY_ROWS × 4 × CANDIDATES_PER_BAND pairs, then each
candidate's rank and sketch once), and the batch keeps at most CANDIDATES_PER_BAND
representatives per band value.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from signalgraph.fingerprint import BANDS, WordSketch, bands, sketches_agree, to_signed

if TYPE_CHECKING:
    import psycopg

    from signalgraph.signals.rows import SignalRow

CANDIDATES_PER_BAND = 64
QUERY_ROWS = 256
MAX_DETAILS = 8192

# One option: (distance, rank, signal id, word sketch); the smallest (distance, rank)
# that agrees wins. Ranks order stored signals (oldest first) before the batch's.
Option = tuple[int, Any, uuid.UUID, bytes | None]
# One of the batch's representatives: (unsigned simhash, signal id, rank, word sketch).
_Entry = tuple[int, uuid.UUID, Any, bytes | None]

# The most recently published representatives per band value (a backward scan of each
# band's partial index, stopped at the cap), then the exact Hamming distance. The
# signals being updated are skipped before the cap: their stored content is replaced.
STORED_CANDIDATES = """
WITH q AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb)
        AS q(seq int, simhash bigint, b0 int, b1 int, b2 int, b3 int)
)
SELECT q.seq, c.signal_id, bit_count((c.simhash # q.simhash)::bit(64))::int AS distance
FROM q CROSS JOIN LATERAL (
    (SELECT f.signal_id, f.simhash FROM fingerprint f
     WHERE f.workspace_id = %(ws)s AND f.band0 = q.b0 AND f.duplicate_of IS NULL
       AND f.near_duplicate_of IS NULL AND f.simhash IS NOT NULL
       AND f.signal_id <> ALL(%(exclude)s)
     ORDER BY f.signal_id DESC LIMIT %(cap)s)
    UNION ALL
    (SELECT f.signal_id, f.simhash FROM fingerprint f
     WHERE f.workspace_id = %(ws)s AND f.band1 = q.b1 AND f.duplicate_of IS NULL
       AND f.near_duplicate_of IS NULL AND f.simhash IS NOT NULL
       AND f.signal_id <> ALL(%(exclude)s)
     ORDER BY f.signal_id DESC LIMIT %(cap)s)
    UNION ALL
    (SELECT f.signal_id, f.simhash FROM fingerprint f
     WHERE f.workspace_id = %(ws)s AND f.band2 = q.b2 AND f.duplicate_of IS NULL
       AND f.near_duplicate_of IS NULL AND f.simhash IS NOT NULL
       AND f.signal_id <> ALL(%(exclude)s)
     ORDER BY f.signal_id DESC LIMIT %(cap)s)
    UNION ALL
    (SELECT f.signal_id, f.simhash FROM fingerprint f
     WHERE f.workspace_id = %(ws)s AND f.band3 = q.b3 AND f.duplicate_of IS NULL
       AND f.near_duplicate_of IS NULL AND f.simhash IS NOT NULL
       AND f.signal_id <> ALL(%(exclude)s)
     ORDER BY f.signal_id DESC LIMIT %(cap)s)
) AS c
WHERE bit_count((c.simhash # q.simhash)::bit(64)) <= %(distance)s
"""

# What ranks and confirms a candidate, read once per candidate rather than once per pair:
# one primary-key probe per id (LIMIT keeps the planner from joining a whole workspace
# when it has no statistics).
CANDIDATE_DETAILS = """
SELECT f.signal_id, f.created_at, f.word_sketch
FROM unnest(%(ids)s::uuid[]) AS i(signal_id) CROSS JOIN LATERAL (
    SELECT f.signal_id, f.created_at, f.word_sketch FROM fingerprint f
    WHERE f.workspace_id = %(ws)s AND f.signal_id = i.signal_id LIMIT 1
) AS f
"""


def stored_candidates(
    conn: psycopg.Connection[Any],
    *,
    workspace_id: uuid.UUID,
    rows: Sequence[SignalRow],
    max_distance: int,
    exclude: Sequence[uuid.UUID | None],
    cap: int = CANDIDATES_PER_BAND,
) -> dict[int, dict[uuid.UUID, int]]:
    """Return, per row seq, the stored representatives within the distance (capped per band)."""
    query_rows = []
    for row in rows:
        assert row.simhash is not None
        b0, b1, b2, b3 = bands(row.simhash)
        query_rows.append(
            {"seq": row.seq, "simhash": to_signed(row.simhash), "b0": b0, "b1": b1, "b2": b2,
             "b3": b3}
        )  # fmt: skip
    params: dict[str, Any] = {
        "rows": orjson.dumps(query_rows).decode(),
        "ws": workspace_id,
        "distance": max_distance,
        "exclude": list(exclude),
        "cap": cap,
    }
    found: dict[int, dict[uuid.UUID, int]] = {row.seq: {} for row in rows}
    for seq, signal_id, distance in conn.execute(STORED_CANDIDATES, params).fetchall():
        found[seq][signal_id] = distance  # a representative sharing several bands comes again
    return found


class NearMatcher:
    """Decides the near duplicates of one batch's rows, called in the batch's decision order."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        *,
        workspace_id: uuid.UUID,
        max_distance: int,
        rows: Sequence[SignalRow],
        exclude: Sequence[uuid.UUID | None],
    ) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.max_distance = max_distance
        self.exclude = list(exclude)
        # Rows whose stored candidates are still to be read, in decision order.
        self._pending = [row for row in rows if row.simhash is not None]
        self._next = 0
        self._stored: dict[int, dict[uuid.UUID, int]] = {}
        # Stored candidates' rank and sketch, by signal id: consecutive rows of similar
        # texts meet the same representatives. Emptied past MAX_DETAILS entries.
        self._details: dict[uuid.UUID, tuple[Any, bytes | None]] = {}
        # Sketches read for comparison, by their bytes; read only when there is something
        # to compare with. Emptied past MAX_DETAILS entries.
        self._read: dict[bytes, WordSketch] = {}
        # Per band, per band value: the batch's most recently published representatives,
        # as a min-heap on the signal id as an integer (the oldest is dropped past the cap).
        self._batch: list[dict[int, list[tuple[int, _Entry]]]] = [{} for _ in range(BANDS)]

    def match(self, row: SignalRow, rank: Any) -> None:
        """Point the row at its closest confirmed representative, or make it one."""
        if row.simhash is None or self.max_distance < 0:
            return
        options = self._stored_options(row) + self._batch_options(row)
        if options:
            options.sort(key=lambda option: option[:2])
            sketch = self._sketch(row.sketch)
            for distance, _, signal_id, other in options:
                if sketches_agree(sketch, self._sketch(other)):
                    row.near_duplicate_of, row.near_distance = signal_id, distance
                    return
        self._add_representative(row, rank)

    def _sketch(self, sketch: bytes | None) -> WordSketch | None:
        if sketch is None:
            return None
        read = self._read.get(sketch)
        if read is None:
            if len(self._read) >= MAX_DETAILS:
                self._read.clear()
            read = self._read[sketch] = WordSketch.read(sketch)
        return read

    def _stored_options(self, row: SignalRow) -> list[Option]:
        while row.seq not in self._stored and self._next < len(self._pending):
            chunk = self._pending[self._next : self._next + QUERY_ROWS]
            self._next += len(chunk)
            self._stored = stored_candidates(
                self.conn,
                workspace_id=self.workspace_id,
                rows=chunk,
                max_distance=self.max_distance,
                exclude=self.exclude,
            )
            self._read_details(
                {signal_id for found in self._stored.values() for signal_id in found}
            )
        options: list[Option] = []
        for signal_id, distance in self._stored.pop(row.seq, {}).items():
            details = self._details.get(signal_id)
            if details is not None:  # else gone since (a detached month)
                options.append((distance, details[0], signal_id, details[1]))
        return options

    def _read_details(self, signal_ids: set[uuid.UUID]) -> None:
        missing = [signal_id for signal_id in signal_ids if signal_id not in self._details]
        if not missing:
            return
        if len(self._details) + len(missing) > MAX_DETAILS:
            self._details = {
                signal_id: self._details[signal_id]
                for signal_id in signal_ids
                if signal_id in self._details
            }
        params = {"ids": missing, "ws": self.workspace_id}
        for signal_id, created_at, sketch in self.conn.execute(
            CANDIDATE_DETAILS, params
        ).fetchall():
            self._details[signal_id] = (
                (0, created_at, signal_id),
                bytes(sketch) if sketch is not None else None,
            )

    def _batch_options(self, row: SignalRow) -> list[Option]:
        simhash = row.simhash
        assert simhash is not None
        options: dict[int, Option] = {}
        for band, value in enumerate(bands(simhash)):
            for key, (other_simhash, signal_id, rank, sketch) in self._batch[band].get(value, ()):
                distance = (simhash ^ other_simhash).bit_count()
                if distance <= self.max_distance:
                    # A representative sharing several bands is met once per band.
                    options[key] = (distance, rank, signal_id, sketch)
        return list(options.values())

    def _add_representative(self, row: SignalRow, rank: Any) -> None:
        assert row.simhash is not None
        assert row.id is not None
        # Unsigned simhashes: the XOR of two is the bits they differ in.
        entry = (row.simhash, row.id, rank, row.sketch)
        for band, value in enumerate(bands(row.simhash)):
            heap = self._batch[band].setdefault(value, [])
            heapq.heappush(heap, (row.id.int, entry))
            if len(heap) > CANDIDATES_PER_BAND:
                heapq.heappop(heap)
