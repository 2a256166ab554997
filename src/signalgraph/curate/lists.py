"""Lists: named, per workspace, holding entities of any type and signals.

Members are stored as written (`list_member.entity_id` or `.signal_id`, each with a
foreign key) and read through `entity_redirect`: a list shows each canonical entity
once (its earliest-added row), never a merged-away id, and after an unmerge both
entities again, because both rows were kept. Adding an entity whose canonical is
already a member is a no-op. An `add` or `remove` with any id that does not resolve
changes nothing and names every such id.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph import lookup
from signalgraph.bounds import INT32, check_int
from signalgraph.curate.fields import clean_text
from signalgraph.curate.members import resolve_members
from signalgraph.errors import AlreadyExists, NotFound, UsageError
from signalgraph.export import format_of, write_rows
from signalgraph.ids import uuid7
from signalgraph.pages import Page, check_limit, decode_cursor, encode_cursor
from signalgraph.schema import curated_list, entity_redirect, list_member

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope

# Members without a position sort after every positioned one.
_UNPOSITIONED = INT32[1] + 1

# The live lists with their member counts (canonical entities once, and signals).
_LISTS_SQL = """
SELECT l.*, coalesce(c.members, 0) AS members
FROM curated_list l
LEFT JOIN LATERAL (
    SELECT count(DISTINCT coalesce(r.to_id, lm.entity_id)) + count(lm.signal_id) AS members
    FROM list_member lm
    LEFT JOIN entity_redirect r ON r.workspace_id = lm.workspace_id AND r.from_id = lm.entity_id
    WHERE lm.workspace_id = l.workspace_id AND lm.list_id = l.id) c ON true
WHERE l.workspace_id = :ws AND l.deleted_at IS NULL
ORDER BY l.name
"""

_MEMBERS_SQL = """
WITH m AS (
    (SELECT DISTINCT ON (coalesce(r.to_id, lm.entity_id))
            lm.id AS member_row, 'entity' AS kind, coalesce(r.to_id, lm.entity_id) AS id,
            lm.entity_id AS written_id, lm.note, lm.position, lm.added_by,
            lm.created_at AS added_at
     FROM list_member lm
     LEFT JOIN entity_redirect r ON r.workspace_id = lm.workspace_id
                                AND r.from_id = lm.entity_id
     WHERE lm.workspace_id = :ws AND lm.list_id = :list AND lm.entity_id IS NOT NULL
     ORDER BY coalesce(r.to_id, lm.entity_id), lm.id)
  UNION ALL
    SELECT lm.id, 'signal', lm.signal_id, lm.signal_id, lm.note, lm.position, lm.added_by,
           lm.created_at
    FROM list_member lm
    WHERE lm.workspace_id = :ws AND lm.list_id = :list AND lm.signal_id IS NOT NULL
)
SELECT m.kind, m.id, m.written_id, coalesce(e.name, s.title) AS name,
       coalesce(e.type, s.kind) AS type, e.archived_at, s.published_at, m.note, m.position,
       m.added_by, m.added_at, m.member_row,
       coalesce(m.position::bigint, :unpositioned) AS sort_position
FROM m
LEFT JOIN entity e ON m.kind = 'entity' AND e.workspace_id = :ws AND e.id = m.id
LEFT JOIN signal s ON m.kind = 'signal' AND s.workspace_id = :ws AND s.id = m.id
WHERE (coalesce(m.position::bigint, :unpositioned), m.member_row)
      > (CAST(:after_position AS bigint), CAST(:after_row AS uuid))
ORDER BY coalesce(m.position::bigint, :unpositioned), m.member_row
LIMIT :limit
"""

_ADD_ENTITIES_SQL = """
INSERT INTO list_member (workspace_id, id, list_id, entity_id, note, position, added_by)
SELECT :ws, n.id, :list, n.entity_id, :note, :position, :actor
FROM unnest(CAST(:ids AS uuid[]), CAST(:entities AS uuid[])) AS n(id, entity_id)
WHERE NOT EXISTS (
    SELECT 1 FROM list_member lm
    LEFT JOIN entity_redirect r ON r.workspace_id = lm.workspace_id AND r.from_id = lm.entity_id
    WHERE lm.workspace_id = :ws AND lm.list_id = :list
      AND coalesce(r.to_id, lm.entity_id) = n.entity_id)
