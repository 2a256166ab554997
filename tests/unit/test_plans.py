"""The plan helper's reading of statements and EXPLAIN JSON (tests/plans.py), without a server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plans import (
    CapturedPlan,
    PlanCapture,
    explainable,
    looped_functions,
    offences,
    rows_read,
)


@pytest.mark.parametrize(
    ("statement", "explained"),
    [
        ("SELECT 1", True),
        ("  -- a comment\n  with b AS (SELECT 1) SELECT * FROM b", True),
        ("/* named */ (SELECT 1) UNION ALL (SELECT 2)", True),
        ("INSERT INTO t VALUES (1)", True),
        ("update t SET n = 1", True),
        ("DELETE FROM t", True),
        ("COPY t FROM STDIN (FORMAT BINARY)", False),
        ("CREATE TEMPORARY TABLE IF NOT EXISTS s (n int)", False),
        ("SET LOCAL enable_seqscan = off", False),
        ("SAVEPOINT x", False),
        ("BEGIN", False),
        ("EXPLAIN SELECT 1", False),
        ("SELECT pg_advisory_lock(1)", False),
        ("SELECT pg_advisory_xact_lock(1)", True),
        ("", False),
    ],
)
def test_only_data_statements_without_session_effects_are_explained(
    statement: str, explained: bool
) -> None:
    assert explainable(statement) is explained


RECHECKED = "Rows Removed by Index Recheck"


def scan(kind: str, relation: str, rows: float, loops: float = 1, **more: Any) -> dict[str, Any]:
    return {
        "Node Type": kind,
        "Relation Name": relation,
        "Actual Rows": rows,
        "Actual Loops": loops,
        **more,
    }


PLAN: dict[str, Any] = {
    "Node Type": "ModifyTable",
    "Relation Name": "mention",
    "Actual Rows": 0,
    "Actual Loops": 1,
    "Plans": [
        {
            "Node Type": "Nested Loop",
            "Actual Rows": 20,
            "Actual Loops": 1,
            "Plans": [
                {
                    "Node Type": "Append",
                    "Actual Rows": 20,
                    "Actual Loops": 1,
                    "Plans": [
                        scan("Seq Scan", "mention_p202601", 10, **{"Rows Removed by Filter": 990}),
                        scan("Bitmap Heap Scan", "mention_p202602", 10.0, **{RECHECKED: 5}),
                    ],
                },
                scan("Index Scan", "signal_key", 1, loops=20),
                {
                    "Node Type": "Function Scan",
                    "Function Name": "jsonb_array_elements_text",
                    "Actual Rows": 20,
                    "Actual Loops": 20,
                },
            ],
        }
    ],
}
ROOTS = {"mention_p202601": "mention", "mention_p202602": "mention", "signal_key": "signal_key"}


def test_rows_read_count_partitions_for_their_table_filtered_rows_and_loops() -> None:
    assert rows_read(PLAN, ["mention", "signal_key"], ROOTS) == {
        "mention": 10 + 990 + 10 + 5,
        "signal_key": 20,
    }
    assert rows_read(PLAN, ["signal_key"], ROOTS) == {"signal_key": 20}


def test_a_function_run_per_row_is_flagged_past_the_bound_only() -> None:
    assert looped_functions(PLAN, 1000) == []
    (found,) = looped_functions(PLAN, 300)
    assert found.startswith("Function Scan jsonb_array_elements_text run 20 times (400 rows")


def test_offences_name_the_statement_table_rows_and_plan_unless_ignored() -> None:
    capture = PlanCapture(("mention", "signal_key"))
    capture.add(CapturedPlan("DELETE FROM mention m\n  USING s", PLAN, ROOTS))
    (found,) = offences(capture, 20)
    assert found.startswith("DELETE FROM mention m USING s\n")
    assert "mention: 1015 rows read (bound 300)" in found
    assert "Seq Scan on mention_p202601 (rows 10 +990 removed x 1 loops)" in found
    assert "Function Scan jsonb_array_elements_text run 20 times" in found
    assert offences(capture, 20, per_record=60) == []  # bound 1300
    assert offences(capture, 20, ignore={"DELETE FROM mention m USING": "why"}) == []
