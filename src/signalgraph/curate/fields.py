"""Annotation values: checks for analyst text and the typed custom fields a workspace defines."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any

from signalgraph.bounds import INT64, check_int
from signalgraph.errors import UsageError

BUILTIN_FIELDS = ("rank", "stage", "hidden", "tags", "comments")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def clean_text(what: str, value: Any, *, limit: int, multiline: bool = False) -> str:
    """Return analyst text stripped, or raise naming what is wrong with it."""
    if not isinstance(value, str):
        raise UsageError(f"{what} must be text, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise UsageError(f"{what} must not be empty")
    if "\x00" in text:
        raise UsageError(f"{what} contains a NUL byte, which cannot be stored")
    if len(text) > limit:
        raise UsageError(f"{what} is {len(text)} characters long; the limit is {limit}")
    allowed = {"\n", "\t", "\r"} if multiline else set()
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in text):
        raise UsageError(f"{what} must not contain control characters")
    return text


def check_field_name(name: str) -> str:
    """Return a custom field name, or raise unless it is a lowercase identifier."""
    if not isinstance(name, str) or not FIELD_NAME.match(name):
        raise UsageError(
            f"field name {str(name)[:60]!r} is not valid",
            hint="use lowercase letters, digits and _, starting with a letter (max 63)",
        )
    if name in BUILTIN_FIELDS:
        raise UsageError(f"{name!r} is a built-in annotation; use --{name} instead of a field")
    return name


def coerce(  # noqa: PLR0912 (one branch per field type reads best)
    name: str, field_type: str, allowed: list[str] | None, value: Any
) -> Any:
    """Return a custom field value as stored in JSON, or raise naming field and type."""
    expected = f"field {name!r} expects {_describe(field_type, allowed)}"
    if value is None:
        raise UsageError(f"{expected}, got nothing", hint="clear a field with --clear NAME")
    if field_type == "string":
        return clean_text(f"field {name!r}", value, limit=10_000, multiline=True)
    if field_type == "integer":
        try:
            return check_int(f"field {name!r}", value, INT64)
        except UsageError as exc:
            raise UsageError(f"{expected}: {exc.message}", hint=exc.hint) from exc
    if field_type == "number":
        number: float
        if isinstance(value, bool):
            raise UsageError(f"{expected}, got a boolean")
        if isinstance(value, int):
            if abs(value) > 2**53:
                raise UsageError(f"{expected}: {str(value)[:30]} is too large to keep exactly")
            return value
        if isinstance(value, float):
            number = value
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise UsageError(f"{expected}, got {value[:40]!r}") from None
        else:
            raise UsageError(f"{expected}, got {type(value).__name__}")
        if not math.isfinite(number):
            raise UsageError(f"{expected}, got {value!r} (not a finite number)")
        return int(number) if number.is_integer() and abs(number) <= 2**53 else number
    if field_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise UsageError(f"{expected}, got {str(value)[:40]!r}")
    if field_type == "date":
        if isinstance(value, dt.datetime):
            raise UsageError(f"{expected}, got a date and time")
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                pass
        raise UsageError(f"{expected}, got {str(value)[:40]!r}")
    if field_type == "enum":
        if isinstance(value, str) and value.strip() in (allowed or []):
            return value.strip()
        raise UsageError(f"{expected}, got {str(value)[:40]!r}")
    raise UsageError(f"field {name!r} has an unknown type {field_type!r}")


def _describe(field_type: str, allowed: list[str] | None) -> str:
    if field_type == "enum":
        return "one of " + ", ".join(allowed or [])
    article = "an" if field_type == "integer" else "a"
    if field_type == "date":
        return "a date (YYYY-MM-DD)"
    return f"{article} {field_type}"
