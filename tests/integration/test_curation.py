"""Curation through the Python API: lists, annotations, merge rules, archive."""

from __future__ import annotations

import csv
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.curate.filters import annotation_filter
from signalgraph.curate.lists import list_entity_ids, list_signal_ids
from signalgraph.errors import AlreadyExists, NotFound, SignalgraphError, UsageError
from signalgraph.schema import annotation, entity


def company(external_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "type": "company", "name": name, **extra}


def entity_of(sg: SignalGraph, external_id: str, source: str = "harmonic") -> uuid.UUID:
    rows = {r["external_id"]: r["entity_id"] for r in sg.entities.clusters(source_name=source)}
    found: uuid.UUID = rows[external_id]
    return found


@pytest.fixture
def deals(sg: SignalGraph) -> dict[str, uuid.UUID]:
    """Seed 000: companies and a person from Harmonic, kept apart by the resolver."""
    sg.sources.add("harmonic")
    sg.entities.ingest(
        [
            company("12345", "Acme AI", identifiers={"domain": "acme.ai"}),
            company("67890", "Quantum Leap Robotics", identifiers={"domain": "qlr.io"}),
            company("55555", "Helix Therapeutics", identifiers={"domain": "helix.bio"}),
            {"external_id": "p-1", "type": "person", "name": "Jane Doe"},
        ],
        source="harmonic",
    )
    sg.resolve()
    ids = {key: entity_of(sg, key) for key in ("12345", "67890", "55555", "p-1")}
    assert len(set(ids.values())) == 4
    return ids


def test_lists_hold_entities_of_any_type_once(sg: SignalGraph, deals: dict[str, Any]) -> None:
    created = sg.lists.create("Deal flow", description="Series A healthcare")
    assert created["created_by"]
    with pytest.raises(AlreadyExists):
        sg.lists.create("Deal flow")
    added = sg.lists.add("Deal flow", [str(deals["12345"]), str(deals["p-1"])[:28]])
    assert added["added"] == [deals["12345"], deals["p-1"]]
    again = sg.lists.add("Deal flow", [deals["12345"]])
    assert again["added"] == []
    assert again["already_members"] == [deals["12345"]]
    page = sg.lists.show("Deal flow")
    assert [(m["id"], m["type"], m["name"]) for m in page.items] == [
        (deals["12345"], "company", "Acme AI"),
        (deals["p-1"], "person", "Jane Doe"),
    ]
    assert sg.lists.list()[0]["members"] == 2
    removed = sg.lists.remove("Deal flow", [deals["p-1"], deals["55555"]])
    assert removed["removed"] == [deals["p-1"]]
    assert removed["not_members"] == [deals["55555"]]
    assert [m["id"] for m in sg.lists.show("Deal flow")] == [deals["12345"]]


def test_a_missing_member_id_adds_nothing_and_is_named(
    sg: SignalGraph, deals: dict[str, Any]
) -> None:
    sg.lists.create("watch")
    missing = str(uuid.uuid4())
    with pytest.raises(NotFound) as error:
        sg.lists.add("watch", [deals["12345"], missing, "'; DROP TABLE entity; --"])
    assert missing in str(error.value)
    assert "DROP TABLE" in str(error.value)
    assert sg.lists.show("watch").items == []
    with pytest.raises(NotFound, match="list 'nope' does not exist"):
        sg.lists.add("nope", [deals["12345"]])
    with pytest.raises(UsageError, match="NUL"):
        sg.lists.create("bad\x00name")
    with pytest.raises(UsageError, match="NUL"):
        sg.lists.show("bad\x00name")
    with pytest.raises(UsageError, match="position"):
        sg.lists.add("watch", [deals["12345"]], position=10**30)


