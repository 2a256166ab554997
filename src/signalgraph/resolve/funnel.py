"""The resolution funnel's run: mentions into records, then each type's records in batches.

Each pass takes a batch of unresolved records (claimed with SKIP LOCKED, so concurrent
resolvers share the work instead of repeating it), finds candidates through record
keys (candidates.py), scores every candidate with the Fellegi-Sunter model (scoring.py)
and decides in input order (decide.py); reconcile.py writes the decisions and, at the
end, merges the entities a concurrent run made for the same things. Mentions are first
turned into records (mentions.py). Only unresolved data is read: history is never
compared again.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
from psycopg.types.json import set_json_loads

from signalgraph.db.engine import act_for_run, dedicated_connection
from signalgraph.db.errors import translate_driver_errors
from signalgraph.db.months import ensure_audit_months_once
from signalgraph.ids import uuid7
from signalgraph.resolve import candidates, queries, reconcile, scoring
from signalgraph.resolve.decide import decide
from signalgraph.resolve.mentions import mentions_to_records
from signalgraph.resolve.model import Model
from signalgraph.resolve.review_queue import settle_moot
from signalgraph.runs import finish_run, record_run, start_run
from signalgraph.sources import find_source

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope

TRAIN_MIN_RECORDS = 100
TRAIN_SAMPLE = 3000
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

    @translate_driver_errors()
    def run(self) -> ResolveResult:
        """Resolve every unresolved mention and record in scope; return the run's result."""
        started = time.perf_counter()
        ensure_audit_months_once(self.scope.engine, self.scope.done)
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
            for grouped in mentions_to_records(
                conn, self.workspace_id, run_id,
                source_id=self.source_id, entity_type=self.entity_type,
            ):  # fmt: skip
                self.counters["mentions"] += grouped
                self._record(conn, {"mentions": grouped})
            for entity_type in self._types(conn):
                model = self._model(conn, entity_type)
                population = self._population(conn)
                while self._resolve_batch(conn, entity_type, model, population):
                    pass
            if self.created and reconcile.overlapped(conn, self.workspace_id, run_id):
                self.counters["merged_concurrent"] += reconcile.merge_twins(
                    self.scope, conn, self.workspace_id, self.created,
                    models=self.models, link=self.link, batch_size=self.batch_size,
                    actor=self.actor,
                )  # fmt: skip
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
            queries.UNRESOLVED_TYPES, {"ws": self.workspace_id, "source": self.source_id}
        ).fetchall()
        conn.rollback()
        return sorted(row[0] for row in rows)

    def _population(self, conn: psycopg.Connection[Any]) -> int:
        total = candidates.count_population(conn, self.workspace_id)
        conn.rollback()
        return total

    def _model(self, conn: psycopg.Connection[Any], entity_type: str) -> Model:
        stored = scoring.stored_model(conn, self.workspace_id, entity_type)
        conn.rollback()
        if stored is not None and not self.retrain:
            model = stored
        else:
            trained = scoring.train_model(
                conn, self.workspace_id, entity_type,
                sample_size=TRAIN_SAMPLE, min_records=TRAIN_MIN_RECORDS,
            )  # fmt: skip
            if trained is not None:
                self.counters["models_trained"] += 1
            model = trained or Model.default(entity_type)
        self.models[entity_type] = model
        return model

    def _resolve_batch(
        self, conn: psycopg.Connection[Any], entity_type: str, model: Model, population: int
    ) -> bool:
        """Decide one claimed batch of records and write the decisions; False when none
        are left."""
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
        profiles = [candidates.profile_of(row) for row in rows]
        in_batch = {p.record_id: p for p in profiles}
        found = scoring.weighed_candidates(
            conn, self.workspace_id, profiles, batch=set(in_batch), population=population
        )
        assignments: list[dict[str, Any]] = []
        new_entities: list[dict[str, Any]] = []
        reviews: list[dict[str, Any]] = []
        flags: list[dict[str, Any]] = []
        counts: Counter[str] = Counter()
        for profile in profiles:
            others = [
                found.stored.get(other) or in_batch[other]
                for other in found.ranked.get(profile.record_id, [])
                if other in found.stored
                or (other in in_batch and in_batch[other].entity_id is not None)
            ]
            ranked = scoring.rank(
                profile, others, model, counts=found.counts, population=population
            )
            outcome = decide(
                profile, ranked, link=self.link, review=self.review, run_id=self.run_id
            )
            entity_id = outcome.entity_id
            if entity_id is None:
                entity_id = uuid7()
                new_entities.append(
                    {"id": str(entity_id), "type": profile.type, "name": profile.name}
                )
                self.created.append(entity_id)
                counts["new_entities"] += 1
                outcome.made(entity_id)
            profile.entity_id = entity_id
            assignments.append(
                {
                    "id": str(profile.record_id),
                    "entity_id": str(entity_id),
                    "resolution": outcome.evidence,
                }
            )
            reviews.extend(outcome.reviews)
            flags.extend(outcome.flags)
            counts.update(outcome.counts)
        reconcile.write_batch(
            conn, self.workspace_id, self.run_id,
            new_entities=new_entities, assignments=assignments, reviews=reviews, flags=flags,
        )  # fmt: skip
        counts["records"] += len(profiles)
        for name, value in counts.items():
            self.counters[name] += value
        self._record(conn, dict(counts))
        return True
