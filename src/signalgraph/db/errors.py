"""Translate driver errors into domain errors, in one place, keyed on what failed."""

from __future__ import annotations

import re
from typing import Any

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

# Messages for unique constraints, keyed on the constraint name the metadata gives them.
UNIQUE_MESSAGES = {
    "uq_workspace_name": "a workspace with this name already exists",
    "uq_source_workspace_id_name": "a source with this name already exists in the workspace",
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
        constraint = diag.constraint_name or ""
        message = UNIQUE_MESSAGES.get(constraint, f"duplicate key violates {constraint}")
        detail = diag.message_detail or ""
        return AlreadyExists(f"{message} ({detail})" if detail else message)
    if sqlstate == "25006":
        return ReadOnlyViolation(
            f"refused: {_first_line(str(orig))}",
            hint="this command runs statements in a read-only transaction",
        )
    return None


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