def test_signals_are_members_too_and_pages_do_not_skip(
    sg: SignalGraph, deals: dict[str, Any], tmp_path: Path
) -> None:
    sg.ingest(
        [
            {"external_id": f"n{i}", "title": f"Acme AI raises round {i}", "text": f"body {i}",
             "published_at": f"2024-02-0{i + 1}T10:00:00Z"}
            for i in range(3)
        ],
        source="accern",
        create_source=True,
    )  # fmt: skip
    signal_ids = [s.id for s in sg.signals.list(limit=10)]
    sg.lists.create("mixed")
    sg.lists.add("mixed", [*map(str, signal_ids), deals["12345"], deals["67890"]])
    seen: list[Any] = []
    cursor = None
    while True:
        page = sg.lists.show("mixed", limit=2, cursor=cursor)
        seen.extend(m["id"] for m in page)
        if page.next_cursor is None:
            break
        sg.lists.add("mixed", [deals["55555"]]) if cursor is None else None
        cursor = page.next_cursor
    assert sorted(map(str, seen)) == sorted(
        map(str, [*signal_ids, deals["12345"], deals["67890"], deals["55555"]])
    )
    kinds = {m["kind"] for m in sg.lists.members("mixed")}
    assert kinds == {"signal", "entity"}
    with sg.engine.connect() as conn:
        list_id = sg.lists.get("mixed")["id"]
        ws = sg.workspace_id
        assert set(conn.execute(list_signal_ids(ws, list_id)).scalars()) == set(signal_ids)
        assert len(set(conn.execute(list_entity_ids(ws, list_id)).scalars())) == 3
    assert sg.lists.export("mixed", tmp_path / "mixed.csv") == 6
    exported = list(csv.DictReader((tmp_path / "mixed.csv").read_text().splitlines()))
    assert list(exported[0])[:3] == ["kind", "id", "name"]
    # Booleans and times are written as every CSV reader expects them.
    assert {row["archived"] for row in exported} == {"false"}
    for row in exported:
        assert datetime.fromisoformat(row["added_at"]).tzinfo is not None
        assert row["added_at"].endswith("Z"), row["added_at"]
    with pytest.raises(UsageError, match=r"cannot write 'mixed\.xlsx'.*\.csv, \.ndjson"):
        sg.lists.export("mixed", tmp_path / "mixed.xlsx")
    assert not (tmp_path / "mixed.xlsx").exists()
    assert sg.lists.export("mixed", tmp_path / "mixed.ndjson") == 6
    lines = (tmp_path / "mixed.ndjson").read_text().splitlines()
    assert orjson.loads(lines[0])["kind"] in {"signal", "entity"}
    with pytest.raises(UsageError, match="cursor"):
        sg.lists.show("mixed", cursor="garbage")


def test_deleting_a_list_frees_its_name(sg: SignalGraph, deals: dict[str, Any]) -> None:
    sg.lists.create("tmp")
    sg.lists.add("tmp", [deals["12345"]])
    sg.lists.delete("tmp")
    assert sg.lists.list() == []
    with pytest.raises(NotFound):
        sg.lists.show("tmp")
    assert sg.lists.create("tmp")["members"] == 0


