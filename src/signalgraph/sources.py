"""Sources: where signals come from, with their kind, configuration and trust rank."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from signalgraph.bounds import INT32, check_int
from signalgraph.errors import AlreadyExists, NotFound, UsageError
from signalgraph.ids import uuid7
from signalgraph.schema import run, source
from signalgraph.workspaces import validate_name

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope


@dataclass(frozen=True)
class Source:
    """One origin of signals within a workspace."""

    id: uuid.UUID
    name: str
    kind: str
    trust_rank: int
    description: str | None
    config: dict[str, Any]
    created_at: datetime
    runs: int = 0
    archived_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the source as a plain dict."""
        return asdict(self)


def _from_row(row: Any, runs: int = 0) -> Source:
    return Source(
        id=row.id,
        name=row.name,
        kind=row.kind,
        trust_rank=row.trust_rank,
        description=row.description,
        config=row.config,
        created_at=row.created_at,
        runs=runs,
        archived_at=row.archived_at,
    )


def _with_run_count() -> sa.Select[Any]:
    runs = (
        sa.select(sa.func.count())
        .where(run.c.workspace_id == source.c.workspace_id, run.c.source_id == source.c.id)
        .scalar_subquery()
    )
    return sa.select(source, runs.label("runs"))


class Sources:
    """Add, list and look up the sources of the client's workspace."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(
        self,
        name: str,
        *,
        kind: str = "generic",
        config: dict[str, Any] | None = None,
        trust_rank: int = 0,
        description: str | None = None,
        connection: Connection | None = None,
    ) -> Source:
        """Add a source to the workspace; fail if one with that name exists."""
        name = validate_name("source", name)
        kind = validate_name("source kind", kind)
        if config is not None and not isinstance(config, dict):
            raise UsageError("source config must be a JSON object")
        trust_rank = check_int("trust rank", trust_rank, INT32)
        with self._scope.transaction(connection) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            row = conn.execute(
                insert(source)
                .values(
                    workspace_id=workspace_id,
                    id=uuid7(),
                    name=name,
                    kind=kind,
                    config=config or {},
                    trust_rank=trust_rank,
                    description=description,
                )
                .on_conflict_do_nothing(index_elements=["workspace_id", "name"])
                .returning(source)
            ).one_or_none()
        if row is None:
            raise AlreadyExists(
                f"source {name!r} already exists in workspace {self._scope.workspace_name!r}"
            )
        return _from_row(row)

    def ensure(
        self, name: str, *, kind: str = "generic", connection: Connection | None = None
    ) -> Source:
        """Return the source called `name`, adding it first if it does not exist."""
        try:
            return self.get(name, connection=connection)
        except NotFound:
            try:
                return self.add(name, kind=kind, connection=connection)
            except AlreadyExists:  # added by someone else in between
                return self.get(name, connection=connection)

    def list(self, *, connection: Connection | None = None) -> list[Source]:
        """Return the live sources of the workspace, by name."""
        with self._scope.transaction(connection) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            rows = conn.execute(
                _with_run_count()
                .where(source.c.workspace_id == workspace_id, source.c.archived_at.is_(None))
                .order_by(source.c.name)
            ).all()
        return [_from_row(r, r.runs) for r in rows]

    def archive(self, name: str, *, actor: str | None = None) -> dict[str, Any]:
        """Archive a source: hidden from `source list`, its signals kept, ingest refused."""
        with self._scope.transaction(actor=actor) as conn:
            return archive_source(conn, self._scope.workspace_id_in(conn), name)

    def restore(self, name: str, *, actor: str | None = None) -> dict[str, Any]:
        """Restore an archived source."""
        with self._scope.transaction(actor=actor) as conn:
            return archive_source(conn, self._scope.workspace_id_in(conn), name, restore=True)

    def get(self, name: str, *, connection: Connection | None = None) -> Source:
        """Return the source called `name`, or raise NotFound."""
        with self._scope.transaction(connection) as conn:
            return find_source(
                conn, self._scope.workspace_id_in(conn), name,
                workspace_name=self._scope.workspace_name,
            )  # fmt: skip


def find_source(
    connection: Connection, workspace_id: uuid.UUID, name: str, *, workspace_name: str = "default"
) -> Source:
    """Return the source called `name` (archived ones too), or raise NotFound."""
    row = connection.execute(
        _with_run_count().where(source.c.workspace_id == workspace_id, source.c.name == name)
    ).one_or_none()
    if row is None:
        flag = "" if workspace_name == "default" else f" -w {workspace_name}"
        raise NotFound(
            f"source {name!r} does not exist in workspace {workspace_name!r}",
            hint=f"list them with `signalgraph source list{flag}`, "
            f"add one with `signalgraph source add NAME{flag}`",
        )
    return _from_row(row, row.runs)


def ensure_source(
    connection: Connection, workspace_id: uuid.UUID, name: str, *, kind: str = "generic"
) -> Source:
    """Return the source called `name`, adding it (with `kind`) if it does not exist."""
    name = validate_name("source", name)
    connection.execute(
        insert(source)
        .values(workspace_id=workspace_id, id=uuid7(), name=name, kind=kind, config={})
        .on_conflict_do_nothing(index_elements=["workspace_id", "name"])
    )
    return find_source(connection, workspace_id, name)


def archive_source(
    connection: Connection, workspace_id: uuid.UUID, name: str, *, restore: bool = False
) -> dict[str, Any]:
    """Archive (or restore) a source by name: its signals stay, new ingest is refused."""
    if "\x00" in name:
        raise UsageError("a source name cannot contain a NUL byte")
    current = connection.execute(
        sa.select(source.c.id, source.c.archived_at)
        .where(source.c.workspace_id == workspace_id, source.c.name == name)
        .with_for_update()
    ).one_or_none()
    if current is None:
        raise NotFound(f"source {name[:200]!r} does not exist")
    if restore and current.archived_at is None:
        raise UsageError(f"source {name!r} is not archived")
    if not restore and current.archived_at is not None:
        raise UsageError(f"source {name!r} is already archived", hint="restore it first")
    row = connection.execute(
        source.update()
        .where(source.c.workspace_id == workspace_id, source.c.id == current.id)
        .values(archived_at=None if restore else sa.func.now(), updated_at=sa.func.now())
        .returning(source.c.id, source.c.name, source.c.archived_at)
    ).one()
    return dict(row._mapping)
