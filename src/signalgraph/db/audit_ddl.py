"""SQL that migrations use to put a table under audit (frozen text: migrations depend on it).

`audit_changes()` is a statement-level trigger function with transition tables: one
INSERT ... SELECT per changed statement writes one event per changed row, in the same
transaction, whatever the number of rows. Who acted comes from the `signalgraph.actor`
setting (every signalgraph connection sets it; a transaction may override it with
`set_config(..., true)`), the run from `signalgraph.run_id`.
"""

from __future__ import annotations

from collections.abc import Sequence

# Columns whose change alone is bookkeeping, not an event.
IGNORED_COLUMNS = ("updated_at", "last_seen")

UUID7_FUNCTION = """
CREATE OR REPLACE FUNCTION uuid7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp())
                                                     * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$
"""

AUDIT_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
DECLARE
    object_column text := TG_ARGV[0];
    object_expr text;
    join_on text;
    common text := format(
        $c$coalesce(nullif(current_setting('signalgraph.actor', true), ''), session_user),
           %L, nullif(current_setting('signalgraph.run_id', true), '')::uuid$c$,
        TG_TABLE_NAME);
BEGIN
    IF object_column = '' THEN
        object_expr := 'NULL::uuid';
    ELSE
        object_expr := format('r.%I', object_column);
    END IF;
    IF TG_OP = 'INSERT' THEN
        EXECUTE format(
            $q$INSERT INTO audit_event (workspace_id, id, actor, object_type, run_id, action,
                                        object_id, before, after)
               SELECT r.workspace_id, uuid7(), %s, 'insert', %s, NULL,
                      jsonb_strip_nulls(to_jsonb(r) - 'workspace_id')
               FROM new_rows r$q$,
            common, object_expr);
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format(
            $q$INSERT INTO audit_event (workspace_id, id, actor, object_type, run_id, action,
                                        object_id, before, after)
               SELECT r.workspace_id, uuid7(), %s, 'delete', %s,
                      jsonb_strip_nulls(to_jsonb(r) - 'workspace_id'), NULL
               FROM old_rows r$q$,
            common, object_expr);
    ELSE
        SELECT string_agg(format('o.%1$I = r.%1$I', k), ' AND ')
        INTO join_on
        FROM unnest(TG_ARGV[1:] || ARRAY['workspace_id']) AS k;
        EXECUTE format(
            $q$INSERT INTO audit_event (workspace_id, id, actor, object_type, run_id, action,
                                        object_id, before, after)
               SELECT r.workspace_id, uuid7(), %s, 'update', %s, d.before, d.after
               FROM old_rows o JOIN new_rows r ON %s
               CROSS JOIN LATERAL (SELECT to_jsonb(o) AS old, to_jsonb(r) AS new) j
               CROSS JOIN LATERAL (
                   SELECT jsonb_object_agg(e.key, e.value) AS before,
                          jsonb_object_agg(e.key, j.new -> e.key) AS after
                   FROM jsonb_each(j.old) AS e
                   WHERE e.key <> ALL (%L::text[])
                     AND e.value IS DISTINCT FROM j.new -> e.key) AS d
               WHERE d.before IS NOT NULL$q$,
            common, object_expr, join_on, %(ignored)s);
    END IF;
    RETURN NULL;
END
$fn$
"""


# Version 2 (migration 0013): events also name their *subject*, the entity a row is about
# (a list membership, a comment, a fact…), so an entity's history finds them by index.
# Arguments: object column, subject column ('' for none), then the key columns.
AUDIT_FUNCTION_V2 = """
CREATE OR REPLACE FUNCTION audit_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
DECLARE
    object_column text := TG_ARGV[0];
    subject_column text := TG_ARGV[1];
    object_expr text;
    subject_expr text;
    join_on text;
    common text := format(
        $c$coalesce(nullif(current_setting('signalgraph.actor', true), ''), session_user),
           %L, nullif(current_setting('signalgraph.run_id', true), '')::uuid$c$,
        TG_TABLE_NAME);
