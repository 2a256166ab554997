"""Reading the audit trail, and keeping its monthly partitions ahead of time.

Events are written by triggers (see signalgraph.db.audit_ddl), never by this module:
every change to an audited table is recorded in the statement that makes it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from signalgraph import lookup
from signalgraph.db.months import ensure_audit_months, ensure_audit_months_once
from signalgraph.errors import NotFound, UsageError
from signalgraph.ids import uuid7_floor
from signalgraph.pages import Page, check_limit, cursor_id, encode_cursor
from signalgraph.schema import AUDIT_ACTIONS, audit_event

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope

CURSOR_KIND = "audit"
MONTHS_AHEAD = 2


@dataclass(frozen=True)
class AuditEvent:
    """One change to one object: who, what, before and after (changed fields only)."""

    id: uuid.UUID
    actor: str
    action: str
    object_type: str
    object_id: uuid.UUID | None
    # The entity (or object) the changed row is about, if it is about one.
    subject_id: uuid.UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    run_id: uuid.UUID | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """Return the event as a plain dict."""
        return asdict(self)

    def summary(self, width: int = 160) -> str:
        """Return what changed on one line: `field: old → new` (values shortened)."""
        return describe_change(self.action, self.before, self.after, width=width)


# Bookkeeping fields that every inserted row has and no reader needs in a summary.
_UNSUMMARISED = frozenset({"id", "created_at", "updated_at", "first_seen", "last_seen"})
_VALUE_CHARS = 40


def describe_change(
    action: str, before: dict[str, Any] | None, after: dict[str, Any] | None, *, width: int = 160
) -> str:
    """Return a change on one line: `field: old → new` for updates, `field=value` otherwise."""
    before, after = before or {}, after or {}
    if action == "update":
        parts = [
            f"{key}: {_shown(before.get(key))} → {_shown(after.get(key))}"
            for key in sorted(before.keys() | after.keys())
        ]
    else:
        values = after if action == "insert" else before
        parts = [f"{key}={_shown(value)}" for key, value in values.items()
                 if key not in _UNSUMMARISED]  # fmt: skip
    text = "; ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


_UUID_TEXT = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-([0-9a-f]{4})([0-9a-f]{8})\b"
)


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = _UUID_TEXT.sub(r"\2", text)  # ids as their short form, as tables print them
    text = " ".join(text.split())
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


def ensure_partitions(connection: Connection, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the audit partitions of this month and the next ones; return those created."""
    return ensure_audit_months(connection, months_ahead)


