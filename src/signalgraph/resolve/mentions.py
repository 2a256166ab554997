"""Mentions into records: unresolved mentions grouped one record per source, type, name
and identifiers, so that the resolver decides them like any other record."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import psycopg

from signalgraph.ids import uuid7
from signalgraph.resolve import queries
from signalgraph.resolve.compare import blocking_keys, make_profile
from signalgraph.resolve.identifiers import normalize_identifiers
from signalgraph.resolve.names import normalize_name

MENTION_TYPES = {
    "company": "company",
    "companies": "company",
    "business": "company",
    "org": "organization",
    "organization": "organization",
    "organisation": "organization",
    "investor": "organization",
    "person": "person",
    "per": "person",
    "people": "person",
    "author": "person",
    "product": "product",
    "drug": "drug",
    "place": "place",
    "location": "place",
    "loc": "place",
    "gpe": "place",
    "topic": "topic",
}
MENTIONS_PER_CHUNK = 20000


def mention_type(raw: str) -> str:
    """Return the entity type a mention's type (an NER label) maps to."""
    return MENTION_TYPES.get(raw.strip().lower(), "other")


def mentions_to_records(
    connection: psycopg.Connection[Any],
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    source_id: uuid.UUID | None,
    entity_type: str | None,
) -> Iterator[int]:
    """Group unresolved mentions into records, a chunk at a time; yield each chunk's number
    of mentions once it is written (the caller commits it)."""
    params = {"ws": workspace_id, "source": source_id, "limit": MENTIONS_PER_CHUNK}
    while True:
        rows = connection.execute(queries.UNRESOLVED_MENTIONS, params).fetchall()
        if entity_type is not None:
            rows = [r for r in rows if mention_type(r[2]) == entity_type]
        if not rows:
            connection.rollback()
            return
        groups: dict[tuple[Any, ...], dict[str, Any]] = {}
        for signal_id, ordinal, raw_type, text, identifiers, source in rows:
            kind = mention_type(raw_type)
            norm = normalize_name(text, kind) or text.strip().casefold()
            valid, _ = normalize_identifiers(identifiers or {})
            signature = orjson.dumps(valid, option=orjson.OPT_SORT_KEYS).decode()
            group = groups.setdefault(
                (source, kind, norm, signature),
                {"names": {}, "identifiers": valid, "mentions": []},
            )
            group["names"][text.strip()] = group["names"].get(text.strip(), 0) + 1
            group["mentions"].append((signal_id, ordinal))
        payload = []
        for (source, kind, norm, signature), group in groups.items():
            names = sorted(group["names"], key=lambda n: -group["names"][n])
            payload.append(
                {
                    "id": str(uuid7()),
                    "source_id": str(source),
                    "external_id": _external_id(kind, norm, signature),
                    "type": kind,
                    "name": names[0],
                    "aliases": names[1:],
                    "identifiers": group["identifiers"],
                    "hash": hashlib.sha256(f"{kind}|{norm}|{signature}".encode()).hexdigest(),
                }
            )
        stored = connection.execute(
            queries.MENTION_RECORDS,
            {"ws": workspace_id, "run": run_id, "rows": queries.document(payload)},
        ).fetchall()
        record_of = {(row[1], row[2]): row[0] for row in stored}
        keys: list[dict[str, str]] = []
        for record_id, _, _, kind, name, aliases, identifiers in stored:
            profile = make_profile(record_id, None, kind, name, aliases or [], identifiers, {})
            keys.extend({"k": key, "r": str(record_id)} for key in blocking_keys(profile))
        connection.execute(
            queries.RECORD_KEYS, {"ws": workspace_id, "rows": queries.document(keys)}
        )
        links: list[dict[str, Any]] = []
        for (source, kind, norm, signature), group in groups.items():
            record_id = record_of[(source, _external_id(kind, norm, signature))]
            links.extend(
                {"s": str(signal_id), "o": ordinal, "r": str(record_id)}
                for signal_id, ordinal in group["mentions"]
            )
        connection.execute(
            queries.MENTIONS_TO_RECORDS, {"ws": workspace_id, "rows": queries.document(links)}
        )
        yield len(rows)


def _external_id(kind: str, norm: str, signature: str) -> str:
    digest = hashlib.sha256(signature.encode()).hexdigest()[:12]
    return f"mention:{kind}:{norm}:{digest}"
