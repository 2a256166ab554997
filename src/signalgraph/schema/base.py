"""Shared metadata: naming convention, the schema name and common column shapes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA = "signalgraph"
"""PostgreSQL schema that holds every signalgraph table (set as search_path on connect)."""

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def workspace_id_column() -> sa.Column[Any]:
    """Return the `workspace_id` column every table carries (first key column)."""
    return sa.Column("workspace_id", sa.Uuid, nullable=False)


def id_column() -> sa.Column[Any]:
    """Return the client-made UUIDv7 `id` column."""
    return sa.Column("id", sa.Uuid, nullable=False)


def workspace_fk() -> sa.ForeignKeyConstraint:
    """Return the foreign key from `workspace_id` to the workspace table."""
    return sa.ForeignKeyConstraint(["workspace_id"], ["workspace.workspace_id"], ondelete="CASCADE")


def created_at_column() -> sa.Column[Any]:
    """Return a `created_at timestamptz` column defaulting to now()."""
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def updated_at_column() -> sa.Column[Any]:
    """Return an `updated_at timestamptz` column defaulting to now()."""
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def jsonb_column(name: str, default: str = "{}") -> sa.Column[Any]:
    """Return a NOT NULL JSONB column with a literal default."""
    return sa.Column(name, JSONB, nullable=False, server_default=sa.text(f"'{default}'::jsonb"))