def test_annotations_are_typed_and_checked(sg: SignalGraph, deals: dict[str, Any]) -> None:
    acme = deals["12345"]
    sg.annotations.define_field("valuation", "number", description="post-money, USD")
    sg.annotations.define_field("round", "enum", values=["seed", "series_a", "series_b"])
    sg.annotations.define_field("next_call", "date")
    result = sg.annotations.set(
        acme, rank=1, stage="In Review", hidden=False,
        fields={"valuation": "12.5e6", "round": "seed", "next_call": "2024-03-01"},
    )  # fmt: skip
    assert (result["rank"], result["stage"], result["hidden"]) == (1, "In Review", False)
    assert result["fields"] == {"next_call": "2024-03-01", "round": "seed", "valuation": 12500000}
    with pytest.raises(NotFound, match="'headcount' is not defined"):
        sg.annotations.set(acme, stage="Passed", fields={"headcount": 3})
    with pytest.raises(UsageError, match="'valuation' expects a number"):
        sg.annotations.set(acme, fields={"valuation": "lots"})
    with pytest.raises(UsageError, match="'round' expects one of seed, series_a, series_b"):
        sg.annotations.set(acme, fields={"round": "series_z"})
    with pytest.raises(UsageError, match=r"rank .* out of range"):
        sg.annotations.set(acme, rank=10**40)
    with pytest.raises(UsageError, match="NUL"):
        sg.annotations.set(acme, stage="Pass\x00ed")
    with pytest.raises(UsageError, match="NUL"):
        sg.annotations.comment(acme, "bad\x00")
    with pytest.raises(UsageError):
        sg.annotations.define_field("Robert'); DROP TABLE annotation;--", "string")
    with pytest.raises(UsageError, match="built-in"):
        sg.annotations.define_field("rank", "integer")
    unchanged = sg.annotations.get(acme)
    assert unchanged["stage"] == "In Review"  # nothing written by the failed calls
    sg.annotations.set(acme, stage="'; DELETE FROM annotation; --")
    assert sg.annotations.get(acme)["stage"] == "'; DELETE FROM annotation; --"
    tagged = sg.annotations.tag(acme, "ai", "b2b", "ai")
    assert tagged["tags"] == ["ai", "b2b"]
    assert sg.annotations.untag(acme, "b2b")["tags"] == ["ai"]
    note = sg.annotations.comment(acme, "Met the founders.\nStrong team.", actor="ana")
    assert note["author"] == "ana"
    sg.annotations.edit_comment(note["id"], "Met the founders twice.", actor="ana")
    assert sg.annotations.get(acme)["comments"][0]["text"] == "Met the founders twice."
    sg.annotations.delete_comment(str(note["id"]), actor="ana")
    assert sg.annotations.get(acme)["comments"] == []
    cleared = sg.annotations.set(acme, clear=["stage", "valuation"])
    assert cleared["stage"] is None
    assert "valuation" not in cleared["fields"]
    events = sg.audit.list(object_id=note["id"]).items
    assert {e.action for e in events} >= {"insert", "update"}


def test_ingestion_never_overwrites_annotations(sg: SignalGraph, deals: dict[str, Any]) -> None:
    acme = deals["12345"]
    sg.annotations.set(acme, rank=2, stage="Portfolio", hidden=True)
    sg.annotations.tag(acme, "portfolio")
    sg.annotations.comment(acme, "Closed.")
    before = sg.annotations.get(acme)
    sg.entities.ingest(
        [company("12345", "Acme AI, Inc.", identifiers={"domain": "acme.ai"}),
         company("99999", "ACME AI", identifiers={"domain": "acme.ai"})],
        source="harmonic",
    )  # fmt: skip
    sg.resolve()
    assert entity_of(sg, "99999") == acme
    after = sg.annotations.get(acme)
    assert after == {**before, "name": after["name"]}


def _snapshot(sg: SignalGraph, ids: list[uuid.UUID]) -> dict[str, Any]:
    return {
        "annotations": {i: sg.annotations.get(i) for i in ids},
        "lists": {item["name"]: sg.lists.show(item["name"]).items for item in sg.lists.list()},
    }


