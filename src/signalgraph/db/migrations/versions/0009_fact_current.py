# ruff: noqa: S608 -- DDL built from constant fragments; no values are interpolated.
"""fact_current and fact_daily: winning statements kept current by triggers

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28

Fact conditions (`revenue > 10M`) and daily percentiles ranked every statement of a
property under precedence on each read. These two tables hold the winners instead,
per canonical entity and property (and UTC day, for numbers), and statement-level
triggers keep them right whenever what decides a winner changes: a statement written
or re-seen (fact), a merge or unmerge (entity_redirect), a source's trust rank
(source), an entity's type or archived state (entity). Nothing in the library writes
them; `signalgraph db check --deep` compares them with a recomputation.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Frozen copy of facts/reads.py's PRECEDENCE (source rank, confidence, recency).
PRECEDENCE = (
    "s.trust_rank DESC, coalesce(f.confidence, 1) DESC, "
    "CASE WHEN f.dated THEN f.as_of ELSE f.last_seen END DESC, f.last_seen DESC, f.id DESC"
)

# The ids whose statements are the canonical entity k.entity_id's: itself and every id
# redirected to it.
MEMBERS = """ARRAY(SELECT k.entity_id UNION ALL SELECT r.from_id FROM entity_redirect r
                 WHERE r.workspace_id = k.ws AND r.to_id = k.entity_id)"""
CANONICAL = """NOT EXISTS (SELECT 1 FROM entity_redirect x
                           WHERE x.workspace_id = k.ws AND x.from_id = k.entity_id)"""
DAY = "(f.as_of AT TIME ZONE 'UTC')::date"
IN_DAY = (
    "f.as_of >= (k.day::timestamp AT TIME ZONE 'UTC') "
    "AND f.as_of < ((k.day + 1)::timestamp AT TIME ZONE 'UTC')"
)
# An upsert that leaves an unchanged winner alone (no new row version, no WAL).
CURRENT_UPSERT = """
    ON CONFLICT (workspace_id, entity_id, property) DO UPDATE SET
        fact_id = excluded.fact_id, value_num = excluded.value_num,
        value_text = excluded.value_text, value_date = excluded.value_date
    WHERE (c.fact_id, c.value_num, c.value_text, c.value_date) IS DISTINCT FROM
          (excluded.fact_id, excluded.value_num, excluded.value_text, excluded.value_date)"""
DAILY_UPSERT = """
    ON CONFLICT (workspace_id, entity_id, property, day) DO UPDATE SET
        fact_id = excluded.fact_id, value_num = excluded.value_num,
        entity_type = excluded.entity_type, archived = excluded.archived
    WHERE (d.fact_id, d.value_num, d.entity_type, d.archived) IS DISTINCT FROM
          (excluded.fact_id, excluded.value_num, excluded.entity_type, excluded.archived)"""

# Recompute the winners for a set of (workspace, canonical entity, property, day) keys;
# a NULL property means every property of the entity, a NULL day every day. An entity
# that is no longer canonical (it was merged away) loses its rows and gets none back.
# `prune` first deletes the keys' rows, for changes that can take a winner away (a
# deleted statement, a merge); new and re-seen statements only ever replace one.
REFRESH_FUNCTION = f"""
CREATE FUNCTION fact_refresh(
    key_ws uuid[], key_entities uuid[], key_properties text[], key_days date[], prune boolean
)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- One writer per workspace at a time: each statement below then sees every
    -- statement committed before it (read committed takes a snapshot per statement).
    PERFORM pg_advisory_xact_lock(hashtextextended('fact_refresh:' || w::text, 0))
    FROM (SELECT DISTINCT w FROM unnest(key_ws) AS w ORDER BY w) AS each_workspace;

    IF prune THEN
        DELETE FROM fact_current c
        USING unnest(key_ws, key_entities, key_properties) AS k(ws, entity_id, property)
        WHERE c.workspace_id = k.ws AND c.entity_id = k.entity_id
          AND (k.property IS NULL OR c.property = k.property);
        DELETE FROM fact_daily d
        USING unnest(key_ws, key_entities, key_properties, key_days)
              AS k(ws, entity_id, property, day)
        WHERE d.workspace_id = k.ws AND d.entity_id = k.entity_id
          AND (k.property IS NULL OR d.property = k.property)
          AND (k.day IS NULL OR d.day = k.day);
    END IF;

    -- A named property: its one winner, read from the entity's statements by index.
    INSERT INTO fact_current AS c (workspace_id, entity_id, property, fact_id, value_num,
                                   value_text, value_date)
    SELECT k.ws, k.entity_id, k.property, w.id, w.value_num, w.value_text, w.value_date
    FROM (SELECT DISTINCT * FROM unnest(key_ws, key_entities, key_properties)
          AS u(ws, entity_id, property) WHERE property IS NOT NULL) AS k
    CROSS JOIN LATERAL (
        SELECT f.id, f.value_num, f.value_text, f.value_date
        FROM fact f JOIN source s ON s.workspace_id = f.workspace_id AND s.id = f.source_id
        WHERE f.workspace_id = k.ws AND f.entity_id = ANY({MEMBERS})
          AND f.property = k.property
        ORDER BY {PRECEDENCE} LIMIT 1
    ) AS w
    WHERE {CANONICAL}
    {CURRENT_UPSERT};

    -- Every property of an entity (a merge, an unmerge).
    INSERT INTO fact_current AS c (workspace_id, entity_id, property, fact_id, value_num,
                                   value_text, value_date)
    SELECT DISTINCT ON (k.ws, k.entity_id, f.property)
           k.ws, k.entity_id, f.property, f.id, f.value_num, f.value_text, f.value_date
    FROM (SELECT DISTINCT * FROM unnest(key_ws, key_entities, key_properties)
          AS u(ws, entity_id, property) WHERE property IS NULL) AS k
    JOIN fact f ON f.workspace_id = k.ws AND f.entity_id = ANY({MEMBERS})
    JOIN source s ON s.workspace_id = f.workspace_id AND s.id = f.source_id
    WHERE {CANONICAL}
    ORDER BY k.ws, k.entity_id, f.property, {PRECEDENCE}
    {CURRENT_UPSERT};

    -- A named property and day: that day's winning number, by index.
    INSERT INTO fact_daily AS d (workspace_id, entity_id, property, day, fact_id, value_num,
                                 entity_type, archived)
    SELECT k.ws, k.entity_id, k.property, k.day, w.id, w.value_num, e.type,
           e.archived_at IS NOT NULL
    FROM (SELECT DISTINCT * FROM unnest(key_ws, key_entities, key_properties, key_days)
          AS u(ws, entity_id, property, day)
          WHERE property IS NOT NULL AND day IS NOT NULL) AS k
    JOIN entity e ON e.workspace_id = k.ws AND e.id = k.entity_id
    CROSS JOIN LATERAL (
        SELECT f.id, f.value_num
        FROM fact f JOIN source s ON s.workspace_id = f.workspace_id AND s.id = f.source_id
        WHERE f.workspace_id = k.ws AND f.entity_id = ANY({MEMBERS})
          AND f.property = k.property AND {IN_DAY} AND f.value_num IS NOT NULL
        ORDER BY {PRECEDENCE} LIMIT 1
    ) AS w
    WHERE {CANONICAL}
    {DAILY_UPSERT};

    -- Every day of a property, or every property (a merge, a trust rank).
    INSERT INTO fact_daily AS d (workspace_id, entity_id, property, day, fact_id, value_num,
                                 entity_type, archived)
    SELECT DISTINCT ON (k.ws, k.entity_id, f.property, {DAY})
           k.ws, k.entity_id, f.property, {DAY}, f.id, f.value_num, e.type,
           e.archived_at IS NOT NULL
    FROM (SELECT DISTINCT * FROM unnest(key_ws, key_entities, key_properties, key_days)
          AS u(ws, entity_id, property, day) WHERE property IS NULL OR day IS NULL) AS k
    JOIN entity e ON e.workspace_id = k.ws AND e.id = k.entity_id
    JOIN fact f ON f.workspace_id = k.ws AND f.entity_id = ANY({MEMBERS})
               AND (k.property IS NULL OR f.property = k.property)
               AND (k.day IS NULL OR ({IN_DAY}))
    JOIN source s ON s.workspace_id = f.workspace_id AND s.id = f.source_id
    WHERE f.value_num IS NOT NULL AND {CANONICAL}
    ORDER BY k.ws, k.entity_id, f.property, {DAY}, {PRECEDENCE}
    {DAILY_UPSERT};
