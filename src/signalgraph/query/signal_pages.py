"""Pages of signals, newest first: how each kind of selection is read for one page.

Most selections are one ordered query (see select_signals). Two are not: the signals of
an entity with a few much-mentioned records (a page per record, merged), and phrase
searches, whose matches the indexes only know approximately (see phrase_page).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
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


def _walk_newest(
    connection: Connection,
    workspace_id: uuid.UUID,
    where: SignalFilter,
    *,
    cursor: str | None,
    limit: int,
    rows: int,
) -> list[Any]:
    """Return up to limit + 1 matches among the newest `rows` selected signals."""
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
    )
    return list(connection.execute(walked))


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


def _walked_edge(
    connection: Connection,
    workspace_id: uuid.UUID,
    where: SignalFilter,
    *,
    cursor: str | None,
    rows: int,
) -> Any:
    """Return the oldest walked signal (published_at, id), how many were walked, and a time.

    The time is that of the walk's tenth signal in one hundred, newest first: the walk
    covered about 0.9 of the walked signals since then (a signal dated far ahead of the
    rest would make the first one misleading).
    """
    plain = replace(where, text=None)
    newest = select_signals(workspace_id, plain, cursor=cursor, limit=rows - 1).subquery()
    return connection.execute(
        sa.select(
            newest.c.published_at,
            newest.c.id,
            sa.func.count().over().label("walked"),
            sa.func.nth_value(newest.c.published_at, max(rows // 10, 1))
            .over(order_by=newest.c.published_at.desc())
            .label("newest"),
        )
        .order_by(newest.c.published_at, newest.c.id)
        .limit(1)
    ).first()


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
    rows = _walk_newest(
        connection, workspace_id, where, cursor=cursor, limit=limit, rows=PHRASE_WALK
    )
    if len(rows) > limit:
        return rows
    zoned = all(t is None or t.tzinfo is not None for t in (where.since, where.until))
    if where.entity is not None or where.in_list is not None or not zoned:
        # A few hundred candidates at most (an entity's, a list's), or a window in the
        # server's time zone: every match at once.
        return _gathered(connection, workspace_id, where, cursor=cursor, limit=limit)
    edge = _walked_edge(connection, workspace_id, where, cursor=cursor, rows=PHRASE_WALK)
    if edge is None or edge.walked < PHRASE_WALK:
        return rows  # the walk reached the end of the selection
    newest, walked = edge.newest, PHRASE_WALK
    found = len(rows)
    walk_on = 2 * PHRASE_WALK * (limit + 1 - found) // found if found else PHRASE_WALK_MAX + 1
    if walk_on <= PHRASE_WALK_MAX:
        after = cursor_of(edge.published_at, edge.id)
        rows += _walk_newest(
            connection, workspace_id, where, cursor=after, limit=limit - found, rows=walk_on
        )
        if len(rows) > limit:
            return rows
        edge = _walked_edge(connection, workspace_id, where, cursor=after, rows=walk_on)
        if edge is None or edge.walked < walk_on:
            return rows
        walked += walk_on
    bottom = where.since if where.since is not None else _oldest(connection, workspace_id)
    if bottom is None:
        return rows
    return rows + _older_slices(
        connection,
        workspace_id,
        where,
        top=(edge.published_at, edge.id),
        bottom=bottom,
        covered=(newest - edge.published_at) * walked / (walked - PHRASE_WALK // 10),
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
    upper = top[0] + _ONE_US  # the first slice holds the signals at top's time after top
    cursor: str | None = cursor_of(*top)
    while True:
        needed = limit + 1 - found - len(rows)
        seconds = max(covered.total_seconds(), 1.0)
        matched = found + len(rows)
        # Two pages' worth at the rate seen so far; at least the time covered so far,
        # so slices grow geometrically when the phrase is rare.
        span = seconds * 8 if matched == 0 else max(2 * needed * seconds / matched, seconds)
        lower = max(bottom, upper - timedelta(seconds=span))
        part = replace(
            where,
            since=lower,
            until=upper,
            moved=moved_in_window(connection, workspace_id, lower, upper),
        )
        rows += _gathered(connection, workspace_id, part, cursor=cursor, limit=needed - 1)
        if len(rows) >= limit + 1 - found or lower <= bottom:
            return rows
        covered += upper - lower
        upper, cursor = lower, None


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
