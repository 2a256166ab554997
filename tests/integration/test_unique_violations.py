"""Unique violations become clear domain errors, from SQLAlchemy engines and raw psycopg alike."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.db.engine import dedicated_connection
from signalgraph.db.errors import UNIQUE_MESSAGES, UNREACHABLE_UNIQUE, translate_driver_errors
from signalgraph.errors import AlreadyExists
from signalgraph.ids import uuid7
from signalgraph.schema import SCHEMA, curated_list, entity, list_member, metadata, source

# Unique indexes of the database the migrations built (constraints have one each).
# A partition's indexes are the parent's (attached through pg_inherits), checked there.
_BUILT_UNIQUE = """
SELECT DISTINCT i.relname
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = :schema AND x.indisunique AND NOT t.relispartition
"""


def _declared_unique() -> set[str]:
    names: set[str] = set()
    for table in metadata.tables.values():
        names |= {
            str(c.name)
            for c in table.constraints
            if isinstance(c, sa.UniqueConstraint | sa.PrimaryKeyConstraint)
        }
        names |= {str(index.name) for index in table.indexes if index.unique}
    return names


def _built_unique(sg: SignalGraph) -> set[str]:
    with sg.engine.connect() as conn:
        return set(conn.execute(sa.text(_BUILT_UNIQUE), {"schema": SCHEMA}).scalars())


def test_every_unique_constraint_has_a_message_or_a_reason_it_cannot_be_hit(
    sg: SignalGraph,
) -> None:
    declared, built = _declared_unique(), _built_unique(sg)
    assert declared <= built  # the schema the migrations built holds the metadata's
    explained = set(UNIQUE_MESSAGES) | set(UNREACHABLE_UNIQUE)
    assert sorted((declared | built) - explained) == []


def test_messages_and_reasons_name_existing_constraints_each_once(sg: SignalGraph) -> None:
    assert set(UNIQUE_MESSAGES) & set(UNREACHABLE_UNIQUE) == set()
    existing = _declared_unique() | _built_unique(sg)
    assert sorted((set(UNIQUE_MESSAGES) | set(UNREACHABLE_UNIQUE)) - existing) == []
    for constraint, (message, hint) in UNIQUE_MESSAGES.items():
        assert "already" in message, constraint
        assert "signalgraph " in hint, constraint  # names the command that shows it


def test_duplicate_source_name_from_sqlalchemy_names_the_source(sg: SignalGraph) -> None:
    sg.sources.add("newswire")
    with pytest.raises(AlreadyExists) as raised, sg.transaction() as conn:
        conn.execute(
            source.insert().values(workspace_id=sg.workspace_id, id=uuid7(), name="newswire")
        )
    assert raised.value.message.startswith(
        "a source with this name already exists in the workspace"
    )
    assert "newswire" in raised.value.message  # the key, from PostgreSQL's detail
    assert "signalgraph source list" in str(raised.value.hint)


def test_second_live_list_of_a_name_is_refused_a_deleted_one_is_not(sg: SignalGraph) -> None:
    sg.lists.create("watchlist")
    row = {"workspace_id": sg.workspace_id, "name": "watchlist"}
    with pytest.raises(AlreadyExists) as raised, sg.transaction() as conn:
        conn.execute(curated_list.insert().values(id=uuid7(), **row))
    assert raised.value.message.startswith("a list with this name already exists")
    assert "signalgraph lists delete NAME" in str(raised.value.hint)
    sg.lists.delete("watchlist")
    with sg.transaction() as conn:  # the partial index holds live lists only
        conn.execute(curated_list.insert().values(id=uuid7(), **row))


def test_duplicate_list_member_from_sqlalchemy_is_named(sg: SignalGraph) -> None:
    listed = sg.lists.create("watchlist")
    acme = uuid7()
    with sg.transaction() as conn:
        conn.execute(
            entity.insert().values(
                workspace_id=sg.workspace_id, id=acme, type="company", name="Acme"
            )
        )
    member: dict[str, Any] = {
        "workspace_id": sg.workspace_id, "list_id": listed["id"], "entity_id": acme,
    }  # fmt: skip
    with sg.transaction() as conn:
        conn.execute(list_member.insert().values(id=uuid7(), **member))
    with (
        pytest.raises(AlreadyExists, match="this entity is already a member of the list"),
        sg.transaction() as conn,
    ):
        conn.execute(list_member.insert().values(id=uuid7(), **member))


def test_duplicate_from_a_raw_psycopg_connection_is_translated(sg: SignalGraph) -> None:
    sg.workspaces.create("deals")
    sg.annotations.define_field("sector", "string")
    with dedicated_connection(sg.scope.url, sg.settings) as conn:
        with pytest.raises(AlreadyExists) as raised, translate_driver_errors():
            conn.execute(
                "INSERT INTO workspace (workspace_id, name) VALUES (%s, %s)", (uuid7(), "deals")
            )
        assert raised.value.message.startswith("a workspace with this name already exists")
        assert isinstance(raised.value.__cause__, psycopg.errors.UniqueViolation)
        conn.rollback()
        with pytest.raises(AlreadyExists) as raised, translate_driver_errors():
            conn.execute(
                "INSERT INTO annotation_field (workspace_id, name, type) VALUES (%s, %s, %s)",
                (sg.workspace_id, "sector", "number"),
            )
        assert raised.value.message.startswith("an annotation field with this name")
        assert "signalgraph annotations fields" in str(raised.value.hint)


def test_ingest_translates_a_violation_on_its_psycopg_connection(sg: SignalGraph) -> None:
    # Someone creates the source between the dry run's lookup and its own insert: a
    # trigger plays them, so the violation comes from the ingest's psycopg connection.
    with sg.transaction() as conn:
        conn.execute(
            sa.text(
                """
                CREATE FUNCTION public.take_source_name() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF pg_trigger_depth() = 1 THEN
                        INSERT INTO source (workspace_id, id, name)
                        VALUES (NEW.workspace_id, uuid7(), NEW.name);
                    END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER take_source_name BEFORE INSERT ON source
                FOR EACH ROW EXECUTE FUNCTION public.take_source_name();
                """
            )
        )
    records = [{"external_id": "a-1", "title": "Acme raises"}]
    with pytest.raises(AlreadyExists, match="a source with this name already exists"):
        sg.ingest(records, source="wire", dry_run=True, create_source=True)


def test_violations_outside_signalgraph_tables_are_left_to_the_caller(sg: SignalGraph) -> None:
    # PostgreSQL's own catalogs raise 23505 too (two sessions creating one partition);
    # partitions.py and audit.py catch the driver's error for those.
    with sg.transaction() as conn:
        conn.execute(sa.text("CREATE TABLE public.pair (x int PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO public.pair VALUES (1)"))
    with pytest.raises(sa.exc.IntegrityError), sg.transaction() as conn:
        conn.execute(sa.text("INSERT INTO public.pair VALUES (1)"))
    with (
        dedicated_connection(sg.scope.url, sg.settings) as raw,
        pytest.raises(psycopg.errors.UniqueViolation),
        translate_driver_errors(),
    ):
        raw.execute("INSERT INTO public.pair VALUES (1)")