BEGIN
    object_expr := CASE WHEN object_column = '' THEN 'NULL::uuid'
                        ELSE format('r.%I', object_column) END;
    subject_expr := CASE WHEN subject_column = '' THEN 'NULL::uuid'
                         ELSE format('r.%I', subject_column) END;
    IF TG_OP = 'INSERT' THEN
        EXECUTE format(
            $q$INSERT INTO audit_event (workspace_id, id, actor, object_type, run_id, action,
                                        object_id, subject_id, before, after)
               SELECT r.workspace_id, uuid7(), %s, 'insert', %s, %s, NULL,
                      jsonb_strip_nulls(to_jsonb(r) - 'workspace_id')
               FROM new_rows r$q$,
            common, object_expr, subject_expr);
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format(
            $q$INSERT INTO audit_event (workspace_id, id, actor, object_type, run_id, action,
                                        object_id, subject_id, before, after)
               SELECT r.workspace_id, uuid7(), %s, 'delete', %s, %s,
                      jsonb_strip_nulls(to_jsonb(r) - 'workspace_id'), NULL
               FROM old_rows r$q$,
            common, object_expr, subject_expr);
    ELSE
        SELECT string_agg(format('o.%1$I = r.%1$I', k), ' AND ')
        INTO join_on
        FROM unnest(TG_ARGV[2:] || ARRAY['workspace_id']) AS k;
        EXECUTE format(
            $q$INSERT INTO audit_event (workspace_id, id, actor, object_type, run_id, action,
                                        object_id, subject_id, before, after)
               SELECT r.workspace_id, uuid7(), %s, 'update', %s, %s, d.before, d.after
               FROM old_rows o JOIN new_rows r ON %s
               CROSS JOIN LATERAL (SELECT to_jsonb(o) AS old, to_jsonb(r) AS new) j
               CROSS JOIN LATERAL (
                   SELECT jsonb_object_agg(e.key, e.value) AS before,
                          jsonb_object_agg(e.key, j.new -> e.key) AS after
                   FROM jsonb_each(j.old) AS e
                   WHERE e.key <> ALL (%L::text[])
                     AND e.value IS DISTINCT FROM j.new -> e.key) AS d
               WHERE d.before IS NOT NULL$q$,
            common, object_expr, subject_expr, join_on, %(ignored)s);
    END IF;
    RETURN NULL;
END
$fn$
"""


def audit_function_sql() -> str:
    """Return the CREATE FUNCTION statement of the audit trigger function."""
    ignored = "'{" + ",".join(IGNORED_COLUMNS) + "}'"
    return AUDIT_FUNCTION.replace("%(ignored)s", ignored)


def audit_function_v2_sql() -> str:
    """Return the CREATE FUNCTION statement of the audit trigger function, version 2."""
    ignored = "'{" + ",".join(IGNORED_COLUMNS) + "}'"
    return AUDIT_FUNCTION_V2.replace("%(ignored)s", ignored)


def audit_triggers_sql(table: str, object_column: str | None, keys: Sequence[str]) -> list[str]:
    """Return the statements that put a table under audit (version 1, migrations 0004-0012).

    `object_column` is the uuid column naming the changed object (None: the table is
    keyed by a name); `keys` are the key columns besides `workspace_id` that pair a
    row's old and new versions in an update.
    """
    return _triggers(table, (object_column or "", *keys))


def audit_triggers_v2_sql(
    table: str, object_column: str | None, subject_column: str | None, keys: Sequence[str]
) -> list[str]:
    """Return the statements that put a table under audit (version 2, from migration 0013).

    `subject_column` is the uuid column naming the entity the row is about (None: none).
    """
    return _triggers(table, (object_column or "", subject_column or "", *keys))


def _triggers(table: str, names: Sequence[str]) -> list[str]:
    arguments = ", ".join(f"'{name}'" for name in names)
    return [
        f"CREATE TRIGGER audit_insert AFTER INSERT ON {table} "
        f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION audit_changes({arguments})",
        f"CREATE TRIGGER audit_update AFTER UPDATE ON {table} "
        f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION audit_changes({arguments})",
        f"CREATE TRIGGER audit_delete AFTER DELETE ON {table} "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION audit_changes({arguments})",
    ]


def drop_audit_triggers_sql(table: str) -> list[str]:
    """Return the statements that take a table out of audit."""
    return [
        f"DROP TRIGGER IF EXISTS audit_{event} ON {table}"
        for event in ("insert", "update", "delete")
    ]
