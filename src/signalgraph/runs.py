"""Runs: units of work with status, counters, progress and a heartbeat."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph import lookup
from signalgraph.db.driver import execute
from signalgraph.errors import UsageError
from signalgraph.ids import uuid7
from signalgraph.schema import RUN_STATUSES, run, source

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope

# Adds each delta counter to the stored one (keys absent on either side count as 0).
# Driver parameter style, so it runs on SQLAlchemy and on raw psycopg connections.
RECORD_SQL = """
UPDATE run
SET counters = (
        SELECT coalesce(jsonb_object_agg(key,
                   coalesce((run.counters ->> key)::bigint, 0)
                   + coalesce((%(delta)s::jsonb ->> key)::bigint, 0)), '{}'::jsonb)
        FROM jsonb_object_keys(run.counters || %(delta)s::jsonb) AS key),
    progress = coalesce(%(progress)s::jsonb, progress),
    heartbeat_at = now()
WHERE workspace_id = %(workspace_id)s AND id = %(run_id)s
"""


def record_params(
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    counters: dict[str, int] | None,
    progress: dict[str, Any] | None,
) -> dict[str, Any]:
    """Return the parameters of RECORD_SQL for a counters delta and a progress snapshot."""
    from psycopg.types.json import Jsonb

    delta = {key: int(value) for key, value in (counters or {}).items() if value}
    return {
        "workspace_id": workspace_id,
        "run_id": run_id,
        "delta": Jsonb(delta),
        "progress": Jsonb(progress) if progress is not None else None,
    }


FINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled", "abandoned"})


@dataclass(frozen=True)
class Run:
    """One unit of work as stored, with its status as seen now."""

    id: uuid.UUID
    kind: str
    status: str
    source: str | None
    params: dict[str, Any]
    counters: dict[str, Any]
    progress: dict[str, Any]
    error: str | None
    actor: str | None
    host: str | None
    pid: int | None
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None

    @property
    def duration_s(self) -> float | None:
        """Return seconds from start to finish (or to the last heartbeat)."""
        end = self.finished_at or self.heartbeat_at
        if self.started_at is None or end is None:
            return None
        return (end - self.started_at).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        """Return the run as a plain dict."""
        return asdict(self) | {"duration_s": self.duration_s}


def _status_expression(stale_after: int) -> sa.ColumnElement[str]:
    """Return SQL for the status a reader should see: stale running runs are abandoned."""
    stale = sa.func.coalesce(run.c.heartbeat_at, run.c.started_at, run.c.created_at) < (
        sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, stale_after)
    )
    return sa.case((sa.and_(run.c.status == "running", stale), "abandoned"), else_=run.c.status)


def _seen_status(row: Any) -> str:
    """Return the status a reader should see; a running run whose process is gone is abandoned."""
    status: str = row.seen_status
    if status == "running" and row.pid and row.host == socket.gethostname():
        import psutil

        if not psutil.pid_exists(row.pid):
            return "abandoned"
    return status


def _select(stale_after: int) -> sa.Select[Any]:
    status = _status_expression(stale_after).label("seen_status")
    return sa.select(run, status, source.c.name.label("source_name")).select_from(
        run.outerjoin(
            source,
            sa.and_(source.c.workspace_id == run.c.workspace_id, source.c.id == run.c.source_id),
        )
    )


def _from_row(row: Any) -> Run:
    return Run(
        id=row.id,
        kind=row.kind,
        status=_seen_status(row),
        source=row.source_name,
        params=row.params,
        counters=row.counters,
        progress=row.progress,
        error=row.error,
        actor=row.actor,
        host=row.host,
        pid=row.pid,
        created_at=row.created_at,
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        finished_at=row.finished_at,
    )


def find_run(
    connection: Connection,
    workspace_id: uuid.UUID,
    value: str | uuid.UUID,
    *,
    stale_after: int,
    workspace_flag: str = "",
) -> Run:
    """Return one run by id, prefix or short id, or raise NotFound."""
    query = _select(stale_after).where(run.c.workspace_id == workspace_id)
    found = lookup.find(
        connection, query, run.c.id, value, noun="run",
        hint=f"list runs with `signalgraph runs list{workspace_flag}`",
    )  # fmt: skip
    return _from_row(found)


class Runs:
    """Start, update, list and show the runs of the scope's workspace."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def list(
        self,
        *,
        kind: str | None = None,
        status: str | None = None,
        limit: int = 50,
        connection: Connection | None = None,
    ) -> list[Run]:
        """Return the newest runs first, optionally filtered by kind and status."""
        if status is not None and status not in RUN_STATUSES:
            raise UsageError(
                f"unknown run status {status!r}", hint=f"expected one of {', '.join(RUN_STATUSES)}"
            )
        with self._scope.transaction(connection) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            query = _select(self._scope.settings.run_stale_after).where(
                run.c.workspace_id == workspace_id
            )
            if kind is not None:
                query = query.where(run.c.kind == kind)
            rows = conn.execute(
                query.order_by(run.c.created_at.desc(), run.c.id.desc()).limit(max(limit, 1) * 2)
            ).all()
        runs = [_from_row(r) for r in rows]
        if status is not None:
            runs = [r for r in runs if r.status == status]
        return runs[: max(limit, 1)]

    def get(self, run_id: str | uuid.UUID, *, connection: Connection | None = None) -> Run:
        """Return one run by id, prefix or short id, or raise NotFound."""
        with self._scope.transaction(connection) as conn:
            return find_run(
                conn, self._scope.workspace_id_in(conn), run_id,
                stale_after=self._scope.settings.run_stale_after,
                workspace_flag=self._scope.workspace_flag,
            )  # fmt: skip

    # -- lifecycle (used by the commands that do work) --------------------------------

    def start(
        self,
        kind: str,
        *,
        source_id: uuid.UUID | None = None,
        params: dict[str, Any] | None = None,
        actor: str | None = None,
        connection: Connection | None = None,
    ) -> uuid.UUID:
        """Record a new running run and return its id."""
        with self._scope.transaction(connection) as conn:
            return start_run(
                conn, self._scope.workspace_id_in(conn), kind,
                source_id=source_id, params=params, actor=actor,
            )  # fmt: skip

    def record(
        self,
        run_id: uuid.UUID,
        connection: Connection,
        *,
        counters: dict[str, int] | None = None,
        progress: dict[str, Any] | None = None,
    ) -> None:
        """Add `counters` to the run's counters, set its progress and beat its heart.

        Called inside the transaction that wrote the work being counted, so the run's
        figures always match what was committed.
        """
        record_run(
            connection, self._scope.workspace_id_in(connection), run_id,
            counters=counters, progress=progress,
        )  # fmt: skip

    def finish(
        self,
        run_id: uuid.UUID,
        status: str,
        *,
        error: str | None = None,
        connection: Connection | None = None,
    ) -> None:
        """Mark the run finished with a final status."""
        with self._scope.transaction(connection) as conn:
            finish_run(conn, self._scope.workspace_id_in(conn), run_id, status, error=error)