ON CONFLICT DO NOTHING
RETURNING entity_id
"""

_ADD_SIGNALS_SQL = """
INSERT INTO list_member (workspace_id, id, list_id, signal_id, note, position, added_by)
SELECT :ws, n.id, :list, n.signal_id, :note, :position, :actor
FROM unnest(CAST(:ids AS uuid[]), CAST(:signals AS uuid[])) AS n(id, signal_id)
ON CONFLICT DO NOTHING
RETURNING signal_id
"""

_REMOVE_SQL = """
DELETE FROM list_member lm
WHERE lm.workspace_id = :ws AND lm.list_id = :list
  AND (lm.signal_id = ANY(CAST(:signals AS uuid[]))
       OR coalesce((SELECT r.to_id FROM entity_redirect r
                    WHERE r.workspace_id = lm.workspace_id AND r.from_id = lm.entity_id),
                   lm.entity_id) = ANY(CAST(:entities AS uuid[])))
RETURNING coalesce((SELECT r.to_id FROM entity_redirect r
                    WHERE r.workspace_id = lm.workspace_id AND r.from_id = lm.entity_id),
                   lm.entity_id, lm.signal_id) AS member
"""

EXPORT_COLUMNS = (
    "kind", "id", "name", "type", "archived", "note", "position", "added_by", "added_at",
)  # fmt: skip


class Lists:
    """The lists of the client's workspace."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def create(
        self, name: str, *, description: str | None = None, actor: str | None = None
    ) -> dict[str, Any]:
        """Create a list; its name must be free among the live lists."""
        name = clean_text("list name", name, limit=200)
        if description is not None:
            description = clean_text("description", description, limit=2000, multiline=True)
        actor = actor or self._scope.settings.effective_actor
        with self._scope.transaction(actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            row = conn.execute(
                sa.dialects.postgresql.insert(curated_list)
                .values(
                    workspace_id=workspace_id,
                    id=uuid7(),
                    name=name,
                    description=description,
                    created_by=actor,
                )
                .on_conflict_do_nothing()
                .returning(curated_list)
            ).one_or_none()
        if row is None:
            raise AlreadyExists(f"list {name!r} already exists")
        return {**_list(row), "members": 0}

    def delete(self, name: str, *, actor: str | None = None) -> dict[str, Any]:
        """Delete a list (kept as deleted, with its members; its name becomes free)."""
        actor = actor or self._scope.settings.effective_actor
        with self._scope.transaction(actor=actor) as conn:
            found = self._find(conn, name)
            row = conn.execute(
                curated_list.update()
                .where(curated_list.c.workspace_id == found.workspace_id)
                .where(curated_list.c.id == found.id)
                .values(deleted_at=sa.func.now(), updated_at=sa.func.now())
                .returning(curated_list)
            ).one()
        return _list(row)

    def list(self) -> list[dict[str, Any]]:
        """Return the live lists with their member counts (canonical entities and signals)."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            rows = conn.execute(
                sa.text(_LISTS_SQL),
                {"ws": workspace_id},
            ).all()
        return [{**_list(row), "members": row.members} for row in rows]

    def get(self, name: str, *, connection: Connection | None = None) -> dict[str, Any]:
        """Return one live list by name, or raise NotFound."""
        with self._scope.transaction(connection) as conn:
            return _list(self._find(conn, name))

    def _find(self, conn: Connection, name: str | uuid.UUID) -> Any:
        return find_list(
            conn, self._scope.workspace_id_in(conn), name,
            workspace_flag=self._scope.workspace_flag,
        )  # fmt: skip

    def containing(
        self, value: str | uuid.UUID, *, connection: Connection | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Return the live lists an entity (any id of its merge group) or a signal is in."""
        with self._scope.transaction(connection) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            resolved = resolve_members(conn, workspace_id, [value])
            _refuse_invalid(resolved.invalid, None)
            return lists_containing(
                conn,
                workspace_id,
                list(resolved.entities.values()),
                list(resolved.signals.values()),
            )

    def add(
        self,
        name: str,
        ids: Sequence[str | uuid.UUID],
        *,
        note: str | None = None,
        position: int | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Add entities (any id form) and signals to a list; all of them, or none.

        Any id that does not resolve fails the call, naming every such id, and nothing
        is added. An entity already there (possibly under a merged id) is skipped.
        """
        if not ids:
            raise UsageError("give at least one entity or signal id to add")
        if note is not None:
            note = clean_text("note", note, limit=2000, multiline=True)
        if position is not None:
            position = check_int("position", position)
        actor = actor or self._scope.settings.effective_actor
        with self._scope.transaction(actor=actor) as conn:
            found = self._find(conn, name)
            resolved = resolve_members(conn, found.workspace_id, ids)
            _refuse_invalid(resolved.invalid, found.name)
            entities = list(dict.fromkeys(resolved.entities.values()))
            signals = list(dict.fromkeys(resolved.signals.values()))
            common = {
                "ws": found.workspace_id, "list": found.id, "note": note, "position": position,
                "actor": actor,
            }  # fmt: skip
            added_entities = set(
                conn.execute(
                    sa.text(_ADD_ENTITIES_SQL),
                    {**common, "ids": _ordered_ids(len(entities)), "entities": entities},
                ).scalars()
            )
            added_signals = set(
                conn.execute(
                    sa.text(_ADD_SIGNALS_SQL),
                    {**common, "ids": _ordered_ids(len(signals)), "signals": signals},
                ).scalars()
            )
            if added_entities or added_signals:
                _touch(conn, found)
        added = [i for i in entities if i in added_entities] + [
            i for i in signals if i in added_signals
        ]
        already = [i for i in [*entities, *signals] if i not in added_entities | added_signals]
        return {"list": found.name, "added": added, "already_members": already}

    def remove(
        self, name: str, ids: Sequence[str | uuid.UUID], *, actor: str | None = None
    ) -> dict[str, Any]:
        """Remove entities (every row of their merge group) and signals from a list."""
        if not ids:
            raise UsageError("give at least one entity or signal id to remove")
        actor = actor or self._scope.settings.effective_actor
        with self._scope.transaction(actor=actor) as conn:
            found = self._find(conn, name)
            resolved = resolve_members(conn, found.workspace_id, ids)
            _refuse_invalid(resolved.invalid, found.name)
            entities = list(dict.fromkeys(resolved.entities.values()))
            signals = list(dict.fromkeys(resolved.signals.values()))
            removed = set(
                conn.execute(
                    sa.text(_REMOVE_SQL),
                    {"ws": found.workspace_id, "list": found.id, "entities": entities,
                     "signals": signals},
                ).scalars()
            )  # fmt: skip
            if removed:
                _touch(conn, found)
        wanted = [*entities, *signals]
        return {
            "list": found.name,
            "removed": [i for i in wanted if i in removed],
            "not_members": [i for i in wanted if i not in removed],
        }

    def show(
        self, name: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[dict[str, Any]]:
        """Return a page of a list's members: each canonical entity once, and signals."""
        check_limit(limit)
        after_position, after_row = -(2**63), uuid.UUID(int=0)
        if cursor is not None:
            values = decode_cursor("list_members", cursor)
            try:
                after_position, after_row = int(str(values[0])), uuid.UUID(str(values[1]))
            except (ValueError, IndexError) as exc:
                raise UsageError(f"cursor {cursor[:40]!r} is damaged") from exc
        with self._scope.transaction() as conn:
            found = self._find(conn, name)
            rows = conn.execute(
                sa.text(_MEMBERS_SQL),
                {
                    "ws": found.workspace_id,
                    "list": found.id,
                    "unpositioned": _UNPOSITIONED,
                    "after_position": after_position,
                    "after_row": after_row,
                    "limit": limit + 1,
                },
            ).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [_member(row) for row in rows]
        next_cursor = (
            encode_cursor("list_members", [rows[-1].sort_position, rows[-1].member_row])
            if more
            else None
        )
        return Page(items, next_cursor, {"list": found.name, "list_id": found.id})

    def members(self, name: str, *, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Yield every member of a list, page by page."""
        cursor: str | None = None
        while True:
            page = self.show(name, limit=page_size, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def export(self, name: str, target: str | Path | IO[str], *, fmt: str | None = None) -> int:
        """Write a list's members to a CSV or NDJSON file (format from the suffix); count them."""
        path = target if isinstance(target, str | Path) else None
        fmt = format_of(path, fmt, command="lists export")
        self.get(name)  # fail before creating the file
        if path is not None:
            try:
                with open(path, "w", encoding="utf-8", newline="") as handle:
                    return write_rows(self.members(name), handle, fmt, EXPORT_COLUMNS)
            except OSError as exc:
                raise UsageError(f"cannot write {path}: {exc.strerror}") from exc
        assert not isinstance(target, str | Path)
        return write_rows(self.members(name), target, fmt, EXPORT_COLUMNS)


def _refuse_invalid(invalid: dict[str, str], list_name: str | None) -> None:
    if invalid:
        listed = "; ".join(f"{shown[:60]!r} {why}" for shown, why in invalid.items())
        where = f"list {list_name!r} unchanged: " if list_name else ""
        raise NotFound(
            f"{where}{listed}",
            hint="members are entities (an id, short id, identifier like domain:acme.ai, or "
            "name) or signals (an id or short id)",
        )


def _ordered_ids(count: int) -> list[uuid.UUID]:
    """Return increasing UUIDv7 ids, so members keep the order they were given in."""
    return sorted(uuid7() for _ in range(count))


def _touch(conn: Connection, found: Any) -> None:
    conn.execute(
        curated_list.update()
        .where(curated_list.c.workspace_id == found.workspace_id, curated_list.c.id == found.id)
        .values(updated_at=sa.func.now())
    )


def _list(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "deleted": row.deleted_at is not None,
    }


def _member(row: Any) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "id": row.id,
        "name": row.name,
        "type": row.type,
        "archived": row.archived_at is not None,
        "note": row.note,
        "position": row.position,
        "added_by": row.added_by,
        "added_at": row.added_at,
    }


def list_entity_ids(workspace_id: uuid.UUID, list_id: uuid.UUID) -> sa.Select[Any]:
    """Return a SELECT of the canonical entity ids in a list (for `--list` filters)."""
    return (
        sa.select(sa.func.coalesce(entity_redirect.c.to_id, list_member.c.entity_id))
        .select_from(
            list_member.outerjoin(
                entity_redirect,
                sa.and_(
                    entity_redirect.c.workspace_id == list_member.c.workspace_id,
                    entity_redirect.c.from_id == list_member.c.entity_id,
                ),
            )
        )
        .where(
            list_member.c.workspace_id == workspace_id,
            list_member.c.list_id == list_id,
            list_member.c.entity_id.is_not(None),
        )
    )


def list_signal_ids(workspace_id: uuid.UUID, list_id: uuid.UUID) -> sa.Select[Any]:
    """Return a SELECT of the signal ids in a list (for `--list` filters)."""
    return sa.select(list_member.c.signal_id).where(
        list_member.c.workspace_id == workspace_id,
        list_member.c.list_id == list_id,
        list_member.c.signal_id.is_not(None),
    )


def find_list(
    connection: Connection,
    workspace_id: uuid.UUID,
    name: str | uuid.UUID,
    *,
    workspace_flag: str = "",
) -> Any:
    """Return the live list with this name, else the one with this id (or short id)."""
    if isinstance(name, str) and "\x00" in name:
        raise UsageError("a list name cannot contain a NUL byte")
    live = sa.select(curated_list).where(
        curated_list.c.workspace_id == workspace_id, curated_list.c.deleted_at.is_(None)
    )
    hint = (
        f"see `signalgraph lists{workspace_flag}`; create it with `signalgraph lists create NAME`"
    )
    if isinstance(name, str):
        row = connection.execute(live.where(curated_list.c.name == name)).one_or_none()
        if row is not None:
            return row
        try:
            lookup.parse_id(name, "list")
        except UsageError:
            raise NotFound(f"list {name[:200]!r} does not exist", hint=hint) from None
    return lookup.find(connection, live, curated_list.c.id, name, noun="list", hint=hint)


_CONTAINING = """
SELECT DISTINCT l.* FROM list_member lm
JOIN curated_list l ON l.workspace_id = lm.workspace_id AND l.id = lm.list_id
LEFT JOIN entity_redirect r ON r.workspace_id = lm.workspace_id AND r.from_id = lm.entity_id
WHERE lm.workspace_id = :ws AND l.deleted_at IS NULL
  AND (coalesce(r.to_id, lm.entity_id) = ANY(CAST(:entities AS uuid[]))
       OR lm.signal_id = ANY(CAST(:signals AS uuid[])))
ORDER BY l.name
"""


def lists_containing(
    connection: Connection,
    workspace_id: uuid.UUID,
    entity_ids: Sequence[uuid.UUID],
    signal_ids: Sequence[uuid.UUID] = (),
) -> list[dict[str, Any]]:
    """Return the live lists holding these canonical entities (by any id merged into them)
    or these signals, by name."""
    rows = connection.execute(
        sa.text(_CONTAINING),
        {"ws": workspace_id, "entities": list(entity_ids), "signals": list(signal_ids)},
    ).all()
    return [_list(row) for row in rows]
