"""signal_moved: signals published outside their id's month, so date windows can prune

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28

A signal's id is a UUIDv7 made from its published time when it is first stored, and
signals are partitioned by id, so a date window maps to a range of ids, and to a few
monthly partitions, for every signal whose published time has not changed since (or
was not before 1970, where ids are clamped). The others, rare, are listed here by
row triggers on `signal`; a date window reads the id range plus the listed ones.
`signalgraph db check --deep` compares the list with the signals.

Also: the search vector is kept in the row (storage MAIN) rather than moved to the TOAST
table when a row is long, so a phrase search, which rechecks the word positions of each
candidate, reads one row instead of a row and its TOAST chunks. Rows written before
keep their storage until rewritten.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# True when the id's 48-bit time part is the published time's Unix millisecond.
IN_PLACE = """
CREATE FUNCTION signal_in_place(id uuid, published_at timestamptz) RETURNS boolean
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT ('x' || left(replace(id::text, '-', ''), 12))::bit(48)::bigint
           = floor(extract(epoch FROM published_at) * 1000)::bigint
$$
"""

KEEP = """
CREATE FUNCTION signal_moved_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' AND NOT signal_in_place(NEW.id, NEW.published_at) THEN
        INSERT INTO signal_moved AS m (workspace_id, signal_id, published_at)
        VALUES (NEW.workspace_id, NEW.id, NEW.published_at)
        ON CONFLICT (workspace_id, signal_id) DO UPDATE SET published_at = excluded.published_at;
    ELSE
        DELETE FROM signal_moved
        WHERE workspace_id = OLD.workspace_id AND signal_id = OLD.id;
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute("ALTER TABLE signal ALTER COLUMN search SET STORAGE MAIN")
    op.execute(IN_PLACE)
    op.create_table(
        "signal_moved",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("signal_id", sa.Uuid(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "signal_id", name=op.f("pk_signal_moved")),
    )
    # A date window: the listed signals published in it.
    op.create_index(
        "ix_signal_moved_workspace_id_published_at",
        "signal_moved",
        ["workspace_id", "published_at"],
    )
    op.execute(KEEP)
    # Row triggers whose WHEN is checked as each row is written: an insert in place (every
    # new signal from 1970 on) and an update leaving the time alone queue nothing.
    op.execute(
        "CREATE TRIGGER signal_moved_insert AFTER INSERT ON signal FOR EACH ROW "
        "WHEN (NOT signal_in_place(NEW.id, NEW.published_at)) "
        "EXECUTE FUNCTION signal_moved_keep()"
    )
    op.execute(
        "CREATE TRIGGER signal_moved_update AFTER UPDATE OF published_at ON signal "
        "FOR EACH ROW WHEN (OLD.published_at IS DISTINCT FROM NEW.published_at) "
        "EXECUTE FUNCTION signal_moved_keep()"
    )
    op.execute(
        "CREATE TRIGGER signal_moved_delete AFTER DELETE ON signal FOR EACH ROW "
        "WHEN (NOT signal_in_place(OLD.id, OLD.published_at)) "
        "EXECUTE FUNCTION signal_moved_keep()"
    )
    op.execute(
        "INSERT INTO signal_moved (workspace_id, signal_id, published_at) "
        "SELECT workspace_id, id, published_at FROM signal "
        "WHERE NOT signal_in_place(id, published_at)"
    )


def downgrade() -> None:
    for name in ("signal_moved_insert", "signal_moved_update", "signal_moved_delete"):
        op.execute(f"DROP TRIGGER {name} ON signal")
    op.execute("DROP FUNCTION signal_moved_keep()")
    op.execute("DROP TABLE signal_moved")
    op.execute("DROP FUNCTION signal_in_place(uuid, timestamptz)")
    op.execute("ALTER TABLE signal ALTER COLUMN search SET STORAGE EXTENDED")
