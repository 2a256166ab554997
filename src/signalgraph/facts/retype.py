"""Re-typing stored statements when a property is defined or its type changes.

Statements stored before their property was defined were typed as strings (numbers
kept comparable); a property whose type changes has statements of the old type. The
statements themselves stay (they are evidence, and the statement hash covers the value
as given); their typed copies (`value_type`, the JSON form, `value_num`, `value_text`,
`value_date`, `currency`, `unit`) are recomputed from the stored value by the same
rules as ingest. A statement that does not convert keeps its old typing and becomes a
reject of the re-typing run, written as a statement that can be fixed and ingested
again. The triggers of migration 0009 keep `fact_current` and `fact_daily` in step.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.facts.values import (
    ValueProblem,
    problem_reason,
    typed_columns,
    typed_value,
)
from signalgraph.ids import uuid7
from signalgraph.load.fields import canonical_json
from signalgraph.schema import reject

BATCH = 1000

# A statement is stale when its stored typing is not the property's: another value_type,
# or, for a string property, the typing of an unknown property (JSON numbers kept as
# numbers). _PENDING and _PAGE select the same stale statements.
_PENDING = """
SELECT count(*) FROM fact f
WHERE f.workspace_id = :ws AND f.property = :prop
  AND (f.value_type <> :type
       OR (:type = 'string' AND (f.value_num IS NOT NULL OR jsonb_typeof(f.value) <> 'string')))
"""

# Keyset pages by id: statements that do not convert stay stale and are stepped over.
_PAGE = """
SELECT f.id, f.entity_id, f.value, f.unit, f.as_of, f.dated, s.name AS source
FROM fact f JOIN source s ON s.workspace_id = f.workspace_id AND s.id = f.source_id
WHERE f.workspace_id = :ws AND f.property = :prop
  AND (f.value_type <> :type
       OR (:type = 'string' AND (f.value_num IS NOT NULL OR jsonb_typeof(f.value) <> 'string')))
  AND f.id > :after
ORDER BY f.id LIMIT :limit
"""

# The JSON form is made as ingest makes it (STORED_VALUE_SQL, facts/values.py).
_UPDATE = """
UPDATE fact f SET value_type = d.value_type,
       value = CASE WHEN d.value_type IN ('number', 'integer') THEN to_jsonb(d.value_num)
                    WHEN d.value_type = 'money'
                    THEN jsonb_build_object('amount', d.value_num, 'currency', d.currency)
                    ELSE d.value END,
       value_num = d.value_num, value_text = d.value_text, value_date = d.value_date,
       currency = d.currency, unit = d.unit
FROM (SELECT d.*, x.tid
      FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS d(
          id uuid, value_type text, value jsonb, value_num numeric, value_text text,
          value_date date, currency text, unit text)
      CROSS JOIN LATERAL (SELECT x.ctid AS tid FROM fact x
                          WHERE x.workspace_id = :ws AND x.id = d.id LIMIT 1) AS x) AS d
WHERE f.ctid = d.tid
"""


def pending(conn: Connection, workspace_id: uuid.UUID, prop: str, prop_type: str) -> int:
    """Return how many statements of the property are not typed as the property says."""
    found = conn.execute(sa.text(_PENDING), {"ws": workspace_id, "prop": prop, "type": prop_type})
    return int(found.scalar_one())


def retype(
    conn: Connection,
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    prop: str,
    prop_type: str,
    unit: str | None,
) -> dict[str, int]:
    """Re-type the property's stale statements; return the run's counters.

    Each statement that does not convert is a reject of the run (field `value`).
    """
    counters = {"seen": 0, "updated": 0, "rejected": 0}
    after = uuid.UUID(int=0)
    params = {"ws": workspace_id, "prop": prop, "type": prop_type, "limit": BATCH}
    while True:
        page = conn.execute(sa.text(_PAGE), params | {"after": after}).all()
        if not page:
            return counters
        after = page[-1].id
        updates: list[dict[str, Any]] = []
        rejects: list[dict[str, Any]] = []
        for statement in page:
            counters["seen"] += 1
            statement_unit = statement.unit or unit
            try:
                typed = typed_value(prop_type, statement.value, statement_unit)
            except ValueProblem as exc:
                reason = f"statement {statement.id}: {problem_reason(prop, prop_type, exc)}"
                line = counters["seen"]
                rejects.append(_reject(workspace_id, run_id, line, reason, statement, prop))
                continue
            updates.append({"id": str(statement.id), **typed_columns(typed, statement_unit)})
        if updates:
            rows = canonical_json(updates).decode("utf-8", "surrogatepass")
            conn.execute(sa.text(_UPDATE), {"ws": workspace_id, "rows": rows})
        if rejects:
            conn.execute(reject.insert(), rejects)
        counters["updated"] += len(updates)
        counters["rejected"] += len(rejects)


def _reject(
    workspace_id: uuid.UUID, run_id: uuid.UUID, line: int, reason: str, statement: Any, prop: str
) -> dict[str, Any]:
    """Return a reject row holding the statement as one that can be fixed and ingested."""
    written: dict[str, Any] = {
        "entity": str(statement.entity_id),
        "property": prop,
        "value": statement.value,
        "source": statement.source,
    }
    if statement.unit:
        written["unit"] = statement.unit
    if statement.dated:
        written["as_of"] = statement.as_of.astimezone(UTC).isoformat()
    return {
        "workspace_id": workspace_id,
        "id": uuid7(),
        "run_id": run_id,
        "file": None,
        "line": line,
        "field": "value",
        "reason": reason,
        "raw": canonical_json(written),
    }
