"""Plan shapes: a batch statement reads a growing table only through an index keyed by the batch.

`capture_plans` watches every statement the library sends through psycopg (its own
connections and SQLAlchemy's alike) and, before running it, runs it once more under
`EXPLAIN (ANALYZE, FORMAT JSON)` inside a savepoint that is rolled back: the plan with
the rows each node really read, on the server the test runs on (the embedded
PostgreSQL has no auto_explain, so this is done here rather than in the server).

`rows_read` adds up, per growing table, the rows the plan's scans of it touched
(returned or filtered away, times loops). `assert_batch_plans` fails on every statement
that read more of a growing table than a batch of B records can need through an index
(`bound(B)`), or that ran a function over its input once per row of an outer side
big enough to make the work grow faster than the batch: the shapes that made ingest
quadratic on tables without statistics (issue 21).

What this cannot see: statements run inside triggers and functions (EXPLAIN shows a
trigger's time and calls, not its plans), and statements sent through the async driver.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

# What EXPLAIN can run: data statements. COPY, DDL, SET, transaction control and
# EXPLAIN itself are left alone.
_EXPLAINABLE = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "MERGE", "VALUES", "TABLE"}
_LEADING = re.compile(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/|\()*", re.DOTALL)
# Session-level effects that rolling back the savepoint would not undo.
_SESSION_EFFECTS = re.compile(r"pg_(?:try_)?advisory_(?:un)?lock(?:_shared)?\s*\(", re.IGNORECASE)
_ROOTS = """
SELECT n, coalesce((SELECT r.relname::text FROM pg_class r
                    WHERE r.oid = pg_partition_root(to_regclass(quote_ident(n)))), n)
FROM unnest(%s::text[]) AS n
"""


def bound(batch_size: int, per_record: int = 10) -> int:
    """Return the most rows of one growing table a statement may read for a batch.

    An index probe per key reads a key's few rows (a signal's mentions, an entity's
    records): `per_record` rows per record of the batch, and a little more for the
    lookups a batch makes once. A scan reads the table, which a test's fill makes far
    bigger than this.
    """
    return per_record * batch_size + 100


@dataclass(frozen=True)
class CapturedPlan:
    """One statement as the library sent it, and how the server ran it."""

    statement: str
    plan: dict[str, Any]  # the top node of EXPLAIN's JSON
    roots: Mapping[str, str]  # relation name (a partition's too) -> its table
    repeats: int = 1  # parameter sets of an executemany (the first one is explained)

    @property
    def first_line(self) -> str:
        """Return the statement's first non-blank line."""
        return next((line.strip() for line in self.statement.splitlines() if line.strip()), "")


@dataclass
class PlanCapture:
    """What `capture_plans` saw: the plans, and the statements EXPLAIN could not run."""

    growing: tuple[str, ...]
    plans: list[CapturedPlan] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # statement, error
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, plan: CapturedPlan) -> None:
        """Keep one plan (statements may come from several threads)."""
        with self._lock:
            self.plans.append(plan)

    def fail(self, statement: str, error: str) -> None:
        """Keep a statement that EXPLAIN refused."""
        with self._lock:
            self.failures.append((statement, error))

    def reading(self, table: str) -> list[CapturedPlan]:
        """Return the plans that read `table` at all."""
        return [p for p in self.plans if rows_read(p.plan, [table], p.roots).get(table)]


def explainable(statement: str) -> bool:
    """Tell whether a statement is one EXPLAIN runs safely (a data statement)."""
    body = _LEADING.sub("", statement, count=1)
    word = body.split(None, 1)[0].upper() if body.strip() else ""
    return word in _EXPLAINABLE and not _SESSION_EFFECTS.search(statement)


def _text(query: Any, connection: psycopg.Connection[Any]) -> str:
    if isinstance(query, sql.Composable):
        return query.as_string(connection)
    if isinstance(query, bytes | bytearray | memoryview):
        return bytes(query).decode("utf-8", "replace")
    return str(query)


def _explain_query(query: Any) -> Any:
    if isinstance(query, sql.Composable):
        return sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + query
    if isinstance(query, bytes | bytearray | memoryview):
        return b"EXPLAIN (ANALYZE, FORMAT JSON) " + bytes(query)
    return "EXPLAIN (ANALYZE, FORMAT JSON) " + str(query)


def _relations(plan: Mapping[str, Any]) -> set[str]:
    return {str(n["Relation Name"]) for n in nodes(plan) if "Relation Name" in n}


