"""audit subject: events name the entity (or object) a changed row is about

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

`audit list --object ENTITY` read only the events whose object was the entity itself, so
an entity's history left out its list memberships, comments, facts and records (their
events are about their own rows). Each event now also names its *subject*: the entity a
list membership, comment, annotation, fact, relation (its subject), record, redirect
(the survivor), merge (the survivor) is about, or the object a flag is raised on. An
index on (workspace, subject, id) reads an entity's whole history newest first.

Existing events are given their subject from their own before/after values, else from
the row as it is now.
"""

from __future__ import annotations

from alembic import op

from signalgraph.db.audit_ddl import (
    audit_function_sql,
    audit_function_v2_sql,
    audit_triggers_sql,
    audit_triggers_v2_sql,
    drop_audit_triggers_sql,
)

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Every audited table: object column, subject column, key columns (as in 0004-0007).
AUDITED: tuple[tuple[str, str | None, str | None, tuple[str, ...]], ...] = (
    ("workspace", "workspace_id", None, ()),
    ("source", "id", None, ("id",)),
    ("entity_type", None, None, ("name",)),
    ("entity", "id", None, ("id",)),
    ("entity_record", "id", "entity_id", ("id",)),
    ("entity_redirect", "from_id", "to_id", ("from_id",)),
    ("judgement", "id", None, ("id",)),
    ("merge", "id", "survivor_id", ("id",)),
    ("review_item", "id", None, ("id",)),
    ("flag", "id", "object_id", ("id",)),
    ("resolution_model", None, None, ("entity_type",)),
    ("fact_property", None, None, ("name",)),
    ("fact", "id", "entity_id", ("id",)),
    ("relation", "id", "subject_id", ("id",)),
    ("signal_link", "id", None, ("id",)),
    ("curated_list", "id", None, ("id",)),
    ("list_member", "id", "entity_id", ("id",)),
    ("annotation", "entity_id", "entity_id", ("entity_id",)),
    ("annotation_comment", "id", "entity_id", ("id",)),
    ("annotation_field", None, None, ("name",)),
)


# Existing events: the subject from the event's own values, else from the row as it is.
BACKFILL = """
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('entity_record', 'id', 'entity_id'), ('entity_redirect', 'from_id', 'to_id'),
        ('merge', 'id', 'survivor_id'), ('flag', 'id', 'object_id'),
        ('fact', 'id', 'entity_id'), ('relation', 'id', 'subject_id'),
        ('list_member', 'id', 'entity_id'), ('annotation', 'entity_id', 'entity_id'),
        ('annotation_comment', 'id', 'entity_id')) AS v(name, object_column, subject_column)
    LOOP
        EXECUTE format(
            'UPDATE audit_event SET subject_id = coalesce((after ->> %L)::uuid, '
            '(before ->> %L)::uuid) WHERE object_type = %L',
            t.subject_column, t.subject_column, t.name);
        EXECUTE format(
            'UPDATE audit_event e SET subject_id = r.%I FROM %I r '
            'WHERE e.object_type = %L AND e.subject_id IS NULL '
            'AND r.workspace_id = e.workspace_id AND r.%I = e.object_id',
            t.subject_column, t.name, t.name, t.object_column);
    END LOOP;
END
$$
"""


def upgrade() -> None:
    op.execute("ALTER TABLE audit_event ADD COLUMN subject_id uuid")
    op.execute(BACKFILL)
    op.execute(
        "CREATE INDEX ix_audit_event_workspace_id_subject_id_id ON audit_event "
        "(workspace_id, subject_id, id) WHERE subject_id IS NOT NULL"
    )
    op.execute(audit_function_v2_sql())
    for table, object_column, subject_column, keys in AUDITED:
        for statement in drop_audit_triggers_sql(table):
            op.execute(statement)
        for statement in audit_triggers_v2_sql(table, object_column, subject_column, keys):
            op.execute(statement)


def downgrade() -> None:
    for table, *_ in AUDITED:
        for statement in drop_audit_triggers_sql(table):
            op.execute(statement)
    op.execute(audit_function_sql())
    for table, object_column, _, keys in AUDITED:
        for statement in audit_triggers_sql(table, object_column, keys):
            op.execute(statement)
    op.execute("DROP INDEX ix_audit_event_workspace_id_subject_id_id")
    op.execute("ALTER TABLE audit_event DROP COLUMN subject_id")
