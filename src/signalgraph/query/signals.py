"""Signal queries: what a page selects (filters, date windows, entity walks), newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.errors import UsageError
from signalgraph.ids import uuid7_floor
from signalgraph.pages import decode_cursor, encode_cursor
from signalgraph.query.text import TextQuery
from signalgraph.schema import entity_record, mention, signal, signal_moved, source

CURSOR_KIND = "signals"

LIST_COLUMNS = (
    signal.c.id,
    source.c.name.label("source"),
    signal.c.external_id,
    signal.c.kind,
    signal.c.title,
    signal.c.url,
    signal.c.author,
    signal.c.lang,
    signal.c.published_at,
    signal.c.duplicate_of,
    signal.c.near_duplicate_of,
    signal.c.near_distance,
    signal.c.revision,
    signal.c.created_at,
    signal.c.updated_at,
)


# Signals of an entity are gathered and sorted, or, for an entity mentioned at least this
# often, walked newest first from the mention index (see select_signals).
POPULAR_MENTIONS = 2000
# Up to this many records, each record's page is walked on its own and the pages merged,
# when the records are mentioned at least SORTED_MENTIONS_MAX times; otherwise all their
# mentions are sorted at once (a few thousand sort faster than a walk per record).
WALKED_RECORDS_MAX = 4
SORTED_MENTIONS_MAX = 20_000


@dataclass(frozen=True)
class EntityScope:
    """The records of a canonical entity, and how often it is mentioned (counted up to a cap)."""

    records: tuple[uuid.UUID, ...]
    popular: bool
    mentions: int = 0


def entity_scope(
    connection: Connection, workspace_id: uuid.UUID, entity_id: uuid.UUID
) -> EntityScope:
    """Return the records whose mentions are the entity's (a merge moves records to it)."""
    records = tuple(
        connection.execute(
            sa.select(entity_record.c.id).where(
                entity_record.c.workspace_id == workspace_id,
                entity_record.c.entity_id == entity_id,
            )
        ).scalars()
    )
    if not records:
        return EntityScope(records, popular=False)
    cap = SORTED_MENTIONS_MAX if 1 < len(records) <= WALKED_RECORDS_MAX else POPULAR_MENTIONS
    counted = connection.execute(
        sa.select(sa.func.count()).select_from(
            sa.select(mention.c.signal_id)
            .where(mention.c.workspace_id == workspace_id, mention.c.record_id.in_(records))
            .limit(cap)
            .subquery()
        )
    ).scalar_one()
    return EntityScope(records, popular=counted >= POPULAR_MENTIONS, mentions=counted)


# A date window reads the range of ids made from its times (a few monthly partitions)
# plus the signals published in it outside their id's month (signal_moved), when there
# are at most this many of those; with more it reads every month's index.
MOVED_LISTED_MAX = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def moved_in_window(
    connection: Connection,
    workspace_id: uuid.UUID,
    since: datetime | None,
    until: datetime | None,
) -> tuple[uuid.UUID, ...] | None:
    """Return the signals published in the window whose id is not of their time (None: many)."""
    if since is None and until is None:
        return None
    if (since is not None and since.tzinfo is None) or (until is not None and until.tzinfo is None):
        return None  # a time without a zone is read in the server's: no id range from it
    query = sa.select(signal_moved.c.signal_id).where(signal_moved.c.workspace_id == workspace_id)
    if since is not None:
        query = query.where(signal_moved.c.published_at >= since)
    if until is not None:
        query = query.where(signal_moved.c.published_at < until)
    found = tuple(connection.execute(query.limit(MOVED_LISTED_MAX + 1)).scalars())
    return found if len(found) <= MOVED_LISTED_MAX else None


@dataclass(frozen=True)
class IdWindow:
    """The ids of a date window: a range of ids, and listed signals outside it."""

    low: uuid.UUID | None
    high: uuid.UUID | None
    outside: tuple[uuid.UUID, ...]

    def in_range(self) -> sa.ColumnElement[bool]:
        """Return "the signal's id is in the window's range" (a few monthly partitions)."""
        bounds = []
        if self.low is not None:
            bounds.append(signal.c.id >= self.low)
        if self.high is not None:
            bounds.append(signal.c.id < self.high)
        return sa.and_(sa.true(), *bounds)

    def listed(self) -> sa.ColumnElement[bool]:
        """Return "the signal is one of the listed ones outside the range"."""
        return signal.c.id.in_(self.outside)

    def condition(self) -> sa.ColumnElement[bool]:
        """Return "the signal's id is in the window": in range, or listed."""
        return sa.or_(self.in_range(), self.listed()) if self.outside else self.in_range()


