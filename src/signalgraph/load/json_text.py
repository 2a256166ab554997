"""JSON text as ingest reads it: nesting depth, integers beyond 64 bits, repeated keys.

One iterative walk over each parsed value decides whether the fast parser's result can
be kept. Nothing here recurses, so a record nested thousands of levels deep is refused
with a reason instead of exhausting the interpreter's stack.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import orjson

# orjson writes at most 254 nested levels and every record is written (canonical JSON,
# batch payloads, --json output) inside a few more; 200 keeps every one of those paths
# on the same serialiser. PostgreSQL's jsonb accepts far deeper values (10,000 levels).
MAX_DEPTH = 200
# orjson turns integers beyond 64 bits into floats (losing digits). A parsed float that
# large sends the text to the standard library parser, which keeps integers exact.
_HUGE = float(2**63)
_ESCAPED_COLON = "\\u003"  # a colon written as \u003a is not counted as one
REPEATED_KEY_REASON = (
    "duplicate key: an object holds this key more than once, and only one of its values "
    "could be stored; remove or rename one"
)


class JsonProblem(ValueError):
    """Why a JSON text or value is refused; `field` names the top-level field, if one."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(slots=True)
class ParsedJson:
    """A parsed JSON value and the first key an object of it holds twice (as a path)."""

    value: Any
    repeated_key: str | None = None


def too_deep_reason() -> str:
    """Return the reject reason for a value nested past MAX_DEPTH."""
    return (
        f"nested more than {MAX_DEPTH} levels deep (objects and arrays); the limit is {MAX_DEPTH}"
    )


@dataclass(slots=True)
class _Shape:
    too_deep: bool = False
    top_field: str | None = None
    huge_float: bool = False
    keys: int = 0
    string_colons: int = 0


# Tuples, not `dict | list`: a union written in a loop is built again on every test.
_CONTAINERS = (dict, list)
_SEQUENCES = (dict, list, tuple)


def _shape(value: Any) -> _Shape:
    """Walk a parsed value once: depth, huge floats, key and string-colon counts."""
    keys = colons = 0
    huge = False
    stack: list[tuple[Any, int, str | None]] = [(value, 1, None)]
    while stack:
        node, depth, top = stack.pop()
        if depth > MAX_DEPTH:
            return _Shape(too_deep=True, top_field=top)
        children: Iterable[tuple[str | None, Any]]
        if isinstance(node, dict):
            keys += len(node)
            for key in node:
                if ":" in key:
                    colons += key.count(":")
            # Below the record, every value belongs to the same top-level field.
            children = node.items() if depth == 1 else zip(repeat(top), node.values())
        elif isinstance(node, list):
            children = zip(repeat(top), node)
        else:
            huge = isinstance(node, float) and abs(node) >= _HUGE
            continue
        for field, item in children:
            if isinstance(item, str):
                if ":" in item:
                    colons += item.count(":")
            elif isinstance(item, float):
                huge = huge or abs(item) >= _HUGE
            elif isinstance(item, _CONTAINERS):
                stack.append((item, depth + 1, field))
    return _Shape(huge_float=huge, keys=keys, string_colons=colons)


def check_depth(value: Any) -> None:
    """Raise JsonProblem when a value (a Python object, a Parquet row) nests too deep."""
    stack: list[tuple[Any, int, str | None]] = [(value, 1, None)]
    while stack:
        node, depth, top = stack.pop()
        if depth > MAX_DEPTH:
            raise JsonProblem(too_deep_reason(), top)
        if isinstance(node, dict):
            for key, item in node.items():
                if isinstance(item, _SEQUENCES):
                    stack.append((item, depth + 1, str(key) if depth == 1 else top))
        else:
            stack.extend((item, depth + 1, top) for item in node if isinstance(item, _SEQUENCES))


def parse_json(text: bytes | str) -> ParsedJson:
    """Parse one JSON text, or raise JsonProblem with a reason fit for a reject."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise JsonProblem(_json_problem(text, exc)) from exc
    shape = _shape(value)
    if shape.too_deep:
        raise JsonProblem(too_deep_reason(), shape.top_field)
    colons = text.count(b":") if isinstance(text, bytes) else text.count(":")
    # Outside strings a colon ends a key: more colons than the parsed keys and string
    # colons account for means an object repeated a key (the parser kept the last).
    repeated = colons - shape.string_colons > shape.keys
    escaped = (b"\\u003" in text) if isinstance(text, bytes) else (_ESCAPED_COLON in text)
    if not (shape.huge_float or repeated or escaped):
        return ParsedJson(value)
    return _exact(text.decode("utf-8") if isinstance(text, bytes) else text)


def parse_cell(text: str) -> ParsedJson:
    """Parse the JSON text of one field (a CSV cell); reasons read after the field's name."""
    try:
        return parse_json(text)
    except JsonProblem as problem:
        reason = problem.reason.replace("invalid JSON: ", "is not valid JSON: ", 1)
        raise JsonProblem(reason) from problem


def _exact(text: str) -> ParsedJson:
    """Parse with the standard library: integers stay exact and repeated keys are seen."""
    repeats: list[tuple[str, dict[str, Any]]] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) < len(pairs) and not repeats:
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    repeats.append((key, obj))
                    break
                seen.add(key)
        return obj

    try:
        value = json.loads(
            text, parse_float=_finite, parse_constant=_no_constants, object_pairs_hook=pairs_hook
        )
    except ValueError as exc:
        raise JsonProblem(f"invalid JSON: {exc}") from exc
    if not repeats:
        return ParsedJson(value)
    key, holder = repeats[0]
    path = next((p for p, node in _paths(value) if node is holder), "")
    return ParsedJson(value, f"{path}.{key}" if path else key)


def _paths(value: Any) -> Iterator[tuple[str, Any]]:
    """Yield (path, object) for every object in a value, the root first."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            yield path, node
            stack.extend(
                (f"{path}.{key}" if path else key, item)
                for key, item in node.items()
                if isinstance(item, _CONTAINERS)
            )
        elif isinstance(node, list):
            stack.extend(
                (f"{path}[{index}]", item)
                for index, item in enumerate(node)
                if isinstance(item, _CONTAINERS)
            )


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json_problem(text: bytes | str, exc: orjson.JSONDecodeError) -> str:
    if isinstance(text, bytes):
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as bad:
            return f"invalid UTF-8 at byte {bad.start + 1}"
    detail = str(exc).split(": line", 1)[0]
    if detail.startswith("depth limit exceeded") or detail.startswith("recursion limit"):
        return too_deep_reason()
    return f"invalid JSON: {detail} (column {exc.colno})"
