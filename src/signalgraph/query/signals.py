"""Signal queries: filters, language-aware full-text search and keyset pages, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.engine import Connection

from signalgraph.errors import UsageError
from signalgraph.pages import check_limit, decode_cursor, encode_cursor
from signalgraph.schema import entity_record, mention, signal, source

CURSOR_KIND = "signals"
# A language code of each text search configuration `ts_config(lang)` maps to (migration
# 0008; "" is the word-for-word one). A signal's words are stemmed in its own language,
# so a query without a language is stemmed in each and matched against the signals of
# that language only: phrases and -exclusions then mean the same in every language.
SEARCH_LANGUAGES = (
    "", "en", "de", "fr", "es", "it", "nl", "pt", "sv", "da", "no", "fi", "ru", "tr", "hu", "ro",
)  # fmt: skip
MAX_QUERY_CHARS = 1000

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
# Up to this many records, each record's page is walked on its own and the pages merged.
WALKED_RECORDS_MAX = 4


@dataclass(frozen=True)
class EntityScope:
    """The records of a canonical entity, and whether it is mentioned very often."""

    records: tuple[uuid.UUID, ...]
    popular: bool


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
    counted = connection.execute(
        sa.select(sa.func.count()).select_from(
            sa.select(mention.c.signal_id)
            .where(mention.c.workspace_id == workspace_id, mention.c.record_id.in_(records))
            .limit(POPULAR_MENTIONS)
            .subquery()
        )
    ).scalar_one()
    return EntityScope(records, popular=counted >= POPULAR_MENTIONS)


@dataclass(frozen=True)
class SignalFilter:
    """What to select: every field narrows the result (None means no condition)."""

    text: TextQuery | None = None
    lang: str | None = None
    source_id: uuid.UUID | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    entity: EntityScope | None = None  # signals mentioning an entity (see entity_scope)
    in_list: sa.Select[Any] | None = None  # a select of signal ids
    include_duplicates: bool = False


def _checked(text: str) -> str:
    query = text.strip()
    if not query:
        raise UsageError("give some words to search for")
    if len(query) > MAX_QUERY_CHARS:
        raise UsageError(f"the search query is {len(query)} characters; at most 1000 allowed")
    if "\x00" in query:
        raise UsageError("the search query contains a NUL character")
    return query


@dataclass(frozen=True)
class TextQuery:
    """A full-text query stemmed per language: each distinct tsquery and its languages."""

    groups: tuple[tuple[str, tuple[str, ...]], ...]

    def condition(self) -> sa.ColumnElement[bool]:
        """Return "the signal matches": its words match the query stemmed in its language."""
        if not self.groups:
            return sa.false()
        branches: list[sa.ColumnElement[bool]] = []
        for query, configs in self.groups:
            matches = signal.c.search.op("@@")(sa.cast(query, TSQUERY))
            if len(self.groups) == 1 and len(configs) == len(SEARCH_LANGUAGES):
                branches.append(matches)  # the same in every language: no language test
            else:
                languages = sa.func.ts_config(signal.c.lang).in_(
                    [_regconfig(config) for config in configs]
                )
                branches.append(sa.and_(matches, languages))
        return sa.or_(*branches)

    def rank(self) -> sa.ColumnElement[float]:
        """Return the relevance of a signal (ts_rank against any of the stemmed queries)."""
        combined = " | ".join(f"({query})" for query, _ in self.groups)
        return sa.func.ts_rank(signal.c.search, sa.cast(combined, TSQUERY), type_=sa.Float)


def text_query(connection: Connection, text: str, lang: str | None) -> TextQuery:
    """Stem a web-style query (quotes, OR, -word) in the signals' languages, or in `lang`."""
    query = _checked(text)
    languages = [lang] if lang is not None else list(SEARCH_LANGUAGES)
    rows = connection.execute(
        sa.text(
            "SELECT CAST(ts_config(l) AS text), "
            "CAST(websearch_to_tsquery(ts_config(l), :q) AS text) "
            "FROM unnest(CAST(:languages AS text[])) AS l"
        ),
        {"q": query, "languages": languages},
    ).all()
    grouped: dict[str, list[str]] = {}
    for config, stemmed in rows:
        if stemmed:  # only stop words: nothing to match in that language
            grouped.setdefault(stemmed, []).append(config)
    return TextQuery(tuple((q, tuple(configs)) for q, configs in grouped.items()))


def _regconfig(config: str) -> sa.ColumnElement[Any]:
    return sa.literal_column(f"'{config}'::regconfig")


def select_signals(
    workspace_id: uuid.UUID, where: SignalFilter, *, cursor: str | None, limit: int
) -> sa.Select[Any]:
    """Return the select of one page (limit + 1 rows, to know whether another page follows)."""
    query = (
        sa.select(*LIST_COLUMNS)
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
        query = query.add_columns(where.text.rank().label("rank")).where(where.text.condition())
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
        return walk.distinct().subquery("walk")
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


def _cursor_key(cursor: str) -> tuple[datetime, uuid.UUID]:
    values = decode_cursor(CURSOR_KIND, cursor)
    try:
        if len(values) != 2 or values[0] is None or values[1] is None:
            raise ValueError("two values expected")
        return datetime.fromisoformat(values[0]), uuid.UUID(values[1])
    except ValueError as exc:
        raise UsageError(f"cursor {cursor[:40]!r} is damaged") from exc


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
    if scope is not None and scope.popular and 1 < len(scope.records) <= WALKED_RECORDS_MAX:
        # Each record's page is walked on its own and the pages merged: the signals of
        # the merged page are each within their own record's page.
        merged: dict[uuid.UUID, Any] = {}
        for record_id in scope.records:
            one = replace(where, entity=EntityScope((record_id,), popular=True))
            for row in connection.execute(
                select_signals(workspace_id, one, cursor=cursor, limit=limit)
            ):
                merged[row.id] = row
        rows = sorted(merged.values(), key=lambda r: (r.published_at, r.id), reverse=True)
        rows = rows[: limit + 1]
    else:
        rows = list(
            connection.execute(select_signals(workspace_id, where, cursor=cursor, limit=limit))
        )
    more = len(rows) > limit
    page = list(rows[:limit])
    following = (
        encode_cursor(CURSOR_KIND, (page[-1].published_at.isoformat(), page[-1].id))
        if more and page
        else None
    )
    return page, following
