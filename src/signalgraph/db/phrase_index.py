"""The index of adjacent word pairs (migration 0012): on for fast phrases, off for ingest.

Each ingested signal adds a second set of full-text index entries, one per pair of
adjacent words; with texts of 1-2 KB that halves ingest throughput. A deployment that
ingests much and searches phrases little can drop the index: phrase searches then check
the word positions of every signal holding all the phrase's words, as before migration
0012, with the same results.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from signalgraph.schema import SCHEMA

PHRASE_INDEX = "ix_signal_search_pairs"


def phrase_index_on(connection: Connection) -> bool:
    """Return whether the index of adjacent word pairs exists."""
    return bool(
        connection.execute(
            sa.text("SELECT to_regclass(:name) IS NOT NULL"), {"name": f"{SCHEMA}.{PHRASE_INDEX}"}
        ).scalar_one()
    )


def set_phrase_index(engine: Engine, on: bool) -> bool:
    """Build or drop the index of adjacent word pairs; return whether anything changed."""
    from signalgraph.db.migrate import require_head  # alembic: not on the search path

    with engine.begin() as connection:
        # A build reads every signal: no configured statement time limit applies to it.
        connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
        require_head(connection)
        # Two builds at once: the second waits for the first, then finds the index.
        connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext('signalgraph phrase index'))")
        )
        if phrase_index_on(connection) == on:
            return False
        if on:
            # Reads every signal once; blocks writes to `signal` meanwhile (a drop, below,
            # briefly blocks reads too).
            connection.execute(
                sa.text(
                    f"CREATE INDEX {PHRASE_INDEX} ON {SCHEMA}.signal "
                    f"USING gin ({SCHEMA}.word_pair_buckets(search))"
                )
            )
        else:
            connection.execute(sa.text(f"DROP INDEX {SCHEMA}.{PHRASE_INDEX}"))
    return True
