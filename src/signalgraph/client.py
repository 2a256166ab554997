"""The object signalgraph is used through: settings, engines, workspace and operations."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from signalgraph.config import Settings, load_settings
from signalgraph.db.scope import Scope

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    from signalgraph.audit import Audit
    from signalgraph.curate.annotations import Annotations
    from signalgraph.curate.lists import Lists
    from signalgraph.entities import Entities
    from signalgraph.facts import Facts, Relations
    from signalgraph.flags import Flags
    from signalgraph.links.api import Links
    from signalgraph.load.options import IngestProgress, IngestResult
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

    def __init__(
        self, settings: Settings, *, workspace: str | None = None, scope: Scope | None = None
    ) -> None:
        self.scope = scope or Scope(settings, workspace=workspace)
        self.workspace_name = self.scope.workspace_name

    @property
    def settings(self) -> Settings:
        """Return the settings every operation of this handle uses."""
        return self.scope.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self.scope.settings = settings

    # Each concept is imported when first used: a command that touches one concept (or the
    # CLI's start-up) does not pay for importing all of them.

    @cached_property
    def workspaces(self) -> Workspaces:
        """Return the workspaces operations of this handle."""
        from signalgraph.workspaces import Workspaces

        return Workspaces(self.scope)

    @cached_property
    def sources(self) -> Sources:
        """Return the sources operations of this handle."""
        from signalgraph.sources import Sources

        return Sources(self.scope)

    @cached_property
    def runs(self) -> Runs:
        """Return the runs operations of this handle."""
        from signalgraph.runs import Runs

        return Runs(self.scope)

    @cached_property
    def signals(self) -> Signals:
        """Return the signals operations of this handle."""
        from signalgraph.signals import Signals

        return Signals(self.scope)

    @cached_property
    def rejects(self) -> Rejects:
        """Return the rejects operations of this handle."""
        from signalgraph.rejects import Rejects

        return Rejects(self.scope)

    @cached_property
    def partitions(self) -> Partitions:
        """Return the partitions operations of this handle."""
        from signalgraph.partitions import Partitions

        return Partitions(self.scope)

    @cached_property
    def entities(self) -> Entities:
        """Return the entities operations of this handle."""
        from signalgraph.entities import Entities

        return Entities(self.scope)

    @cached_property
    def review(self) -> Review:
        """Return the review operations of this handle."""
        from signalgraph.review import Review

        return Review(self.scope)

    @cached_property
    def flags(self) -> Flags:
        """Return the flags operations of this handle."""
        from signalgraph.flags import Flags

        return Flags(self.scope)

    @cached_property
    def audit(self) -> Audit:
        """Return the audit operations of this handle."""
        from signalgraph.audit import Audit

        return Audit(self.scope)

    @cached_property
    def lists(self) -> Lists:
        """Return the lists operations of this handle."""
        from signalgraph.curate.lists import Lists

        return Lists(self.scope)

    @cached_property
    def annotations(self) -> Annotations:
        """Return the annotations operations of this handle."""
        from signalgraph.curate.annotations import Annotations

        return Annotations(self.scope)

    @cached_property
    def facts(self) -> Facts:
        """Return the facts operations of this handle."""
        from signalgraph.facts import Facts

        return Facts(self.scope)

    @cached_property
    def relations(self) -> Relations:
        """Return the relations operations of this handle."""
        from signalgraph.facts import Relations

        return Relations(self.scope)

    @cached_property
    def links(self) -> Links:
        """Return the links operations of this handle."""
        from signalgraph.links.api import Links

        return Links(self.scope)

    def ingest(
        self,
        inputs: Any,
        *,
        source: str,
        fmt: str = "auto",
        batch_size: int | None = None,
        max_rejects: int | None = None,
        dry_run: bool = False,
        create_source: bool = False,
        nul_policy: str | None = None,
        progress: Callable[[IngestProgress], None] | None = None,
        actor: str | None = None,
        workers: int | None = None,
    ) -> IngestResult:
        """Ingest signals from files (paths, "-" for stdin) or an iterable of dicts.

        `fmt` (auto, ndjson, csv, parquet), `batch_size` (records per transaction),
        `max_rejects` (stop the run past this many), `dry_run` (store nothing),
        `create_source`, `nul_policy` (reject or strip), `progress` (called with an
        IngestProgress after each batch), `actor` (for the audit trail), `workers`
        (connections writing batches at once; default: the `ingest_workers` setting, else
        the cores available up to `ingest_workers_max`).
        """
        from signalgraph.load.options import IngestOptions
        from signalgraph.signals.loader import ingest_signals

        options = IngestOptions(
            fmt=fmt, batch_size=batch_size, max_rejects=max_rejects, dry_run=dry_run,
            create_source=create_source, nul_policy=nul_policy, actor=actor, workers=workers,
        )  # fmt: skip
        return ingest_signals(self.scope, inputs, source=source, options=options, progress=progress)

    def resolve(
        self,
        *,
        source: str | None = None,
        entity_type: str | None = None,
        retrain: bool = False,
        batch_size: int = 5000,
        actor: str | None = None,
        progress: Callable[[dict[str, int]], None] | None = None,
    ) -> ResolveResult:
        """Resolve unresolved entity records and mentions into entities (incrementally).

        `source` and `entity_type` narrow what is resolved; `retrain` learns the model
        again; `progress` is called with the counters as the run goes.
        """
        return self.entities.resolve(
            source=source, entity_type=entity_type, retrain=retrain, batch_size=batch_size,
            actor=actor, progress=progress,
        )  # fmt: skip

    # -- the scope, for callers of the library ------------------------------------------

    @property
    def url(self) -> str:
        """Return the database URL, starting the embedded server when none is configured."""
        return self.scope.url

    @property
    def engine(self) -> Engine:
        """Return the synchronous engine (created on first use)."""
        return self.scope.engine

    @property
    def async_engine(self) -> AsyncEngine:
        """Return the asynchronous engine (created on first use)."""
        return self.scope.async_engine

    @contextmanager
    def transaction(
        self, connection: Connection | None = None, *, actor: str | None = None
    ) -> Iterator[Connection]:
        """Yield a connection in a transaction (the caller's, or a new committed one).

        With `actor`, changes made in it are audited as that actor's.
        """
        with self.scope.transaction(connection, actor=actor) as conn:
            yield conn

    @property
    def workspace_id(self) -> uuid.UUID:
        """Return the id of the bound workspace."""
        return self.scope.workspace_id

    def workspace_id_in(self, connection: Connection) -> uuid.UUID:
        """Return the id of the bound workspace, read on the caller's connection."""
        return self.scope.workspace_id_in(connection)

    def use_workspace(self, name: str) -> SignalGraph:
        """Return a handle on the same database bound to another workspace."""
        return SignalGraph(self.settings, scope=self.scope.with_workspace(name))

    def close(self) -> None:
        """Release pooled connections."""
        self.scope.close()

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
