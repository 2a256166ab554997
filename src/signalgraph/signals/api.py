"""Reading signals back: lists, one signal with its mentions and revisions, duplicate groups."""

from __future__ import annotations

import builtins
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph import lookup
from signalgraph.pages import Page
from signalgraph.query.signals import LIST_COLUMNS
from signalgraph.schema import mention, signal, signal_revision, source

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope


@dataclass
class Signal:
    """One stored signal."""

    id: uuid.UUID
    source: str
    external_id: str
    kind: str
    title: str | None
    url: str | None
    author: str | None
    lang: str | None
    published_at: datetime
    duplicate_of: uuid.UUID | None
    near_duplicate_of: uuid.UUID | None
    near_distance: int | None
    revision: int
    created_at: datetime
    updated_at: datetime
    text: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    raw: Any = None
    mentions: list[dict[str, Any]] = field(default_factory=list)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    detailed: bool = False  # text, metadata, raw, mentions and revisions were loaded
    rank: float | None = None  # full-text relevance, in search results

    @property
    def status(self) -> str:
        """Return original, duplicate or near_duplicate."""
        if self.duplicate_of is not None:
            return "duplicate"
        if self.near_duplicate_of is not None:
            return "near_duplicate"
        return "original"

    def as_dict(self) -> dict[str, Any]:
        """Return the signal as a plain dict (without the detail fields a list does not load)."""
        data = asdict(self) | {"status": self.status}
        detailed = data.pop("detailed")
        if data["rank"] is None:
            data.pop("rank")
        if not detailed:
            for key in ("text", "metadata", "raw", "mentions", "revisions"):
                data.pop(key)
        return data


_LIST_COLUMNS = LIST_COLUMNS


def _signal(row: Any, **extra: Any) -> Signal:
    fields = {key: getattr(row, key) for key in row._fields if key in Signal.__annotations__}
    return Signal(**(fields | extra))