@contextmanager
def capture_plans(growing: Sequence[str]) -> Iterator[PlanCapture]:
    """Explain (analysed, then rolled back) every data statement sent through psycopg.

    `growing` names the tables (partitioned ones by their parent) whose reads are
    measured. The statement itself then runs as it would have.
    """
    capture = PlanCapture(tuple(growing))
    roots: dict[str, str] = {}
    original_execute = psycopg.Cursor.execute
    original_executemany = psycopg.Cursor.executemany
    original_server_execute = psycopg.ServerCursor.execute

    def run(cursor: psycopg.Cursor[Any], query: Any, params: Any = None) -> list[Any]:
        # The original method: a statement of ours is not captured in turn.
        original_execute(cursor, query, params, prepare=False)
        return cursor.fetchall() if cursor.description is not None else []

    def explain(cursor: psycopg.Cursor[Any], query: Any, params: Any, repeats: int = 1) -> None:
        connection = cursor.connection
        statement = _text(query, connection)
        if not explainable(statement):
            return
        status = connection.info.transaction_status
        if status == TransactionStatus.IDLE and connection.autocommit:
            begin, end = "BEGIN", ["ROLLBACK"]
        elif status in {TransactionStatus.IDLE, TransactionStatus.INTRANS}:
            # Idle outside autocommit: psycopg opens the transaction the statement
            # would have opened anyway.
            begin = "SAVEPOINT sg_plan"
            end = ["ROLLBACK TO SAVEPOINT sg_plan", "RELEASE SAVEPOINT sg_plan"]
        else:
            return  # a failed transaction (or one in COPY): the statement will fail too
        kind = (
            psycopg.ClientCursor
            if isinstance(cursor, psycopg.ClientCursor)
            else psycopg.RawCursor
            if isinstance(cursor, psycopg.RawCursor)
            else psycopg.Cursor
        )
        helper = kind(connection, row_factory=tuple_row)
        run(helper, begin)
        try:
            try:
                (row,) = run(helper, _explain_query(query), params)
            except psycopg.Error as exc:
                capture.fail(statement, f"{type(exc).__name__}: {exc}")
                return
            document = orjson.loads(row[0]) if isinstance(row[0], str | bytes) else row[0]
            plan: dict[str, Any] = document[0]["Plan"]
            unknown = sorted(_relations(plan) - roots.keys())
            if unknown:
                roots.update(dict(run(helper, _ROOTS, (unknown,))))
            seen = {name: roots[name] for name in _relations(plan)}
            capture.add(CapturedPlan(statement, plan, seen, repeats))
        finally:
            for statement_end in end:
                run(helper, statement_end)
            helper.close()

    def execute(self: psycopg.Cursor[Any], query: Any, params: Any = None, **options: Any) -> Any:
        explain(self, query, params)
        return original_execute(self, query, params, **options)

    def executemany(
        self: psycopg.Cursor[Any], query: Any, params_seq: Iterable[Any], **options: Any
    ) -> Any:
        params = list(params_seq)
        if params:
            explain(self, query, params[0], repeats=len(params))
        return original_executemany(self, query, params, **options)

    def server_execute(
        self: psycopg.ServerCursor[Any], query: Any, params: Any = None, **options: Any
    ) -> Any:
        explain(self, query, params)
        return original_server_execute(self, query, params, **options)

    psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]
    psycopg.ServerCursor.execute = server_execute  # type: ignore[method-assign]
    try:
        yield capture
    finally:
        psycopg.Cursor.execute = original_execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = original_executemany  # type: ignore[method-assign]
        psycopg.ServerCursor.execute = original_server_execute  # type: ignore[method-assign]


# -- reading plans ----------------------------------------------------------------------


def nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Yield every node of a plan, the top one first (subplans and init plans included)."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def _loops(node: Mapping[str, Any]) -> float:
    return float(node.get("Actual Loops", 0))


def _touched(node: Mapping[str, Any]) -> float:
    """Return the rows a scan node touched per loop: returned, or read and thrown away."""
    return (
        float(node.get("Actual Rows", 0))
        + float(node.get("Rows Removed by Filter", 0))
        + float(node.get("Rows Removed by Index Recheck", 0))
    )