def test_merge_combines_by_rule_and_unmerge_restores_everything(
    sg: SignalGraph, deals: dict[str, Any]
) -> None:
    """THE KEY TEST: two annotated entities in lists, merged then unmerged."""
    acme, dup = deals["12345"], deals["67890"]
    sg.annotations.define_field("valuation", "number")
    sg.annotations.define_field("source_channel", "string")
    sg.annotations.define_field("lead", "string")
    sg.annotations.set(acme, rank=3, stage="In Review", fields={"valuation": 10, "lead": "ana"})
    sg.annotations.tag(acme, "ai", "seed")
    sg.annotations.comment(acme, "First call went well.", actor="ana")
    sg.annotations.set(
        dup,
        rank=7,
        stage="Passed",
        hidden=True,
        fields={"valuation": 12, "source_channel": "gmail"},
    )
    sg.annotations.tag(dup, "ai", "robotics")
    sg.annotations.comment(dup, "Saw them in a newsletter.", actor="bo")
    sg.lists.create("Deal flow")
    sg.lists.create("Watchlist")
    sg.lists.add("Deal flow", [acme, dup], note="from Accern")
    sg.lists.add("Watchlist", [dup])
    before = _snapshot(sg, [acme, dup])

    merged = sg.entities.merge([acme, dup], reason="same company")
    survivor = merged["survivor"]
    absorbed = dup if survivor == acme else acme
    assert survivor == min(acme, dup)
    view = sg.annotations.get(absorbed)  # any id reads the canonical view
    assert view["entity"] == survivor
    assert view["merged_ids"] == [absorbed]
    first, second = (before["annotations"][survivor], before["annotations"][absorbed])
    assert view["rank"] == first["rank"]
    assert view["stage"] == first["stage"]
    assert view["hidden"] is True  # the survivor had none: the absorbed one's value
    assert view["tags"] == sorted(set(first["tags"]) | set(second["tags"]))
    assert view["fields"] == {**second["fields"], **first["fields"]}
    assert [c["text"] for c in view["comments"]] == [
        "First call went well.", "Saw them in a newsletter.",
    ]  # fmt: skip
    deal_flow = sg.lists.show("Deal flow").items
    assert [m["id"] for m in deal_flow] == [survivor]
    assert deal_flow[0]["name"] == before["annotations"][survivor]["name"]
    assert [m["id"] for m in sg.lists.show("Watchlist").items] == [survivor]
    assert [item["name"] for item in sg.lists.containing(absorbed)] == ["Deal flow", "Watchlist"]
    assert sg.lists.add("Watchlist", [absorbed])["added"] == []
    flags = sg.flags.list(kind="annotation_conflict")
    assert len(flags) == 1
    conflicts = flags[0].details["conflicts"]
    assert set(conflicts) == {"rank", "stage", "field:valuation"}
    assert conflicts["rank"] == {"survivor": first["rank"], "absorbed": second["rank"]}
    assert flags[0].object_id == survivor
    with sg.engine.connect() as conn:
        ws = sg.workspace_id
        in_review = set(
            conn.execute(sa.select(annotation_filter(ws, stage="In Review").subquery())).scalars()
        )
        assert in_review == ({survivor} if first["stage"] == "In Review" else set())
        assert set(conn.execute(annotation_filter(ws, tag="robotics")).scalars()) == {survivor}
        assert set(conn.execute(annotation_filter(ws, hidden=True)).scalars()) == {survivor}
        passed = set(conn.execute(annotation_filter(ws, stage="Passed")).scalars())
        assert passed == ({survivor} if first["stage"] == "Passed" else set())

    sg.entities.unmerge(absorbed)
    after = _snapshot(sg, [acme, dup])
    assert after == before
    with sg.engine.connect() as conn:
        ws = sg.workspace_id
        assert set(conn.execute(annotation_filter(ws, stage="Passed")).scalars()) == {dup}
        assert set(conn.execute(annotation_filter(ws, tag="ai")).scalars()) == {acme, dup}


def test_writes_after_a_merge_go_to_the_survivor(sg: SignalGraph, deals: dict[str, Any]) -> None:
    a, b = sorted([deals["12345"], deals["67890"]])
    sg.annotations.set(b, stage="Passed")
    sg.annotations.tag(b, "old")
    sg.entities.merge([a, b])
    sg.annotations.set(b, rank=4)  # given the absorbed id: written to the survivor
    sg.annotations.untag(a, "old")
    sg.annotations.set(a, clear=["stage"])
    with sg.engine.connect() as conn:
        rows = {r.entity_id: r for r in conn.execute(sa.select(annotation))}
    assert rows[a].rank == 4
    assert rows[b].rank is None
    view = sg.annotations.get(a)
    assert (view["rank"], view["stage"], view["tags"]) == (4, None, [])


def test_precedence_follows_the_merge_tree(sg: SignalGraph, deals: dict[str, Any]) -> None:
    x, y, z = sorted([deals["12345"], deals["67890"], deals["55555"]])
    sg.annotations.set(y, stage="from y")
    sg.annotations.set(z, stage="from z")
    sg.entities.merge([y, z])  # y keeps its stage over z's
    sg.entities.merge([x, y])  # x has none: the y group's value, y's own
    assert sg.annotations.get(z)["stage"] == "from y"
    with sg.engine.connect() as conn:
        ws = sg.workspace_id
        assert set(conn.execute(annotation_filter(ws, stage="from y")).scalars()) == {x}
        assert set(conn.execute(annotation_filter(ws, stage="from z")).scalars()) == set()


