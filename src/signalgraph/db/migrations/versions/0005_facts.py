"""facts: property registry, fact and relation statements, under audit

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from signalgraph.db.audit_ddl import audit_triggers_sql, drop_audit_triggers_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

AUDITED: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("fact_property", None, ("name",)),
    ("fact", "id", ("id",)),
    ("relation", "id", ("id",)),
)


def _seen() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "first_seen",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_seen",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "fact_property",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "type IN ('number', 'integer', 'string', 'date', 'money', 'boolean', 'json')",
            name=op.f("ck_fact_property_type_known"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.workspace_id"],
            name=op.f("fk_fact_property_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "name", name=op.f("pk_fact_property")),
    )
    op.create_table(
        "fact",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("entity_ref", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("property", sa.Text(), nullable=False),
        sa.Column("value_type", sa.Text(), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("value_num", sa.Numeric(), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dated", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("signal_id", sa.Uuid(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("statement_hash", sa.LargeBinary(), nullable=False),
        *_seen(),
        sa.CheckConstraint("confidence BETWEEN 0 AND 1", name=op.f("ck_fact_confidence_range")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "entity_id"],
            ["entity.workspace_id", "entity.id"],
            name=op.f("fk_fact_workspace_id_entity"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "source_id"],
            ["source.workspace_id", "source.id"],
            name=op.f("fk_fact_workspace_id_source"),
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_fact")),
        sa.UniqueConstraint(
            "workspace_id", "statement_hash", name=op.f("uq_fact_workspace_id_statement_hash")
        ),
    )
    op.create_index(
        "ix_fact_workspace_id_entity_id_property",
        "fact",
        ["workspace_id", "entity_id", "property", "as_of"],
        unique=False,
    )
    op.create_index(
        "ix_fact_workspace_id_property_as_of",
        "fact",
        ["workspace_id", "property", "as_of"],
        unique=False,
    )
    op.create_table(
        "relation",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("subject_ref", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("predicate", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("object_ref", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("signal_id", sa.Uuid(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column(
            "properties",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("statement_hash", sa.LargeBinary(), nullable=False),
        *_seen(),
        sa.CheckConstraint("confidence BETWEEN 0 AND 1", name=op.f("ck_relation_confidence_range")),
        sa.CheckConstraint(
            "predicate ~ '^[a-z][a-z0-9_]*$'", name=op.f("ck_relation_predicate_snake_case")
        ),
        sa.CheckConstraint("valid_to >= valid_from", name=op.f("ck_relation_valid_range")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "object_id"],
            ["entity.workspace_id", "entity.id"],
            name="fk_relation_object_id_entity",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "source_id"],
            ["source.workspace_id", "source.id"],
            name=op.f("fk_relation_workspace_id_source"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "subject_id"],
            ["entity.workspace_id", "entity.id"],
            name="fk_relation_subject_id_entity",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_relation")),
        sa.UniqueConstraint(
            "workspace_id", "statement_hash", name=op.f("uq_relation_workspace_id_statement_hash")
        ),
    )
    op.create_index(
        "ix_relation_workspace_id_object_id_predicate",
        "relation",
        ["workspace_id", "object_id", "predicate"],
        unique=False,
    )
    op.create_index(
        "ix_relation_workspace_id_subject_id_predicate",
        "relation",
        ["workspace_id", "subject_id", "predicate"],
        unique=False,
    )
    for table, object_column, keys in AUDITED:
        for statement in audit_triggers_sql(table, object_column, keys):
            op.execute(statement)


def downgrade() -> None:
    for table, _, _ in AUDITED:
        for statement in drop_audit_triggers_sql(table):
            op.execute(statement)
    op.drop_index("ix_relation_workspace_id_subject_id_predicate", table_name="relation")
    op.drop_index("ix_relation_workspace_id_object_id_predicate", table_name="relation")
    op.drop_table("relation")
    op.drop_index("ix_fact_workspace_id_property_as_of", table_name="fact")
    op.drop_index("ix_fact_workspace_id_entity_id_property", table_name="fact")
    op.drop_table("fact")
    op.drop_table("fact_property")
