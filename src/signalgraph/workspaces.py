"""Workspaces: the tenants every row belongs to."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from signalgraph.db.engine import transaction
from signalgraph.errors import AlreadyExists, NotFound, UsageError
from signalgraph.ids import uuid7
from signalgraph.schema import source, workspace

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope


@dataclass(frozen=True)
class Workspace:
    """One tenant."""

    workspace_id: uuid.UUID
    name: str
    description: str | None
    created_at: datetime
    sources: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the workspace as a plain dict."""
        return asdict(self)


def validate_name(kind: str, name: str) -> str:
    """Return `name` stripped, or raise if it is empty or too long."""
    cleaned = name.strip()
    if not cleaned:
        raise UsageError(f"{kind} name must not be empty")
    if len(cleaned) > 200:
        raise UsageError(f"{kind} name is {len(cleaned)} characters long; the limit is 200")
    if any(unicodedata.category(char) == "Cc" for char in cleaned):
        raise UsageError(f"{kind} name must not contain control characters")
    return cleaned


class Workspaces:
    """Create, list and look up workspaces."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def create(
        self, name: str, *, description: str | None = None, connection: Connection | None = None
    ) -> Workspace:
        """Create a workspace; fail if the name is taken."""
        name = validate_name("workspace", name)
        with transaction(self._scope.engine, connection) as conn:
            self._scope.require_schema(conn)
            row = conn.execute(
                insert(workspace)
                .values(workspace_id=uuid7(), name=name, description=description)
                .on_conflict_do_nothing(index_elements=["name"])
                .returning(workspace)
            ).one_or_none()
        if row is None:
            raise AlreadyExists(f"workspace {name!r} already exists")
        return Workspace(row.workspace_id, row.name, row.description, row.created_at)

    def list(self, *, connection: Connection | None = None) -> list[Workspace]:
        """Return every live workspace with its number of sources."""
        counts = (
            sa.select(sa.func.count())
            .where(source.c.workspace_id == workspace.c.workspace_id)
            .scalar_subquery()
        )
        query = (
            sa.select(workspace, counts.label("sources"))
            .where(workspace.c.archived_at.is_(None))
            .order_by(workspace.c.name)
        )
        with transaction(self._scope.engine, connection) as conn:
            self._scope.require_schema(conn)
            rows = conn.execute(query).all()
        return [
            Workspace(r.workspace_id, r.name, r.description, r.created_at, r.sources) for r in rows
        ]

    def get(self, name: str, *, connection: Connection | None = None) -> Workspace:
        """Return the workspace called `name`, or raise NotFound."""
        with transaction(self._scope.engine, connection) as conn:
            self._scope.require_schema(conn)
            row = conn.execute(sa.select(workspace).where(workspace.c.name == name)).one_or_none()
        if row is None:
            raise NotFound(
                f"workspace {name!r} does not exist",
                hint="list them with `signalgraph workspace list`, "
                "create one with `signalgraph workspace create NAME`",
            )
        return Workspace(row.workspace_id, row.name, row.description, row.created_at)
