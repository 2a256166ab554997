"""The object signalgraph is used through: settings, engines, workspace and operations."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from signalgraph.config import Settings, load_settings
from signalgraph.errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    from signalgraph.audit import Audit
    from signalgraph.curate.annotations import Annotations
    from signalgraph.curate.lists import Lists
    from signalgraph.entities import Entities
    from signalgraph.facts import Facts, Relations
    from signalgraph.flags import Flags
    from signalgraph.ingest import IngestResult
    from signalgraph.links.api import Links
    from signalgraph.partitions import Partitions
    from signalgraph.rejects import Rejects
    from signalgraph.resolve.funnel import ResolveResult
    from signalgraph.review import Review
    from signalgraph.runs import Runs
    from signalgraph.signals import Signals
    from signalgraph.sources import Sources
    from signalgraph.workspaces import Workspaces


class SignalGraph:
    """A handle on one signalgraph database, bound to one workspace."""

    def __init__(self, settings: Settings, *, workspace: str | None = None) -> None:
        self.settings = settings
        self.workspace_name = workspace or settings.workspace
        self._url: str | None = None
        self._engine: Engine | None = None
        self._async_engine: AsyncEngine | None = None
        self._schema_checked = False
        self._workspace_id: uuid.UUID | None = None

    # Each concept is imported when first used: a command that touches one concept (or the
    # CLI's start-up) does not pay for importing all of them.

    @cached_property
    def workspaces(self) -> Workspaces:
        """Return the workspaces operations of this handle."""
        from signalgraph.workspaces import Workspaces

        return Workspaces(self)

    @cached_property
    def sources(self) -> Sources:
        """Return the sources operations of this handle."""
        from signalgraph.sources import Sources

        return Sources(self)

    @cached_property
    def runs(self) -> Runs:
        """Return the runs operations of this handle."""
        from signalgraph.runs import Runs

        return Runs(self)

    @cached_property
    def signals(self) -> Signals:
        """Return the signals operations of this handle."""
        from signalgraph.signals import Signals

        return Signals(self)

    @cached_property
    def rejects(self) -> Rejects:
        """Return the rejects operations of this handle."""
        from signalgraph.rejects import Rejects

        return Rejects(self)

    @cached_property
    def partitions(self) -> Partitions:
        """Return the partitions operations of this handle."""
        from signalgraph.partitions import Partitions

        return Partitions(self)

    @cached_property
    def entities(self) -> Entities:
        """Return the entities operations of this handle."""
        from signalgraph.entities import Entities

        return Entities(self)

    @cached_property
    def review(self) -> Review:
        """Return the review operations of this handle."""
        from signalgraph.review import Review

        return Review(self)

    @cached_property
    def flags(self) -> Flags:
        """Return the flags operations of this handle."""
        from signalgraph.flags import Flags

        return Flags(self)

    @cached_property
    def audit(self) -> Audit:
        """Return the audit operations of this handle."""
        from signalgraph.audit import Audit

        return Audit(self)

    @cached_property
    def lists(self) -> Lists:
        """Return the lists operations of this handle."""
        from signalgraph.curate.lists import Lists

        return Lists(self)

    @cached_property
    def annotations(self) -> Annotations:
        """Return the annotations operations of this handle."""
        from signalgraph.curate.annotations import Annotations

        return Annotations(self)

    @cached_property
    def facts(self) -> Facts:
        """Return the facts operations of this handle."""
        from signalgraph.facts import Facts

        return Facts(self)

    @cached_property
    def relations(self) -> Relations:
        """Return the relations operations of this handle."""
        from signalgraph.facts import Relations

        return Relations(self)

    @cached_property
    def links(self) -> Links:
        """Return the links operations of this handle."""
        from signalgraph.links.api import Links

        return Links(self)

    def ingest(self, inputs: Any, *, source: str, **options: Any) -> IngestResult:
        """Ingest files (paths, "-" for stdin) or an iterable of dicts into a source.

        Options: fmt, batch_size, max_rejects, dry_run, create_source, nul_policy,
        progress (a callable receiving IngestProgress), actor.
        """
        from signalgraph.ingest import ingest

        return ingest(self, inputs, source=source, **options)

    def resolve(self, **options: Any) -> ResolveResult:
        """Resolve unresolved entity records and mentions into entities.

        Options: source, entity_type, retrain, batch_size, actor, progress.
        """
        return self.entities.resolve(**options)

    # -- connection -------------------------------------------------------------

    @property
    def url(self) -> str:
        """Return the database URL, starting the embedded server when none is configured."""
        if self._url is None:
            if self.settings.database_url is not None:
                self._url = self.settings.database_url
            else:
                from signalgraph.embedded import EmbeddedServer

                self._url = EmbeddedServer(self.settings.home).ensure()
        return self._url

    @property
    def engine(self) -> Engine:
        """Return the synchronous engine (created on first use)."""
        if self._engine is None:
            from signalgraph.db import engine as engines

            self._engine = engines.create_engine(self.url, self.settings)
        return self._engine

    @property
    def async_engine(self) -> AsyncEngine:
        """Return the asynchronous engine (created on first use)."""
        if self._async_engine is None:
            from signalgraph.db import engine as engines

            self._async_engine = engines.create_async_engine(self.url, self.settings)
        return self._async_engine

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
        if not self._schema_checked:
            from signalgraph.db.migrate import require_head

            require_head(connection)
            self._schema_checked = True

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
    def scope(self) -> str:
        """Return the CLI flag naming this workspace (empty for the default one)."""
        return "" if self.workspace_name == "default" else f" -w {self.workspace_name}"

    @property
    def workspace_id(self) -> uuid.UUID:
        """Return the id of the bound workspace."""
        with self.engine.connect() as connection:
            return self.workspace_id_in(connection)

    def use_workspace(self, name: str) -> SignalGraph:
        """Return a handle on the same database bound to another workspace."""
        other = SignalGraph(self.settings, workspace=name)
        other._url = self._url
        other._engine = self._engine
        other._async_engine = self._async_engine
        other._schema_checked = self._schema_checked
        other.partitions = self.partitions
        return other

    def close(self) -> None:
        """Release pooled connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._async_engine is not None:
            # Closing pooled async connections needs a loop; dropping the pool is enough.
            self._async_engine.sync_engine.dispose(close=False)
            self._async_engine = None

    def __enter__(self) -> SignalGraph:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "embedded" if self.settings.uses_embedded else "url"
        return f"<SignalGraph workspace={self.workspace_name!r} database={where}>"


def connect(
    url: str | None = None,
    workspace: str | None = None,
    **settings: Any,
) -> SignalGraph:
    """Return a SignalGraph on `url` (default: configuration, then the embedded server)."""
    return SignalGraph(load_settings(database_url=url, **settings), workspace=workspace)
