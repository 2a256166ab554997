"""Pages of signals, newest first: how each kind of selection is read for one page.

Most selections are one ordered query (see select_signals). Two are not: the signals of
an entity with a few much-mentioned records (a page per record, merged), and phrase
searches, whose matches the indexes only know approximately (see phrase_page).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.pages import check_limit
from signalgraph.query import signals as selection
from signalgraph.query.signals import (
    EntityScope,
    SignalFilter,
    cursor_of,
    gather_signals,
    moved_in_window,
    select_signals,
)
from signalgraph.schema import signal

# A phrase search checks this many of the newest selected signals before it reads older
# ones by time slices (see phrase_page), and walks on, up to PHRASE_WALK_MAX signals, when
# what it found says the page fills within them.
PHRASE_WALK = 1000
PHRASE_WALK_MAX = 10_000
_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class _Walk:
    """The matches of a walk, and where it ended (None: the selection ended first)."""

    rows: list[Any]
    edge: tuple[datetime, uuid.UUID] | None = None
    # The published time of the walk's tenth signal in one hundred, newest first: the
    # walk covered about 0.9 of its signals since then (a signal dated far ahead of the
    # rest would make the first one misleading).
    tenth: datetime | None = None


_EDGE = ("edge_published_at", "edge_id", "edge_walked", "edge_tenth")


def _walk_newest(
    connection: Connection,
    workspace_id: uuid.UUID,
    where: SignalFilter,
    *,
    cursor: str | None,
    limit: int,
    rows: int,
) -> _Walk:
    """Return up to limit + 1 matches among the newest `rows` selected signals.

    When they are fewer, the same statement (so the same snapshot: a signal committed
    meanwhile cannot move the edge) also returns the oldest walked signal.
    """
    text = where.text
    assert text is not None
    plain = replace(where, text=None)
    newest = select_signals(
        workspace_id, plain, cursor=cursor, limit=rows - 1, extra=(signal.c.search,)
    ).subquery("newest")
    walked = (
        sa.select(
            *[c for c in newest.c if c.key != "search"], text.rank(newest.c.search).label("rank")
        )
        .where(text.condition(newest.c.search, newest.c.lang))
        .order_by(newest.c.published_at.desc(), newest.c.id.desc())
        .limit(limit + 1)
        .cte("walked")
        .prefix_with("MATERIALIZED")
    )
    again = select_signals(workspace_id, plain, cursor=cursor, limit=rows - 1).subquery("again")
    edge = (
        sa.select(
            again.c.published_at,
            again.c.id,
            sa.func.count().over(),
            sa.func.nth_value(
                again.c.published_at, max(rows // 10, 1), type_=again.c.published_at.type
            ).over(order_by=again.c.published_at.desc()),
        )
        .order_by(again.c.published_at, again.c.id)
        .limit(1)
        .subquery("edge")
    )
    found = sa.union_all(
        sa.select(
            *walked.c,
            *[sa.cast(sa.null(), c.type).label(n) for n, c in zip(_EDGE, edge.c, strict=True)],
        ),
        # Only when the matches do not fill the page (a one-time filter: otherwise the
        # edge's subquery is not run).
        sa.select(
            *[sa.cast(sa.null(), c.type).label(c.key) for c in walked.c],
            *[c.label(n) for n, c in zip(_EDGE, edge.c, strict=True)],
        ).where(sa.select(sa.func.count()).select_from(walked).scalar_subquery() <= limit),
    )
    result = list(connection.execute(found))
    matches = [row for row in result if row.edge_id is None]
    ends = [row for row in result if row.edge_id is not None]
    if not ends or ends[0].edge_walked < rows:
        return _Walk(matches)
    end = ends[0]
    return _Walk(matches, (end.edge_published_at, end.edge_id), end.edge_tenth)


def _gathered(
    connection: Connection,
    workspace_id: uuid.UUID,
    where: SignalFilter,
    *,
    cursor: str | None,
    limit: int,
) -> list[Any]:
    """Return the newest limit + 1 of every match, gathered from an index and sorted."""
    # Materialized, the matches are gathered without the page's order or limit: the
    # planner reads them from the index rather than walk the date index.
    hits = gather_signals(workspace_id, where, cursor=cursor)
    return list(
        connection.execute(
            sa.select(*hits.c)
            .order_by(hits.c.published_at.desc(), hits.c.id.desc())
            .limit(limit + 1)
        )
    )


def _oldest(connection: Connection, workspace_id: uuid.UUID) -> datetime | None:
    return connection.execute(
        sa.select(sa.func.min(signal.c.published_at)).where(signal.c.workspace_id == workspace_id)
    ).scalar_one_or_none()


def phrase_page(
    connection: Connection,
    workspace_id: uuid.UUID,
    where: SignalFilter,
    *,
    cursor: str | None,
    limit: int,
) -> list[Any]:
    """Return limit + 1 rows of a phrase search, newest first.

    The indexes give a phrase's candidates (the signals with its word pairs, or with all
    its words), not their order, and how many there are varies by orders of magnitude.
    So: the newest PHRASE_WALK selected signals are checked first (a common phrase fills
    its page there). What the walk found tells how often the phrase occurs: on a few
    percent of the signals, the walk goes on (in date order, it reads fewer rows at
    random than gathering every match would); rarer, the older signals are read in time
    slices sized to hold about two pages of matches, each gathered from the index and
    sorted.
    """
    walk = _walk_newest(
        connection, workspace_id, where, cursor=cursor, limit=limit, rows=PHRASE_WALK
    )
    rows = walk.rows
    if len(rows) > limit:
        return rows
    zoned = all(t is None or t.tzinfo is not None for t in (where.since, where.until))
    if where.entity is not None or where.in_list is not None or not zoned:
        # A few hundred candidates at most (an entity's, a list's), or a window in the
        # server's time zone: every match at once.
        return _gathered(connection, workspace_id, where, cursor=cursor, limit=limit)
    if walk.edge is None or walk.tenth is None:
        return rows  # the walk reached the end of the selection
    tenth, walked = walk.tenth, PHRASE_WALK
    found = len(rows)
    walk_on = 2 * PHRASE_WALK * (limit + 1 - found) // found if found else PHRASE_WALK_MAX + 1
    if walk_on <= PHRASE_WALK_MAX:
        walk = _walk_newest(
            connection,
            workspace_id,
            where,
            cursor=cursor_of(*walk.edge),
            limit=limit - found,
            rows=walk_on,
        )
        rows += walk.rows
        if len(rows) > limit or walk.edge is None:
            return rows
        walked += walk_on
    assert walk.edge is not None
    bottom = where.since if where.since is not None else _oldest(connection, workspace_id)
    if bottom is None:
        return rows
    return rows + _older_slices(
        connection,
        workspace_id,
        where,
        top=walk.edge,
        bottom=bottom,
        covered=(tenth - walk.edge[0]) * walked / (walked - PHRASE_WALK // 10),
        found=len(rows),
        limit=limit,
    )


def _older_slices(
    connection: Connection,
    workspace_id: uuid.UUID,
    where: SignalFilter,
    *,
    top: tuple[datetime, uuid.UUID],
    bottom: datetime,
    covered: timedelta,
    found: int,
    limit: int,
) -> list[Any]:
    """Return the matches older than top, slice by slice, until the page is full."""
    rows: list[Any] = []
    # The first slice also holds the signals at top's time after top (by the cursor);
    # it ends a microsecond after top, or nowhere for the last representable time.
    upper = top[0]
    until = upper + _ONE_US if upper < datetime.max.replace(tzinfo=UTC) else None
    cursor: str | None = cursor_of(*top)
    while True:
        needed = limit + 1 - found - len(rows)
        seconds = max(covered.total_seconds(), 1.0)
        matched = found + len(rows)
        # Two pages' worth at the rate seen so far; at least the time covered so far,
        # so slices grow geometrically when the phrase is rare.
        span = seconds * 8 if matched == 0 else max(2 * needed * seconds / matched, seconds)
        # Compared before subtracting: the slice may reach past the first year.
        if span >= (upper - bottom).total_seconds():
            lower = bottom
        else:
            lower = upper - timedelta(seconds=span)
        part = replace(
            where,
            since=lower,
            until=until,
            moved=moved_in_window(connection, workspace_id, lower, until),
        )
        rows += _gathered(connection, workspace_id, part, cursor=cursor, limit=needed - 1)
        if len(rows) >= limit + 1 - found or lower <= bottom:
            return rows
        covered += upper - lower
        upper = until = lower
        cursor = None


def fetch_page(
    connection: Connection,
    workspace_id: uuid.UUID,
    where: SignalFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Any], str | None]:
    """Return one page of signal rows (newest first) and the cursor of the next page."""
    check_limit(limit)
    scope = where.entity
    if (
        scope is not None
        and scope.popular
        and 1 < len(scope.records) <= selection.WALKED_RECORDS_MAX
        and scope.mentions >= selection.SORTED_MENTIONS_MAX
    ):
        # Each record's page is walked on its own and the pages merged: the signals of
        # the merged page are each within their own record's page.
        merged: dict[uuid.UUID, Any] = {}
        for record_id in scope.records:
            one = replace(where, entity=EntityScope((record_id,), popular=True, mentions=0))
            for row in connection.execute(
                select_signals(workspace_id, one, cursor=cursor, limit=limit)
            ):
                merged[row.id] = row
        rows = sorted(merged.values(), key=lambda r: (r.published_at, r.id), reverse=True)
        rows = rows[: limit + 1]
    elif where.text is not None and where.text.has_phrase and not (scope and scope.popular):
        rows = phrase_page(connection, workspace_id, where, cursor=cursor, limit=limit)
    else:
        rows = list(
            connection.execute(select_signals(workspace_id, where, cursor=cursor, limit=limit))
        )
    more = len(rows) > limit
    page = list(rows[:limit])
    following = cursor_of(page[-1].published_at, page[-1].id) if more and page else None
    return page, following
