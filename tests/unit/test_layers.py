"""The import structure of docs/architecture.md, checked on the source.

Every import of the library's own modules counts: at module level, inside functions
(imported late to keep start-up fast) and under TYPE_CHECKING. No module may take part in
an import circle, and a module imports only from its own layer or lower ones, except the
few imports named in EXCEPTIONS (each says why; docs/architecture.md lists them too).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import signalgraph

PACKAGE = Path(signalgraph.__file__).parent

# Lowest first. A module belongs to the layer of the longest prefix that names it.
LAYERS: list[tuple[str, list[str]]] = [
    ("foundations", [
        "signalgraph._version", "signalgraph.errors", "signalgraph.ids", "signalgraph.bounds",
        "signalgraph.blank", "signalgraph.config", "signalgraph.pages", "signalgraph.lookup",
        "signalgraph.fingerprint", "signalgraph.fingerprint_batch", "signalgraph.export",
        "signalgraph.embedded", "signalgraph.links.vocabulary",
    ]),
    ("schema", ["signalgraph.schema"]),
    ("db", ["signalgraph.db"]),
    ("core", ["signalgraph.workspaces", "signalgraph.sources", "signalgraph.runs"]),
    ("load", ["signalgraph.load"]),
    ("concepts", [
        "signalgraph.signals", "signalgraph.partitions", "signalgraph.rejects",
        "signalgraph.links", "signalgraph.resolve", "signalgraph.facts", "signalgraph.curate",
        "signalgraph.audit", "signalgraph.flags", "signalgraph.review", "signalgraph.entities",
        "signalgraph.query", "signalgraph.data",
    ]),
    ("facade", ["signalgraph", "signalgraph.client", "signalgraph.demo"]),
    ("cli", ["signalgraph.cli", "signalgraph.__main__"]),
]  # fmt: skip

# Imports from a lower layer to a higher one, each with its reason.
EXCEPTIONS = {
    # `db check --deep` counts drift of derived tables; each check is written beside the
    # triggers or code that keep the table (facts/derived.py, resolve/review_queue.py).
    ("signalgraph.db.admin", "signalgraph.facts.derived"),
    ("signalgraph.db.admin", "signalgraph.resolve.review_queue"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _known(name: str) -> str | None:
    while name not in MODULES:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                yield child if child in MODULES else node.module


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        for target in _imports(path):
            known = _known(target) if target.startswith("signalgraph") else None
            if known is not None and known != name:
                graph[name].add(known)
    return graph


def _layer(name: str) -> int:
    best = (-1, -1)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best[1]:
                best = (index, len(prefix))
    assert best[0] >= 0, f"{name} is in no layer: add it to LAYERS and docs/architecture.md"
    return best[0]


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(set(graph) | {t for targets in graph.values() for t in targets}):
        if node not in index:
            visit(node)
    return found


def test_no_module_is_part_of_an_import_circle() -> None:
    assert _circles(_graph()) == []


def test_every_module_belongs_to_a_layer() -> None:
    for name in MODULES:
        _layer(name)


def test_imports_go_down_the_layers_except_the_named_few() -> None:
    upward = {
        (source, target)
        for source, targets in _graph().items()
        for target in targets
        if _layer(target) > _layer(source)
    }
    assert upward == EXCEPTIONS


def test_the_checks_see_a_circle_and_an_upward_import() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _layer("signalgraph.db.engine") < _layer("signalgraph.cli.app")
    assert _layer("signalgraph.links.vocabulary") < _layer("signalgraph.links.api")
