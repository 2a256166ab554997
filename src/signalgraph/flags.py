"""Flags: review items on any object (entity, record, signal…), open until resolved."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph import lookup
from signalgraph.errors import NotFound, UsageError
from signalgraph.ids import uuid7
from signalgraph.schema import flag

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope


@dataclass(frozen=True)
class Flag:
    """Something someone should look at."""

    id: uuid.UUID
    kind: str
    severity: str
    object_type: str
    object_id: uuid.UUID
    message: str
    details: dict[str, Any]
    actor: str | None
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None

    def as_dict(self) -> dict[str, Any]:
        """Return the flag as a plain dict."""
        return asdict(self)


def _flag(row: Any) -> Flag:
    return Flag(
        row.id, row.kind, row.severity, row.object_type, row.object_id, row.message,
        row.details, row.actor, row.created_at, row.resolved_at, row.resolved_by,
        row.resolution_note,
    )  # fmt: skip


SEVERITIES = ("info", "warning", "error")
# What a flag can be raised on by id: object type, table, id column.
FLAGGABLE = (
    ("signal", "signal_key", "signal_id"),
    ("fact", "fact", "id"),
    ("relation", "relation", "id"),
    ("signal_link", "signal_link", "id"),
    ("list", "curated_list", "id"),
)


def find_object(
    connection: Connection, workspace_id: uuid.UUID, value: str | uuid.UUID
) -> tuple[str, uuid.UUID]:
    """Return (object type, id) of the one flaggable object a typed id names."""
    from signalgraph.resolve.decisions import canonical_ids
    from signalgraph.resolve.entity_refs import resolve_entity_id
    from signalgraph.schema import metadata

    if isinstance(value, str) and ":" in value:  # an identifier names an entity
        return "entity", resolve_entity_id(connection, workspace_id, value)
    typed = lookup.parse_id(value, "object")
    found: list[tuple[str, uuid.UUID]] = []
    for object_type, table_name, column in (("entity", "entity", "id"), *FLAGGABLE):
        table = metadata.tables[table_name]
        ids = connection.execute(
            sa.select(table.c[column])
            .where(table.c.workspace_id == workspace_id, typed.condition(table.c[column]))
            .limit(lookup.SHOWN_CANDIDATES)
        ).scalars()
        found += [(object_type, object_id) for object_id in ids]
    if not found:
        raise NotFound(
            f"nothing with id {typed.text!r} can be flagged in this workspace",
            hint="give the id, a prefix or the short id of an entity, signal, fact, relation, "
            "link or list",
        )
    if len(found) > 1:
        raise lookup.ambiguous("object", typed.text, [f"{kind} {oid}" for kind, oid in found])
    object_type, object_id = found[0]
    if object_type == "entity":
        object_id = canonical_ids(connection, workspace_id, [object_id])[object_id]
    return object_type, object_id


class Flags:
    """List and resolve the flags of the client's workspace."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def list(
        self,
        *,
        open_only: bool = True,
        kind: str | None = None,
        object_id: uuid.UUID | None = None,
        limit: int = 100,
    ) -> list[Flag]:
        """Return flags, newest first (only open ones unless asked)."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            query = sa.select(flag).where(flag.c.workspace_id == workspace_id)
            if open_only:
                query = query.where(flag.c.resolved_at.is_(None))
            if kind is not None:
                query = query.where(flag.c.kind == kind)
            if object_id is not None:
                query = query.where(flag.c.object_id == object_id)
            rows = conn.execute(
                query.order_by(flag.c.created_at.desc(), flag.c.id.desc()).limit(limit)
            ).all()
        return [_flag(row) for row in rows]

    def add(
        self,
        value: str | uuid.UUID,
        *,
        kind: str,
        message: str,
        severity: str = "warning",
        details: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> Flag:
        """Raise a flag on an entity, signal, fact, relation, link or list (found by its id)."""
        if severity not in SEVERITIES:
            raise UsageError(
                f"severity {severity!r} is unknown", hint=f"expected {', '.join(SEVERITIES)}"
            )
        for name, text in (("kind", kind), ("message", message)):
            if not text.strip() or "\x00" in text or len(text) > 2000:
                raise UsageError(f"the flag {name} must be 1 to 2000 characters, without NUL")
        with self._scope.transaction(actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            object_type, object_id = find_object(conn, workspace_id, value)
            row = conn.execute(
                flag.insert()
                .values(
                    workspace_id=workspace_id,
                    id=uuid7(),
                    kind=kind.strip(),
                    severity=severity,
                    object_type=object_type,
                    object_id=object_id,
                    message=message.strip(),
                    details=details or {},
                    actor=actor,
                )
                .returning(flag)
            ).one()
        return _flag(row)

    def resolve(self, value: str | uuid.UUID, *, note: str | None, actor: str | None) -> Flag:
        """Close a flag with a note saying what was done."""
        with self._scope.transaction(actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            query = sa.select(flag).where(flag.c.workspace_id == workspace_id)
            found = lookup.find(
                conn, query, flag.c.id, value, noun="flag", hint="see `signalgraph flags list`"
            )
            if found.resolved_at is not None:
                raise UsageError(f"flag {found.id} is already resolved")
            row = conn.execute(
                flag.update()
                .where(flag.c.workspace_id == workspace_id, flag.c.id == found.id)
                .values(resolved_at=sa.func.now(), resolved_by=actor, resolution_note=note)
                .returning(flag)
            ).one()
        return _flag(row)