END
$$
"""


def _lock(rows: str) -> str:
    """Return the statement taking the workspace lock of fact_refresh for changed rows.

    Taken before anything is read, so the keys computed next see every change committed
    by a writer that held the lock before.
    """
    return f"""PERFORM pg_advisory_xact_lock(hashtextextended('fact_refresh:' || w::text, 0))
        FROM (SELECT DISTINCT workspace_id AS w FROM {rows} AS changed ORDER BY 1) AS locks;"""


def _refresh(keys: str, prune: str) -> str:
    """Return the statement refreshing the keys a query selects (ws, entity_id, property, day)."""
    return f"""PERFORM fact_refresh(array_agg(k.ws), array_agg(k.entity_id), array_agg(k.property),
                             array_agg(k.day), {prune})
        FROM ({keys}) AS k
        HAVING count(*) > 0;"""


_BOTH = "(SELECT * FROM new_rows UNION ALL SELECT * FROM old_rows)"
_FACT_KEYS = """SELECT DISTINCT c.workspace_id AS ws, coalesce(r.to_id, c.entity_id) AS entity_id,
                     c.property, (c.as_of AT TIME ZONE 'UTC')::date AS day
              FROM {rows} AS c LEFT JOIN entity_redirect r
                ON r.workspace_id = c.workspace_id AND r.from_id = c.entity_id"""
# Statements just written or re-seen, with their canonical entity.
_ADDED = """SELECT n.workspace_id AS ws, coalesce(r.to_id, n.entity_id) AS canon, n.*
            FROM new_rows n LEFT JOIN entity_redirect r
              ON r.workspace_id = n.workspace_id AND r.from_id = n.entity_id"""

# New and re-seen statements can only replace a winner: each key's new winner is the best
# of its stored winner and the key's changed statements, whatever the length of its
# history (a daily score series stays cheap to extend).
_INCREMENTAL = f"""INSERT INTO fact_current AS c (workspace_id, entity_id, property, fact_id,
                                       value_num, value_text, value_date)
        SELECT DISTINCT ON (f.ws, f.canon, f.property)
               f.ws, f.canon, f.property, f.id, f.value_num, f.value_text, f.value_date
        FROM (
            {_ADDED}
            UNION ALL
            SELECT c.workspace_id, c.entity_id, f.* FROM fact_current c
            JOIN fact f ON f.workspace_id = c.workspace_id AND f.id = c.fact_id
            WHERE (c.workspace_id, c.entity_id, c.property) IN (
                SELECT a.ws, a.canon, a.property FROM ({_ADDED}) AS a)
        ) AS f
        JOIN source s ON s.workspace_id = f.ws AND s.id = f.source_id
        ORDER BY f.ws, f.canon, f.property, {PRECEDENCE}
        {CURRENT_UPSERT};

        INSERT INTO fact_daily AS d (workspace_id, entity_id, property, day, fact_id,
                                     value_num, entity_type, archived)
        SELECT DISTINCT ON (f.ws, f.canon, f.property, {DAY})
               f.ws, f.canon, f.property, {DAY}, f.id, f.value_num, e.type,
               e.archived_at IS NOT NULL
        FROM (
            SELECT * FROM ({_ADDED}) AS a WHERE a.value_num IS NOT NULL
            UNION ALL
            SELECT d.workspace_id, d.entity_id, f.* FROM fact_daily d
            JOIN fact f ON f.workspace_id = d.workspace_id AND f.id = d.fact_id
            WHERE (d.workspace_id, d.entity_id, d.property, d.day) IN (
                SELECT a.ws, a.canon, a.property, (a.as_of AT TIME ZONE 'UTC')::date
                FROM ({_ADDED}) AS a WHERE a.value_num IS NOT NULL)
        ) AS f
        JOIN source s ON s.workspace_id = f.ws AND s.id = f.source_id
        JOIN entity e ON e.workspace_id = f.ws AND e.id = f.canon
        ORDER BY f.ws, f.canon, f.property, {DAY}, {PRECEDENCE}
        {DAILY_UPSERT};"""

# Statements written, re-seen (last_seen moves), moved or deleted.
FACT_TRIGGER_FUNCTION = f"""
CREATE FUNCTION fact_refresh_on_fact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_lock("new_rows")}
        {_INCREMENTAL}
    ELSIF TG_OP = 'UPDATE' THEN
        {_lock("new_rows")}
        -- Only a re-sighting (last_seen moving forward) can be applied incrementally; any
        -- other change (another entity, property, day, value, source, confidence) can
        -- take a winner away or lower it: its keys, old and new, are recomputed.
        IF EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n
                   ON n.workspace_id = o.workspace_id AND n.id = o.id
                   WHERE n.last_seen < o.last_seen
                      OR (n.entity_id, n.property, n.as_of, n.dated, n.value_num, n.value_text,
                          n.value_date, n.source_id, n.confidence)
                         IS DISTINCT FROM
                         (o.entity_id, o.property, o.as_of, o.dated, o.value_num, o.value_text,
                          o.value_date, o.source_id, o.confidence)) THEN
            {_refresh(_FACT_KEYS.format(rows=_BOTH), "true")}
        ELSE
            {_INCREMENTAL}
        END IF;
    ELSE
        {_lock("old_rows")}
        {_refresh(_FACT_KEYS.format(rows="old_rows"), "true")}
    END IF;
    RETURN NULL;
