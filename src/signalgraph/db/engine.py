"""Engines (sync and async) over psycopg 3, configured from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from signalgraph.config import Settings, is_secret_parameter, split_url
from signalgraph.db.errors import install_error_translation
from signalgraph.errors import ConfigError
from signalgraph.schema import SCHEMA

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

_ACCEPTED_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}


def parse_url(url: str, *, origin: str | None = None) -> URL:
    """Return a SQLAlchemy URL for psycopg 3 from any PostgreSQL URL form users write.

    `origin` says where the URL was set (as `Settings.origin_of` does), for messages;
    no message quotes the URL itself, since it may hold a password.
    """
    parsed, problem = split_url(url)
    if parsed is None:
        raise ConfigError(
            f"the database URL{_from(origin)} is not a URL: {problem}",
            hint="expected postgresql://user:password@host:port/database "
            "(the URL is not repeated here: it may hold a password)",
        )
    if parsed.drivername not in _ACCEPTED_SCHEMES:
        raise ConfigError(
            f"the database URL{_from(origin)} has the scheme {parsed.drivername!r}, "
            "which is not PostgreSQL",
            hint="expected postgresql://user:password@host:port/database",
        )
    return parsed.set(drivername="postgresql+psycopg")


def _from(origin: str | None) -> str:
    if origin is None or origin == "default":
        return ""
    if origin == "flag":
        return " (given by --database-url or connect(url=...))"
    if origin.startswith("env "):
        return f" (from {origin.removeprefix('env ')})"
    return f" (database_url in {origin.removeprefix('file ')})"


def url_origin(settings: Settings) -> str | None:
    """Return where the configured database URL came from, or None for the embedded server."""
    return None if settings.database_url is None else settings.origin_of("database_url")


def bare_url(url: URL) -> URL:
    """Return the URL without the parameters passed separately: options and secrets.

    Secrets travel as connection arguments, so no URL kept by an engine (and shown by
    its repr) holds them.
    """
    return url.difference_update_query(
        ["options", *(name for name in url.query if is_secret_parameter(name))]
    )


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
    secrets = {name: url.query[name] for name in url.query if is_secret_parameter(name)}
    return {
        # A repeated parameter counts once, the last given (as libpq reads it).
        **{name: v if isinstance(v, str) else v[-1] for name, v in secrets.items()},
        "connect_timeout": settings.connect_timeout,
        "application_name": settings.application_name,
        "options": session_options(settings, url),
    }


def create_engine(url: str, settings: Settings) -> Engine:
    """Create the synchronous engine with the configured pool."""
    parsed = parse_url(url, origin=url_origin(settings))
    engine = sa.create_engine(
        bare_url(parsed),
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

    parsed = parse_url(url, origin=url_origin(settings))
    engine = _create_async_engine(
        bare_url(parsed),
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

    parsed = parse_url(url, origin=url_origin(settings))
    try:
        return psycopg.connect(
            libpq_url(bare_url(parsed)),
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
