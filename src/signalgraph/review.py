"""The review queue: entity pairs the resolver was unsure about, and their decisions.

An item whose pair became one entity some other way is settled, not decided (see
resolve/review_queue.py); listing the queue settles any that a concurrent merge left.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph import lookup
from signalgraph.errors import UsageError
from signalgraph.resolve.decisions import canonical_ids, check_decision, judge
from signalgraph.resolve.explain import explain_pair
from signalgraph.resolve.review_queue import settle_moot
from signalgraph.schema import entity, review_item

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope


class Review:
    """The review queue: entity pairs the resolver was unsure about."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def list(self, *, limit: int = 50) -> list[dict[str, Any]]:
        """Return pending pairs, the ones a decision would change most first."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            settle_moot(conn, workspace_id, decided_by="review list")
            a = entity.alias("a")
            b = entity.alias("b")
            rows = conn.execute(
                sa.select(
                    review_item.c.id,
                    review_item.c.entity_a,
                    a.c.name.label("name_a"),
                    review_item.c.entity_b,
                    b.c.name.label("name_b"),
                    review_item.c.probability,
                    review_item.c.priority,
                    review_item.c.created_at,
                )
                .select_from(
                    review_item.join(
                        a,
                        sa.and_(
                            a.c.workspace_id == review_item.c.workspace_id,
                            a.c.id == review_item.c.entity_a,
                        ),
                    ).join(
                        b,
                        sa.and_(
                            b.c.workspace_id == review_item.c.workspace_id,
                            b.c.id == review_item.c.entity_b,
                        ),
                    )
                )
                .where(
                    review_item.c.workspace_id == workspace_id, review_item.c.status == "pending"
                )
                .order_by(review_item.c.priority.desc(), review_item.c.id)
                .limit(limit)
            ).mappings()
            return [dict(row) for row in rows]

    def _item(self, conn: Connection, workspace_id: uuid.UUID, value: str | uuid.UUID) -> Any:
        query = sa.select(review_item).where(review_item.c.workspace_id == workspace_id)
        return lookup.find(
            conn, query, review_item.c.id, value, noun="review item",
            hint="see `signalgraph review list`",
        )  # fmt: skip

    def show(self, value: str | uuid.UUID) -> dict[str, Any]:
        """Return one review item with the explanation of its pair (and how it was settled)."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            item = self._item(conn, workspace_id, value)
            both = canonical_ids(conn, workspace_id, [item.entity_a, item.entity_b])
            explained = explain_pair(conn, workspace_id, both[item.entity_a], both[item.entity_b])
        return {
            "id": item.id,
            "status": item.status,
            "probability": item.probability,
            "priority": item.priority,
            **_outcome(item),
            "explanation": explained,
        }

    def decide(
        self,
        value: str | uuid.UUID,
        decision: str,
        *,
        reason: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Decide a review item: the decision is a judgement and takes effect at once.

        An item whose pair is one entity already was settled automatically (or is now):
        the result says so under `settled` and nothing is judged.
        """
        check_decision(decision)
        with self._scope.transaction(actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            item = self._item(conn, workspace_id, value)
            if item.status == "pending" and settle_moot(
                conn, workspace_id, decided_by=actor or "review decide", item=item.id
            ):
                item = self._item(conn, workspace_id, item.id)
            if item.status in {"settled", "obsolete"}:
                both = canonical_ids(conn, workspace_id, [item.entity_a, item.entity_b])
                return {
                    "judgement": None,
                    "merge": None,
                    "entity": both[item.entity_a] if len(set(both.values())) == 1 else None,
                    "settled": {"id": item.id, "status": item.status, **_outcome(item)},
                }
            if item.status != "pending":
                raise UsageError(f"review item {item.id} is already {item.status}")
            both = canonical_ids(conn, workspace_id, [item.entity_a, item.entity_b])
            result = judge(
                conn, workspace_id, both[item.entity_a], both[item.entity_b], decision,
                actor=actor, reason=reason,
            )  # fmt: skip
            verdict = result["judgement"]
            conn.execute(
                review_item.update()
                .where(review_item.c.workspace_id == workspace_id, review_item.c.id == item.id)
                .values(
                    status="decided",
                    resolution="judged",
                    decided_by=actor,
                    judgement_id=verdict["id"] if verdict else None,
                    decided_at=sa.func.now(),
                )
            )
            return result | {"settled": None}


def _outcome(item: Any) -> dict[str, Any]:
    """Return why and when an item left the queue, and who or what took it out."""
    return {
        "resolution": item.resolution,
        "decided_by": item.decided_by,
        "decided_at": item.decided_at,
        "merge_id": item.merge_id,
        "judgement_id": item.judgement_id,
    }
