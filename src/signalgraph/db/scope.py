"""The scope every operation runs in: one database, its settings, one workspace.

A concept (sources, signals, entities, facts…) is built on a `Scope` and asks it for
connections and the workspace id; it never reaches other concepts through a hub.
Concepts call each other as plain functions taking `(connection, workspace_id, …)`.
`signalgraph.SignalGraph` is only a facade that builds concepts on one scope.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from signalgraph.config import Settings
from signalgraph.errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.ext.asyncio import AsyncEngine


class _Database:
    """What scopes on the same database share: its URL, engines and what was checked."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url: str | None = None
        self.engine: Engine | None = None
        self.async_engine: AsyncEngine | None = None
        self.schema_checked = False
        # Work done once per process and database (partitions made, months ensured…).
        self.done: dict[str, Any] = {}


class Scope:
    """One database (engine, settings) bound to one workspace."""

    def __init__(
        self,
        settings: Settings,
        *,
        workspace: str | None = None,
        _database: _Database | None = None,
    ) -> None:
        self.settings = settings
        self.workspace_name = workspace or settings.workspace
        self._database = _database or _Database(settings)
        self._workspace_id: uuid.UUID | None = None

    # -- the database ----------------------------------------------------------------

    @property
    def url(self) -> str:
        """Return the database URL, starting the embedded server when none is configured."""
        database = self._database
        if database.url is None:
            if self.settings.database_url is not None:
                database.url = self.settings.database_url
            else:
                from signalgraph.embedded import EmbeddedServer

                database.url = EmbeddedServer(self.settings.home).ensure()
        return database.url

    @property
    def engine(self) -> Engine:
        """Return the synchronous engine (created on first use)."""
        if self._database.engine is None:
            from signalgraph.db import engine as engines

            self._database.engine = engines.create_engine(self.url, self.settings)
        return self._database.engine

    @property
    def async_engine(self) -> AsyncEngine:
        """Return the asynchronous engine (created on first use)."""
        if self._database.async_engine is None:
            from signalgraph.db import engine as engines

            self._database.async_engine = engines.create_async_engine(self.url, self.settings)
        return self._database.async_engine

    @property
    def done(self) -> dict[str, Any]:
        """Return what was done once for this database in this process (a shared memo)."""
        return self._database.done

    @contextmanager
    def transaction(
        self, connection: Connection | None = None, *, actor: str | None = None
    ) -> Iterator[Connection]:
        """Yield a connection in a transaction (the caller's, or a new committed one).

        With `actor`, changes made in it are audited as that actor's.
        """
        from signalgraph.db import engine as engines

        with engines.transaction(self.engine, connection, actor=actor) as conn:
            yield conn

    def require_schema(self, connection: Connection) -> None:
        """Fail with a clear message unless the schema matches this code (checked once)."""
        if not self._database.schema_checked:
            from signalgraph.db.migrate import require_head

            require_head(connection)
            self._database.schema_checked = True

    # -- the workspace ---------------------------------------------------------------

    def workspace_id_in(self, connection: Connection) -> uuid.UUID:
        """Return the id of the bound workspace, or raise NotFound."""
        if self._workspace_id is None:
            import sqlalchemy as sa

            from signalgraph.schema import workspace

            self.require_schema(connection)
            found = connection.execute(
                sa.select(workspace.c.workspace_id).where(
                    workspace.c.name == self.workspace_name, workspace.c.archived_at.is_(None)
                )
            ).scalar_one_or_none()
            if found is None:
                raise NotFound(
                    f"workspace {self.workspace_name!r} does not exist",
                    hint="create it with `signalgraph workspace create "
                    f"{self.workspace_name}` or pick another with --workspace",
                )
            self._workspace_id = found
        return self._workspace_id

    @property
    def workspace_id(self) -> uuid.UUID:
        """Return the id of the bound workspace."""
        with self.engine.connect() as connection:
            return self.workspace_id_in(connection)

    @property
    def workspace_flag(self) -> str:
        """Return the CLI flag naming this workspace, for hints (empty for the default one)."""
        return "" if self.workspace_name == "default" else f" -w {self.workspace_name}"

    def with_workspace(self, name: str) -> Scope:
        """Return a scope on the same database (engines shared) bound to another workspace."""
        return Scope(self.settings, workspace=name, _database=self._database)

    def close(self) -> None:
        """Release pooled connections (of every scope on this database)."""
        database = self._database
        if database.engine is not None:
            database.engine.dispose()
            database.engine = None
        if database.async_engine is not None:
            # Closing pooled async connections needs a loop; dropping the pool is enough.
            database.async_engine.sync_engine.dispose(close=False)
            database.async_engine = None

    def __repr__(self) -> str:
        where = "embedded" if self.settings.uses_embedded else "url"
        return f"<Scope workspace={self.workspace_name!r} database={where}>"
