"""mention.published_at: signals of an entity walked newest first from the mention index

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE mention ADD COLUMN published_at timestamptz")
    op.execute(
        """
        UPDATE mention m SET published_at = s.published_at
        FROM signal s WHERE s.workspace_id = m.workspace_id AND s.id = m.signal_id
        """
    )
    # A mention without its signal (none should exist; `db check --deep` counts them)
    # keeps when it was recorded rather than failing the migration.
    op.execute("UPDATE mention SET published_at = created_at WHERE published_at IS NULL")
    op.execute("ALTER TABLE mention ALTER COLUMN published_at SET NOT NULL")
    # `signals list --entity`: the entity's records' mentions in the signal list's order.
    op.execute(
        "CREATE INDEX ix_mention_workspace_id_record_id_published_at_signal_id ON mention "
        "(workspace_id, record_id, published_at DESC, signal_id DESC)"
    )
    op.execute("DROP INDEX ix_mention_workspace_id_record_id")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX ix_mention_workspace_id_record_id ON mention (workspace_id, record_id)"
    )
    op.execute("DROP INDEX ix_mention_workspace_id_record_id_published_at_signal_id")
    op.execute("ALTER TABLE mention DROP COLUMN published_at")