class Audit:
    """The audit trail of a workspace."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def ensure_partitions(self) -> None:
        """Create this month's and the next months' partitions once per process and month."""
        ensure_audit_months_once(self._scope.engine, self._scope.done)

    def list(
        self,
        *,
        object_id: str | uuid.UUID | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        object_type: str | None = None,
        action: str | None = None,
        run_id: str | uuid.UUID | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[AuditEvent]:
        """Return events newest first, filtered, one page at a time."""
        check_limit(limit)
        if action is not None and action not in AUDIT_ACTIONS:
            raise UsageError(f"unknown action {action!r}", hint="expected insert, update or delete")
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            conditions: list[sa.ColumnElement[bool]] = [audit_event.c.workspace_id == workspace_id]
            if actor is not None:
                conditions.append(audit_event.c.actor == actor)
            if since is not None:
                conditions.append(audit_event.c.id >= uuid7_floor(_aware(since)))
            if until is not None:
                conditions.append(audit_event.c.id < uuid7_floor(_aware(until)))
            if object_type is not None:
                conditions.append(audit_event.c.object_type == object_type)
            if action is not None:
                conditions.append(audit_event.c.action == action)
            if run_id is not None:
                conditions.append(audit_event.c.run_id == _uuid(run_id, "run"))
            after = cursor_id(CURSOR_KIND, cursor)
            if after is not None:
                conditions.append(audit_event.c.id < after)
            if object_id is not None:
                ids = _object_ids(conn, workspace_id, object_id)
                query = newest_about(ids, conditions, limit + 1)
            else:
                query = (
                    sa.select(audit_event)
                    .where(*conditions)
                    .order_by(audit_event.c.id.desc())
                    .limit(limit + 1)
                )
            rows = conn.execute(query).all()
        events = [
            AuditEvent(
                id=row.id,
                actor=row.actor,
                action=row.action,
                object_type=row.object_type,
                object_id=row.object_id,
                subject_id=row.subject_id,
                before=row.before,
                after=row.after,
                run_id=row.run_id,
                created_at=row.created_at,
            )
            for row in rows[:limit]
        ]
        more = len(rows) > limit
        return Page(events, encode_cursor(CURSOR_KIND, [events[-1].id]) if more else None)

    def count(self, *, object_type: str | None = None, run_id: uuid.UUID | None = None) -> int:
        """Return how many events there are (of one object type, of one run)."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            query = sa.select(sa.func.count()).where(audit_event.c.workspace_id == workspace_id)
            if object_type is not None:
                query = query.where(audit_event.c.object_type == object_type)
            if run_id is not None:
                query = query.where(audit_event.c.run_id == run_id)
            return int(conn.execute(query).scalar_one())


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def newest_about(
    object_ids: Iterable[uuid.UUID], conditions: Iterable[sa.ColumnElement[bool]], limit: int
) -> sa.Select[Any]:
    """Return a SELECT of the newest events that changed one of these objects or a row about
    one (its subject), meeting `conditions`, newest first.

    Each id is read by itself through its index ((workspace, object, id) and (workspace,
    subject, id)), newest first and at most `limit`: a condition on all of them at once
    (`IN`, `OR`) lets the planner walk every event of the workspace newest first, filtering,
    which is what it guesses is cheapest and is not for an entity with few events.
    """
    wanted = sorted(set(object_ids))
    where = list(conditions)
    ids = (
        sa.func.unnest(sa.cast(wanted, ARRAY(sa.Uuid)))
        .table_valued("id")
        .render_derived(name="wanted")
    )
    halves = []
    for column in (audit_event.c.object_id, audit_event.c.subject_id):
        newest = (
            sa.select(audit_event)
            .where(*where, column == ids.c.id)
            .order_by(audit_event.c.id.desc())
            .limit(limit)
            .lateral()
        )
        halves.append(sa.select(newest).select_from(ids.join(newest, sa.true())))
    both = sa.union(*halves).subquery()
    return sa.select(both).order_by(both.c.id.desc()).limit(limit)


def _object_ids(
    connection: Any, workspace_id: uuid.UUID, value: str | uuid.UUID
) -> list[uuid.UUID]:
    """Return the ids whose history is asked for: an entity's own and its merged-away ids,
    or the one object a typed id names."""
    from signalgraph.resolve.decisions import canonical_ids, members

    object_id = _object_id(connection, workspace_id, value)
    canonical = canonical_ids(connection, workspace_id, [object_id])[object_id]
    return sorted(members(connection, workspace_id, canonical) | {object_id})


def _object_id(connection: Any, workspace_id: uuid.UUID, value: str | uuid.UUID) -> uuid.UUID:
    """Return a full object id: a UUID as given, else the entity (or other object) it names."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        pass
    from signalgraph.flags import find_object

    try:
        return find_object(connection, workspace_id, value)[1]
    except NotFound:
        pass
    # Objects that cannot be flagged (runs, comments, members…) are found in the trail itself.
    query = (
        sa.select(audit_event.c.object_id)
        .where(audit_event.c.workspace_id == workspace_id)
        .group_by(audit_event.c.object_id)
    )
    found: uuid.UUID = lookup.find(
        connection, query, audit_event.c.object_id, value, noun="object",
        hint="no object with that id was changed in this workspace",
    ).object_id  # fmt: skip
    return found


def _uuid(value: str | uuid.UUID, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value.strip())
    except ValueError as exc:
        raise UsageError(f"{what} id {value!r} is not a UUID") from exc
