"""The resolution funnel: identifiers, blocking, scoring, decision, incremental.

Each pass takes a batch of unresolved records (claimed with SKIP LOCKED, so concurrent
resolvers share the work instead of repeating it), finds candidates through record
keys (identifiers, normalised names, name tokens, person keys), scores every candidate
with the Fellegi-Sunter model and decides in input order: a shared unique identifier
links; a match probability above the link threshold links; between the thresholds the
record gets a new entity and the pair goes to review; below, a new entity. Mentions are
first turned into records (one per source, type and name), then resolved the same way.
Only unresolved data is read: history is never compared again.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
from psycopg.types.json import Jsonb, set_json_loads

from signalgraph.audit import ensure_partitions_once
from signalgraph.db.engine import act_for_run, dedicated_connection
from signalgraph.ids import uuid7
from signalgraph.load.batches import json_list
from signalgraph.resolve import queries
from signalgraph.resolve.compare import (
    Profile,
    blocking_keys,
    compare,
    family,
    fields_for,
    make_profile,
    set_weights,
    token_key,
    unique_agreement,
)
from signalgraph.resolve.identifiers import normalize_identifiers
from signalgraph.resolve.model import TF_FIELDS, Model, probability, train
from signalgraph.resolve.names import PERSON_TYPES, normalize_name
from signalgraph.resolve.review_queue import RAISE, settle_moot
from signalgraph.runs import finish_run, record_run, start_run
from signalgraph.sources import find_source

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope

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
# A key shared by more records than this says too little to block on: 0.2 % of the
# workspace's records, but never fewer than 100 or more than 1000.
KEY_CAP_SHARE, KEY_CAP_MIN, KEY_CAP_MAX = 0.002, 100, 1000
MAX_CANDIDATES = 40
TRAIN_MIN_RECORDS = 100
TRAIN_SAMPLE = 3000
# A record that matches one record of an entity but is clearly not another of its records
# is not linked automatically (it goes to review): single-link chains through one
# ambiguous record ("Acadia" between Acadia Realty and Acadia Pharmaceuticals) stop here.
VETO = 0.05
TF_SMOOTHING = 2000  # records' worth of weight given to the model's average frequency
# What a run counts, every one reported (zero included) in this order.
COUNTERS = (
    "mentions",  # mentions grouped into records
    "records",  # records decided
    "linked_by_identifier",
    "linked_by_score",
    "new_entities",
    "review",  # pairs sent to review
    "conflicts",  # records whose unique identifiers disagree with a likely match
    "models_trained",
    "merged_concurrent",  # entities merged into their twin from a concurrent run
    "reviews_settled",  # pending review items found at the end already one entity
)

# How many records hold each key, counted only so far: a name word up to WORD_COUNT_LIMIT
# (beyond it a word is common whatever its exact count), any other key just past the
# blocking cap. Counting a word held by half the workspace would cost a long index scan
# per batch.
WORD_COUNT_LIMIT = 2000


@dataclass
class ResolveResult:
    """What a resolve run did."""

    run_id: uuid.UUID
    status: str
    counters: dict[str, int]
    duration_s: float
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None

    @property
    def records_per_s(self) -> float:
        """Return records resolved per second."""
        return self.counters.get("records", 0) / self.duration_s if self.duration_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Return the result as a plain dict."""
        return asdict(self) | {"records_per_s": round(self.records_per_s, 1)}


@dataclass
class Candidate:
    """The best evidence that a record belongs to one entity."""

    entity_id: uuid.UUID
    weight: float
    probability: float
    levels: dict[str, int | None]
    contributions: dict[str, float]
    record_id: uuid.UUID
    certain: bool = False
    conflict: bool = False
    worst: float = 1.0  # the lowest match probability with any compared record of the entity


def mention_type(raw: str) -> str:
    """Return the entity type a mention's type (an NER label) maps to."""
    return MENTION_TYPES.get(raw.strip().lower(), "other")


def _profile(row: Any, entity_id: uuid.UUID | None = None) -> Profile:
    return make_profile(
        row[0], entity_id, row[3], row[4], row[5] or [], row[6] or {}, row[7] or {}, row[8]
    )


