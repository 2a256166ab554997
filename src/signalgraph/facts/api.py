"""Facts and relations through the client: `sg.facts` and `sg.relations`."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.facts import reads, registry, retype
from signalgraph.facts.relations import relations_of
from signalgraph.resolve import decisions, entity_refs
from signalgraph.runs import finish_run, record_run, start_run

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope
    from signalgraph.load.loader import Loader
    from signalgraph.load.options import IngestProgress, IngestResult


def _entity(
    conn: Connection, workspace_id: uuid.UUID, value: str | uuid.UUID
) -> tuple[uuid.UUID, set[uuid.UUID]]:
    """Return an entity's canonical id and every id that reads as it."""
    canonical = entity_refs.resolve_entity_id(conn, workspace_id, value)
    return canonical, decisions.members(conn, workspace_id, canonical)


class _Statements:
    """What facts and relations share: ingesting statements through their loader."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def _loader(self) -> Loader:
        raise NotImplementedError

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
        """Ingest statements from files (NDJSON, CSV, Parquet; "-" for stdin) or dicts.

        Options as for `SignalGraph.ingest`. Rejects are kept with the run.
        """
        from signalgraph.load.options import IngestOptions
        from signalgraph.load.run import Ingest

        options = IngestOptions(
            fmt=fmt, batch_size=batch_size, max_rejects=max_rejects, dry_run=dry_run,
            create_source=create_source, nul_policy=nul_policy, actor=actor, workers=workers,
        )  # fmt: skip
        return Ingest(
            self._scope, source=source, options=options, loader=self._loader(), progress=progress
        ).run(inputs)

    def add(
        self,
        statements: Iterable[dict[str, Any]],
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
        """Add statements given as dicts (one ingest run; see `ingest`)."""
        return self.ingest(
            list(statements), source=source,
            fmt=fmt, batch_size=batch_size, max_rejects=max_rejects, dry_run=dry_run,
            create_source=create_source, nul_policy=nul_policy, progress=progress, actor=actor,
            workers=workers,
        )  # fmt: skip


class Facts(_Statements):
    """Fact statements about the workspace's entities, and the property registry.

    `ingest` takes statements {entity, property, value, unit, as_of, source, confidence,
    signal}.
    """

    def _loader(self) -> Loader:
        from signalgraph.facts.loader import FactLoader

        return FactLoader()

    def define(
        self,
        name: str,
        type: str,
        description: str | None = None,
        unit: str | None = None,
        *,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Register a property (number, integer, string, date, money, boolean or json).

        Stored statements not typed as the property says are re-typed in the same
        transaction, as a run (`retyped`: its id and counters, or None when none were);
        those that do not convert keep their typing and are the run's rejects.
        """
        with self._scope.transaction(actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            defined = registry.define(
                conn, workspace_id, name, type, description=description, unit=unit
            )
            prop, kind = defined["name"], defined["type"]
            stale = retype.pending(conn, workspace_id, prop, kind)
            if not stale:
                return defined | {"retyped": None}
            params = {"property": prop, "type": kind, "unit": unit, "statements": stale}
            run_id = start_run(conn, workspace_id, "facts-retype", params=params, actor=actor)
            counters = retype.retype(
                conn, workspace_id, run_id, prop=prop, prop_type=kind, unit=defined["unit"]
            )
            record_run(conn, workspace_id, run_id, counters=counters)
            finish_run(conn, workspace_id, run_id, "succeeded")
        return defined | {"retyped": {"run_id": run_id, **counters}}

    def properties(self, *, unknown: bool = False) -> list[dict[str, Any]]:
        """Return the registered properties (or, with unknown, the unregistered ones in use)."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            if unknown:
                return registry.unknown(conn, workspace_id)
            return registry.properties(conn, workspace_id)

    # -- reading ---------------------------------------------------------------------

    def current(
        self, entity: str | uuid.UUID, *, as_of: datetime | None = None
    ) -> dict[str, dict[str, Any]]:
        """Return {property: winning statement} for an entity (what was known at as_of)."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            _, members = _entity(conn, workspace_id, entity)
            return reads.current(conn, workspace_id, members, as_of)

    def history(self, entity: str | uuid.UUID, property: str) -> list[dict[str, Any]]:
        """Return every statement of a property of an entity, with provenance."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            _, members = _entity(conn, workspace_id, entity)
            return reads.history(conn, workspace_id, members, property.strip().lower())

    def series(
        self,
        property: str,
        *,
        entity: str | uuid.UUID | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        interval: str = "day",
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Return a time series: the last value per canonical entity and interval."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            members = _entity(conn, workspace_id, entity)[1] if entity is not None else None
            return reads.series(
                conn, workspace_id, property.strip().lower(), members=members, start=start,
                end=end, interval=interval, limit=limit,
            )  # fmt: skip

    def percentile(
        self,
        property: str,
        *,
        date: date | None = None,
        entity_type: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Return each entity's value and percentile rank among entities of its type, per day."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            return reads.percentile(
                conn, workspace_id, property.strip().lower(), day=date, entity_type=entity_type,
                limit=limit,
            )  # fmt: skip

    def condition(self, expression: str) -> sa.Select[Any]:
        """Return a SELECT of canonical entity ids whose current value meets `revenue > 10M`."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
        return reads.condition(workspace_id, expression)

    def matching(self, expression: str) -> list[uuid.UUID]:
        """Return the canonical ids of entities whose current value meets the condition."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            found = conn.execute(reads.condition(workspace_id, expression)).scalars().all()
            return sorted(found)


class Relations(_Statements):
    """Relation statements between the workspace's entities.

    `ingest` takes statements {subject, predicate, object, valid_from, valid_to, source,
    confidence, signal, properties}.
    """

    def _loader(self) -> Loader:
        from signalgraph.facts.loader import RelationLoader

        return RelationLoader()

    def list(
        self,
        entity: str | uuid.UUID,
        *,
        predicate: str | None = None,
        as_of: datetime | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Return an entity's relations, both directions, ends canonicalised (at most limit)."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            canonical, members = _entity(conn, workspace_id, entity)
            return relations_of(
                conn, workspace_id, canonical, members, predicate=predicate, at=as_of, limit=limit
            )

    def of(
        self, entity: str | uuid.UUID, *, as_of: datetime | None = None, limit: int | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Return an entity's relations for its dossier (both directions, other end named)."""
        return self.list(entity, as_of=as_of, limit=limit)
