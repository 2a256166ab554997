"""Reading signals back: lists, one signal with its mentions and revisions, duplicate groups."""

from __future__ import annotations

import builtins
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.db.engine import transaction
from signalgraph.errors import NotFound, UsageError
from signalgraph.ids import id_or_prefix
from signalgraph.schema import mention, signal, signal_revision, source

if TYPE_CHECKING:
    from signalgraph.client import SignalGraph


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
        if not detailed:
            for key in ("text", "metadata", "raw", "mentions", "revisions"):
                data.pop(key)
        return data


_LIST_COLUMNS = (
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


def _signal(row: Any, **extra: Any) -> Signal:
    fields = {key: getattr(row, key) for key in row._fields if key in Signal.__annotations__}
    return Signal(**(fields | extra))


class Signals:
    """Query the signals of the client's workspace."""

    def __init__(self, client: SignalGraph) -> None:
        self._client = client

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
        include_duplicates: bool = False,
        limit: int = 50,
        connection: Connection | None = None,
    ) -> list[Signal]:
        """Return signals newest first; duplicates and near duplicates only when asked."""
        with transaction(self._client.engine, connection) as conn:
            workspace_id = self._client.workspace_id_in(conn)
            query = self._joined(*_LIST_COLUMNS).where(signal.c.workspace_id == workspace_id)
            if source_name is not None:
                source_id = self._client.sources.get(source_name, connection=conn).id
                query = query.where(signal.c.source_id == source_id)
            if kind is not None:
                query = query.where(signal.c.kind == kind)
            if since is not None:
                query = query.where(signal.c.published_at >= since)
            if until is not None:
                query = query.where(signal.c.published_at < until)
            if not include_duplicates:
                query = query.where(
                    signal.c.duplicate_of.is_(None), signal.c.near_duplicate_of.is_(None)
                )
            rows = conn.execute(
                query.order_by(signal.c.published_at.desc(), signal.c.id.desc()).limit(limit)
            ).all()
        return [_signal(row) for row in rows]

    def count(self, *, connection: Connection | None = None) -> dict[str, int]:
        """Return how many signals there are: all, originals, duplicates, near duplicates."""
        with transaction(self._client.engine, connection) as conn:
            workspace_id = self._client.workspace_id_in(conn)
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
        with transaction(self._client.engine, connection) as conn:
            workspace_id = self._client.workspace_id_in(conn)
            query = self._joined(*_LIST_COLUMNS, signal.c.text, signal.c.metadata, signal.c.raw)
            query = query.where(signal.c.workspace_id == workspace_id)
            wanted = id_or_prefix(signal_id, "signal")
            if isinstance(wanted, uuid.UUID):
                rows = conn.execute(query.where(signal.c.id == wanted)).all()
            else:
                rows = conn.execute(
                    query.where(sa.cast(signal.c.id, sa.Text).startswith(wanted)).limit(2)
                ).all()
            if not rows:
                raise NotFound(f"signal {signal_id} does not exist in this workspace")
            if len(rows) > 1:
                raise UsageError(f"signal id prefix {signal_id!r} is ambiguous")
            row = rows[0]
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
        with transaction(self._client.engine, connection) as conn:
            workspace_id = self._client.workspace_id_in(conn)
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
