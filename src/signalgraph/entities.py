"""Entities through the client: records ingest, dossier, search, clusters, decisions, review."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph import lookup
from signalgraph.bounds import INT32, check_int
from signalgraph.errors import AlreadyExists, UsageError
from signalgraph.pages import Page
from signalgraph.resolve import decisions, entity_refs, history
from signalgraph.resolve.explain import explain_pair
from signalgraph.schema import (
    BUILTIN_ENTITY_TYPES,
    entity_record,
    entity_type,
    source,
)
from signalgraph.workspaces import validate_name

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope
    from signalgraph.load.options import IngestProgress, IngestResult
    from signalgraph.resolve.funnel import ResolveResult


class Entities:
    """Entities of the client's workspace."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    # -- types and records ---------------------------------------------------------------

    def types(self, *, connection: Connection | None = None) -> list[str]:
        """Return the entity types of the workspace: built-in ones and its own."""
        with self._scope.transaction(connection) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            own = conn.execute(
                sa.select(entity_type.c.name).where(entity_type.c.workspace_id == workspace_id)
            ).scalars()
            return [*BUILTIN_ENTITY_TYPES, *sorted(own)]

    def add_type(self, name: str, *, description: str | None = None) -> str:
        """Add an entity type to the workspace."""
        name = validate_name("entity type", name).lower()
        if name in BUILTIN_ENTITY_TYPES:
            raise AlreadyExists(f"{name!r} is a built-in entity type")
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            inserted = conn.execute(
                sa.dialects.postgresql.insert(entity_type)
                .values(workspace_id=workspace_id, name=name, description=description)
                .on_conflict_do_nothing()
                .returning(entity_type.c.name)
            ).scalar_one_or_none()
        if inserted is None:
            raise AlreadyExists(f"entity type {name!r} already exists")
        return name

    def ingest(
        self,
        inputs: Any,
        *,
        source: str,
        fmt: str = "auto",
        batch_size: int | None = None,
        max_rejects: int | None = None,
        dry_run: bool = False,
        create_source: bool = False,
        nul_policy: str | None = None,
        progress: Callable[[IngestProgress], None] | None = None,
        actor: str | None = None,
        workers: int | None = None,
    ) -> IngestResult:
        """Ingest entity records (NDJSON, CSV, Parquet files or dicts) into a source.

        Options as for `SignalGraph.ingest`.
        """
        from signalgraph.load.options import IngestOptions
        from signalgraph.load.run import Ingest
        from signalgraph.resolve.records import EntityRecordLoader, known_types

        loader = EntityRecordLoader(known_types(self.types()[len(BUILTIN_ENTITY_TYPES) :]))
        options = IngestOptions(
            fmt=fmt, batch_size=batch_size, max_rejects=max_rejects, dry_run=dry_run,
            create_source=create_source, nul_policy=nul_policy, actor=actor, workers=workers,
        )  # fmt: skip
        return Ingest(
            self._scope, source=source, options=options, loader=loader, progress=progress
        ).run(inputs)

    # -- archive -------------------------------------------------------------------------------

    def archive(
        self, value: str | uuid.UUID, *, reason: str | None = None, actor: str | None = None
    ) -> dict[str, Any]:
        """Archive an entity: hidden from lists and search, kept and restorable."""
        from signalgraph.curate.archive import archive_entity

        with self._scope.transaction(actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            return archive_entity(conn, workspace_id, value, reason=reason)

    def restore(self, value: str | uuid.UUID, *, actor: str | None = None) -> dict[str, Any]:
        """Restore an archived entity."""
        from signalgraph.curate.archive import archive_entity

        with self._scope.transaction(actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            return archive_entity(conn, workspace_id, value, reason=None, restore=True)

    # -- reading -----------------------------------------------------------------------------

    def canonical(
        self, value: str | uuid.UUID, *, connection: Connection | None = None
    ) -> uuid.UUID:
        """Return the canonical id of an entity given by id, prefix, short id, merged-away id or
        identifier (`domain:acme.ai`)."""
        with self._scope.transaction(connection) as conn:
            return entity_refs.resolve_entity_id(conn, self._scope.workspace_id_in(conn), value)

    def show(self, value: str | uuid.UUID, *, recent: int = 10) -> dict[str, Any]:
        """Return an entity's dossier (see signalgraph.query.dossier)."""
        from signalgraph.curate.annotations import annotations_of
        from signalgraph.curate.lists import lists_containing
        from signalgraph.facts import reads as fact_reads
        from signalgraph.facts.relations import relations_of
        from signalgraph.query.dossier import dossier

        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            entity_id = entity_refs.resolve_entity_id(conn, workspace_id, value)
            found = dossier(conn, workspace_id, entity_id, recent=recent)
            found["lists"] = [
                {"name": item["name"], "id": item["id"]}
                for item in lists_containing(conn, workspace_id, [entity_id])
            ]
            found["annotations"] = annotations_of(conn, workspace_id, entity_id)
            members = decisions.members(conn, workspace_id, entity_id)
            found["facts"] = fact_reads.current(conn, workspace_id, members, None)
            found["relations"] = relations_of(
                conn, workspace_id, entity_id, members, predicate=None, at=None, limit=50
            )
            return found

    def list(
        self, *, entity_type: str | None = None, limit: int = 50, archived: bool = False
    ) -> list[dict[str, Any]]:
        """Return live entities with their record and mention counts, most mentioned first.

        Archived entities are left out unless `archived` (then only they are listed).
        """
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            rows = conn.execute(
                sa.text(
                    """
                    SELECT e.id, e.type, e.name, r.records, coalesce(m.mentions, 0) AS mentions
                    FROM entity e
                    JOIN LATERAL (SELECT count(*) AS records, array_agg(id) AS ids
                                  FROM entity_record WHERE workspace_id = e.workspace_id
                                    AND entity_id = e.id) r ON r.records > 0
                    LEFT JOIN LATERAL (SELECT count(*) AS mentions FROM mention
                                       WHERE workspace_id = e.workspace_id
                                         AND record_id = ANY(r.ids)) m ON true
                    WHERE e.workspace_id = :ws AND (CAST(:type AS text) IS NULL OR e.type = :type)
                      AND (e.archived_at IS NOT NULL) = :archived
                    ORDER BY mentions DESC, records DESC, e.id
                    LIMIT :limit
                    """
                ),
                {"ws": workspace_id, "type": entity_type, "limit": limit, "archived": archived},
            ).mappings()
            return [dict(row) for row in rows]

    def search(
        self,
        text: str | None = None,
        *,
        entity_type: str | None = None,
        identifier: str | None = None,
        in_list: str | None = None,
        stage: str | None = None,
        tag: str | None = None,
        hidden: bool | None = None,
        rank_max: int | None = None,
        fields: Mapping[str, Any] | None = None,
        where: Sequence[str] = (),
        include_archived: bool = False,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[dict[str, Any]]:
        """Find live entities by name (prefix, words, fuzzy) or identifier, and by filters.

        With text, best matches come first (an identifier such as `ticker:MRNA` scores
        100); without, every entity passing the filters, a page at a time by id.
        `in_list` names a list; `stage`, `tag`, `hidden`, `rank_max` (rank at most) and
        `fields` (custom annotation fields) filter on analysts' annotations; each of
        `where` is a condition on a fact's current value (`revenue > 10M`).
        """
        from signalgraph.curate.annotations import coerce_fields
        from signalgraph.curate.filters import annotation_filter
        from signalgraph.curate.lists import find_list, list_entity_ids
        from signalgraph.facts import reads as fact_reads
        from signalgraph.query.entities import EntityFilter, search_entities

        if rank_max is not None:
            rank_max = check_int("rank_max", rank_max, INT32)
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            within: builtins.list[Any] = []
            if in_list is not None:
                found = find_list(
                    conn, workspace_id, in_list, workspace_flag=self._scope.workspace_flag
                )
                within.append(list_entity_ids(workspace_id, found.id))
            if any(v is not None for v in (stage, tag, hidden, rank_max)) or fields:
                within.append(
                    annotation_filter(
                        workspace_id,
                        stage=stage,
                        tag=tag,
                        hidden=hidden,
                        rank_max=rank_max,
                        fields=coerce_fields(conn, workspace_id, fields or {}),
                    )
                )
            within.extend(fact_reads.condition(workspace_id, expr) for expr in where)
            wanted = EntityFilter(
                text=text,
                entity_type=entity_type,
                identifier=identifier,
                include_archived=include_archived,
                within=tuple(within),
            )
            return search_entities(conn, workspace_id, wanted, limit=limit, cursor=cursor)

    def clusters(self, *, source_name: str | None = None) -> Iterator[dict[str, Any]]:
        """Yield one row per source record: source, external_id and canonical entity id."""
        with self._scope.engine.connect() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            query = (
                sa.select(source.c.name, entity_record.c.external_id, entity_record.c.entity_id)
                .select_from(
                    entity_record.join(
                        source,
                        sa.and_(
                            source.c.workspace_id == entity_record.c.workspace_id,
                            source.c.id == entity_record.c.source_id,
                        ),
                    )
                )
                .where(entity_record.c.workspace_id == workspace_id)
                .order_by(source.c.name, entity_record.c.external_id)
                .execution_options(yield_per=5000)
            )
            if source_name is not None:
                query = query.where(source.c.name == source_name)
            for name, external_id, entity_id in conn.execute(query):
                yield {"source": name, "external_id": external_id, "entity_id": entity_id}

    def explain(self, first: str | uuid.UUID, second: str | uuid.UUID) -> dict[str, Any]:
        """Show why two entities match or not: the best record pair, field by field."""
        with self._scope.transaction() as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            a = entity_refs.resolve_entity_id(conn, workspace_id, first)
            b = entity_refs.resolve_entity_id(conn, workspace_id, second)
            return explain_pair(conn, workspace_id, a, b)

    # -- decisions ------------------------------------------------------------------------

    def judge(
        self,
        first: str | uuid.UUID,
        second: str | uuid.UUID,
        decision: str,
        *,
        reason: str | None = None,
        actor: str | None = None,
        connection: Connection | None = None,
    ) -> dict[str, Any]:
        """Record a judgement; 'same' merges the two, 'different' keeps them apart for good."""
        decisions.check_decision(decision)
        with self._scope.transaction(connection, actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            a = entity_refs.resolve_entity_id(conn, workspace_id, first)
            b = entity_refs.resolve_entity_id(conn, workspace_id, second)
            return decisions.judge(conn, workspace_id, a, b, decision, actor=actor, reason=reason)

    def merge(
        self, ids: Sequence[str | uuid.UUID], *, reason: str | None = None, actor: str | None = None
    ) -> dict[str, Any]:
        """Merge entities into the oldest of them (refused if any pair was judged different)."""
        if len(ids) < 2:
            raise UsageError("give at least two entities to merge")
        with self._scope.transaction(actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            canonical = sorted({entity_refs.resolve_entity_id(conn, workspace_id, i) for i in ids})
            if len(canonical) < 2:
                raise UsageError("these ids are already one entity")
            survivor = canonical[0]
            merges = []
            for other in canonical[1:]:
                merged = decisions.merge_entities(  # settles the pair's review items too
                    conn, workspace_id, survivor, other, actor=actor, reason=reason
                )
                merges.append(merged.as_dict())
            return {"survivor": survivor, "merges": merges}

    def unmerge(self, value: str | uuid.UUID, *, actor: str | None = None) -> dict[str, Any]:
        """Undo a merge (by merge id or by the absorbed entity's id) exactly."""
        with self._scope.transaction(actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            found = history.find_merge(conn, workspace_id, value)
            if found.kind != "merge":
                raise UsageError(f"{value} is a split, not a merge")
            undone = history.undo_merge(conn, workspace_id, found, actor=actor)
            verdict = decisions.record_judgement(
                conn, workspace_id, found.survivor_id, found.absorbed_id, "different",
                actor=actor, reason="merge undone", origin="unmerge",
            )  # fmt: skip
            return {"merge": undone.as_dict(), "judgement": verdict.as_dict()}

    def split(
        self,
        value: str | uuid.UUID,
        record_ids: Sequence[str | uuid.UUID],
        *,
        reason: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Move records out of an entity into a new one, judged different from it."""
        with self._scope.transaction(actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            entity_id = entity_refs.resolve_entity_id(conn, workspace_id, value)
            wanted = [self._record_id(conn, workspace_id, r) for r in record_ids]
            new_id, record = history.split_records(
                conn, workspace_id, entity_id, wanted, actor=actor, reason=reason
            )
            return {"entity": entity_id, "new_entity": new_id, "split": record.as_dict()}

    def _record_id(
        self, conn: Connection, workspace_id: uuid.UUID, value: str | uuid.UUID
    ) -> uuid.UUID:
        query = sa.select(entity_record.c.id).where(entity_record.c.workspace_id == workspace_id)
        found: uuid.UUID = lookup.find(
            conn, query, entity_record.c.id, value, noun="record",
            hint="see the records in `signalgraph entities show ENTITY`",
        ).id  # fmt: skip
        return found

    def resolve(
        self,
        *,
        source: str | None = None,
        entity_type: str | None = None,
        retrain: bool = False,
        batch_size: int = 5000,
        actor: str | None = None,
        progress: Callable[[dict[str, int]], None] | None = None,
    ) -> ResolveResult:
        """Resolve every unresolved record and mention (see `SignalGraph.resolve`)."""
        from signalgraph.resolve.funnel import Resolver

        return Resolver(
            self._scope, source=source, entity_type=entity_type, retrain=retrain,
            batch_size=batch_size, actor=actor, progress=progress,
        ).run()  # fmt: skip
