"""Domain errors: each names what was wrong and what to do about it."""

from __future__ import annotations


class SignalgraphError(Exception):
    """Base class for every error signalgraph reports to its users."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}; {self.hint}"
        return self.message


class UsageError(SignalgraphError):
    """The caller asked for something malformed (bad option, unknown table)."""

    exit_code = 2


class ConfigError(SignalgraphError):
    """The configuration (file, environment or flags) is invalid."""

    exit_code = 2


class ConnectionFailed(SignalgraphError):
    """The database could not be reached or refused the connection."""


class SchemaError(SignalgraphError):
    """The database schema is missing, behind or ahead of this code."""


class NotFound(SignalgraphError):
    """A named object (workspace, source, run) does not exist."""


class AlreadyExists(SignalgraphError):
    """An object with the same key already exists."""


class ReadOnlyViolation(SignalgraphError):
    """A statement tried to write inside a read-only transaction."""


class EmbeddedServerError(SignalgraphError):
    """The embedded PostgreSQL server could not be started, stopped or found."""


class InputError(SignalgraphError):
    """An input file or stream cannot be read at all (missing, empty, unknown format)."""
