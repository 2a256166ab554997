"""`sg.links`: add links by hand, resolve ambiguous ones, and read them."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph import lookup
from signalgraph.db import driver
from signalgraph.errors import NotFound, UsageError
from signalgraph.links.spec import (
    LinkError,
    LinkSpec,
    parse_link_type,
    parse_reference_field,
    parse_target,
)
from signalgraph.links.store import LinkStore, NewLink, sync_link_flags
from signalgraph.links.vocabulary import LINK_STATUSES, LINK_TYPES
from signalgraph.pages import MAX_LIMIT, Page, decode_cursor, encode_cursor
from signalgraph.schema import signal as signal_table
from signalgraph.schema import signal_key, signal_link, source

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope


@dataclass
class Link:
    """One signal link, with both ends named."""

    id: uuid.UUID
    type: str
    status: str
    from_signal_id: uuid.UUID
    from_source: str
    from_external_id: str
    from_title: str | None
    target_source: str | None
    target_external_id: str | None
    reference: str | None
    reference_date: date | None
    target_signal_id: uuid.UUID | None
    target_title: str | None
    candidates: list[uuid.UUID]
    resolution: str | None
    resolved_by: str | None
    origin: str
    run_id: uuid.UUID | None
    created_at: datetime
    resolved_at: datetime | None
    candidate_signals: list[dict[str, Any]] = field(default_factory=list)

    @property
    def target(self) -> str:
        """Return the target as named: `source / external_id`, or the reference text."""
        if self.reference is not None:
            return self.reference
        return f"{self.target_source} / {self.target_external_id}"

    def as_dict(self) -> dict[str, Any]:
        """Return the link as a plain dict."""
        return asdict(self) | {"target": self.target}


_l = signal_link.alias("l")
_from_key = signal_key.alias("fk")
_from_source = source.alias("fs")
_target_source = source.alias("ts")


def _title(signal_id: Any) -> Any:
    """Return the title of the signal `signal_id` names (a subquery of the link row)."""
    s = signal_table.alias("s")
    return (
        sa.select(s.c.title)
        .where(s.c.workspace_id == _l.c.workspace_id, s.c.id == signal_id)
        .scalar_subquery()
    )


# Links with both ends named (the `Link` fields); built once, _links adds the workspace.
_LINKS = sa.select(
    _l.c.id,
    _l.c.type,
    _l.c.status,
    _l.c.from_signal_id,
    _from_source.c.name.label("from_source"),
    _from_key.c.external_id.label("from_external_id"),
    _title(_l.c.from_signal_id).label("from_title"),
    _target_source.c.name.label("target_source"),
    _l.c.target_external_id,
    _l.c.reference,
    _l.c.reference_date,
    _l.c.target_signal_id,
    _title(_l.c.target_signal_id).label("target_title"),
    _l.c.candidates,
    _l.c.resolution,
    _l.c.resolved_by,
    _l.c.origin,
    _l.c.run_id,
    _l.c.created_at,
    _l.c.resolved_at,
).select_from(
    _l.join(
        _from_key,
        sa.and_(
            _from_key.c.workspace_id == _l.c.workspace_id,
            _from_key.c.signal_id == _l.c.from_signal_id,
        ),
    )
    .join(
        _from_source,
        sa.and_(
            _from_source.c.workspace_id == _l.c.workspace_id,
            _from_source.c.id == _l.c.from_source_id,
        ),
    )
    .outerjoin(
        _target_source,
        sa.and_(
            _target_source.c.workspace_id == _l.c.workspace_id,
            _target_source.c.id == _l.c.target_source_id,
        ),
    )
)


def _links(workspace_id: uuid.UUID) -> sa.Select[Any]:
    """Return a SELECT of the workspace's links with both ends named (the `Link` fields)."""
    return _LINKS.where(_l.c.workspace_id == workspace_id)


def _keys(workspace_id: uuid.UUID) -> sa.Select[Any]:
    """Return a SELECT of the workspace's signal keys: (signal id, source id, external id)."""
    return sa.select(
        signal_key.c.signal_id, signal_key.c.source_id, signal_key.c.external_id
    ).where(signal_key.c.workspace_id == workspace_id)


# Run through signalgraph.db.driver, like the statements of links/queries.py.
_ANALYST_RESOLVES = """
UPDATE signal_link SET status = 'resolved', target_signal_id = %(target)s,
    resolution = 'analyst', resolved_at = now(), updated_at = now(),
    resolved_by = coalesce(%(actor)s, nullif(current_setting('signalgraph.actor', true), ''))
WHERE workspace_id = %(ws)s AND id = %(id)s
"""


def _key(row: Any) -> tuple[uuid.UUID, uuid.UUID, str]:
    return uuid.UUID(str(row[0])), uuid.UUID(str(row[1])), str(row[2])


def _bad(exc: LinkError) -> UsageError:
    return UsageError(f"{exc.field}: {exc.reason}")