def rows_read(
    plan: Mapping[str, Any], growing: Iterable[str], roots: Mapping[str, str] | None = None
) -> dict[str, int]:
    """Return, per growing table the plan reads, the rows its scans touched in all.

    A partition counts for its table (`roots`: relation name -> table). A modifying
    node names the table it writes, not rows it reads, and is left out.
    """
    wanted = set(growing)
    found: dict[str, float] = {}
    for node in nodes(plan):
        relation = node.get("Relation Name")
        if relation is None or node.get("Node Type") == "ModifyTable":
            continue
        table = (roots or {}).get(relation, relation)
        if table in wanted:
            found[table] = found.get(table, 0.0) + _touched(node) * _loops(node)
    return {table: round(rows) for table, rows in found.items()}


def looped_functions(plan: Mapping[str, Any], limit: int) -> list[str]:
    """Return the function scans run more than once whose work in all exceeds `limit`.

    A function run once per row of an outer side (the batch's array expanded again for
    each row of a table, or for each row of the batch) does loops x rows of work. One
    run per staged row over that row's own small array (a signal's mentions) stays
    within a batch's bound, and passes.
    """
    found = []
    for node in nodes(plan):
        if node.get("Node Type") != "Function Scan" or _loops(node) <= 1:
            continue
        work = _loops(node) * max(float(node.get("Actual Rows", 0)), 1.0)
        if work > limit:
            found.append(
                f"Function Scan {node.get('Function Name', '?')} run {_loops(node):.0f} times "
                f"({work:.0f} rows in all, bound {limit})"
            )
    return found


def outline(plan: Mapping[str, Any], most: int = 20) -> str:
    """Return a plan as one indented line per node (rows, rows thrown away, loops).

    At most `most` lines: the first ones, top down.
    """
    lines: list[str] = []

    def walk(node: Mapping[str, Any], level: int) -> None:
        where = node.get("Relation Name") or node.get("Function Name") or ""
        index = f" using {node['Index Name']}" if "Index Name" in node else ""
        removed = _touched(node) - float(node.get("Actual Rows", 0))
        lines.append(
            f"{'  ' * level}{node.get('Node Type')}"
            f"{' on ' + where if where else ''}{index} "
            f"(rows {float(node.get('Actual Rows', 0)):.0f}"
            f"{f' +{removed:.0f} removed' if removed else ''} x {_loops(node):.0f} loops)"
        )
        for child in node.get("Plans", ()):
            walk(child, level + 1)

    walk(plan, 0)
    if len(lines) > most:
        lines[most:] = [f"... {len(lines) - most} more nodes"]
    return "\n".join(lines)


def _flat(statement: str) -> str:
    return " ".join(statement.split())


def offences(
    capture: PlanCapture,
    batch_size: int,
    *,
    per_record: int = 10,
    ignore: Mapping[str, str] | None = None,
) -> list[str]:
    """Return a description of each captured statement that breaks the batch bound.

    `ignore` maps the start of a statement (whitespace collapsed) to why it may read a
    whole table: statements that take no batch, whose reading no index can shorten.
    """
    limit = bound(batch_size, per_record)
    skipped = tuple(_flat(start) for start in (ignore or {}))
    found = []
    for captured in capture.plans:
        if skipped and _flat(captured.statement).startswith(skipped):
            continue
        problems = [
            f"{table}: {rows} rows read (bound {limit})"
            for table, rows in sorted(
                rows_read(captured.plan, capture.growing, captured.roots).items()
            )
            if rows * captured.repeats > limit
        ]
        problems += looped_functions(captured.plan, limit)
        if problems:
            statement = _flat(captured.statement)[:200]
            found.append(
                f"{statement}\n    "
                + "\n    ".join(problems)
                + "\n    plan:\n"
                + "\n".join(f"      {line}" for line in outline(captured.plan).splitlines())
            )
    for statement, error in capture.failures:
        found.append(f"{_flat(statement)[:200]}\n    EXPLAIN failed: {error}")
    return found


def assert_batch_plans(
    capture: PlanCapture,
    batch_size: int,
    *,
    per_record: int = 10,
    ignore: Mapping[str, str] | None = None,
) -> None:
    """Fail, naming each statement, table, rows read and plan, if a batch read too much."""
    found = offences(capture, batch_size, per_record=per_record, ignore=ignore)
    assert not found, (
        f"{len(found)} statement(s) of a {batch_size}-record batch read a growing table "
        f"other than through an index keyed by the batch:\n\n" + "\n\n".join(found)
    )