def id_window(
    since: datetime | None, until: datetime | None, moved: tuple[uuid.UUID, ...]
) -> IdWindow:
    """Return the ids of signals published in [since, until), given the moved ones in it."""
    low = uuid7_floor(max(since, _EPOCH)) if since is not None else None
    high = None
    if until is not None and until < datetime.max.replace(tzinfo=UTC) - _ONE_MS:
        # An id holds the millisecond (12:00:00.0005 has 12:00:00.000): up to `until`
        # rounded up to a millisecond (in UTC, where the guard above holds).
        until = until.astimezone(UTC)
        rounded = until + timedelta(microseconds=-until.microsecond % 1000)
        high = uuid7_floor(max(rounded, _EPOCH))
    outside = tuple(
        m for m in moved if (low is not None and m < low) or (high is not None and m >= high)
    )
    return IdWindow(low, high, outside)


@dataclass(frozen=True)
class SignalFilter:
    """What to select: every field narrows the result (None means no condition)."""

    text: TextQuery | None = None
    lang: str | None = None
    source_id: uuid.UUID | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    # From moved_in_window: with it, a date window reads only its months' partitions.
    moved: tuple[uuid.UUID, ...] | None = None
    entity: EntityScope | None = None  # signals mentioning an entity (see entity_scope)
    in_list: sa.Select[Any] | None = None  # a select of signal ids
    include_duplicates: bool = False


def _filtered(
    workspace_id: uuid.UUID,
    where: SignalFilter,
    cursor: str | None,
    extra: tuple[sa.ColumnElement[Any], ...],
    *,
    by_pairs: bool = False,
) -> tuple[sa.Select[Any], sa.Subquery | None, IdWindow | None]:
    """Return the selected signals (no order), the entity walk, and the window's ids."""
    query = (
        sa.select(*LIST_COLUMNS, *extra)
        .select_from(
            signal.join(
                source,
                sa.and_(
                    source.c.workspace_id == signal.c.workspace_id,
                    source.c.id == signal.c.source_id,
                ),
            )
        )
        .where(signal.c.workspace_id == workspace_id)
    )
    if where.text is not None:
        query = query.add_columns(where.text.rank().label("rank")).where(
            where.text.condition(by_pairs=by_pairs)
        )
    if where.lang is not None:
        query = query.where(sa.func.ts_config(signal.c.lang) == sa.func.ts_config(where.lang))
    if where.source_id is not None:
        query = query.where(signal.c.source_id == where.source_id)
    if where.kind is not None:
        query = query.where(signal.c.kind == where.kind)
    if where.since is not None:
        query = query.where(signal.c.published_at >= where.since)
    if where.until is not None:
        query = query.where(signal.c.published_at < where.until)
    window = None
    if where.moved is not None and (where.since is not None or where.until is not None):
        window = id_window(where.since, where.until, where.moved)
    if not where.include_duplicates:
        query = query.where(signal.c.duplicate_of.is_(None), signal.c.near_duplicate_of.is_(None))
    walk = None
    if where.entity is not None:
        records = list(where.entity.records)
        if where.entity.popular:
            walk = _mention_walk(
                workspace_id, records, where, _cursor_key(cursor) if cursor else None
            )
            query = query.where(
                signal.c.id == walk.c.signal_id, signal.c.published_at == walk.c.published_at
            )
        else:
            # Few mentions: gather them by record, then sort that handful.
            query = query.where(
                signal.c.id.in_(
                    sa.select(mention.c.signal_id).where(
                        mention.c.workspace_id == workspace_id, mention.c.record_id.in_(records)
                    )
                )
            )
    if where.in_list is not None:
        query = query.where(signal.c.id.in_(where.in_list))
    if cursor is not None:
        published, last_id = _cursor_key(cursor)
        query = query.where(sa.tuple_(signal.c.published_at, signal.c.id) < (published, last_id))
    return query, walk, window