# The lifecycle of every run, whichever connection records it (see signalgraph.db.driver).
START_SQL = """
INSERT INTO run (workspace_id, id, kind, status, source_id, params, actor, host, pid,
                 started_at, heartbeat_at)
VALUES (%(workspace_id)s, %(run_id)s, %(kind)s, 'running', %(source_id)s, %(params)s,
        %(actor)s, %(host)s, %(pid)s, now(), now())
"""

FINISH_SQL = """
UPDATE run SET status = %(status)s, error = %(error)s, finished_at = now(),
    heartbeat_at = now(), params = params || %(params)s
WHERE workspace_id = %(workspace_id)s AND id = %(run_id)s
"""

AnyConnection = Connection | psycopg.Connection[Any]


def start_run(
    connection: AnyConnection,
    workspace_id: uuid.UUID,
    kind: str,
    *,
    source_id: uuid.UUID | None = None,
    params: dict[str, Any] | None = None,
    actor: str | None = None,
) -> uuid.UUID:
    """Record a new running run (this host and process) and return its id."""
    from psycopg.types.json import Jsonb

    run_id = uuid7()
    execute(
        connection,
        START_SQL,
        {
            "workspace_id": workspace_id,
            "run_id": run_id,
            "kind": kind,
            "source_id": source_id,
            "params": Jsonb(params or {}),
            "actor": actor,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        },
    )
    return run_id


def record_run(
    connection: AnyConnection,
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    counters: dict[str, int] | None = None,
    progress: dict[str, Any] | None = None,
) -> None:
    """Add `counters` to the run's counters, set its progress and beat its heart."""
    execute(connection, RECORD_SQL, record_params(workspace_id, run_id, counters, progress))


def finish_run(
    connection: AnyConnection,
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    status: str,
    *,
    error: str | None = None,
    params: dict[str, Any] | None = None,
) -> None:
    """Mark a run finished with a final status (and its error, and params learnt on the way)."""
    from psycopg.types.json import Jsonb

    if status not in FINAL_STATUSES:
        raise UsageError(f"{status!r} is not a final run status")
    if error is not None:  # text decoded from bad input may hold unencodable characters
        error = error.encode("utf-8", "backslashreplace").decode("utf-8")
    execute(
        connection,
        FINISH_SQL,
        {
            "workspace_id": workspace_id,
            "run_id": run_id,
            "status": status,
            "error": error,
            "params": Jsonb(params or {}),
        },
    )