class Signals:
    """Query the signals of the client's workspace."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def _joined(self, *columns: Any) -> sa.Select[Any]:
        return sa.select(*columns).select_from(
            signal.join(
                source,
                sa.and_(
                    source.c.workspace_id == signal.c.workspace_id,
                    source.c.id == signal.c.source_id,
                ),
            )
        )

    def list(
        self,
        *,
        source_name: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        entity: str | uuid.UUID | None = None,
        list_name: str | None = None,
        text: str | None = None,
        lang: str | None = None,
        include_duplicates: bool = False,
        limit: int = 50,
        cursor: str | None = None,
        connection: Connection | None = None,
    ) -> Page[Signal]:
        """Return a page of signals, newest first; duplicates only when asked.

        `entity` selects the signals mentioning it (or anything merged into it), `text`
        is a full-text query (quotes for phrases, OR, -word), `cursor` the previous
        page's `next_cursor`.
        """
        from signalgraph.query.signal_pages import fetch_page
        from signalgraph.query.signals import SignalFilter, entity_scope, moved_in_window
        from signalgraph.query.text import text_query
        from signalgraph.resolve.entity_refs import resolve_entity_id
        from signalgraph.sources import find_source

        with self._scope.transaction(connection) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            where = SignalFilter(
                text=text_query(conn, text, lang) if text is not None else None,
                lang=lang,
                source_id=(
                    find_source(
                        conn, workspace_id, source_name, workspace_name=self._scope.workspace_name
                    ).id
                    if source_name is not None
                    else None
                ),
                kind=kind,
                since=since,
                until=until,
                moved=moved_in_window(conn, workspace_id, since, until),
                entity=(
                    entity_scope(conn, workspace_id, resolve_entity_id(conn, workspace_id, entity))
                    if entity is not None
                    else None
                ),
                in_list=self._list_members(conn, list_name),
                include_duplicates=include_duplicates,
            )
            if text is not None:
                # How many rows match varies by orders of magnitude with the words:
                # plan each search for its own words, never with a generic plan.
                conn.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))
                # A page is a few hundred index hits at most: starting parallel workers
                # costs more than it saves.
                conn.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
            rows, following = fetch_page(conn, workspace_id, where, cursor=cursor, limit=limit)
        items = [_signal(row) for row in rows]
        if text is not None:
            for item, row in zip(items, rows, strict=True):
                item.rank = round(float(row.rank), 4)
        return Page(items, following)

    def search(self, text: str, **filters: Any) -> Page[Signal]:
        """Return a page of the signals matching a full-text query (and any list filters)."""
        return self.list(text=text, **filters)

    def _list_members(self, connection: Connection, list_name: str | None) -> Any:
        if list_name is None:
            return None
        from signalgraph.curate.lists import find_list, list_signal_ids

        workspace_id = self._scope.workspace_id_in(connection)
        found = find_list(
            connection, workspace_id, list_name, workspace_flag=self._scope.workspace_flag
        )
        return list_signal_ids(workspace_id, found.id)

    def count(self, *, connection: Connection | None = None) -> dict[str, int]:
        """Return how many signals there are: all, originals, duplicates, near duplicates."""
        with self._scope.transaction(connection) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            row = conn.execute(
                sa.select(
                    sa.func.count().label("signals"),
                    sa.func.count(signal.c.duplicate_of).label("duplicates"),
                    sa.func.count(signal.c.near_duplicate_of).label("near_duplicates"),
                ).where(signal.c.workspace_id == workspace_id)
            ).one()
        return {
            "signals": row.signals,
            "originals": row.signals - row.duplicates - row.near_duplicates,
            "duplicates": row.duplicates,
            "near_duplicates": row.near_duplicates,
        }

    def get(self, signal_id: str | uuid.UUID, *, connection: Connection | None = None) -> Signal:
        """Return one signal (by id or unique id prefix) with its text, mentions and revisions."""
        with self._scope.transaction(connection) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            query = self._joined(*_LIST_COLUMNS, signal.c.text, signal.c.metadata, signal.c.raw)
            query = query.where(signal.c.workspace_id == workspace_id)
            row = lookup.find(
                conn, query, signal.c.id, signal_id, noun="signal",
                hint="see `signalgraph signals list`",
            )  # fmt: skip
            mentions = conn.execute(
                sa.select(mention)
                .where(mention.c.workspace_id == workspace_id, mention.c.signal_id == row.id)
                .order_by(mention.c.ordinal)
            ).mappings()
            revisions = conn.execute(
                sa.select(
                    signal_revision.c.revision,
                    signal_revision.c.title,
                    signal_revision.c.published_at,
                    signal_revision.c.replaced_at,
                    signal_revision.c.replaced_by_run_id,
                )
                .where(
                    signal_revision.c.workspace_id == workspace_id,
                    signal_revision.c.signal_id == row.id,
                )
                .order_by(signal_revision.c.revision)
            ).mappings()
            return _signal(
                row,
                detailed=True,
                text=row.text,
                metadata=row.metadata,
                raw=row.raw,
                mentions=[
                    {k: v for k, v in m.items() if k not in {"workspace_id", "signal_id"}}
                    for m in mentions
                ],
                revisions=[dict(r) for r in revisions],
            )

    def duplicates(
        self, *, near: bool = False, limit: int = 100, connection: Connection | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Return duplicate groups: an original and the signals that point at it."""
        pointer = signal.c.near_duplicate_of if near else signal.c.duplicate_of
        with self._scope.transaction(connection) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            members = conn.execute(
                self._joined(*_LIST_COLUMNS)
                .where(signal.c.workspace_id == workspace_id, pointer.is_not(None))
                .order_by(signal.c.created_at, signal.c.id)
            ).all()
            parents: dict[uuid.UUID, uuid.UUID] = {
                m.id: (m.near_duplicate_of if near else m.duplicate_of) for m in members
            }

            def root(node: uuid.UUID) -> uuid.UUID:
                seen = set()
                while node in parents and node not in seen:
                    seen.add(node)
                    node = parents[node]
                return node

            groups: dict[uuid.UUID, builtins.list[Any]] = {}
            for member in members:
                groups.setdefault(root(member.id), []).append(member)
            roots = list(groups)[:limit]
            originals = {
                row.id: row
                for row in conn.execute(
                    self._joined(*_LIST_COLUMNS).where(
                        signal.c.workspace_id == workspace_id, signal.c.id.in_(roots)
                    )
                )
            }
        result: builtins.list[dict[str, Any]] = []
        for key in roots:
            original = originals.get(key)
            result.append(
                {
                    "original": _signal(original).as_dict() if original else {"id": key},
                    "members": [_signal(m).as_dict() for m in groups[key]],
                    "size": len(groups[key]) + 1,
                }
            )
        result.sort(key=lambda group: -len(group["members"]))
        return result