class Resolver:
    """One resolve run over a workspace (optionally one source or one entity type)."""

    def __init__(
        self,
        scope: Scope,
        *,
        source: str | None = None,
        entity_type: str | None = None,
        retrain: bool = False,
        batch_size: int = 5000,
        actor: str | None = None,
        progress: Callable[[dict[str, int]], None] | None = None,
    ) -> None:
        self.scope = scope
        self.settings = scope.settings
        self.source_name = source
        self.entity_type = entity_type
        self.retrain = retrain
        self.batch_size = batch_size
        self.actor = actor
        self.progress = progress
        self.link = self.settings.resolve_link_threshold
        self.review = self.settings.resolve_review_threshold
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.models: dict[str, Model] = {}
        self.created: list[uuid.UUID] = []
        with scope.transaction() as conn:
            self.workspace_id = scope.workspace_id_in(conn)
            self.source_id = (
                find_source(conn, self.workspace_id, source, workspace_name=scope.workspace_name).id
                if source
                else None
            )

    # -- the run -----------------------------------------------------------------------

    def run(self) -> ResolveResult:
        """Resolve every unresolved mention and record in scope; return the run's result."""
        started = time.perf_counter()
        ensure_partitions_once(self.scope)
        with self.scope.transaction() as connection:
            run_id = start_run(
                connection, self.workspace_id, "resolve", source_id=self.source_id,
                params={"source": self.source_name, "type": self.entity_type,
                        "retrain": self.retrain},
                actor=self.actor,
            )  # fmt: skip
        self.run_id = run_id
        status, error = "succeeded", None
        conn = dedicated_connection(self.scope.url, self.settings)
        set_json_loads(orjson.loads, conn)
        act_for_run(conn, run_id, self.actor)
        conn.commit()  # settings made in a transaction last only if it commits
        try:
            self._mentions_to_records(conn)
            for entity_type in self._types(conn):
                model = self._model(conn, entity_type)
                population = self._population(conn)
                while self._resolve_batch(conn, entity_type, model, population):
                    pass
            self._reconcile(conn)
            self._settle_reviews()
        except BaseException as exc:
            conn.rollback()
            status = "cancelled" if isinstance(exc, KeyboardInterrupt) else "failed"
            error = str(exc) or type(exc).__name__
            self._finish(status, error)
            raise
        finally:
            conn.close()
        self._finish(status, error)
        return ResolveResult(
            run_id=run_id,
            status=status,
            counters=dict(self.counters),
            duration_s=time.perf_counter() - started,
            models={
                name: {"trained": model.trained, "pairs": model.pairs, "prior": model.prior}
                for name, model in self.models.items()
            },
            error=error,
        )

    def _finish(self, status: str, error: str | None) -> None:
        with self.scope.transaction() as connection:
            finish_run(connection, self.workspace_id, self.run_id, status, error=error)

    def _settle_reviews(self) -> None:
        """Settle review items whose pair became one entity while items were being raised."""
        with self.scope.transaction(actor=self.actor) as connection:
            settled = settle_moot(connection, self.workspace_id, decided_by=self.actor or "resolve")
        self.counters["reviews_settled"] += settled

    def _record(self, conn: psycopg.Connection[Any], counts: dict[str, int]) -> None:
        record_run(
            conn, self.workspace_id, self.run_id, counters=counts, progress=dict(self.counters)
        )
        conn.commit()
        if self.progress is not None:
            self.progress(dict(self.counters))

    def _types(self, conn: psycopg.Connection[Any]) -> list[str]:
        if self.entity_type is not None:
            return [self.entity_type]
        rows = conn.execute(
            "SELECT DISTINCT type FROM entity_record WHERE workspace_id = %s "
            "AND entity_id IS NULL AND (%s::uuid IS NULL OR source_id = %s::uuid)",
            (self.workspace_id, self.source_id, self.source_id),
        ).fetchall()
        conn.rollback()
        return sorted(row[0] for row in rows)

    def _population(self, conn: psycopg.Connection[Any]) -> int:
        """Return the number of records in the workspace (record keys count across types)."""
        row = conn.execute(
            "SELECT count(*) FROM entity_record WHERE workspace_id = %s", (self.workspace_id,)
        ).fetchone()
        conn.rollback()
        return max(int(row[0]) if row else 1, 1)

    # -- mentions -----------------------------------------------------------------------

    def _mentions_to_records(self, conn: psycopg.Connection[Any]) -> None:
        """Group unresolved mentions into records: one per source, type, name and ids."""
        while True:
            rows = conn.execute(
                """
                SELECT m.signal_id, m.ordinal, m.type, m.text, m.identifiers, k.source_id
                FROM mention m
                JOIN signal_key k ON k.workspace_id = m.workspace_id AND k.signal_id = m.signal_id
                WHERE m.workspace_id = %s AND m.record_id IS NULL
                  AND (%s::uuid IS NULL OR k.source_id = %s::uuid)
                LIMIT 20000
                """,
                (self.workspace_id, self.source_id, self.source_id),
            ).fetchall()
            if self.entity_type is not None:
                rows = [r for r in rows if mention_type(r[2]) == self.entity_type]
            if not rows:
                conn.rollback()
                return
            groups: dict[tuple[Any, ...], dict[str, Any]] = {}
            for signal_id, ordinal, raw_type, text, identifiers, source_id in rows:
                kind = mention_type(raw_type)
                norm = normalize_name(text, kind) or text.strip().casefold()
                valid, _ = normalize_identifiers(identifiers or {})
                signature = orjson.dumps(valid, option=orjson.OPT_SORT_KEYS).decode()
                key = (source_id, kind, norm, signature)
                group = groups.setdefault(
                    key,
                    {"names": {}, "identifiers": valid, "mentions": []},
                )
                group["names"][text.strip()] = group["names"].get(text.strip(), 0) + 1
                group["mentions"].append((signal_id, ordinal))
            payload = []
            for (source_id, kind, norm, signature), group in groups.items():
                digest = hashlib.sha256(signature.encode()).hexdigest()[:12]
                names = sorted(group["names"], key=lambda n: -group["names"][n])
                payload.append(
                    {
                        "id": str(uuid7()),
                        "source_id": str(source_id),
                        "external_id": f"mention:{kind}:{norm}:{digest}",
                        "type": kind,
                        "name": names[0],
                        "aliases": names[1:],
                        "identifiers": group["identifiers"],
                        "hash": hashlib.sha256(f"{kind}|{norm}|{signature}".encode()).hexdigest(),
                    }
                )
            stored = conn.execute(
                """
                INSERT INTO entity_record (workspace_id, id, source_id, external_id, type, name,
                    aliases, identifiers, properties, record_hash, run_id)
                SELECT %(ws)s, d.id, d.source_id, d.external_id, d.type, d.name, d.aliases,
                    d.identifiers, '{"from": "mentions"}'::jsonb, decode(d.hash, 'hex'), %(run)s
                FROM jsonb_to_recordset(%(rows)s::jsonb) AS d(id uuid, source_id uuid,
                    external_id text, type text, name text, aliases text[], identifiers jsonb,
                    hash text)
                ON CONFLICT (workspace_id, source_id, external_id) DO UPDATE
                    SET aliases = ARRAY(SELECT DISTINCT unnest(entity_record.aliases
                                        || EXCLUDED.aliases)),
                        updated_at = now()
                RETURNING id, source_id, external_id, type, name, aliases, identifiers
                """,
                {
                    "ws": self.workspace_id,
                    "run": self.run_id,
                    "rows": orjson.dumps(payload).decode(),
                },
            ).fetchall()
            record_of = {(row[1], row[2]): row[0] for row in stored}
            keys: list[dict[str, str]] = []
            for record_id, _, _, kind, name, aliases, identifiers in stored:
                profile = make_profile(record_id, None, kind, name, aliases or [], identifiers, {})
                keys.extend({"k": key, "r": str(record_id)} for key in blocking_keys(profile))
            conn.execute(
                """
                INSERT INTO record_key (workspace_id, key, record_id)
                SELECT %s, d.k, d.r FROM jsonb_to_recordset(%s::jsonb) AS d(k text, r uuid)
                ON CONFLICT DO NOTHING
                """,
                (self.workspace_id, orjson.dumps(keys).decode()),
            )
            links: list[dict[str, Any]] = []
            for (source_id, kind, norm, signature), group in groups.items():
                digest = hashlib.sha256(signature.encode()).hexdigest()[:12]
                record_id = record_of[(source_id, f"mention:{kind}:{norm}:{digest}")]
                links.extend(
                    {"s": str(signal_id), "o": ordinal, "r": str(record_id)}
                    for signal_id, ordinal in group["mentions"]
                )
            conn.execute(
                """
                UPDATE mention m SET record_id = d.r
                FROM jsonb_to_recordset(%s::jsonb) AS d(s uuid, o int, r uuid)
                WHERE m.workspace_id = %s AND m.signal_id = d.s AND m.ordinal = d.o
                """,
                (orjson.dumps(links).decode(), self.workspace_id),
            )
            self.counters["mentions"] += len(rows)
            self._record(conn, {"mentions": len(rows)})

    # -- model ---------------------------------------------------------------------------

    def _model(self, conn: psycopg.Connection[Any], entity_type: str) -> Model:
        row = conn.execute(
            "SELECT params, pairs FROM resolution_model "
            "WHERE workspace_id = %s AND entity_type = %s",
            (self.workspace_id, entity_type),
        ).fetchone()
        conn.rollback()
        if row is not None and not self.retrain:
            model = Model.from_params(entity_type, row[0], row[1])
        else:
            model = self._train(conn, entity_type) or Model.default(entity_type)
        self.models[entity_type] = model
        return model

    def _train(self, conn: psycopg.Connection[Any], entity_type: str) -> Model | None:
        """Estimate the model from a sample of this type's records, if there are enough."""
        rows = conn.execute(
            "SELECT id, source_id, external_id, type, name, aliases, identifiers, properties, "
            "created_at FROM entity_record WHERE workspace_id = %s AND type = %s "
            "ORDER BY random() LIMIT %s",
            (self.workspace_id, entity_type, TRAIN_SAMPLE),
        ).fetchall()
        if len(rows) < TRAIN_MIN_RECORDS:
            conn.rollback()
            return None
        sample = [_profile(row) for row in rows]
        fields = fields_for(entity_type)
        candidates, lookup = self._candidates(conn, sample, set(), self._population(conn))
        rng = random.Random(len(sample))
        random_pairs = [
            compare(a, b)
            for a, b in (rng.sample(sample, 2) for _ in range(min(20_000, len(sample) * 10)))
        ]
        by_id = {p.record_id: p for p in sample} | lookup
        pairs = []
        for profile in sample:
            for other in candidates.get(profile.record_id, []):
                partner = by_id.get(other)
                if partner is not None and family(partner.type) == family(entity_type):
                    pairs.append(compare(profile, partner))
        conn.rollback()
        model = train(entity_type, pairs, random_pairs, fields, person=entity_type in PERSON_TYPES)
        conn.execute(
            """
            INSERT INTO resolution_model (workspace_id, entity_type, params, pairs, trained_at)
            VALUES (%s, %s, %s, %s, now())
            ON CONFLICT (workspace_id, entity_type) DO UPDATE
                SET params = EXCLUDED.params, pairs = EXCLUDED.pairs, trained_at = now()
            """,
            (self.workspace_id, entity_type, Jsonb(model.params()), len(pairs)),
        )
        conn.commit()
        self.counters["models_trained"] += 1
        return model

    # -- candidates ------------------------------------------------------------------------

    def _candidates(
        self,
        conn: psycopg.Connection[Any],
        profiles: Sequence[Profile],
        batch: set[uuid.UUID],
        population: int,
    ) -> tuple[dict[uuid.UUID, list[uuid.UUID]], dict[uuid.UUID, Profile]]:
        """Return each profile's candidate record ids, and the profiles of stored candidates."""
        wanted: dict[uuid.UUID, list[str]] = {}
        for profile in profiles:
            profile.keys = blocking_keys(profile)
            wanted[profile.record_id] = profile.keys
        all_keys = sorted({key for keys in wanted.values() for key in keys})
        cap = min(max(int(population * KEY_CAP_SHARE), KEY_CAP_MIN), KEY_CAP_MAX)
        self.frequency = dict(
            conn.execute(
                queries.FREQ, (self.workspace_id, WORD_COUNT_LIMIT, cap + 1, json_list(all_keys))
            ).fetchall()
        )
        usable = {
            key
            for key in all_keys
            if self.frequency.get(key, 0) <= cap and not key.startswith(("fn:", "ln:"))
        }
        # A shared rare key says more than a shared common one: rank by summed rarity.
        rarity = {
            key: math.log((population + 1) / max(self.frequency.get(key, 1), 1)) + 1.0
            for key in usable
        }
        pairs = [
            {"r": str(record_id), "k": key, "w": rarity[key]}
            for record_id, keys in wanted.items()
            for key in keys
            if key in usable
        ]
        candidates: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for record_id, other in conn.execute(
            queries.RANKED, (orjson.dumps(pairs).decode(), self.workspace_id, MAX_CANDIDATES)
        ).fetchall():
            candidates[record_id].append(other)
        needed = {other for ranked in candidates.values() for other in ranked} - batch
        lookup: dict[uuid.UUID, Profile] = {}
        if needed:
            for row in conn.execute(
                queries.RECORDS, (self.workspace_id, json_list(str(r) for r in needed))
            ).fetchall():
                record_id, entity_id, kind, name, aliases, identifiers, properties, created = row
                lookup[record_id] = make_profile(
                    record_id, entity_id, kind, name, aliases or [], identifiers or {},
                    properties or {}, created,
                )  # fmt: skip
        self._weigh_tokens(conn, [*profiles, *lookup.values()], population)
        return candidates, lookup

    def _weigh_tokens(
        self, conn: psycopg.Connection[Any], profiles: Sequence[Profile], population: int
    ) -> None:
        """Count the name words of these profiles (once per batch) and weigh each word."""
        missing = {
            key
            for profile in profiles
            for norm in profile.norms
            for key in map(token_key, norm.split())
            if key and key not in self.frequency
        }
        if missing:
            self.frequency.update(
                conn.execute(
                    queries.FREQ,
                    (
                        self.workspace_id,
                        WORD_COUNT_LIMIT,
                        WORD_COUNT_LIMIT,
                        json_list(sorted(missing)),
                    ),
                ).fetchall()
            )
        for profile in profiles:
            set_weights(profile, self.frequency, population)

    def _tf(self, profile: Profile, population: int, model: Model) -> dict[str, float]:
        """Return, per name field, how common this record's value is (smoothed).

        The adjustment applies to exact agreement only, so the count leaves out the record
        itself and the candidate that shares the value (two "Apex Moss Analytics" records
        say nothing about the name being common). It is blended with the model's average
        exact-match u so that a small workspace, where every name is "frequent", does not
        discount every name.
        """
        tf: dict[str, float] = {}
        values = {"name": profile.norm, "first_name": profile.first, "last_name": profile.last}
        for name, (level, prefix) in TF_FIELDS.items():
            value = values.get(name)
            if not value or name not in model.u:
                continue
            others = max(self.frequency.get(f"{prefix}:{value}", 2) - 2, 0)
            average = model.u[name][level]
            tf[name] = (others + average * TF_SMOOTHING) / (population + TF_SMOOTHING)
        return tf

    def score(
        self,
        profile: Profile,
        others: Iterable[Profile],
        model: Model,
        population: int,
    ) -> list[Candidate]:
        """Return the best candidate per entity, strongest first."""
        tf = self._tf(profile, population, model)
        best: dict[uuid.UUID, Candidate] = {}
        conflicts: set[uuid.UUID] = set()
        for other in others:
            if other.entity_id is None or family(other.type) != family(profile.type):
                continue
            shared, conflict = unique_agreement(profile, other)
            if conflict:
                conflicts.add(other.entity_id)
            levels = compare(profile, other)
            weight, contributions = model.weigh(levels, tf)
            chance = probability(weight)
            current = best.get(other.entity_id)
            worst = min(chance, current.worst) if current else chance
            if current is None or shared > current.certain or weight > current.weight:
                best[other.entity_id] = Candidate(
                    other.entity_id, weight, chance, levels, contributions, other.record_id,
                    certain=shared or (current.certain if current else False),
                )  # fmt: skip
            best[other.entity_id].worst = worst
        for entity_id in conflicts:
            if entity_id in best:
                best[entity_id].conflict = True
        return sorted(
            best.values(), key=lambda c: (c.certain and not c.conflict, c.weight), reverse=True
        )

    # -- one batch -------------------------------------------------------------------------

    def _resolve_batch(
        self, conn: psycopg.Connection[Any], entity_type: str, model: Model, population: int
    ) -> bool:
        rows = conn.execute(
            queries.CLAIM,
            {
                "ws": self.workspace_id,
                "type": entity_type,
                "source": self.source_id,
                "limit": self.batch_size,
            },
        ).fetchall()
        if not rows:
            conn.rollback()
            return False
        profiles = [_profile(row) for row in rows]
        batch_ids = {p.record_id for p in profiles}
        candidates, lookup = self._candidates(conn, profiles, batch_ids, population)
        in_batch = {p.record_id: p for p in profiles}
        assignments: list[dict[str, Any]] = []
        new_entities: list[dict[str, Any]] = []
        reviews: list[dict[str, Any]] = []
        flags: list[dict[str, Any]] = []
        counts: dict[str, int] = defaultdict(int)
        for profile in profiles:
            others = [
                lookup.get(other) or in_batch[other]
                for other in candidates.get(profile.record_id, [])
                if other in lookup or (other in in_batch and in_batch[other].entity_id is not None)
            ]
            ranked = self.score(profile, others, model, population)
            entity_id, evidence = self._decide(profile, ranked, reviews, flags, counts)
            if entity_id is None:
                entity_id = uuid7()
                new_entities.append(
                    {"id": str(entity_id), "type": profile.type, "name": profile.name}
                )
                self.created.append(entity_id)
                counts["new_entities"] += 1
                for review in reviews:
                    if review.get("pending_new"):
                        review["a"], review["b"] = _ordered(entity_id, review.pop("candidate"))
                        review.pop("pending_new")
            profile.entity_id = entity_id
            assignments.append(
                {"id": str(profile.record_id), "entity_id": str(entity_id), "resolution": evidence}
            )
        if new_entities:
            conn.execute(
                queries.NEW_ENTITIES, (self.workspace_id, orjson.dumps(new_entities).decode())
            )
        conn.execute(queries.ASSIGN, (orjson.dumps(assignments).decode(), self.workspace_id))
        if reviews:
            conn.execute(
                RAISE,
                {
                    "ws": self.workspace_id,
                    "run": self.run_id,
                    "rows": orjson.dumps(reviews).decode(),
                },
            )
        if flags:
            conn.execute(
                queries.FLAG,
                {"ws": self.workspace_id, "run": self.run_id, "rows": orjson.dumps(flags).decode()},
            )
        counts["records"] += len(profiles)
        for name, value in counts.items():
            self.counters[name] += value
        self._record(conn, dict(counts))
        return True

    def _decide(
        self,
        profile: Profile,
        ranked: list[Candidate],
        reviews: list[dict[str, Any]],
        flags: list[dict[str, Any]],
        counts: dict[str, int],
    ) -> tuple[uuid.UUID | None, dict[str, Any]]:
        """Return (entity to link to, or None for a new one) and the evidence to keep."""
        certain = [c for c in ranked if c.certain and not c.conflict]
        if len(certain) > 1:
            flags.append(
                _flag(
                    "identifier_conflict",
                    profile.record_id,
                    f"{profile.name}: shares unique identifiers with {len(certain)} different "
                    "entities; not linked, sent to review",
                    {"entities": [str(c.entity_id) for c in certain]},
                )
            )
            for candidate in certain:
                reviews.append(_review(None, candidate, pending_new=True))
            counts["conflicts"] += 1
            return None, _evidence("new", certain[0], self.run_id)
        if certain:
            counts["linked_by_identifier"] += 1
            return certain[0].entity_id, _evidence("identifier", certain[0], self.run_id)
        best = ranked[0] if ranked else None
        if (
            best is not None
            and best.probability >= self.link
            and best.worst >= VETO
            and not best.conflict
        ):
            counts["linked_by_score"] += 1
            runner = ranked[1] if len(ranked) > 1 else None
            if runner is not None and runner.probability >= self.link and not runner.conflict:
                # The record fits two entities well: they may be one.
                reviews.append(_review(best.entity_id, runner))
                counts["review"] += 1
            return best.entity_id, _evidence("score", best, self.run_id)
        if best is not None and best.probability >= self.review:
            if best.conflict:
                flags.append(
                    _flag(
                        "identifier_conflict",
                        profile.record_id,
                        f"{profile.name}: looks like an existing entity but their unique "
                        "identifiers differ; not linked, sent to review",
                        {"entity": str(best.entity_id)},
                    )
                )
                counts["conflicts"] += 1
            reviews.append(_review(None, best, pending_new=True))
            counts["review"] += 1
            return None, _evidence("new+review", best, self.run_id)
        return None, _evidence("new", best, self.run_id)

    # -- concurrent runs ---------------------------------------------------------------------

    def _overlapped(self, conn: psycopg.Connection[Any]) -> bool:
        """Tell whether another resolve run in this workspace ran while this one did."""
        row = conn.execute(
            """
            SELECT EXISTS (
                SELECT 1 FROM run o JOIN run me
                  ON me.workspace_id = o.workspace_id AND me.id = %(run)s
                WHERE o.workspace_id = %(ws)s AND o.kind = 'resolve' AND o.id <> me.id
                  AND o.started_at <= now()
                  AND (o.finished_at IS NULL OR o.finished_at >= me.started_at))
            """,
            {"ws": self.workspace_id, "run": self.run_id},
        ).fetchone()
        conn.rollback()
        return bool(row and row[0])

    def _reconcile(self, conn: psycopg.Connection[Any]) -> None:
        """Merge entities this run created into matching ones another run made meanwhile."""
        from signalgraph.resolve.decisions import JudgedDifferent, MergedMeanwhile

        if not self.created or not self._overlapped(conn):
            return
        mine = set(self.created)
        for start in range(0, len(self.created), self.batch_size):
            chunk = self.created[start : start + self.batch_size]
            rows = conn.execute(
                "SELECT id, source_id, external_id, type, name, aliases, identifiers, "
                "properties, created_at, entity_id FROM entity_record WHERE workspace_id = %s "
                "AND entity_id IN (SELECT (jsonb_array_elements_text(%s::jsonb))::uuid)",
                (self.workspace_id, json_list(str(c) for c in chunk)),
            ).fetchall()
            profiles = [_profile(row[:9], row[9]) for row in rows]
            population = self._population(conn)
            candidates, lookup = self._candidates(conn, profiles, set(), population)
            conn.rollback()
            merges: dict[uuid.UUID, uuid.UUID] = {}
            for profile in profiles:
                others = [
                    lookup[o]
                    for o in candidates.get(profile.record_id, [])
                    if o in lookup and lookup[o].entity_id not in mine
                ]
                if not others or profile.entity_id in merges:
                    continue
                model = self.models.get(profile.type) or Model.default(profile.type)
                ranked = self.score(profile, others, model, population)
                strong = ranked and (ranked[0].certain or ranked[0].probability >= self.link)
                if strong and not ranked[0].conflict:
                    assert profile.entity_id is not None
                    merges[profile.entity_id] = ranked[0].entity_id
            for ours, theirs in merges.items():
                try:
                    with self.scope.transaction(actor=self.actor) as connection:
                        from signalgraph.resolve.decisions import canonical_ids, merge_entities

                        current = canonical_ids(connection, self.workspace_id, [ours, theirs])
                        if current[ours] != current[theirs]:
                            merge_entities(
                                connection,
                                self.workspace_id,
                                current[ours],
                                current[theirs],
                                actor=self.actor or "resolve",
                                reason="created concurrently by two resolve runs",
                            )
                            self.counters["merged_concurrent"] += 1
                except (JudgedDifferent, MergedMeanwhile):
                    continue