END
$$
"""

_REDIRECT_KEYS = """SELECT DISTINCT workspace_id AS ws, unnest(ARRAY[from_id, to_id]) AS entity_id,
                     NULL::text AS property, NULL::date AS day
              FROM {rows} AS c"""

# A merge, an unmerge or a chain compressed: both ends, every property and day.
REDIRECT_TRIGGER_FUNCTION = f"""
CREATE FUNCTION fact_refresh_on_redirect() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_lock("new_rows")}
        {_refresh(_REDIRECT_KEYS.format(rows="new_rows"), "true")}
    ELSIF TG_OP = 'UPDATE' THEN
        {_lock("new_rows")}
        {_refresh(_REDIRECT_KEYS.format(rows=_BOTH), "true")}
    ELSE
        {_lock("old_rows")}
        {_refresh(_REDIRECT_KEYS.format(rows="old_rows"), "true")}
    END IF;
    RETURN NULL;
END
$$
"""

# A source's trust rank changed: every entity and property it has statements for.
_RANK_CHANGED = """(SELECT n.* FROM new_rows n
            JOIN old_rows o ON o.workspace_id = n.workspace_id AND o.id = n.id
            WHERE n.trust_rank IS DISTINCT FROM o.trust_rank)"""
SOURCE_TRIGGER_FUNCTION = f"""
CREATE FUNCTION fact_refresh_on_source() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_lock(_RANK_CHANGED)}
    PERFORM fact_refresh(array_agg(k.ws), array_agg(k.entity_id), array_agg(k.property),
                         array_agg(NULL::date), false)
    FROM (SELECT DISTINCT f.workspace_id AS ws, coalesce(r.to_id, f.entity_id) AS entity_id,
                 f.property
          FROM new_rows n
          JOIN old_rows o ON o.workspace_id = n.workspace_id AND o.id = n.id
          JOIN fact f ON f.workspace_id = n.workspace_id AND f.source_id = n.id
          LEFT JOIN entity_redirect r
            ON r.workspace_id = f.workspace_id AND r.from_id = f.entity_id
          WHERE n.trust_rank IS DISTINCT FROM o.trust_rank) AS k
    HAVING count(*) > 0;
    RETURN NULL;
