"""curation: lists and members, annotations, comments, custom fields, entity archive reason

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from signalgraph.db.audit_ddl import audit_triggers_sql, drop_audit_triggers_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Table, the uuid column naming the changed object (None: keyed by a name), key columns.
AUDITED: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("curated_list", "id", ("id",)),
    ("list_member", "id", ("id",)),
    ("annotation", "entity_id", ("entity_id",)),
    ("annotation_comment", "id", ("id",)),
    ("annotation_field", None, ("name",)),
)


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.add_column("entity", sa.Column("archive_reason", sa.Text(), nullable=True))
    op.create_table(
        "curated_list",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        _created_at(),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "length(name) BETWEEN 1 AND 200", name=op.f("ck_curated_list_name_length")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.workspace_id"],
            name=op.f("fk_curated_list_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_curated_list")),
    )
    op.create_index(
        "uq_curated_list_live_name",
        "curated_list",
        ["workspace_id", "name"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "list_member",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=True),
        sa.Column("signal_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("added_by", sa.Text(), nullable=True),
        _created_at(),
        sa.CheckConstraint(
            "num_nonnulls(entity_id, signal_id) = 1", name=op.f("ck_list_member_one_member")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "list_id"],
            ["curated_list.workspace_id", "curated_list.id"],
            name=op.f("fk_list_member_workspace_id_curated_list"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "entity_id"],
            ["entity.workspace_id", "entity.id"],
            name=op.f("fk_list_member_workspace_id_entity"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "signal_id"],
            ["signal_key.workspace_id", "signal_key.signal_id"],
            name=op.f("fk_list_member_workspace_id_signal_key"),
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_list_member")),
        sa.UniqueConstraint(
            "workspace_id",
            "list_id",
            "entity_id",
            name=op.f("uq_list_member_workspace_id_list_id_entity_id"),
        ),
        sa.UniqueConstraint(
            "workspace_id",
            "list_id",
            "signal_id",
            name=op.f("uq_list_member_workspace_id_list_id_signal_id"),
        ),
    )
    op.create_index(
        "ix_list_member_workspace_id_entity_id",
        "list_member",
        ["workspace_id", "entity_id"],
        unique=False,
        postgresql_where=sa.text("entity_id IS NOT NULL"),
    )
    op.create_index(
        "ix_list_member_workspace_id_signal_id",
        "list_member",
        ["workspace_id", "signal_id"],
        unique=False,
        postgresql_where=sa.text("signal_id IS NOT NULL"),
    )
    op.create_table(
        "annotation",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("stage", sa.Text(), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "fields",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("updated_by", sa.Text(), nullable=True),
        _created_at(),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "entity_id"],
            ["entity.workspace_id", "entity.id"],
            name=op.f("fk_annotation_workspace_id_entity"),
        ),
        sa.PrimaryKeyConstraint("workspace_id", "entity_id", name=op.f("pk_annotation")),
    )
    op.create_index(
        "ix_annotation_workspace_id_stage",
        "annotation",
        ["workspace_id", "stage"],
        unique=False,
        postgresql_where=sa.text("stage IS NOT NULL"),
    )
    op.create_index(
        "ix_annotation_workspace_id_rank",
        "annotation",
        ["workspace_id", "rank"],
        unique=False,
        postgresql_where=sa.text("rank IS NOT NULL"),
    )
    op.create_index(
        "ix_annotation_tags", "annotation", ["tags"], unique=False, postgresql_using="gin"
    )
    op.create_table(
        "annotation_comment",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        _created_at(),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "length(text) BETWEEN 1 AND 20000", name=op.f("ck_annotation_comment_text_length")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "entity_id"],
            ["entity.workspace_id", "entity.id"],
            name=op.f("fk_annotation_comment_workspace_id_entity"),
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_annotation_comment")),
    )
    op.create_index(
        "ix_annotation_comment_workspace_id_entity_id",
        "annotation_comment",
        ["workspace_id", "entity_id"],
        unique=False,
    )
    op.create_table(
        "annotation_field",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("allowed_values", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        _created_at(),
        sa.CheckConstraint(
            "type IN ('string', 'number', 'integer', 'boolean', 'date', 'enum')",
            name=op.f("ck_annotation_field_type_known"),
        ),
        sa.CheckConstraint(
            "(type = 'enum') = (allowed_values IS NOT NULL)",
            name=op.f("ck_annotation_field_enum_has_values"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.workspace_id"],
            name=op.f("fk_annotation_field_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "name", name=op.f("pk_annotation_field")),
    )
    for table, object_column, keys in AUDITED:
        for statement in audit_triggers_sql(table, object_column, keys):
            op.execute(statement)


def downgrade() -> None:
    for table, _, _ in AUDITED:
        for statement in drop_audit_triggers_sql(table):
            op.execute(statement)
    op.drop_table("annotation_field")
    op.drop_index("ix_annotation_comment_workspace_id_entity_id", table_name="annotation_comment")
    op.drop_table("annotation_comment")
    op.drop_index("ix_annotation_tags", table_name="annotation", postgresql_using="gin")
    op.drop_index(
        "ix_annotation_workspace_id_rank",
        table_name="annotation",
        postgresql_where=sa.text("rank IS NOT NULL"),
    )
    op.drop_index(
        "ix_annotation_workspace_id_stage",
        table_name="annotation",
        postgresql_where=sa.text("stage IS NOT NULL"),
    )
    op.drop_table("annotation")
    op.drop_index(
        "ix_list_member_workspace_id_signal_id",
        table_name="list_member",
        postgresql_where=sa.text("signal_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_list_member_workspace_id_entity_id",
        table_name="list_member",
        postgresql_where=sa.text("entity_id IS NOT NULL"),
    )
    op.drop_table("list_member")
    op.drop_index(
        "uq_curated_list_live_name",
        table_name="curated_list",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_table("curated_list")
    op.drop_column("entity", "archive_reason")
