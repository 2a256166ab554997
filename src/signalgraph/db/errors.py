"""Translate driver errors into domain errors, in one place, keyed on what failed.

Both stacks come through here: engines through `install_error_translation` (an event
on every SQLAlchemy engine), the dedicated psycopg connections of ingest and
resolution through `translate_driver_errors` around their work.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from signalgraph.errors import (
    AlreadyExists,
    ConfigError,
    ConnectionFailed,
    ReadOnlyViolation,
    SignalgraphError,
    UsageError,
)
from signalgraph.schema.base import SCHEMA

# What a unique violation means to a user, keyed on the constraint or unique index
# name the metadata gives it: (what already exists, how to see it and what to do).
UNIQUE_MESSAGES: dict[str, tuple[str, str]] = {
    "uq_workspace_name": (
        "a workspace with this name already exists",
        "see `signalgraph workspace list`; choose another name, or act in that workspace "
        "with --workspace NAME",
    ),
    "uq_source_workspace_id_name": (
        "a source with this name already exists in the workspace (archived sources keep "
        "their names)",
        "see `signalgraph source list` and `signalgraph source show NAME`; choose another "
        "name, or ingest into that source",
    ),
    "uq_curated_list_live_name": (
        "a list with this name already exists in the workspace",
        "see `signalgraph lists`; choose another name, or delete the old list first with "
        "`signalgraph lists delete NAME`",
    ),
    "uq_list_member_workspace_id_list_id_entity_id": (
        "this entity is already a member of the list",
        "see `signalgraph lists show NAME`; an entity is listed once",
    ),
    "uq_list_member_workspace_id_list_id_signal_id": (
        "this signal is already a member of the list",
        "see `signalgraph lists show NAME`; a signal is listed once",
    ),
    "pk_annotation_field": (
        "an annotation field with this name is already defined in the workspace",
        "see `signalgraph annotations fields`; choose another name",
    ),
    "pk_entity_type": (
        "an entity type with this name already exists in the workspace",
        "see `signalgraph entities types`; choose another name",
    ),
    "pk_fact_property": (
        "a property with this name is already registered in the workspace",
        "see `signalgraph facts properties`; `signalgraph facts define NAME` again changes "
        "its type, unit or description",
    ),
    "uq_signal_key_workspace_id_source_id_external_id": (
        "a signal with this external id is already stored for the source",
        "see `signalgraph signals list --source NAME --all`; another ingest of the same source "
        "stored it at the same moment: run the ingest again (a stored signal is recognised, "
        "then kept or revised)",
    ),
    "uq_entity_record_workspace_id_source_id_external_id": (
        "an entity record with this external id is already stored for the source",
        "see `signalgraph entities clusters --source NAME`; another ingest of the same source "
        "stored it at the same moment: run the ingest again (a stored record is recognised, "
        "then kept or revised)",
    ),
    "uq_fingerprint_original_content": (
        "a signal with the same content is already stored as an original",
        "another ingest stored it at the same moment; run the ingest again: the signal is "
        "then kept as its duplicate (see `signalgraph signals duplicates`)",
    ),
    "uq_fingerprint_original_url": (
        "a signal with the same URL is already stored as an original",
        "another ingest stored it at the same moment; run the ingest again: the signal is "
        "then kept as its duplicate (see `signalgraph signals duplicates`)",
    ),
}

# Unique constraints and indexes no user action can violate, and why. A test checks
# that every unique constraint and index of the schema is in UNIQUE_MESSAGES or here,
# so a new one gets a message or a reason. A violation of one of these is a defect; it
# is still reported as "duplicate key" naming the constraint.
# Tables keyed by a client-made UUIDv7 id (workspace: its workspace_id).
_FRESH_IDS = (
    "annotation_comment", "audit_event", "curated_list", "entity", "entity_record", "fact",
    "flag", "judgement", "list_member", "merge", "reject", "relation",
    "review_item", "run", "signal", "signal_key", "signal_link", "source",
    "workspace",
)  # fmt: skip

UNREACHABLE_UNIQUE: dict[str, str] = {
    # Client-made UUIDv7 ids: a new row never reuses one.
    **{f"pk_{table}": "keyed by a fresh UUIDv7 made for each new row" for table in _FRESH_IDS},
    # Rows that belong to one new signal, written once with it by ingest.
    "pk_fingerprint": "one per signal, written with the signal (fresh id)",
    "pk_mention": "numbered per signal, written with the signal (fresh id)",
    "pk_signal_revision": "numbered under the signal's row lock; a lost race retries the batch",
    # Written only through ON CONFLICT, which turns a second row into an update or nothing.
    "pk_annotation": "one row per entity, written by upserts (ON CONFLICT DO UPDATE)",
    "pk_fact_current": "kept by triggers with ON CONFLICT DO UPDATE (migration 0009)",
    "pk_fact_daily": "kept by triggers with ON CONFLICT DO UPDATE (migration 0009)",
    "pk_resolution_model": "written by the resolver with ON CONFLICT DO UPDATE",
    "pk_signal_moved": "written with ON CONFLICT DO UPDATE (partitions.py)",
    "uq_fact_workspace_id_statement_hash": "ON CONFLICT DO UPDATE moves last_seen instead",
    "uq_relation_workspace_id_statement_hash": "ON CONFLICT DO UPDATE moves last_seen instead",
    "uq_review_item_pending_pair": "queued with ON CONFLICT DO NOTHING",
    "uq_signal_link_key": "links are inserted with ON CONFLICT DO NOTHING",
    "uq_signal_link_reference": "links are inserted with ON CONFLICT DO NOTHING",
    # Written whole for one record: its old keys are deleted first, new ones are a set.
    "pk_record_key": "a record's keys are a set, replaced whole after deleting the old ones",
    # A merge locks both entities and checks both are still canonical before redirecting.
    "pk_entity_redirect": "merges lock both entities and re-check them first",
    # Alembic's own bookkeeping, written by migrations only.
    "alembic_version_pkc": "written by migrations only",
}

_HINT_URL = "check SIGNALGRAPH_DATABASE_URL (or --database-url)"


def describe_target(url: URL) -> str:
    """Return 'host:port/database' (or the socket directory) for messages."""
    host = url.host or url.query.get("host") or "localhost"
    port = f":{url.port}" if url.port else ""
    return f"{host}{port}/{url.database or ''}"


def translate_connect_error(exc: BaseException, url: URL) -> SignalgraphError | None:
    """Return a domain error for a failure to connect, or None if it is something else."""
    text = str(getattr(exc, "orig", exc) or exc)
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    target = describe_target(url)
    user = url.username or "the current user"
    if sqlstate == "3D000" or re.search(r'database "[^"]+" does not exist', text):
        return ConnectionFailed(
            f"database {url.database!r} does not exist on {target}",
            hint=f"create it (createdb {url.database}) or fix the URL",
        )
    if sqlstate in {"28P01", "28000"} or "password authentication failed" in text:
        return ConnectionFailed(
            f"PostgreSQL at {target} rejected the credentials of {user}",
            hint=_HINT_URL,
        )
    if re.search(r'role "[^"]+" does not exist', text):
        return ConnectionFailed(f"PostgreSQL at {target} has no role {user!r}", hint=_HINT_URL)
    if "invalid port number" in text or "invalid integer value" in text:
        return ConfigError(f"the database URL for {target} is invalid: {_first_line(text)}")
    if "timeout expired" in text:
        return ConnectionFailed(f"timed out connecting to PostgreSQL at {target}", hint=_HINT_URL)
    if any(
        marker in text
        for marker in (
            "Connection refused",
            "could not translate host name",
            "No such file or directory",
            "Name or service not known",
            "could not connect",
            "connection failed",
            "server closed the connection",
            "Network is unreachable",
        )
    ):
        reason = _first_line(text)
        return ConnectionFailed(
            f"cannot reach PostgreSQL at {target} ({reason})",
            hint="is the server running? " + _HINT_URL,
        )
    return None


def translate_statement_error(exc: BaseException) -> SignalgraphError | None:
    """Return a domain error for a failed statement we know how to explain, or None."""
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    if sqlstate == "23505" and diag is not None:
        return _unique_violation(diag)
    if sqlstate == "25006":
        return ReadOnlyViolation(
            f"refused: {_first_line(str(orig))}",
            hint="this command runs statements in a read-only transaction",
        )
    return None


def _unique_violation(diag: Any) -> SignalgraphError | None:
    """Return AlreadyExists for a violated signalgraph constraint, None for any other.

    Others are PostgreSQL's own (two sessions creating one partition at once violate
    `pg_type_typname_nsp_index`): callers that expect them catch the driver error.
    """
    if diag.schema_name != SCHEMA:
        return None
    constraint = diag.constraint_name or ""
    detail = diag.message_detail or ""
    known = UNIQUE_MESSAGES.get(constraint)
    message, hint = known if known else (f"duplicate key violates {constraint}", None)
    return AlreadyExists(f"{message} ({detail})" if detail else message, hint=hint)


# Data exceptions a value given by the caller causes: out of range for its column, or a
# date PostgreSQL refuses. Checks at the edge (signalgraph.bounds) catch them first;
# this is the net for any value that slips past.
DATA_MESSAGES = {
    "22003": "a number is too large or too small for the database",
    "22008": "a date or time is out of range",
    "22007": "a date or time is not valid",
    "22009": "a time zone offset is out of range",
}


def translate_data_error(exc: BaseException) -> SignalgraphError | None:
    """Return a usage error for a value PostgreSQL refused as out of range, or None."""
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate not in DATA_MESSAGES:
        return None
    return UsageError(
        f"{DATA_MESSAGES[sqlstate]} ({_first_line(str(orig))})",
        hint="check the numbers and dates given to this command",
    )


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text.strip()


def install_error_translation(engine: Engine, url: URL) -> None:
    """Make `engine` raise domain errors for connection failures and known violations."""

    @sa.event.listens_for(engine, "handle_error")
    def _translate(context: Any) -> BaseException | None:
        exc = context.sqlalchemy_exception or context.original_exception
        if context.connection is None or context.is_disconnect:
            translated = translate_connect_error(exc, url)
            if translated is not None:
                return translated
        return translate_statement_error(exc) or translate_data_error(exc)


@contextmanager
def translate_driver_errors() -> Iterator[None]:
    """Raise domain errors for the psycopg errors of the block, as engines do for theirs.

    Wrap the outermost work on a dedicated psycopg connection (an ingest run, a resolver
    run): the code inside still sees the driver's own errors (a lost race it retries),
    only what escapes is translated. Usable as a decorator too.
    """
    try:
        yield
    except psycopg.Error as exc:
        translated = translate_statement_error(exc) or translate_data_error(exc)
        if translated is None:
            raise
        raise translated from exc
