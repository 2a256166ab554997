"""Identifier schemes: which pin an entity uniquely, and how each value is normalised."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# A shared value of a unique scheme links two records with certainty; two different
# values never auto-link. Schemes ending in "_id" (a vendor's own id) are unique too.
UNIQUE_SCHEMES = frozenset(
    {"lei", "isin", "cusip", "figi", "cik", "duns", "wikidata", "companies_house", "ssn"}
)
PLATFORMS = frozenset(
    {"twitter", "x", "instagram", "tiktok", "youtube", "facebook", "linkedin", "bluesky",
     "mastodon", "telegram", "github", "reddit", "threads"}
)  # fmt: skip
SCHEME_ALIASES = {"website": "domain", "url": "domain", "web": "domain", "mail": "email"}


@dataclass(frozen=True)
class Identifier:
    """One normalised identifier."""

    scheme: str
    value: str

    @property
    def key(self) -> str:
        """Return the record key that indexes it."""
        return f"id:{self.scheme}:{self.value}"


class InvalidIdentifier(ValueError):
    """An identifier value that does not pass its scheme's checks."""


def is_unique(scheme: str) -> bool:
    """Return True for schemes an entity has at most one value of."""
    return scheme in UNIQUE_SCHEMES or scheme.endswith("_id")


def _domain(value: str) -> str:
    text = value.strip().lower()
    if "@" in text and "://" not in text:
        text = text.rsplit("@", 1)[1]
    if "://" not in text:
        text = "http://" + text
    try:
        host = (urlsplit(text).hostname or "").rstrip(".")
    except ValueError as exc:
        raise InvalidIdentifier(f"{value!r} is not a domain or URL") from exc
    if host.startswith("www."):
        host = host[4:]
    if not re.fullmatch(r"[a-z0-9\-]+(\.[a-z0-9\-]+)+", host) or host.replace(".", "").isdigit():
        raise InvalidIdentifier(f"{value!r} is not a domain or URL")
    return host


def _ticker(value: str) -> str:
    text = value.strip().upper().lstrip("$")
    if ":" in text:  # NASDAQ:AAPL
        text = text.split(":", 1)[1]
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9.\-]{0,11}", text):
        raise InvalidIdentifier(f"{value!r} is not a ticker")
    return text


def _email(value: str) -> str:
    text = value.strip().lower()
    if text.startswith("mailto:"):
        text = text[7:]
    if not re.fullmatch(r"[^@\s]+@[a-z0-9\-]+(\.[a-z0-9\-]+)+", text):
        raise InvalidIdentifier(f"{value!r} is not an email address")
    return text


def _lei(value: str) -> str:
    from stdnum import lei

    text = value.strip().upper().replace(" ", "")
    if not lei.is_valid(text):
        raise InvalidIdentifier(f"{value!r} is not a valid LEI (ISO 17442 check digits)")
    return text


def _isin(value: str) -> str:
    from stdnum import isin

    text = value.strip().upper().replace(" ", "")
    if not isin.is_valid(text):
        raise InvalidIdentifier(f"{value!r} is not a valid ISIN (check digit)")
    return text


def _cik(value: str) -> str:
    text = value.strip().upper().removeprefix("CIK")
    if not text.isdigit() or len(text) > 10:
        raise InvalidIdentifier(f"{value!r} is not a CIK")
    return str(int(text))


def _phone(value: str) -> str:
    digits = re.sub(r"[^\d+]", "", value.strip())
    plus = digits.startswith("+")
    digits = digits.replace("+", "")
    if len(digits) < 7 or len(digits) > 15:
        raise InvalidIdentifier(f"{value!r} is not a phone number")
    return ("+" if plus else "") + digits


def _handle(value: str) -> str:
    text = value.strip()
    if "://" in text or text.startswith("www."):
        path = urlsplit(text if "://" in text else "https://" + text).path
        parts = [part for part in path.split("/") if part and part not in {"in", "company"}]
        if not parts:
            raise InvalidIdentifier(f"{value!r} has no handle in it")
        text = parts[-1]
    text = text.lstrip("@").lower()
    if not re.fullmatch(r"[\w.\-]{1,100}", text):
        raise InvalidIdentifier(f"{value!r} is not a handle")
    return text


def _plain(value: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise InvalidIdentifier("empty value")
    return text


NORMALIZERS: Mapping[str, Callable[[str], str]] = {
    "domain": _domain,
    "ticker": _ticker,
    "email": _email,
    "lei": _lei,
    "isin": _isin,
    "cik": _cik,
    "phone": _phone,
}


def scheme_name(scheme: str) -> str:
    """Return the canonical name of a scheme (website and url are domains)."""
    name = "_".join(scheme.strip().lower().replace("-", "_").split())
    return SCHEME_ALIASES.get(name, name)


def normalize_identifier(scheme: str, value: Any) -> Identifier:
    """Return the normalised identifier, or raise InvalidIdentifier saying why."""
    name = scheme_name(scheme)
    if not name:
        raise InvalidIdentifier("the scheme is empty")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidIdentifier(f"{value!r} is not a string")
    text = str(value)
    if name in PLATFORMS:
        return Identifier(name, _handle(text))
    normalizer = NORMALIZERS.get(name, _plain)
    return Identifier(name, normalizer(text))


def identifier_key(value: str) -> str:
    """Return the record key of a "scheme:value" identifier, or raise UsageError."""
    from signalgraph.errors import UsageError

    scheme, _, raw = value.partition(":")
    if not raw or not scheme.replace("_", "").isalnum():
        raise UsageError(
            f"identifier {value[:80]!r} is not scheme:value", hint="for example ticker:MRNA"
        )
    try:
        return normalize_identifier(scheme, raw).key
    except InvalidIdentifier as exc:
        raise UsageError(f"identifier {value[:80]!r}: {exc}") from exc


def normalize_identifiers(
    raw: Mapping[str, Any],
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Return ({scheme: [normalised values]}, {scheme: [invalid raw values with reasons]})."""
    valid: dict[str, list[str]] = {}
    invalid: dict[str, list[str]] = {}
    for scheme, given in raw.items():
        values = given if isinstance(given, list) else [given]
        for value in values:
            if value is None or value == "":
                continue
            try:
                identifier = normalize_identifier(scheme, value)
            except InvalidIdentifier as exc:
                invalid.setdefault(scheme_name(scheme) or scheme, []).append(str(exc))
                continue
            bucket = valid.setdefault(identifier.scheme, [])
            if identifier.value not in bucket:
                bucket.append(identifier.value)
    return valid, invalid