END
$$
"""

# An entity's type or archived state changed: its daily rows carry both.
_KIND_CHANGED = """(SELECT n.* FROM new_rows n
            JOIN old_rows o ON o.workspace_id = n.workspace_id AND o.id = n.id
            WHERE n.type IS DISTINCT FROM o.type
               OR (n.archived_at IS NULL) IS DISTINCT FROM (o.archived_at IS NULL))"""
ENTITY_TRIGGER_FUNCTION = f"""
CREATE FUNCTION fact_refresh_on_entity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_lock(_KIND_CHANGED)}
    UPDATE fact_daily d SET entity_type = n.type, archived = n.archived_at IS NOT NULL
    FROM new_rows n JOIN old_rows o ON o.workspace_id = n.workspace_id AND o.id = n.id
    WHERE d.workspace_id = n.workspace_id AND d.entity_id = n.id
      AND (n.type IS DISTINCT FROM o.type
           OR (n.archived_at IS NULL) IS DISTINCT FROM (o.archived_at IS NULL));
    RETURN NULL;
END
$$
"""


def _triggers(table: str, function: str, events: tuple[str, ...]) -> list[str]:
    references = {
        "insert": "NEW TABLE AS new_rows",
        "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "delete": "OLD TABLE AS old_rows",
    }
    return [
        f"CREATE TRIGGER fact_refresh_{event} AFTER {event.upper()} ON {table} "
        f"REFERENCING {references[event]} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        for event in events
    ]


TRIGGERS = {
    "fact": ("fact_refresh_on_fact", ("insert", "update", "delete")),
    "entity_redirect": ("fact_refresh_on_redirect", ("insert", "update", "delete")),
    "source": ("fact_refresh_on_source", ("update",)),
    "entity": ("fact_refresh_on_entity", ("update",)),
}


def upgrade() -> None:
    op.create_table(
        "fact_current",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("property", sa.Text(), nullable=False),
        sa.Column("fact_id", sa.Uuid(), nullable=False),
        sa.Column("value_num", sa.Numeric(), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.workspace_id"],
            name=op.f("fk_fact_current_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "entity_id", "property", name=op.f("pk_fact_current")
        ),
    )
    # Fact conditions (`revenue > 10M`); a text condition (`country = 'DE'`) reads the
    # property's rows through the same index's prefix (text values can be too long for a
    # B-tree entry).
    op.create_index(
        "ix_fact_current_workspace_id_property_value_num",
        "fact_current",
        ["workspace_id", "property", "value_num"],
    )
    op.create_table(
        "fact_daily",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("property", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("fact_id", sa.Uuid(), nullable=False),
        sa.Column("value_num", sa.Numeric(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.workspace_id"],
            name=op.f("fk_fact_daily_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "entity_id", "property", "day", name=op.f("pk_fact_daily")
        ),
    )
    # percentile(): a day's peers of one type counted, and ranked from the top.
    op.create_index(
        "ix_fact_daily_workspace_id_property_day_entity_type_value_num",
        "fact_daily",
        ["workspace_id", "property", "day", "entity_type", sa.text("value_num DESC")],
        postgresql_where=sa.text("NOT archived"),
    )
    for statement in (
        REFRESH_FUNCTION,
        FACT_TRIGGER_FUNCTION,
        REDIRECT_TRIGGER_FUNCTION,
        SOURCE_TRIGGER_FUNCTION,
        ENTITY_TRIGGER_FUNCTION,
    ):
        op.execute(statement)
    for table, (function, events) in TRIGGERS.items():
        for statement in _triggers(table, function, events):
            op.execute(statement)
    # Existing statements: every canonical entity that has any.
    op.execute(
        """
        SELECT fact_refresh(array_agg(ws), array_agg(entity_id), array_agg(NULL::text),
                            array_agg(NULL::date), true)
        FROM (SELECT DISTINCT f.workspace_id AS ws, coalesce(r.to_id, f.entity_id) AS entity_id
              FROM fact f LEFT JOIN entity_redirect r
                ON r.workspace_id = f.workspace_id AND r.from_id = f.entity_id) AS k
        HAVING count(*) > 0
        """
    )


def downgrade() -> None:
    for table, (_function, events) in TRIGGERS.items():
        for event in events:
            op.execute(f"DROP TRIGGER IF EXISTS fact_refresh_{event} ON {table}")
    for function in (
        "fact_refresh_on_entity()",
        "fact_refresh_on_source()",
        "fact_refresh_on_redirect()",
        "fact_refresh_on_fact()",
        "fact_refresh(uuid[], uuid[], text[], date[], boolean)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_table("fact_daily")
    op.drop_table("fact_current")