def select_signals(
    workspace_id: uuid.UUID,
    where: SignalFilter,
    *,
    cursor: str | None,
    limit: int,
    extra: tuple[sa.ColumnElement[Any], ...] = (),
) -> sa.Select[Any]:
    """Return the select of one page (limit + 1 rows, to know whether another page follows)."""
    query, walk, window = _filtered(workspace_id, where, cursor, extra)
    if window is not None:
        query = query.where(window.condition())
    if walk is not None:
        # Walk the entity's mentions newest first (see _mention_walk) and fetch each one's
        # signal by key: with one record the page fills after about a page of rows. The
        # lateral probe is kept whole (OFFSET 0): joined flat, the planner would multiply
        # the id and published_at matches into a one-row estimate and hash-join everything.
        probe = query.offset(0).lateral("probe")
        return (
            sa.select(*probe.c)
            .select_from(walk.join(probe, sa.true()))
            .order_by(walk.c.published_at.desc(), walk.c.signal_id.desc())
            .limit(limit + 1)
        )
    return query.order_by(signal.c.published_at.desc(), signal.c.id.desc()).limit(limit + 1)


def gather_signals(workspace_id: uuid.UUID, where: SignalFilter, *, cursor: str | None) -> sa.CTE:
    """Return every selected signal, in no order, as a materialized CTE named "hits"."""
    if where.entity is not None and where.entity.popular:
        raise ValueError("signals of a much-mentioned entity are walked, not gathered")
    # Candidates from the pair index when nothing narrower (an entity, a list) gives them.
    by_pairs = where.entity is None and where.in_list is None
    query, _, window = _filtered(workspace_id, where, cursor, (), by_pairs=by_pairs)
    matches: sa.Select[Any] | sa.CompoundSelect[Any] = query
    if window is not None and window.outside:
        # The range and the listed signals are read apart: in one OR, PostgreSQL would
        # search each listed signal's partition whole (its full-text index, say) rather
        # than fetch the few listed rows by key.
        matches = sa.union_all(query.where(window.in_range()), query.where(window.listed()))
    elif window is not None:
        matches = query.where(window.in_range())
    return matches.cte("hits").prefix_with("MATERIALIZED")


def _mention_walk(
    workspace_id: uuid.UUID,
    records: list[uuid.UUID],
    where: SignalFilter,
    after: tuple[datetime, uuid.UUID] | None,
) -> sa.Subquery:
    """Return (published_at, signal_id) of the signals mentioning these records, once each.

    One record: its index range is already in page order, so the walk reads about a page
    (fetch_page walks a few records one by one and merges the pages). Many records (a
    much-merged entity, many name variants): one index-only pass over all their
    mentions, sorted.
    """
    walk = sa.select(mention.c.published_at, mention.c.signal_id).where(
        mention.c.workspace_id == workspace_id, mention.c.record_id.in_(records)
    )
    if where.since is not None:
        walk = walk.where(mention.c.published_at >= where.since)
    if where.until is not None:
        walk = walk.where(mention.c.published_at < where.until)
    if after is not None:
        walk = walk.where(sa.tuple_(mention.c.published_at, mention.c.signal_id) < after)
    if len(records) > 1:
        # Sorted here, so that the probes stop once the page is full (with the sort left
        # to the outer query, every mentioned signal would be fetched before it).
        return (
            walk.distinct()
            .order_by(mention.c.published_at.desc(), mention.c.signal_id.desc())
            .subquery("walk")
        )
    earlier = mention.alias("earlier")
    # A signal mentioning the record twice is walked once (at its first mention).
    return walk.where(
        ~sa.exists().where(
            earlier.c.workspace_id == mention.c.workspace_id,
            earlier.c.signal_id == mention.c.signal_id,
            earlier.c.ordinal < mention.c.ordinal,
            earlier.c.record_id == mention.c.record_id,
        )
    ).subquery("walk")


def cursor_of(published_at: datetime, signal_id: uuid.UUID) -> str:
    """Return the cursor of the page after the signal (published_at, signal_id)."""
    return encode_cursor(CURSOR_KIND, (published_at.isoformat(), signal_id))


def _cursor_key(cursor: str) -> tuple[datetime, uuid.UUID]:
    values = decode_cursor(CURSOR_KIND, cursor)
    try:
        if len(values) != 2 or values[0] is None or values[1] is None:
            raise ValueError("two values expected")
        return datetime.fromisoformat(values[0]), uuid.UUID(values[1])
    except ValueError as exc:
        raise UsageError(f"cursor {cursor[:40]!r} is damaged") from exc
