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
from decimal import Context, Decimal, InvalidOperation
from typing import Any

MAX_DIGITS = 1000
RANGE = f"at most {MAX_DIGITS} digits before and {MAX_DIGITS} after the decimal point"
SUFFIXES = {"k": 10**3, "m": 10**6, "mm": 10**6, "b": 10**9, "bn": 10**9, "t": 10**12}
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]{0,2})\s*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Exact arithmetic for every number in range (the default context keeps 28 digits, so
# 10**30 could not even be rounded to an integer there).
_EXACT = Context(prec=2 * MAX_DIGITS + 10, Emax=4 * MAX_DIGITS, Emin=-4 * MAX_DIGITS)


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


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= 40 else text[:40] + "…")


def parse_number(text: str, *, suffixes: bool = True) -> Decimal:
    """Return the number in text ("12.5", "10M", "3bn") exactly, or raise ValueProblem."""
    found = _NUMBER.match(text.replace("_", "").replace(",", "")) if text else None
    if found is None or (found.group(2) and not suffixes):
        try:
            finite = Decimal(text.strip()).is_finite()
        except (InvalidOperation, AttributeError):
            finite = True
        raise ValueProblem(f"{_shown(text)} is not {'a number' if finite else 'a finite number'}")
    digits, suffix = found.groups()
    factor = SUFFIXES.get(suffix.lower()) if suffix else 1
    if factor is None:
        raise ValueProblem(f"{_shown(text)}: unknown suffix {suffix!r} (use k, M, B or T)")
    number = _bounded(Decimal(digits), text)
    return _bounded(_EXACT.multiply(number, Decimal(factor)), text)


def _bounded(number: Decimal, shown: Any) -> Decimal:
    """Return the number if it is finite and in range (zero without sign or exponent)."""
    if not number.is_finite():
        raise ValueProblem(f"{_shown(shown)} is not a finite number")
    if not number:
        return Decimal(0)
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if number.adjusted() >= MAX_DIGITS or exponent < -MAX_DIGITS:
        raise ValueProblem(f"{_shown(shown)} is out of range ({RANGE})")
    return number


def to_number(value: Any) -> Decimal:
    """Return a JSON number or numeric string as an exact Decimal, or raise ValueProblem."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueProblem(f"expected a number, got {_type(value)}")
    if isinstance(value, str):
        return parse_number(value, suffixes=False)
    if isinstance(value, int):
        if value.bit_length() > MAX_DIGITS * 4:  # before printing thousands of digits
            raise ValueProblem(f"a number of {value.bit_length():,} bits is out of range ({RANGE})")
        return _bounded(Decimal(value), value)
    if not math.isfinite(value):
        raise ValueProblem(f"{value} is not a finite number")
    return _bounded(Decimal(repr(value)), value)


def _number(value: Any) -> Decimal | None:
    """Return a value's number for comparisons, when it is one (json values)."""
    try:
        return to_number(value)
    except ValueProblem:
        return None


def parse_time(value: Any) -> datetime:
    """Return an aware UTC time from ISO 8601 text, a date, or epoch (s or ms)."""
    from signalgraph.load.fields import Rejection, parse_published_at

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
        extra = set(value) - {"amount", "currency"}
        if extra:
            raise ValueProblem(f"unexpected keys {sorted(extra)}; expected amount and currency")
        if value.get("amount") is None:
            raise ValueProblem("expected {amount: number, currency: 'USD'}")
        amount, currency = value["amount"], value.get("currency", unit)
    elif isinstance(value, int | float | str) and not isinstance(value, bool):
        amount, currency = value, unit
    else:
        raise ValueProblem(
            f"expected {{amount: number, currency: 'USD'}} or a number, got {_type(value)}"
        )
    number = to_number(amount)
    if not isinstance(currency, str) or not _CURRENCY.match(currency.strip().upper()):
        raise ValueProblem(
            "needs a currency: give {amount, currency} or a unit such as USD (3 letters)"
        )
    return number, currency.strip().upper()


# The JSON form of a number is made in SQL from its exact copy (`value_num`), so the two
# never disagree: through a float, 1e400 would become infinity and -1e-400 zero. `d` is
# the row holding value_type, value, value_num and currency. Written out in the fact
# INSERT (facts/writer.py) and the re-typing UPDATE (facts/retype.py); a unit test
# checks that both hold this text.
STORED_VALUE_SQL = """
CASE WHEN d.value_type IN ('number', 'integer') THEN to_jsonb(d.value_num)
     WHEN d.value_type = 'money'
     THEN jsonb_build_object('amount', d.value_num, 'currency', d.currency)
     ELSE d.value END
"""


def typed_value(prop_type: str | None, value: Any, unit: str | None) -> TypedValue:
    """Return the value typed for its property (None: an unknown property, kept as a string).

    Numbers (number, integer, money) carry no JSON form here: it is made from `num` when
    stored (STORED_VALUE_SQL).
    """
    if value is None:
        raise ValueProblem("is missing")
    if prop_type is None:
        # Unknown properties are accepted as strings; numbers stay comparable.
        text = value if isinstance(value, str) else _json_text(value)
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        num = to_number(value) if numeric else None
        return TypedValue("string", value, num=num, text=text)
    if prop_type in ("number", "integer"):
        number = to_number(value)
        if prop_type == "integer":
            if number != number.to_integral_value(context=_EXACT):
                raise ValueProblem(f"{_shown(value)} is not an integer")
            return TypedValue("integer", None, num=number.quantize(Decimal(1), context=_EXACT))
        return TypedValue("number", None, num=number)
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
        return TypedValue("money", None, num=amount, currency=currency)
    if prop_type == "json":
        return TypedValue("json", value, num=_number(value), text=_json_text(value))
    raise ValueProblem(f"unknown property type {prop_type!r}")


def typed_columns(typed: TypedValue, unit: str | None) -> dict[str, Any]:
    """Return a typed value as the fact columns it is stored in (JSON-ready)."""
    return {
        "value_type": typed.value_type,
        "value": typed.value,
        "value_num": None if typed.num is None else format(typed.num, "f"),
        "value_text": typed.text,
        "value_date": typed.day.isoformat() if typed.day else None,
        "currency": typed.currency,
        "unit": None if typed.value_type == "money" else unit,
    }


def problem_reason(prop: str, prop_type: str | None, problem: ValueProblem) -> str:
    """Return a reject reason: the property, the type it expects, and what is wrong."""
    if prop_type is None:
        return (
            f"property {prop!r} is not defined: {problem}; give it a type with "
            f"`signalgraph facts define {prop} --type …`"
        )
    return f"property {prop!r} expects {prop_type}: {problem}"


def _type(value: Any) -> str:
    from signalgraph.load.fields import type_name

    return type_name(value)


def _json_text(value: Any) -> str:
    from signalgraph.load.fields import canonical_json

    if isinstance(value, str):
        return value
    return canonical_json(value).decode("utf-8", "surrogatepass")
