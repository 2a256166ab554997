"""near representatives: new signals are compared with representatives only, capped per band

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

Near-duplicate candidates were every fingerprint that is not an exact duplicate, near
duplicates included, so each copy of a story was compared with every earlier copy: the
work grew with the square of a group's size. The fingerprint now carries the signal's
`near_duplicate_of` too, and the band indexes hold representatives only (neither a
duplicate nor a near duplicate), with the signal id last so that the most recently
published representatives of a band value are read first, up to a cap.

Also `word_sketch`: the words of a short text, names and figures marked, which confirm
a near-duplicate pair (see `signalgraph.fingerprint`). Signals stored before have none,
and pairs with them are decided by the simhash alone, as before.

Copying the pointer reads every near duplicate once; rebuilding the four indexes reads
the fingerprint table four times and blocks ingest meanwhile.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

REPRESENTATIVE = "duplicate_of IS NULL AND near_duplicate_of IS NULL AND simhash IS NOT NULL"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE fingerprint ADD COLUMN near_duplicate_of uuid, ADD COLUMN word_sketch bytea"
    )
    op.execute(
        """
        UPDATE fingerprint f SET near_duplicate_of = s.near_duplicate_of
        FROM signal s
        WHERE s.workspace_id = f.workspace_id AND s.id = f.signal_id
          AND s.near_duplicate_of IS NOT NULL
        """
    )
    for band in range(4):
        op.execute(f"DROP INDEX ix_fingerprint_band{band}")
        op.execute(
            f"CREATE INDEX ix_fingerprint_representative_band{band} ON fingerprint "
            f"(workspace_id, band{band}, signal_id) WHERE {REPRESENTATIVE}"
        )


def downgrade() -> None:
    for band in range(4):
        op.execute(f"DROP INDEX ix_fingerprint_representative_band{band}")
        op.execute(
            f"CREATE INDEX ix_fingerprint_band{band} ON fingerprint (workspace_id, band{band}) "
            "WHERE duplicate_of IS NULL AND simhash IS NOT NULL"
        )
    op.execute("ALTER TABLE fingerprint DROP COLUMN word_sketch, DROP COLUMN near_duplicate_of")
