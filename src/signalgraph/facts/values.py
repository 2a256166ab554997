"""Statement values: typed by the property registry, stored so SQL compares them.

Every value keeps its JSON form (`value`) and a typed copy: `value_num` (numeric, for
number, integer, money and boolean-free arithmetic), `value_text`, `value_date`, plus
`currency` for money. Numbers in conditions may carry a suffix: 10k, 2.5M, 3B, 1T.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_DIGITS = 1000
SUFFIXES = {"k": 10**3, "m": 10**6, "mm": 10**6, "b": 10**9, "bn": 10**9, "t": 10**12}
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]{0,2})\s*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class ValueProblem(ValueError):
    """A value that does not fit its property's type."""


@dataclass(slots=True)
class TypedValue:
    """A value as stored: its JSON form and typed copies."""

    value_type: str
    value: Any
    num: Decimal | None = None
    text: str | None = None
    day: date | None = None
    currency: str | None = None


def parse_number(text: str, *, suffixes: bool = True) -> Decimal:
    """Return the number in text ("12.5", "10M", "3bn"), or raise ValueProblem."""
    found = _NUMBER.match(text.replace("_", "").replace(",", "")) if text else None
    if found is None:
        raise ValueProblem(f"{text!r} is not a number")
    digits, suffix = found.groups()
    if suffix and not suffixes:
        raise ValueProblem(f"{text!r} is not a number")
    factor = SUFFIXES.get(suffix.lower()) if suffix else 1
    if factor is None:
        raise ValueProblem(f"{text!r}: unknown suffix {suffix!r} (use k, M, B or T)")
    number = Decimal(digits) * factor
    return _bounded(number, text)


def _bounded(number: Decimal, shown: Any) -> Decimal:
    if not number.is_finite():
        raise ValueProblem(f"{shown!r} is not a finite number")
    if number != 0 and abs(number.adjusted()) > MAX_DIGITS:
        raise ValueProblem(f"{str(shown)[:40]!r}… has more than {MAX_DIGITS} digits")
    return number


def _number(value: Any) -> Decimal | None:
    """Return a JSON number (or numeric string) as Decimal; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if value.bit_length() > MAX_DIGITS * 4:
            raise ValueProblem(f"the number has more than {MAX_DIGITS} digits")
        return _bounded(Decimal(value), value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueProblem(f"{value} is not a finite number")
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return parse_number(value, suffixes=False)
        except (ValueProblem, InvalidOperation):
            return None
    return None


def parse_time(value: Any) -> datetime:
    """Return an aware UTC time from ISO 8601 text, a date, or epoch (s or ms)."""
    from signalgraph.ingest.records import Rejection, parse_published_at

    if value is None:
        raise ValueProblem("is missing")
    try:
        return parse_published_at(value, datetime.now(UTC))
    except Rejection as exc:
        raise ValueProblem(exc.reason.replace("published_at", "time")) from exc


def _date(value: Any) -> date:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueProblem(f"{value!r} is not a date") from exc
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueProblem("expected an ISO 8601 date")
    return parse_time(value).date()


def _money(value: Any, unit: str | None) -> tuple[Decimal, str]:
    if isinstance(value, dict):
        amount, currency = value.get("amount"), value.get("currency", unit)
        extra = set(value) - {"amount", "currency"}
        if extra:
            raise ValueProblem(f"unexpected keys {sorted(extra)}; expected amount and currency")
    else:
        amount, currency = value, unit
    number = _number(amount)
    if number is None:
        raise ValueProblem("expected {amount: number, currency: 'USD'}")
    if not isinstance(currency, str) or not _CURRENCY.match(currency.strip().upper()):
        raise ValueProblem(
            "needs a currency: give {amount, currency} or a unit such as USD (3 letters)"
        )
    return number, currency.strip().upper()


def typed_value(prop_type: str | None, value: Any, unit: str | None) -> TypedValue:
    """Return the value typed for its property (None: an unknown property, kept as a string)."""
    if value is None:
        raise ValueProblem("is missing")
    if prop_type is None:
        # Unknown properties are accepted as strings; numbers stay comparable.
        text = value if isinstance(value, str) else _json_text(value)
        num = _number(value) if not isinstance(value, str) else None
        return TypedValue("string", value, num=num, text=text)
    if prop_type in ("number", "integer"):
        number = _number(value)
        if number is None:
            raise ValueProblem(f"expected {'an integer' if prop_type == 'integer' else 'a number'}")
        if prop_type == "integer":
            if number != number.to_integral_value():
                raise ValueProblem("expected an integer")
            number = number.quantize(Decimal(1))
            return TypedValue("integer", int(number), num=number)
        stored: Any = value if isinstance(value, int | float) else float(number)
        if isinstance(value, str) and number == number.to_integral_value() and abs(number) < 2**63:
            stored = int(number)
        return TypedValue("number", stored, num=number)
    if prop_type == "string":
        if isinstance(value, dict | list | bool):
            raise ValueProblem("expected a string")
        text = value if isinstance(value, str) else _json_text(value)
        return TypedValue("string", text, text=text)
    if prop_type == "boolean":
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            value = value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise ValueProblem("expected true or false")
        return TypedValue("boolean", value, text="true" if value else "false")
    if prop_type == "date":
        day = _date(value)
        return TypedValue("date", day.isoformat(), day=day, text=day.isoformat())
    if prop_type == "money":
        amount, currency = _money(value, unit)
        shown: Any = int(amount) if amount == amount.to_integral_value() else float(amount)
        return TypedValue(
            "money", {"amount": shown, "currency": currency}, num=amount, currency=currency
        )
    if prop_type == "json":
        return TypedValue("json", value, num=_number(value), text=_json_text(value))
    raise ValueProblem(f"unknown property type {prop_type!r}")


def _json_text(value: Any) -> str:
    from signalgraph.ingest.records import canonical_json

    if isinstance(value, str):
        return value
    return canonical_json(value).decode("utf-8", "surrogatepass")
