"""search pairs: an index of a signal's adjacent word pairs, so phrases are looked up

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28

A phrase search ("merger acquisition") could only ask the full-text index for the signals
holding every word of the phrase, then read each one to check the word positions: two
common words share thousands of signals a month. Each pair of adjacent words of a
signal's search vector (the same stemmed words, title then text) is now hashed to one of
65,536 buckets, and a GIN index over the buckets lists, for each bucket, the signals with
such a pair. A phrase looks up the buckets of its pairs and checks the positions of that
handful only (a bucket also holds other pairs: a signal of n words is a false candidate
for a one-pair phrase with odds of about n in 65,536, 1 in 260 for 1-2 KB of text, and
the check removes it).

Building the index reads every signal once and holds a lock that blocks writes to
`signal` meanwhile (about 90 s per million short signals on 2 cores).
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The bucket of a pair of words: 16 bits of the md5 of "first second" (md5 is the same on
# every server and version, so the index never needs rebuilding after an upgrade).
PAIR_BUCKET = """
CREATE FUNCTION pair_bucket(first text, second text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ('x' || left(md5(first || ' ' || second), 4))::bit(16)::integer
"""

# The buckets of every pair of words at adjacent positions (position p and p + 1), which
# is what a phrase's `a <-> b` checks. The body is parsed when the function is made, so
# it does not depend on the search_path of whoever builds or uses the index.
PAIR_BUCKETS = """
CREATE FUNCTION word_pair_buckets(search tsvector) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(array_agg(DISTINCT pair_bucket(a.lexeme, b.lexeme)), '{}')
    FROM (SELECT w.lexeme, unnest(w.positions) AS position FROM unnest(search) AS w) AS a
    JOIN (SELECT w.lexeme, unnest(w.positions) AS position FROM unnest(search) AS w) AS b
        ON b.position = a.position + 1;
END
"""


def upgrade() -> None:
    op.execute(PAIR_BUCKET)
    op.execute(PAIR_BUCKETS)
    # A phrase search: the signals with a pair of the phrase's words (see module doc).
    op.execute(
        "CREATE INDEX ix_signal_search_pairs ON signal USING gin (word_pair_buckets(search))"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_signal_search_pairs")  # `db phrase-index off`
    op.execute("DROP FUNCTION word_pair_buckets(tsvector)")
    op.execute("DROP FUNCTION pair_bucket(text, text)")
