"""`sg.links`: add links by hand, resolve ambiguous ones, and read them."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql as psycopg_sql
from psycopg.rows import dict_row

from signalgraph import lookup
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


_SELECT = """
SELECT l.id, l.type, l.status, l.from_signal_id, fs.name AS from_source,
    fk.external_id AS from_external_id,
    (SELECT s.title FROM signal s WHERE s.workspace_id = l.workspace_id
       AND s.id = l.from_signal_id) AS from_title,
    ts.name AS target_source, l.target_external_id, l.reference, l.reference_date,
    l.target_signal_id,
    (SELECT s.title FROM signal s WHERE s.workspace_id = l.workspace_id
       AND s.id = l.target_signal_id) AS target_title,
    l.candidates, l.resolution, l.resolved_by, l.origin, l.run_id, l.created_at, l.resolved_at
FROM signal_link l
JOIN signal_key fk ON fk.workspace_id = l.workspace_id AND fk.signal_id = l.from_signal_id
JOIN source fs ON fs.workspace_id = l.workspace_id AND fs.id = l.from_source_id
LEFT JOIN source ts ON ts.workspace_id = l.workspace_id AND ts.id = l.target_source_id
WHERE l.workspace_id = %(ws)s
"""

_SIGNAL_KEY = """
SELECT k.signal_id, k.source_id, k.external_id FROM signal_key k
WHERE k.workspace_id = %(ws)s
"""

# {} is the id condition a typed id makes (signalgraph.lookup).
_SIGNAL_BY_ID = """
SELECT k.signal_id, k.source_id, k.external_id FROM signal_key k
WHERE k.workspace_id = %s AND {} LIMIT %s
"""

_LINK_BY_ID = "SELECT id FROM signal_link WHERE workspace_id = %s AND {} LIMIT %s"

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
    def _cursor(self, actor: str | None = None) -> Iterator[tuple[psycopg.Connection[Any], Any]]:
        with self._scope.transaction(actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            driver = conn.connection.driver_connection
            assert isinstance(driver, psycopg.Connection)
            yield driver, workspace_id

    # -- lookups -----------------------------------------------------------------------

    def _signal(
        self, pg: psycopg.Connection[Any], ws: uuid.UUID, value: Any, what: str
    ) -> tuple[uuid.UUID, uuid.UUID, str]:
        """Return (signal id, source id, external id) of a signal id, prefix or key."""
        if isinstance(value, dict):
            if "signal_id" in value:
                value = value["signal_id"]
            else:
                source = value.get("source")
                external_id = value.get("external_id")
                if not isinstance(source, str) or not isinstance(external_id, str):
                    raise UsageError(
                        f"{what}: expected a signal id or {{source, external_id}}",
                        hint="both source and external_id are strings",
                    )
                found = pg.execute(
                    _SIGNAL_KEY + " AND k.source_id = %(src)s AND k.external_id = %(ext)s",
                    {"ws": ws, "src": self._source_id(pg, ws, source), "ext": external_id},
                ).fetchall()
                if not found:
                    raise NotFound(f"{what}: no signal {external_id!r} in source {source!r}")
                return _key(found[0])
        if not isinstance(value, str | uuid.UUID):
            raise UsageError(f"{what}: expected a signal id, got {type(value).__name__}")
        typed = lookup.parse_id(value, "signal")
        condition, params = typed.sql("k", "signal_id")
        rows = pg.execute(
            psycopg_sql.SQL(_SIGNAL_BY_ID).format(condition),
            [ws, *params, lookup.SHOWN_CANDIDATES],
        ).fetchall()
        if not rows:
            raise NotFound(
                f"{what}: signal {typed.text} does not exist in this workspace",
                hint="see `signalgraph signals list`",
            )
        if len(rows) > 1:
            raise lookup.ambiguous(f"{what}: signal", typed.text, [row[0] for row in rows])
        return _key(rows[0])

    def _source_id(self, pg: psycopg.Connection[Any], ws: uuid.UUID, name: str) -> uuid.UUID:
        row = pg.execute(
            "SELECT id FROM source WHERE workspace_id = %s AND name = %s", (ws, name)
        ).fetchone()
        if row is None:
            raise NotFound(
                f"source {name!r} does not exist in this workspace",
                hint="see `signalgraph source list`",
            )
        return uuid.UUID(str(row[0]))

    def _link_id(self, pg: psycopg.Connection[Any], ws: uuid.UUID, value: Any) -> uuid.UUID:
        typed = lookup.parse_id(value, "link")
        condition, params = typed.sql("id")
        rows = pg.execute(
            psycopg_sql.SQL(_LINK_BY_ID).format(condition),
            [ws, *params, lookup.SHOWN_CANDIDATES],
        ).fetchall()
        if not rows:
            raise NotFound(
                f"link {typed.text} does not exist in this workspace",
                hint="see `signalgraph links list`",
            )
        if len(rows) > 1:
            raise lookup.ambiguous("link", typed.text, [row[0] for row in rows])
        return uuid.UUID(str(rows[0][0]))

    def _fetch(
        self, pg: psycopg.Connection[Any], ws: uuid.UUID, where: str, params: dict[str, Any]
    ) -> builtins.list[Link]:
        with pg.cursor(row_factory=dict_row) as cursor:
            rows = cursor.execute(_SELECT + where, {"ws": ws, **params}).fetchall()
        return [Link(**row) for row in rows]

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
        with self._cursor(actor) as (pg, ws):
            from_id, from_source_id, from_external_id = self._signal(pg, ws, from_signal, "from")
            store = LinkStore(pg, workspace_id=ws, source_id=from_source_id, origin="user")
            if reference is not None:
                try:
                    spec = LinkSpec(kind, reference=parse_reference_field(reference, "reference"))
                except LinkError as exc:
                    raise _bad(exc) from exc
                new = NewLink(from_id, spec)
            else:
                target_source_id, target_external_id = self._target(pg, ws, to, from_source_id)
                if (target_source_id, target_external_id) == (from_source_id, from_external_id):
                    raise UsageError("a signal cannot link to itself")
                new = NewLink(from_id, LinkSpec(kind), target_source_id, target_external_id)
            store.insert([new])
            link_id = self._existing(pg, ws, new)
            if reference is not None:
                store.resolve_references({from_id}, [])
            else:
                store.resolve_keys_from([from_id])
            store.sync_flags({link_id})
            return self._fetch(pg, ws, " AND l.id = %(id)s", {"id": link_id})[0]

    def _target(
        self, pg: psycopg.Connection[Any], ws: uuid.UUID, to: Any, from_source_id: uuid.UUID
    ) -> tuple[uuid.UUID, str]:
        if isinstance(to, dict) and "signal_id" not in to:
            try:
                spec = parse_target(to, "to", type_="references")
            except LinkError as exc:
                raise _bad(exc) from exc
            assert spec.external_id is not None
            source_id = (
                self._source_id(pg, ws, spec.source) if spec.source is not None else from_source_id
            )
            return source_id, spec.external_id
        _, source_id, external_id = self._signal(pg, ws, to, "to")
        return source_id, external_id

    def _existing(self, pg: psycopg.Connection[Any], ws: uuid.UUID, new: NewLink) -> uuid.UUID:
        if new.spec.reference is not None:
            row = pg.execute(
                "SELECT id FROM signal_link WHERE workspace_id = %s AND from_signal_id = %s "
                "AND type = %s AND reference_normalized = %s",
                (ws, new.from_signal_id, new.spec.type, new.spec.reference.normalized),
            ).fetchone()
        else:
            row = pg.execute(
                "SELECT id FROM signal_link WHERE workspace_id = %s AND from_signal_id = %s "
                "AND type = %s AND target_source_id = %s AND target_external_id = %s",
                (
                    ws,
                    new.from_signal_id,
                    new.spec.type,
                    new.target_source_id,
                    new.target_external_id,
                ),
            ).fetchone()
        assert row is not None
        return uuid.UUID(str(row[0]))

    def resolve(self, link: Any, *, to: Any, actor: str | None = None) -> Link:
        """Point a link at the signal an analyst chose (among its candidates, usually)."""
        with self._cursor(actor) as (pg, ws):
            link_id = self._link_id(pg, ws, link)
            current = self._fetch(pg, ws, " AND l.id = %(id)s", {"id": link_id})[0]
            target_id, _, _ = self._signal(pg, ws, to, "to")
            if target_id == current.from_signal_id:
                raise UsageError("a signal cannot link to itself")
            pg.execute(
                _ANALYST_RESOLVES, {"ws": ws, "id": link_id, "target": target_id, "actor": actor}
            )
            sync_link_flags(pg, ws, {link_id})
            return self._fetch(pg, ws, " AND l.id = %(id)s", {"id": link_id})[0]

    def recheck(self, *, actor: str | None = None) -> dict[str, int]:
        """Match every waiting link again (after a crash, or links added by hand meanwhile)."""
        with self._cursor(actor) as (pg, ws):
            store = LinkStore(pg, workspace_id=ws, source_id=uuid.UUID(int=0))
            return store.recheck()

    # -- reading -----------------------------------------------------------------------

    def get(self, link: Any) -> Link:
        """Return one link (id or unique prefix) with the titles of its candidates."""
        with self._cursor() as (pg, ws):
            link_id = self._link_id(pg, ws, link)
            found = self._fetch(pg, ws, " AND l.id = %(id)s", {"id": link_id})[0]
            if found.candidates:
                with pg.cursor(row_factory=dict_row) as cursor:
                    found.candidate_signals = cursor.execute(
                        "SELECT s.id, s.external_id, s.title, s.published_at FROM signal s "
                        "WHERE s.workspace_id = %s AND s.id = ANY(%s) ORDER BY s.id",
                        (ws, found.candidates),
                    ).fetchall()
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
        where, params = "", dict[str, Any](limit=limit + 1)
        with self._cursor() as (pg, ws):
            if signal is not None:
                params["signal"] = self._signal(pg, ws, signal, "--signal")[0]
                where += " AND (l.from_signal_id = %(signal)s OR l.target_signal_id = %(signal)s)"
            if status is not None:
                where += " AND l.status = %(status)s"
                params["status"] = status
            if type is not None:
                where += " AND l.type = %(type)s"
                params["type"] = type
            if cursor is not None:
                (after,) = decode_cursor("links", cursor)
                where += " AND l.id < %(after)s"
                params["after"] = uuid.UUID(str(after))
            found = self._fetch(pg, ws, where + " ORDER BY l.id DESC LIMIT %(limit)s", params)
        more = len(found) > limit
        items = found[:limit]
        return Page(items, encode_cursor("links", [items[-1].id]) if more else None)

    def of(self, signal: Any) -> dict[str, builtins.list[Link]]:
        """Return a signal's links both ways: `outgoing` (it names) and `incoming` (naming it)."""
        with self._cursor() as (pg, ws):
            signal_id = self._signal(pg, ws, signal, "signal")[0]
            outgoing = self._fetch(
                pg, ws, " AND l.from_signal_id = %(id)s ORDER BY l.id", {"id": signal_id}
            )
            incoming = self._fetch(
                pg, ws, " AND l.target_signal_id = %(id)s ORDER BY l.id", {"id": signal_id}
            )
        return {"outgoing": outgoing, "incoming": incoming}
