from __future__ import annotations

import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.errors import AlreadyExists, NotFound, UsageError


def test_default_workspace_exists_after_migration(sg: SignalGraph) -> None:
    names = [w.name for w in sg.workspaces.list()]
    assert names == ["default"]
    assert sg.workspace_id == sg.workspaces.get("default").workspace_id


def test_create_and_list_workspaces(sg: SignalGraph) -> None:
    created = sg.workspaces.create("deals", description="deal sourcing")
    assert created.workspace_id.version == 7
    listed = {w.name: w for w in sg.workspaces.list()}
    assert set(listed) == {"default", "deals"}
    assert listed["deals"].description == "deal sourcing"


def test_duplicate_workspace_is_refused(sg: SignalGraph) -> None:
    sg.workspaces.create("deals")
    with pytest.raises(AlreadyExists, match="workspace 'deals' already exists"):
        sg.workspaces.create("deals")


@pytest.mark.parametrize("bad", ["", "   ", "x" * 201, "nul\x00byte", "bell\x07name", "tab\tname"])
def test_bad_names_are_refused_before_reaching_the_database(sg: SignalGraph, bad: str) -> None:
    with pytest.raises(UsageError):
        sg.workspaces.create(bad)
    with pytest.raises(UsageError):
        sg.sources.add(bad)


def test_sources_are_per_workspace(sg: SignalGraph) -> None:
    sg.workspaces.create("other")
    sg.sources.add("newswire", kind="news", trust_rank=3, config={"url": "https://x"})
    other = sg.use_workspace("other")
    other.sources.add("newswire", kind="email")
    assert [s.kind for s in sg.sources.list()] == ["news"]
    assert [s.kind for s in other.sources.list()] == ["email"]
    found = sg.sources.get("newswire")
    assert found.trust_rank == 3
    assert found.config == {"url": "https://x"}


def test_duplicate_source_is_refused(sg: SignalGraph) -> None:
    sg.sources.add("newswire")
    with pytest.raises(AlreadyExists, match="source 'newswire' already exists"):
        sg.sources.add("newswire")


def test_ensure_source_is_idempotent(sg: SignalGraph) -> None:
    first = sg.sources.ensure("feed", kind="news")
    second = sg.sources.ensure("feed", kind="news")
    assert first.id == second.id
    assert len(sg.sources.list()) == 1


def test_missing_source_and_workspace_are_named(sg: SignalGraph) -> None:
    with pytest.raises(NotFound, match="source 'ghost' does not exist in workspace 'default'"):
        sg.sources.get("ghost")
    with pytest.raises(NotFound, match="workspace 'ghost' does not exist"):
        sg.use_workspace("ghost").sources.list()


def test_hostile_strings_are_stored_verbatim(sg: SignalGraph) -> None:
    name = "x'); DROP TABLE source; --"
    sg.sources.add(name, description="Robert'); DROP TABLE workspace;--", config={"q": "' OR 1=1"})
    found = sg.sources.get(name)
    assert found.name == name
    assert found.config == {"q": "' OR 1=1"}
    assert len(sg.workspaces.list()) == 1


def test_every_table_is_keyed_by_workspace(sg: SignalGraph) -> None:
    with sg.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                """
                SELECT c.relname, a.attname
                FROM pg_constraint k
                JOIN pg_class c ON c.oid = k.conrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
                WHERE n.nspname = 'signalgraph' AND k.contype = 'p'
                  AND c.relname <> 'alembic_version' AND NOT c.relispartition
                """
            )
        ).all()
    assert rows, "no primary keys found"
    assert {column for _, column in rows} == {"workspace_id"}