class Links:
    """Signal links of the client's workspace."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    @contextmanager
    def _transaction(self, actor: str | None = None) -> Iterator[tuple[Connection, uuid.UUID]]:
        with self._scope.transaction(actor=actor) as conn:
            yield conn, self._scope.workspace_id_in(conn)

    # -- lookups -----------------------------------------------------------------------

    def _signal(
        self, conn: Connection, ws: uuid.UUID, value: Any, what: str
    ) -> tuple[uuid.UUID, uuid.UUID, str]:
        """Return (signal id, source id, external id) of a signal id, prefix or key."""
        if isinstance(value, dict):
            if "signal_id" in value:
                value = value["signal_id"]
            else:
                source_name = value.get("source")
                external_id = value.get("external_id")
                if not isinstance(source_name, str) or not isinstance(external_id, str):
                    raise UsageError(
                        f"{what}: expected a signal id or {{source, external_id}}",
                        hint="both source and external_id are strings",
                    )
                found = conn.execute(
                    _keys(ws).where(
                        signal_key.c.source_id == self._source_id(conn, ws, source_name),
                        signal_key.c.external_id == external_id,
                    )
                ).first()
                if found is None:
                    raise NotFound(f"{what}: no signal {external_id!r} in source {source_name!r}")
                return _key(found)
        if not isinstance(value, str | uuid.UUID):
            raise UsageError(f"{what}: expected a signal id, got {type(value).__name__}")
        typed = lookup.parse_id(value, "signal")
        rows = conn.execute(
            _keys(ws).where(typed.condition(signal_key.c.signal_id)).limit(lookup.SHOWN_CANDIDATES)
        ).all()
        if not rows:
            raise NotFound(
                f"{what}: signal {typed.text} does not exist in this workspace",
                hint="see `signalgraph signals list`",
            )
        if len(rows) > 1:
            raise lookup.ambiguous(f"{what}: signal", typed.text, [row[0] for row in rows])
        return _key(rows[0])

    def _source_id(self, conn: Connection, ws: uuid.UUID, name: str) -> uuid.UUID:
        found = conn.execute(
            sa.select(source.c.id).where(source.c.workspace_id == ws, source.c.name == name)
        ).scalar_one_or_none()
        if found is None:
            raise NotFound(
                f"source {name!r} does not exist in this workspace",
                hint="see `signalgraph source list`",
            )
        return uuid.UUID(str(found))

    def _link_id(self, conn: Connection, ws: uuid.UUID, value: Any) -> uuid.UUID:
        typed = lookup.parse_id(value, "link")
        rows = conn.execute(
            sa.select(signal_link.c.id)
            .where(signal_link.c.workspace_id == ws, typed.condition(signal_link.c.id))
            .limit(lookup.SHOWN_CANDIDATES)
        ).all()
        if not rows:
            raise NotFound(
                f"link {typed.text} does not exist in this workspace",
                hint="see `signalgraph links list`",
            )
        if len(rows) > 1:
            raise lookup.ambiguous("link", typed.text, [row[0] for row in rows])
        return uuid.UUID(str(rows[0][0]))

    def _fetch(self, conn: Connection, query: sa.Select[Any]) -> builtins.list[Link]:
        return [Link(**row._mapping) for row in conn.execute(query)]

    def _one(self, conn: Connection, ws: uuid.UUID, link_id: uuid.UUID) -> Link:
        return self._fetch(conn, _links(ws).where(_l.c.id == link_id))[0]

    # -- writing -----------------------------------------------------------------------

    def add(
        self,
        from_signal: Any,
        type: str,
        *,
        to: Any = None,
        reference: str | None = None,
        actor: str | None = None,
    ) -> Link:
        """Link a signal to another (a key, a signal id) or to a reference text; resolve it now."""
        try:
            kind = parse_link_type(type, "type")
        except LinkError as exc:
            raise _bad(exc) from exc
        if (to is None) == (reference is None):
            raise UsageError("give the target: either `to` (a signal) or `reference` (a text)")
        with self._transaction(actor) as (conn, ws):
            from_id, from_source_id, from_external_id = self._signal(conn, ws, from_signal, "from")
            store = LinkStore(conn, workspace_id=ws, source_id=from_source_id, origin="user")
            if reference is not None:
                try:
                    spec = LinkSpec(kind, reference=parse_reference_field(reference, "reference"))
                except LinkError as exc:
                    raise _bad(exc) from exc
                new = NewLink(from_id, spec)
            else:
                target_source_id, target_external_id = self._target(conn, ws, to, from_source_id)
                if (target_source_id, target_external_id) == (from_source_id, from_external_id):
                    raise UsageError("a signal cannot link to itself")
                new = NewLink(from_id, LinkSpec(kind), target_source_id, target_external_id)
            store.insert([new])
            link_id = self._existing(conn, ws, new)
            if reference is not None:
                store.resolve_references({from_id}, [])
            else:
                store.resolve_keys_from([from_id])
            store.sync_flags({link_id})
            return self._one(conn, ws, link_id)

    def _target(
        self, conn: Connection, ws: uuid.UUID, to: Any, from_source_id: uuid.UUID
    ) -> tuple[uuid.UUID, str]:
        if isinstance(to, dict) and "signal_id" not in to:
            try:
                spec = parse_target(to, "to", type_="references")
            except LinkError as exc:
                raise _bad(exc) from exc
            assert spec.external_id is not None
            source_id = (
                self._source_id(conn, ws, spec.source)
                if spec.source is not None
                else from_source_id
            )
            return source_id, spec.external_id
        _, source_id, external_id = self._signal(conn, ws, to, "to")
        return source_id, external_id

    def _existing(self, conn: Connection, ws: uuid.UUID, new: NewLink) -> uuid.UUID:
        same = sa.select(signal_link.c.id).where(
            signal_link.c.workspace_id == ws,
            signal_link.c.from_signal_id == new.from_signal_id,
            signal_link.c.type == new.spec.type,
        )
        if new.spec.reference is not None:
            same = same.where(signal_link.c.reference_normalized == new.spec.reference.normalized)
        else:
            same = same.where(
                signal_link.c.target_source_id == new.target_source_id,
                signal_link.c.target_external_id == new.target_external_id,
            )
        return uuid.UUID(str(conn.execute(same).scalar_one()))

    def resolve(self, link: Any, *, to: Any, actor: str | None = None) -> Link:
        """Point a link at the signal an analyst chose (among its candidates, usually)."""
        with self._transaction(actor) as (conn, ws):
            link_id = self._link_id(conn, ws, link)
            current = self._one(conn, ws, link_id)
            target_id, _, _ = self._signal(conn, ws, to, "to")
            if target_id == current.from_signal_id:
                raise UsageError("a signal cannot link to itself")
            driver.execute(
                conn,
                _ANALYST_RESOLVES,
                {"ws": ws, "id": link_id, "target": target_id, "actor": actor},
            )
            sync_link_flags(conn, ws, {link_id})
            return self._one(conn, ws, link_id)

    def recheck(self, *, actor: str | None = None) -> dict[str, int]:
        """Match every waiting link again (after a crash, or links added by hand meanwhile)."""
        with self._transaction(actor) as (conn, ws):
            store = LinkStore(conn, workspace_id=ws, source_id=uuid.UUID(int=0))
            return store.recheck()

    # -- reading -----------------------------------------------------------------------

    def get(self, link: Any) -> Link:
        """Return one link (id or unique prefix) with the titles of its candidates."""
        with self._transaction() as (conn, ws):
            found = self._one(conn, ws, self._link_id(conn, ws, link))
            if found.candidates:
                s = signal_table
                found.candidate_signals = [
                    dict(row._mapping)
                    for row in conn.execute(
                        sa.select(s.c.id, s.c.external_id, s.c.title, s.c.published_at)
                        .where(s.c.workspace_id == ws, s.c.id.in_(found.candidates))
                        .order_by(s.c.id)
                    )
                ]
            return found

    def list(
        self,
        *,
        signal: Any = None,
        status: str | None = None,
        type: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Link]:
        """Return links newest first, a page at a time, filtered by signal, status or type."""
        if status is not None and status not in LINK_STATUSES:
            raise UsageError(
                f"unknown status {status!r}", hint=f"expected one of {', '.join(LINK_STATUSES)}"
            )
        if type is not None and type not in LINK_TYPES:
            raise UsageError(
                f"unknown link type {type!r}", hint=f"expected one of {', '.join(LINK_TYPES)}"
            )
        if not 1 <= limit <= MAX_LIMIT:
            raise UsageError(f"limit must be between 1 and {MAX_LIMIT}")
        with self._transaction() as (conn, ws):
            query = _links(ws)
            if signal is not None:
                signal_id = self._signal(conn, ws, signal, "--signal")[0]
                query = query.where(
                    sa.or_(_l.c.from_signal_id == signal_id, _l.c.target_signal_id == signal_id)
                )
            if status is not None:
                query = query.where(_l.c.status == status)
            if type is not None:
                query = query.where(_l.c.type == type)
            if cursor is not None:
                (after,) = decode_cursor("links", cursor)
                query = query.where(_l.c.id < uuid.UUID(str(after)))
            found = self._fetch(conn, query.order_by(_l.c.id.desc()).limit(limit + 1))
        more = len(found) > limit
        items = found[:limit]
        return Page(items, encode_cursor("links", [items[-1].id]) if more else None)

    def of(self, signal: Any) -> dict[str, builtins.list[Link]]:
        """Return a signal's links both ways: `outgoing` (it names) and `incoming` (naming it)."""
        with self._transaction() as (conn, ws):
            signal_id = self._signal(conn, ws, signal, "signal")[0]
            outgoing = self._fetch(
                conn, _links(ws).where(_l.c.from_signal_id == signal_id).order_by(_l.c.id)
            )
            incoming = self._fetch(
                conn, _links(ws).where(_l.c.target_signal_id == signal_id).order_by(_l.c.id)
            )
        return {"outgoing": outgoing, "incoming": incoming}
