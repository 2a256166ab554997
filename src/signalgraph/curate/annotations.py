"""Annotations: analyst-owned rank, stage, hidden, tags, comments and custom fields.

One `annotation` row per entity id written to; `get` combines the rows of a canonical
entity's merge group by rule (scalars: first set value in merge precedence, survivor
first; tags: union; comments: all, in time order). Writes go to the canonical id;
clearing a value or removing a tag applies to every row of the group, so it does not
show through from a merged-away side. Ingestion never touches these tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from signalgraph import lookup
from signalgraph.bounds import check_int
from signalgraph.curate.fields import BUILTIN_FIELDS, check_field_name, clean_text, coerce
from signalgraph.curate.groups import group_paths
from signalgraph.errors import AlreadyExists, NotFound, UsageError
from signalgraph.ids import uuid7
from signalgraph.resolve import decisions, entity_refs
from signalgraph.schema import FIELD_TYPES, annotation, annotation_comment, annotation_field, entity

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope

# Tags are kept sorted, each once; a row changes only when a tag is new to it.
_TAG_SQL = """
INSERT INTO annotation (workspace_id, entity_id, tags, updated_by)
VALUES (:ws, :id, CAST(:tags AS text[]), :actor)
ON CONFLICT (workspace_id, entity_id) DO UPDATE
SET tags = ARRAY(SELECT DISTINCT unnest(annotation.tags || excluded.tags) ORDER BY 1),
    updated_by = excluded.updated_by, updated_at = now()
WHERE NOT annotation.tags @> excluded.tags
"""

# Removed from every id of the merge group, so a tag does not show through a merge.
_UNTAG_SQL = """
UPDATE annotation
SET tags = ARRAY(SELECT unnest(tags) EXCEPT SELECT unnest(CAST(:tags AS text[])) ORDER BY 1),
    updated_by = :actor, updated_at = now()
