"""Signal queries: filters, language-aware full-text search and keyset pages, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.errors import UsageError
from signalgraph.pages import check_limit, decode_cursor, encode_cursor
from signalgraph.schema import entity_record, mention, signal, source

CURSOR_KIND = "signals"
# Every text search configuration `ts_config(lang)` maps a language to (migration 0008).
# A signal's words are stemmed in its own language, so a query without a language is
# stemmed in each of these and matched against the signals of that language only: the
# semantics of phrases and -exclusions then hold per language.
SEARCH_CONFIGS = (
    "simple",
    "english",
    "german",
    "french",
    "spanish",
    "italian",
    "dutch",
    "portuguese",
    "swedish",
    "danish",
    "norwegian",
    "finnish",
    "russian",
    "turkish",
    "hungarian",
    "romanian",
)
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


@dataclass(frozen=True)
class SignalFilter:
    """What to select: every field narrows the result (None means no condition)."""

    text: str | None = None
    lang: str | None = None
    source_id: uuid.UUID | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    entity_id: uuid.UUID | None = None  # canonical: signals mentioning it or a merged id
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


def text_match(text: str, lang: str | None) -> sa.ColumnElement[bool]:
    """Return the condition "the signal matches this web-style query" (quotes, OR, -word).

    With a language, the query is stemmed in it and only signals in it can match;
    without one, each signal is matched by the query stemmed in the signal's language.
    """
    query = _checked(text)
    if lang is not None:
        return sa.and_(
            sa.func.ts_config(signal.c.lang) == sa.func.ts_config(lang),
            signal.c.search.op("@@")(sa.func.websearch_to_tsquery(sa.func.ts_config(lang), query)),
        )
    return sa.or_(
        *(
            sa.and_(
                sa.func.ts_config(signal.c.lang) == _regconfig(config),
                signal.c.search.op("@@")(sa.func.websearch_to_tsquery(_regconfig(config), query)),
            )
            for config in SEARCH_CONFIGS
        )
    )


def _regconfig(config: str) -> sa.ColumnElement[Any]:
    return sa.literal_column(f"'{config}'::regconfig")


def text_rank(text: str) -> sa.ColumnElement[float]:
    """Return the relevance of a signal to a query stemmed in the signal's language."""
    query = _checked(text)
    return sa.func.ts_rank(
        signal.c.search,
        sa.func.websearch_to_tsquery(sa.func.ts_config(signal.c.lang), query),
        type_=sa.Float,
    )


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
        query = query.add_columns(text_rank(where.text).label("rank")).where(
            text_match(where.text, where.lang)
        )
    elif where.lang is not None:
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
    if where.entity_id is not None:
        # Records always point at the canonical entity (a merge moves them), so the
        # signals of an entity and of everything merged into it are one probe away.
        mentioned = (
            sa.select(mention.c.signal_id)
            .join(
                entity_record,
                sa.and_(
                    entity_record.c.workspace_id == mention.c.workspace_id,
                    entity_record.c.id == mention.c.record_id,
                ),
            )
            .where(
                entity_record.c.workspace_id == workspace_id,
                entity_record.c.entity_id == where.entity_id,
            )
        )
        query = query.where(signal.c.id.in_(mentioned))
    if where.in_list is not None:
        query = query.where(signal.c.id.in_(where.in_list))
    if cursor is not None:
        published, last_id = _cursor_key(cursor)
        query = query.where(sa.tuple_(signal.c.published_at, signal.c.id) < (published, last_id))
    return query.order_by(signal.c.published_at.desc(), signal.c.id.desc()).limit(limit + 1)


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
    rows = connection.execute(select_signals(workspace_id, where, cursor=cursor, limit=limit)).all()
    more = len(rows) > limit
    page = list(rows[:limit])
    following = (
        encode_cursor(CURSOR_KIND, (page[-1].published_at.isoformat(), page[-1].id))
        if more and page
        else None
    )
    return page, following
