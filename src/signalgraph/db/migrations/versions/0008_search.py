"""search: language-aware full-text search on signals (generated tsvector, GIN index)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen copies: the model (schema/signals.py) holds the same text.
TS_CONFIG_FUNCTION = """
CREATE OR REPLACE FUNCTION ts_config(lang text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE lower(left(coalesce(lang, ''), 2))
        WHEN 'en' THEN 'english' WHEN 'de' THEN 'german' WHEN 'fr' THEN 'french'
        WHEN 'es' THEN 'spanish' WHEN 'it' THEN 'italian' WHEN 'nl' THEN 'dutch'
        WHEN 'pt' THEN 'portuguese' WHEN 'sv' THEN 'swedish' WHEN 'da' THEN 'danish'
        WHEN 'no' THEN 'norwegian' WHEN 'nb' THEN 'norwegian' WHEN 'fi' THEN 'finnish'
        WHEN 'ru' THEN 'russian' WHEN 'tr' THEN 'turkish' WHEN 'hu' THEN 'hungarian'
        WHEN 'ro' THEN 'romanian' ELSE 'simple' END::regconfig
$$
"""
SEARCH_EXPRESSION = (
    "setweight(to_tsvector(ts_config(lang), left(coalesce(title, ''), 10000)), 'A') || "
    "setweight(to_tsvector(ts_config(lang), left(coalesce(text, ''), 100000)), 'B')"
)


def upgrade() -> None:
    op.execute(TS_CONFIG_FUNCTION)
    op.execute(
        f"ALTER TABLE signal ADD COLUMN search tsvector GENERATED ALWAYS AS ({SEARCH_EXPRESSION}) "
        "STORED"
    )
    # `signals search`: the signals whose words match a full-text query.
    op.execute("CREATE INDEX ix_signal_search ON signal USING gin (search)")
    # A larger sample of word frequencies, so the planner knows a rare word is rare (and
    # uses the index) from a common one (and walks newest first). Recurses to the
    # existing partitions; new ones get it where they are made (partitions.py).
    op.execute("ALTER TABLE signal ALTER COLUMN search SET STATISTICS 1000")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_signal_search")
    op.execute("ALTER TABLE signal DROP COLUMN search")
    op.execute("DROP FUNCTION IF EXISTS ts_config(text)")