WHERE workspace_id = :ws AND entity_id = ANY(:ids) AND tags && CAST(:tags AS text[])
"""

SCALARS = ("rank", "stage", "hidden")


class Annotations:
    """Analyst annotations on the entities of the client's workspace."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    # -- custom field definitions ------------------------------------------------------

    def define_field(
        self,
        name: str,
        field_type: str,
        *,
        values: Sequence[str] | None = None,
        description: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Define a typed custom field (string, number, integer, boolean, date, enum)."""
        name = check_field_name(name)
        if field_type not in FIELD_TYPES:
            raise UsageError(
                f"unknown field type {field_type!r}", hint="expected " + ", ".join(FIELD_TYPES)
            )
        allowed: list[str] | None = None
        if field_type == "enum":
            allowed = list(
                dict.fromkeys(clean_text("enum value", v, limit=200) for v in values or [])
            )
            if not allowed:
                raise UsageError(f"enum field {name!r} needs its values (--values a,b,c)")
        elif values:
            raise UsageError(f"only enum fields take --values, not {field_type} ones")
        if description is not None:
            description = clean_text("description", description, limit=2000, multiline=True)
        actor = actor or self._scope.settings.effective_actor
        with self._scope.transaction(actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            row = conn.execute(
                insert(annotation_field)
                .values(
                    workspace_id=workspace_id,
                    name=name,
                    type=field_type,
                    allowed_values=allowed,
                    description=description,
                    created_by=actor,
                )
                .on_conflict_do_nothing()
                .returning(annotation_field)
            ).one_or_none()
        if row is None:
            raise AlreadyExists(f"annotation field {name!r} is already defined")
        return _field(row)

    def fields(self, *, connection: Connection | None = None) -> list[dict[str, Any]]:
        """Return the custom fields the workspace defines, by name."""
        with self._scope.transaction(connection) as conn:
            return field_definitions(conn, self._scope.workspace_id_in(conn))

    def coerce_fields(self, conn: Connection, values: Mapping[str, Any]) -> dict[str, Any]:
        """Return custom field values checked against their definitions, or raise."""
        return coerce_fields(conn, self._scope.workspace_id_in(conn), values)

    # -- writing ---------------------------------------------------------------------------

    def set(
        self,
        entity_ref: str | uuid.UUID,
        *,
        rank: int | None = None,
        stage: str | None = None,
        hidden: bool | None = None,
        fields: Mapping[str, Any] | None = None,
        clear: Iterable[str] = (),
        actor: str | None = None,
        connection: Connection | None = None,
    ) -> dict[str, Any]:
        """Set annotations on an entity (None leaves a value as it is; `clear` unsets)."""
        values: dict[str, Any] = {}
        if rank is not None:
            values["rank"] = check_int("rank", rank)
        if stage is not None:
            values["stage"] = clean_text("stage", stage, limit=200)
        if hidden is not None:
            if not isinstance(hidden, bool):
                raise UsageError(f"hidden expects true or false, got {hidden!r}")
            values["hidden"] = hidden
        cleared = list(dict.fromkeys(clear))
        actor = actor or self._scope.settings.effective_actor
        with self._scope.transaction(connection, actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            entity_id = entity_refs.resolve_entity_id(conn, workspace_id, entity_ref)
            custom = self.coerce_fields(conn, fields or {})
            defined = {f["name"] for f in self.fields(connection=conn)}
            for name in cleared:
                if name not in SCALARS and name not in defined:
                    raise NotFound(
                        f"cannot clear {str(name)[:60]!r}: not an annotation field",
                        hint="clear rank, stage, hidden or a defined custom field",
                    )
            both = set(cleared) & (set(values) | set(custom))
            if both:
                raise UsageError(f"{sorted(both)[0]!r} is both set and cleared")
            group = decisions.members(conn, workspace_id, entity_id)
            if cleared:
                self._clear(conn, workspace_id, group, cleared, actor)
            if values or custom:
                statement = insert(annotation).values(
                    workspace_id=workspace_id,
                    entity_id=entity_id,
                    fields=custom,
                    updated_by=actor,
                    **values,
                )
                statement = statement.on_conflict_do_update(
                    index_elements=["workspace_id", "entity_id"],
                    set_={
                        **{name: statement.excluded[name] for name in values},
                        "fields": annotation.c.fields.op("||")(statement.excluded.fields),
                        "updated_by": statement.excluded.updated_by,
                        "updated_at": sa.func.now(),
                    },
                )
                conn.execute(statement)
            return annotations_of(conn, workspace_id, entity_id)

    def _clear(
        self,
        conn: Connection,
        workspace_id: uuid.UUID,
        group: Iterable[uuid.UUID],
        names: Sequence[str],
        actor: str | None,
    ) -> None:
        changes: dict[str, Any] = {name: None for name in names if name in SCALARS}
        custom = [name for name in names if name not in SCALARS]
        if custom:
            changes["fields"] = annotation.c.fields.op("-")(sa.cast(custom, _TEXT_ARRAY))
        conn.execute(
            annotation.update()
            .where(annotation.c.workspace_id == workspace_id, annotation.c.entity_id.in_(group))
            .values(**changes, updated_by=actor, updated_at=sa.func.now())
        )

    def tag(
        self,
        entity_ref: str | uuid.UUID,
        *tags: str,
        actor: str | None = None,
        connection: Connection | None = None,
    ) -> dict[str, Any]:
        """Add tags to an entity (kept sorted, each once)."""
        wanted = _tags(tags)
        actor = actor or self._scope.settings.effective_actor
        with self._scope.transaction(connection, actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            entity_id = entity_refs.resolve_entity_id(conn, workspace_id, entity_ref)
            conn.execute(
                sa.text(_TAG_SQL),
                {"ws": workspace_id, "id": entity_id, "tags": wanted, "actor": actor},
            )
            return annotations_of(conn, workspace_id, entity_id)

    def untag(
        self,
        entity_ref: str | uuid.UUID,
        *tags: str,
        actor: str | None = None,
        connection: Connection | None = None,
    ) -> dict[str, Any]:
        """Remove tags from an entity (from every id merged into it, too)."""
        unwanted = _tags(tags)
        actor = actor or self._scope.settings.effective_actor
        with self._scope.transaction(connection, actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            entity_id = entity_refs.resolve_entity_id(conn, workspace_id, entity_ref)
            group = decisions.members(conn, workspace_id, entity_id)
            conn.execute(
                sa.text(_UNTAG_SQL),
                {"tags": unwanted, "actor": actor, "ws": workspace_id, "ids": list(group)},
            )
            return annotations_of(conn, workspace_id, entity_id)

    def comment(
        self,
        entity_ref: str | uuid.UUID,
        text: str,
        *,
        actor: str | None = None,
        connection: Connection | None = None,
    ) -> dict[str, Any]:
        """Add a comment to an entity, by the acting user, now."""
        body = clean_text("comment", text, limit=20_000, multiline=True)
        actor = actor or self._scope.settings.effective_actor
        with self._scope.transaction(connection, actor=actor) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            entity_id = entity_refs.resolve_entity_id(conn, workspace_id, entity_ref)
            row = conn.execute(
                annotation_comment.insert()
                .values(
                    workspace_id=workspace_id,
                    id=uuid7(),
                    entity_id=entity_id,
                    author=actor,
                    text=body,
                )
                .returning(annotation_comment)
            ).one()
        return _comment(row)

    def edit_comment(
        self, comment_id: str | uuid.UUID, text: str, *, actor: str | None = None
    ) -> dict[str, Any]:
        """Replace a comment's text (the audit trail keeps the old one)."""
        body = clean_text("comment", text, limit=20_000, multiline=True)
        actor = actor or self._scope.settings.effective_actor
        with self._scope.transaction(actor=actor) as conn:
            found = self._comment_id(conn, comment_id)
            row = conn.execute(
                annotation_comment.update()
                .where(
                    annotation_comment.c.workspace_id == self._scope.workspace_id_in(conn),
                    annotation_comment.c.id == found,
                )
                .values(text=body, edited_at=sa.func.now())
                .returning(annotation_comment)
            ).one()
        return _comment(row)

    def delete_comment(
        self, comment_id: str | uuid.UUID, *, actor: str | None = None
    ) -> dict[str, Any]:
        """Delete a comment (kept, marked deleted; the audit trail says who and when)."""
        actor = actor or self._scope.settings.effective_actor
        with self._scope.transaction(actor=actor) as conn:
            found = self._comment_id(conn, comment_id)
            row = conn.execute(
                annotation_comment.update()
                .where(
                    annotation_comment.c.workspace_id == self._scope.workspace_id_in(conn),
                    annotation_comment.c.id == found,
                )
                .values(deleted_at=sa.func.now())
                .returning(annotation_comment)
            ).one()
        return _comment(row)

    def _comment_id(self, conn: Connection, value: str | uuid.UUID) -> uuid.UUID:
        workspace_id = self._scope.workspace_id_in(conn)
        query = sa.select(annotation_comment.c.id).where(
            annotation_comment.c.workspace_id == workspace_id,
            annotation_comment.c.deleted_at.is_(None),
        )
        found: uuid.UUID = lookup.find(
            conn, query, annotation_comment.c.id, value, noun="comment",
            hint="it may have been deleted; see `signalgraph annotations show ENTITY`",
        ).id  # fmt: skip
        return found

    def annotate(
        self,
        entity_ref: str | uuid.UUID,
        *,
        rank: int | None = None,
        stage: str | None = None,
        hidden: bool | None = None,
        fields: Mapping[str, Any] | None = None,
        clear: Iterable[str] = (),
        tags: Sequence[str] = (),
        untags: Sequence[str] = (),
        comment: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Apply several annotation changes in one transaction: all of them, or none."""
        actor = actor or self._scope.settings.effective_actor
        with self._scope.transaction(actor=actor) as conn:
            if rank is not None or stage is not None or hidden is not None or fields or clear:
                self.set(
                    entity_ref, rank=rank, stage=stage, hidden=hidden, fields=fields,
                    clear=clear, actor=actor, connection=conn,
                )  # fmt: skip
            if tags:
                self.tag(entity_ref, *tags, actor=actor, connection=conn)
            if untags:
                self.untag(entity_ref, *untags, actor=actor, connection=conn)
            if comment is not None:
                self.comment(entity_ref, comment, actor=actor, connection=conn)
            return self.get(entity_ref, connection=conn)

    # -- reading ---------------------------------------------------------------------------

    def get(
        self, entity_ref: str | uuid.UUID, *, connection: Connection | None = None
    ) -> dict[str, Any]:
        """Return an entity's annotations, combined over every id merged into it."""
        with self._scope.transaction(connection) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            entity_id = entity_refs.resolve_entity_id(conn, workspace_id, entity_ref)
            return annotations_of(conn, workspace_id, entity_id)


def annotations_of(
    conn: Connection, workspace_id: uuid.UUID, entity_id: uuid.UUID
) -> dict[str, Any]:
    """Return a canonical entity's annotations, combined over every id merged into it."""
    order = group_paths(conn, workspace_id, entity_id)
    ids = [member for member, _ in order]
    rank_of = {member: position for position, (member, _) in enumerate(order)}
    rows = sorted(
        conn.execute(
            sa.select(annotation).where(
                annotation.c.workspace_id == workspace_id, annotation.c.entity_id.in_(ids)
            )
        ).all(),
        key=lambda row: rank_of[row.entity_id],
    )
    combined: dict[str, Any] = dict.fromkeys(SCALARS)
    origin: dict[str, uuid.UUID] = {}
    fields: dict[str, Any] = {}
    tags: set[str] = set()
    for row in rows:
        for name in SCALARS:
            value = getattr(row, name)
            if combined[name] is None and value is not None:
                combined[name] = value
                origin[name] = row.entity_id
        for name, value in (row.fields or {}).items():
            if name not in fields:
                fields[name] = value
                origin[f"field:{name}"] = row.entity_id
        tags.update(row.tags or [])
    comments = conn.execute(
        sa.select(annotation_comment)
        .where(
            annotation_comment.c.workspace_id == workspace_id,
            annotation_comment.c.entity_id.in_(ids),
            annotation_comment.c.deleted_at.is_(None),
        )
        .order_by(annotation_comment.c.created_at, annotation_comment.c.id)
    ).all()
    head = conn.execute(
        sa.select(entity.c.name, entity.c.type, entity.c.archived_at).where(
            entity.c.workspace_id == workspace_id, entity.c.id == entity_id
        )
    ).one()
    return {
        "entity": entity_id,
        "name": head.name,
        "type": head.type,
        "archived": head.archived_at is not None,
        **combined,
        "tags": sorted(tags),
        "fields": dict(sorted(fields.items())),
        "comments": [_comment(row) for row in comments],
        "merged_ids": sorted(ids[1:]),
        "origin": origin,
    }


_TEXT_ARRAY = sa.dialects.postgresql.ARRAY(sa.Text)


def _tags(values: Iterable[str]) -> list[str]:
    cleaned = sorted({clean_text("tag", value, limit=100) for value in values})
    if not cleaned:
        raise UsageError("give at least one tag")
    return cleaned


def _field(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "type": row.type,
        "allowed_values": list(row.allowed_values) if row.allowed_values is not None else None,
        "description": row.description,
        "created_by": row.created_by,
        "created_at": row.created_at,
    }


def _comment(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "entity_id": row.entity_id,
        "author": row.author,
        "text": row.text,
        "created_at": row.created_at,
        "edited_at": row.edited_at,
        "deleted": row.deleted_at is not None,
    }


def field_definitions(conn: Connection, workspace_id: uuid.UUID) -> list[dict[str, Any]]:
    """Return the custom fields a workspace defines, by name."""
    rows = conn.execute(
        sa.select(annotation_field)
        .where(annotation_field.c.workspace_id == workspace_id)
        .order_by(annotation_field.c.name)
    ).all()
    return [_field(row) for row in rows]


def coerce_fields(
    conn: Connection, workspace_id: uuid.UUID, values: Mapping[str, Any]
) -> dict[str, Any]:
    """Return custom field values checked against their definitions, or raise."""
    defined = {f["name"]: f for f in field_definitions(conn, workspace_id)}
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name in BUILTIN_FIELDS:
            raise UsageError(f"{name!r} is a built-in annotation, not a custom field")
        found = defined.get(name)
        if found is None:
            raise NotFound(
                f"annotation field {str(name)[:60]!r} is not defined",
                hint="define it with `signalgraph annotations define NAME --type T`"
                + (f" (defined: {', '.join(sorted(defined))})" if defined else ""),
            )
        checked[name] = coerce(name, found["type"], found["allowed_values"], value)
    return checked
