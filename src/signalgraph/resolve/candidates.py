"""Blocking: a record's candidates are the records sharing its record keys, found by index.

Keys are counted first: a key held by too many records says too little to block on,
and the rarer the keys two records share, the better a candidate the other is. The same
counts weigh name words and exact names when pairs are scored (see scoring.py), so
they are counted here once, with the same limits, for the resolver and for `explain`.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from signalgraph.db import driver
from signalgraph.db.driver import AnyConnection
from signalgraph.resolve import queries
from signalgraph.resolve.compare import Profile, blocking_keys, make_profile

# A key shared by more records than this says too little to block on: 0.2 % of the
# workspace's records, but never fewer than 100 or more than 1000.
KEY_CAP_SHARE, KEY_CAP_MIN, KEY_CAP_MAX = 0.002, 100, 1000
MAX_CANDIDATES = 40
# How many records hold each key, counted only so far: a name word up to WORD_COUNT_LIMIT
# (beyond it a word is common whatever its exact count), any other key just past the
# blocking cap. Counting a word held by half the workspace would cost a long index scan
# per batch.
WORD_COUNT_LIMIT = 2000


@dataclass
class Candidates:
    """Each record's candidate record ids (best first), the stored ones' profiles, and
    how many records hold each key counted so far."""

    ranked: dict[uuid.UUID, list[uuid.UUID]]
    stored: dict[uuid.UUID, Profile]
    counts: dict[str, int]


def key_cap(population: int) -> int:
    """Return how many records may share a key that blocking still uses."""
    return min(max(int(population * KEY_CAP_SHARE), KEY_CAP_MIN), KEY_CAP_MAX)


def count_population(connection: AnyConnection, workspace_id: uuid.UUID) -> int:
    """Return the number of records in the workspace (at least 1)."""
    found = driver.rows(connection, queries.POPULATION, {"ws": workspace_id})
    return max(int(found[0][0]) if found else 1, 1)


def count_keys(
    connection: AnyConnection, workspace_id: uuid.UUID, keys: Iterable[str], *, population: int
) -> dict[str, int]:
    """Return how many records hold each key: name words counted up to WORD_COUNT_LIMIT,
    other keys just past the blocking cap (beyond, the exact count changes nothing)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    params = {
        "ws": workspace_id,
        "word_limit": WORD_COUNT_LIMIT,
        "key_limit": key_cap(population) + 1,
        "keys": queries.document(wanted),
    }
    return {key: int(held) for key, held in driver.rows(connection, queries.KEY_COUNTS, params)}


def profile_of(row: Sequence[Any], entity_id: uuid.UUID | None = None) -> Profile:
    """Build the profile of a record row in CLAIM's column order."""
    return make_profile(
        row[0], entity_id, row[3], row[4], row[5] or [], row[6] or {}, row[7] or {}, row[8]
    )


def find_candidates(
    connection: psycopg.Connection[Any],
    workspace_id: uuid.UUID,
    profiles: Sequence[Profile],
    *,
    batch: set[uuid.UUID],
    population: int,
) -> Candidates:
    """Return each profile's candidates (records of `batch` are not loaded again)."""
    wanted: dict[uuid.UUID, list[str]] = {}
    for profile in profiles:
        profile.keys = blocking_keys(profile)
        wanted[profile.record_id] = profile.keys
    all_keys = sorted({key for keys in wanted.values() for key in keys})
    cap = key_cap(population)
    counts = count_keys(connection, workspace_id, all_keys, population=population)
    usable = {
        key for key in all_keys if counts.get(key, 0) <= cap and not key.startswith(("fn:", "ln:"))
    }
    # A shared rare key says more than a shared common one: rank by summed rarity.
    rarity = {key: math.log((population + 1) / max(counts.get(key, 1), 1)) + 1.0 for key in usable}
    pairs = [
        {"r": str(record_id), "k": key, "w": rarity[key]}
        for record_id, keys in wanted.items()
        for key in keys
        if key in usable
    ]
    ranked: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    params = {"pairs": queries.document(pairs), "ws": workspace_id, "limit": MAX_CANDIDATES}
    for record_id, other in connection.execute(queries.RANKED, params).fetchall():
        ranked[record_id].append(other)
    needed = {other for found in ranked.values() for other in found} - batch
    return Candidates(ranked, load_profiles(connection, workspace_id, needed), counts)


def load_profiles(
    connection: psycopg.Connection[Any], workspace_id: uuid.UUID, record_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Profile]:
    """Return the profiles of stored records, by record id."""
    ids = [str(record_id) for record_id in record_ids]
    if not ids:
        return {}
    rows = connection.execute(
        queries.RECORDS, {"ws": workspace_id, "ids": queries.document(ids)}
    ).fetchall()
    profiles: dict[uuid.UUID, Profile] = {}
    for record_id, entity_id, kind, name, aliases, identifiers, properties, created in rows:
        profiles[record_id] = make_profile(
            record_id, entity_id, kind, name, aliases or [], identifiers or {},
            properties or {}, created,
        )  # fmt: skip
    return profiles
