"""The SQL rules of docs/architecture.md, checked on the source.

SQL is written whole (named statements, or Core), never assembled with f-strings, `+`,
`%` or `.format`; no module outside `db/` unwraps the driver connection. Statements that
repeat a rule written once elsewhere (fact precedence, the stored JSON form of a value)
hold it word for word.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import signalgraph
from signalgraph.facts import derived, reads, retype, writer
from signalgraph.facts.values import STORED_VALUE_SQL

PACKAGE = Path(signalgraph.__file__).parent
# Every package and module of the library except db/'s migrations and DDL builders
# (audit_ddl.py, phrase_index.py: frozen DDL text over constant names) and the CLI.
CHECKED = [
    "links", "facts", "curate", "query", "resolve", "load", "signals", "db/errors.py",
    "db/driver.py",
    "db/months.py", "db/scope.py", "partitions.py", "audit.py", "runs.py", "sources.py",
    "workspaces.py", "flags.py", "review.py", "entities.py", "rejects.py",
    "lookup.py", "export.py", "db/admin.py", "db/migrate.py", "db/engine.py", "client.py",
    "demo.py", "embedded.py",
]  # fmt: skip
_SQL = re.compile(
    r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|WHERE|JOIN|ORDER BY|GROUP BY|RETURNING|"
    r"ON CONFLICT)\b"
)


def _files(*names: str) -> list[Path]:
    found: list[Path] = []
    for name in names:
        path = PACKAGE / name
        found.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return found


def _is_sql(node: ast.AST, constants: dict[str, str]) -> bool:
    """Return whether an expression is (or holds) SQL text: a literal, or a constant's name."""
    for part in ast.walk(node):
        if (
            isinstance(part, ast.Constant)
            and isinstance(part.value, str)
            and _SQL.search(part.value)
        ):
            return True
        if isinstance(part, ast.Name) and _SQL.search(constants.get(part.id, "")):
            return True
    return False


def _assembled(path: Path, root: Path = PACKAGE) -> list[str]:
    """Return the places of a module that build SQL text from pieces (paths from `root`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            literal = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            bad = bool(_SQL.search(literal))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            bad = _is_sql(node.left, constants) or (
                isinstance(node.op, ast.Add) and _is_sql(node.right, constants)
            )
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            bad = _is_sql(node.value, constants)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            # psycopg's sql.SQL(...).format(sql.Identifier(...)) quotes names: allowed.
            composed = (
                isinstance(node.func.value, ast.Call)
                and isinstance(node.func.value.func, ast.Attribute)
                and node.func.value.func.attr == "SQL"
            )
            bad = (
                node.func.attr in {"format", "join"}
                and not composed
                and _is_sql(node.func.value, constants)
            )
        else:
            bad = False
        if bad:
            found.append(f"{path.relative_to(root)}:{getattr(node, 'lineno', '?')}")
    return found


@pytest.mark.parametrize("path", _files(*CHECKED), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_sql_is_written_whole(path: Path) -> None:
    assert _assembled(path) == []


def test_the_check_sees_sql_built_from_pieces(tmp_path: Path) -> None:
    module = tmp_path / "built.py"
    module.write_text(
        '_SELECT = "SELECT id FROM t WHERE ws = %s"\n'
        'a = _SELECT + " AND x = 1"\n'
        'b = f"SELECT {a} FROM t"\n'
        'c = "SELECT {} FROM t".format(a)\n'
        'd = "UPDATE t SET x = %s" % a\n'
        'e = "fine: " + a\n'
        'f = sql.SQL("SELECT {} FROM t").format(sql.Identifier("x"))\n',
        encoding="utf-8",
    )
    lines = sorted(int(place.rsplit(":", 1)[1]) for place in _assembled(module, tmp_path))
    assert lines == [2, 3, 4, 5]


def test_no_module_outside_db_unwraps_the_driver_connection() -> None:
    unwrapping = [
        str(path.relative_to(PACKAGE))
        for path in _files(".")
        if "db" not in path.relative_to(PACKAGE).parts[:1]
        and re.search(r"\.(driver_connection|dbapi_connection)\b", path.read_text(encoding="utf-8"))
    ]
    assert unwrapping == []


def _words(sql: str) -> str:
    return " ".join(sql.replace("(", " ( ").replace(")", " ) ").replace(",", " , ").split())


@pytest.mark.parametrize(
    ("statement", "rule"),
    [
        (reads._CURRENT, reads.PRECEDENCE),
        (reads._CURRENT_THEN, reads.PRECEDENCE_THEN),
        (reads._HISTORY, reads.PRECEDENCE),
        (reads._SERIES, reads.PRECEDENCE),
        (derived.CURRENT_DRIFT, reads.PRECEDENCE),
        (derived.DAILY_DRIFT, reads.PRECEDENCE),
        (writer.INSERT_FACTS, STORED_VALUE_SQL),
        (retype._UPDATE, STORED_VALUE_SQL),
    ],
)
def test_statements_hold_the_rule_they_repeat(statement: str, rule: str) -> None:
    assert _words(rule) in _words(statement)
