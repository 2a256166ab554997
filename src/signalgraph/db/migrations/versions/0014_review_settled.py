"""review settled: a review item says why it left the queue, and who or what took it out

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

A review item asks whether two entities are one. When they become one some other way (a
concurrent resolve run, `entities merge`, a decision on another pair that joined the
clusters), the question is moot: the item is now `settled`, with `resolution = 'merged'`,
the merge that did it (`merge_id`, when known) and `decided_by`. Items a person decides
keep `status = 'decided'` with `resolution = 'judged'` and their judgement.

Existing items are left as they are: the resolver and `review list` settle pending items
whose pair is one entity, so an upgraded database catches up on first use.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("review_item", sa.Column("resolution", sa.Text(), nullable=True))
    op.add_column("review_item", sa.Column("decided_by", sa.Text(), nullable=True))
    op.add_column("review_item", sa.Column("merge_id", sa.Uuid(), nullable=True))
    op.drop_constraint(op.f("ck_review_item_status_known"), "review_item", type_="check")
    op.create_check_constraint(
        op.f("ck_review_item_status_known"),
        "review_item",
        "status IN ('pending', 'decided', 'settled', 'obsolete')",
    )


def downgrade() -> None:
    # `settled` has no older equivalent but `obsolete` (no longer a question).
    op.execute("UPDATE review_item SET status = 'obsolete' WHERE status = 'settled'")
    op.drop_constraint(op.f("ck_review_item_status_known"), "review_item", type_="check")
    op.create_check_constraint(
        op.f("ck_review_item_status_known"),
        "review_item",
        "status IN ('pending', 'decided', 'obsolete')",
    )
    op.drop_column("review_item", "merge_id")
    op.drop_column("review_item", "decided_by")
    op.drop_column("review_item", "resolution")