def test_archive_hides_but_keeps_references(sg: SignalGraph, deals: dict[str, Any]) -> None:
    acme = deals["12345"]
    sg.lists.create("Deal flow")
    sg.lists.add("Deal flow", [acme])
    sg.annotations.set(acme, stage="Declined")
    archived = sg.entities.archive(str(acme)[:28], reason="company shut down")
    assert archived["archive_reason"] == "company shut down"
    assert {e["id"] for e in sg.entities.list()} == set(deals.values()) - {acme}
    assert acme in {e["id"] for e in sg.entities.list(archived=True)}
    assert acme not in {e["id"] for e in sg.entities.search("Acme AI")}
    assert acme in {e["id"] for e in sg.entities.search("Acme AI", include_archived=True)}
    assert sg.entities.show(acme)["archived_at"] is not None
    assert sg.lists.show("Deal flow").items[0]["archived"] is True
    assert sg.annotations.get(acme)["archived"] is True
    with pytest.raises(UsageError, match="already archived"):
        sg.entities.archive(acme)
    # A record that re-appears still finds its (archived) entity.
    sg.entities.ingest([company("x-1", "Acme AI", identifiers={"domain": "acme.ai"})],
                       source="harmonic")  # fmt: skip
    sg.resolve()
    assert entity_of(sg, "x-1") == acme
    sg.entities.restore(acme)
    assert acme in {e["id"] for e in sg.entities.list()}
    with sg.engine.connect() as conn:
        row = conn.execute(sa.select(entity).where(entity.c.id == acme)).one()
    assert row.archived_at is None
    assert row.archive_reason is None


def test_archived_sources_refuse_ingest(sg: SignalGraph) -> None:
    sg.sources.add("gmail")
    sg.sources.add("wire")
    sg.ingest([{"external_id": "m1", "title": "Newsletter", "text": "Acme AI raised",
                "published_at": "2024-02-01T00:00:00Z"}], source="gmail")  # fmt: skip
    sg.sources.archive("gmail")
    assert [s.name for s in sg.sources.list()] == ["wire"]
    with pytest.raises(SignalgraphError, match="archived"):
        sg.ingest([{"external_id": "m2", "title": "x", "published_at": "2024-02-02"}],
                  source="gmail")  # fmt: skip
    assert len(sg.signals.list(limit=10)) == 1
    sg.sources.restore("gmail")
    with pytest.raises(UsageError, match="not archived"):
        sg.sources.restore("gmail")
    with pytest.raises(NotFound):
        sg.sources.archive("nope")


def test_annotation_filters_combine_conditions(sg: SignalGraph, deals: dict[str, Any]) -> None:
    acme, robots, helix = deals["12345"], deals["67890"], deals["55555"]
    sg.annotations.define_field("round", "enum", values=["seed", "series_a"])
    sg.annotations.set(acme, rank=1, stage="In Review", fields={"round": "seed"})
    sg.annotations.set(robots, rank=5, stage="In Review", hidden=True)
    sg.annotations.set(helix, rank=9, fields={"round": "series_a"})
    sg.annotations.tag(helix, "bio")
    ws = sg.workspace_id

    def ids(**conditions: Any) -> set[uuid.UUID]:
        with sg.engine.connect() as conn:
            query = sa.select(entity.c.id).where(
                entity.c.workspace_id == ws, entity.c.id.in_(annotation_filter(ws, **conditions))
            )
            return set(conn.execute(query).scalars())

    assert ids(stage="In Review") == {acme, robots}
    assert ids(stage="In Review", rank_max=3) == {acme}
    assert ids(rank_min=5) == {robots, helix}
    assert ids(hidden=True) == {robots}
    assert ids(hidden=False) == {acme, helix, deals["p-1"]}
    assert ids(fields={"round": "series_a"}) == {helix}
    assert ids(tag="bio", rank_max=9) == {helix}
    assert ids(stage="'; DROP TABLE annotation; --") == set()
