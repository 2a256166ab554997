"""Checks of option values at the CLI's edge: a bad value is a usage error naming its option.

Numbers bound to a column are checked against the column's range (signalgraph.bounds)
before any statement runs, so PostgreSQL never answers "integer out of range".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from signalgraph.bounds import out_of_range
from signalgraph.errors import UsageError

OptionCheck = Callable[[typer.CallbackParam, Any], Any]


def option_name(param: typer.CallbackParam) -> str:
    """Return how the user wrote the parameter: its long flag, or an argument's metavar."""
    flags = [flag for flag in param.opts if flag.startswith("--")]
    if flags:
        return max(flags, key=len)
    return (param.name or "value").upper()


def within(bounds: tuple[float, float]) -> OptionCheck:
    """Return an option callback refusing a number (or any of a list) outside `bounds`."""

    def check(param: typer.CallbackParam, value: Any) -> Any:
        for number in value if isinstance(value, list | tuple) else [value]:
            problem = None if number is None else out_of_range(number, bounds)
            if problem is not None:
                message, _, hint = problem.partition("; ")
                raise UsageError(f"{option_name(param)}: {message}", hint=hint)
        return value

    return check


def fact_conditions(param: typer.CallbackParam, value: Any) -> Any:
    """Refuse a fact condition ("revenue > 10M") that does not parse, naming the option."""
    from signalgraph.facts.reads import parse_condition

    for expression in value if isinstance(value, list | tuple) else [value]:
        if expression is None:
            continue
        try:
            parse_condition(expression)
        except UsageError as exc:
            raise UsageError(f"{option_name(param)}: {exc.message}", hint=exc.hint) from None
    return value
