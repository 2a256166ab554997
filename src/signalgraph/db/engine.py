"""Engines (sync and async) over psycopg 3, configured from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

from signalgraph.config import Settings
from signalgraph.db.errors import install_error_translation
from signalgraph.errors import ConfigError
from signalgraph.schema import SCHEMA

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

_ACCEPTED_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}


def parse_url(url: str) -> URL:
    """Return a SQLAlchemy URL for psycopg 3 from any PostgreSQL URL form users write."""
    try:
        parsed = make_url(url)
        _ = parsed.port  # a bad port raises here, not at connect time
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(
            f"database URL {url!r} is not a URL",
            hint="expected postgresql://user:password@host:port/database",
        ) from exc
    if parsed.drivername not in _ACCEPTED_SCHEMES:
        raise ConfigError(
            f"database URL scheme {parsed.drivername!r} is not PostgreSQL",
            hint="expected postgresql://user:password@host:port/database",
        )
    return parsed.set(drivername="postgresql+psycopg")


def libpq_url(url: URL) -> str:
    """Return a plain postgresql:// string (for psql and psycopg) from a SQLAlchemy URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def session_options(settings: Settings, url: URL) -> str:
    """Return the libpq `options` string that every signalgraph connection starts with."""
    parts = [
        f"-c search_path={SCHEMA},public",
        "-c timezone=UTC",
        # Who is acting, for the audit trail (a transaction may override it).
        f"-c signalgraph.actor={_option_value(settings.effective_actor)}",
    ]
    if settings.statement_timeout_ms:
        parts.append(f"-c statement_timeout={settings.statement_timeout_ms}")
    given = url.query.get("options")
    if isinstance(given, str) and given:
        parts.insert(0, given)
    return " ".join(parts)


def _option_value(value: str) -> str:
    """Escape a value for libpq's `options` (backslashes and spaces)."""
    return value.replace("\\", "\\\\").replace(" ", "\\ ")


def _connect_args(settings: Settings, url: URL) -> dict[str, Any]:
    return {
        "connect_timeout": settings.connect_timeout,
        "application_name": settings.application_name,
        "options": session_options(settings, url),
    }


def create_engine(url: str, settings: Settings) -> Engine:
    """Create the synchronous engine with the configured pool."""
    parsed = parse_url(url)
    engine = sa.create_engine(
        parsed.difference_update_query(["options"]),
        connect_args=_connect_args(settings, parsed),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_recycle=settings.pool_recycle,
        pool_pre_ping=settings.pool_pre_ping,
        pool_timeout=settings.pool_timeout,
    )
    install_error_translation(engine, parsed)
    return engine


def create_async_engine(url: str, settings: Settings) -> AsyncEngine:
    """Create the asynchronous engine (psycopg 3 async) with the configured pool."""
    from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

    parsed = parse_url(url)
    engine = _create_async_engine(
        parsed.difference_update_query(["options"]),
        connect_args=_connect_args(settings, parsed),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_recycle=settings.pool_recycle,
        pool_pre_ping=settings.pool_pre_ping,
        pool_timeout=settings.pool_timeout,
    )
    install_error_translation(engine.sync_engine, parsed)
    return engine


def dedicated_connection(url: str, settings: Settings) -> Any:
    """Open a psycopg connection configured like the engine's, outside its pool.

    Long-running work (an ingest's writer and reader) holds these for its whole run, so
    it never starves, or is starved by, the pool that short operations share.
    """
    import psycopg

    from signalgraph.db.errors import translate_connect_error

    parsed = parse_url(url)
    try:
        return psycopg.connect(
            libpq_url(parsed.difference_update_query(["options"])),
            **_connect_args(settings, parsed),
        )
    except psycopg.OperationalError as exc:
        translated = translate_connect_error(exc, parsed)
        if translated is not None:
            raise translated from exc
        raise


@contextmanager
def transaction(
    engine: Engine, connection: Connection | None = None, *, actor: str | None = None
) -> Iterator[Connection]:
    """Yield `connection` inside the caller's transaction, or a new one committed on success.

    With `actor`, the audit trail records that actor for this transaction's changes.
    """
    if connection is not None:
        if actor:
            act_as(connection, actor)
        yield connection
        return
    with engine.begin() as conn:
        if actor:
            act_as(conn, actor)
        yield conn


def act_as(connection: Connection, actor: str) -> None:
    """Record `actor` as who acts for the rest of this transaction (audit trail)."""
    connection.execute(
        sa.text("SELECT set_config('signalgraph.actor', :actor, true)"), {"actor": actor}
    )


def act_for_run(connection: Any, run_id: Any, actor: str | None = None) -> None:
    """Mark a dedicated psycopg connection's changes as a run's (and an actor's) from now on."""
    connection.execute(
        "SELECT set_config('signalgraph.run_id', %s, false), "
        "set_config('signalgraph.actor', coalesce(%s, current_setting('signalgraph.actor', true)), "
        "false)",
        (str(run_id), actor),
    )