def _ordered(a: uuid.UUID, b: uuid.UUID) -> tuple[str, str]:
    first, second = (a, b) if a < b else (b, a)
    return str(first), str(second)


def _review(
    entity_id: uuid.UUID | None, candidate: Candidate, *, pending_new: bool = False
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": str(uuid7()),
        "probability": candidate.probability,
        "weight": candidate.weight,
        "features": {"levels": candidate.levels, "weights": candidate.contributions},
        "uncertainty": 1 - abs(2 * candidate.probability - 1) + 0.01,
    }
    if pending_new:
        item["pending_new"] = True
        item["candidate"] = candidate.entity_id
    else:
        assert entity_id is not None
        item["a"], item["b"] = _ordered(entity_id, candidate.entity_id)
    return item


def _flag(kind: str, record_id: uuid.UUID, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(uuid7()),
        "kind": kind,
        "object_type": "entity_record",
        "object_id": str(record_id),
        "message": message,
        "details": details,
    }


def _evidence(method: str, candidate: Candidate | None, run_id: uuid.UUID) -> dict[str, Any]:
    evidence: dict[str, Any] = {"method": method, "run_id": str(run_id)}
    if candidate is not None:
        evidence.update(
            candidate=str(candidate.entity_id),
            matched_record=str(candidate.record_id),
            probability=round(candidate.probability, 6),
            weight=round(candidate.weight, 3),
            levels=candidate.levels,
            weights={k: round(v, 3) for k, v in candidate.contributions.items()},
        )
    return evidence
