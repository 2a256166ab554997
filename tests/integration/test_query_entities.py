"""Entity search: names, identifiers, filters, merged ids hidden, keyset pages."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.errors import NotFound, UsageError


def company(external_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "type": "company", "name": name, **extra}


@pytest.fixture
def book(sg: SignalGraph) -> SignalGraph:
    sg.sources.add("vendor")
    sg.entities.ingest(
        [
            company("1", "Acme Robotics Inc.", identifiers={"ticker": "ACME"}),
            company("2", "Acme Foods GmbH"),
            company("3", "Helix Therapeutics", identifiers={"ticker": "HLXT"}),
            company("4", "Zeta Analytics"),
            {"external_id": "5", "type": "person", "name": "Ada Acme"},
        ]
        + [company(f"x{i}", f"Filler Company {i:03}") for i in range(30)],
        source="vendor",
    )
    sg.resolve()
    return sg


def names(page: Any) -> list[str]:
    return [row["name"] for row in page]


def test_by_name_prefix_fuzzy_identifier_and_type(book: SignalGraph) -> None:
    assert names(book.entities.search("acme robo"))[0] == "Acme Robotics Inc."
    assert set(names(book.entities.search("acme", entity_type="company"))) == {
        "Acme Robotics Inc.",
        "Acme Foods GmbH",
    }
    assert names(book.entities.search("Helix Therapeutcs"))[0] == "Helix Therapeutics"
    [hit] = book.entities.search("ticker:hlxt")
    assert (hit["name"], hit["matched"], hit["score"]) == ("Helix Therapeutics", "identifier", 100)
    assert names(book.entities.search(identifier="ticker:ACME")) == ["Acme Robotics Inc."]
    assert names(book.entities.search("acme", identifier="ticker:HLXT")) == []
    with pytest.raises(UsageError, match="scheme:value"):
        book.entities.search(identifier="ACME")
    with pytest.raises(UsageError, match="NUL"):
        book.entities.search("a\x00b")


def test_merged_and_archived_entities_are_hidden(book: SignalGraph) -> None:
    robotics = book.entities.search(identifier="ticker:ACME")[0]["id"]
    foods = book.entities.search("Acme Foods")[0]["id"]
    merged = book.entities.merge([robotics, foods])
    survivor = merged["survivor"]
    hits = book.entities.search("acme", entity_type="company")
    assert [h["id"] for h in hits] == [survivor]
    with book.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE entity SET archived_at = now() WHERE id = :id"), {"id": survivor}
        )
    assert book.entities.search("acme", entity_type="company").items == []
    [archived] = book.entities.search("acme", entity_type="company", include_archived=True)
    assert archived["archived"] is True


@pytest.mark.parametrize("text", [None, "filler company"])
def test_pages_never_skip_or_repeat_while_entities_arrive(
    book: SignalGraph, text: str | None
) -> None:
    everything = {row["id"] for row in book.entities.search(text, limit=1000)}
    seen: list[Any] = []
    cursor = None
    arrivals = 0
    while True:
        page = book.entities.search(text, limit=4, cursor=cursor)
        seen.extend(row["id"] for row in page)
        arrivals += 1
        book.entities.ingest(
            [company(f"late{arrivals}", f"Filler Company late {arrivals}")], source="vendor"
        )
        book.resolve()
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert everything <= set(seen)
    with pytest.raises(UsageError, match="cursor"):
        book.entities.search(text, cursor="bogus")


def test_filters_by_list_and_annotations_follow_merges(book: SignalGraph) -> None:
    robotics = book.entities.search(identifier="ticker:ACME")[0]["id"]
    foods = book.entities.search("Acme Foods")[0]["id"]
    helix = book.entities.search(identifier="ticker:HLXT")[0]["id"]
    book.lists.create("Deal flow")
    book.lists.add("Deal flow", [foods, helix])
    book.annotations.define_field("sector", "enum", values=["bio", "robots"])
    book.annotations.set(robotics, stage="In Review", rank=2, fields={"sector": "robots"})
    book.annotations.tag(helix, "hot")
    book.annotations.set(helix, rank=9)

    def found(**filters: Any) -> set[Any]:
        return {row["id"] for row in book.entities.search(**filters, limit=100)}

    assert found(in_list="Deal flow") == {foods, helix}
    assert found(stage="In Review") == {robotics}
    assert found(tag="hot", in_list="Deal flow") == {helix}
    assert found(rank_max=5) == {robotics}
    assert found(fields={"sector": "robots"}) == {robotics}
    assert found(text="acme", in_list="Deal flow") == {foods}
    # After a merge the survivor carries the list membership and the annotations.
    survivor = book.entities.merge([robotics, foods])["survivor"]
    assert found(in_list="Deal flow") == {survivor, helix}
    assert found(stage="In Review", in_list="Deal flow") == {survivor}
    book.entities.unmerge(max(robotics, foods))
    assert found(in_list="Deal flow") == {foods, helix}
    with pytest.raises(NotFound, match="list"):
        book.entities.search(in_list="nope")
    with pytest.raises(NotFound, match="not defined"):
        book.entities.search(fields={"colour": "red"})


def test_fact_conditions_and_the_full_dossier(book: SignalGraph) -> None:
    robotics = book.entities.search(identifier="ticker:ACME")[0]["id"]
    helix = book.entities.search(identifier="ticker:HLXT")[0]["id"]
    book.sources.add("harmonic", trust_rank=5)
    book.facts.define("revenue", "number", unit="USD")
    book.facts.add(
        [
            {"entity": {"ticker": "ACME"}, "property": "revenue", "value": 25_000_000,
             "as_of": "2026-01-01"},
            {"entity": {"ticker": "HLXT"}, "property": "revenue", "value": 4_000_000,
             "as_of": "2026-01-01"},
            {"entity": {"ticker": "HLXT"}, "property": "country", "value": "DE"},
        ],
        source="harmonic",
    )  # fmt: skip
    book.relations.add(
        [{"subject": {"ticker": "ACME"}, "predicate": "acquirer_match",
          "object": {"ticker": "HLXT"}, "confidence": 0.8}],
        source="harmonic",
    )  # fmt: skip

    def found(*conditions: str, **filters: Any) -> set[Any]:
        return {row["id"] for row in book.entities.search(where=conditions, **filters)}

    assert found("revenue > 10M") == {robotics}
    assert found("revenue >= 4M", "country = DE") == {helix}
    assert found("revenue > 1M", text="helix") == {helix}
    with pytest.raises(UsageError):
        book.entities.search(where=["revenue"])
    for malformed in ("revenue > 1; DROP TABLE fact", "revenue >> 3", "headcount > abc"):
        with pytest.raises(UsageError, match="not a number"):
            book.entities.search(where=[malformed])
    # Audit history by an entity's id prefix: its own changes and those of rows about it.
    events = book.audit.list(object_id=str(robotics)[:18])
    assert robotics in {event.object_id for event in events.items}
    assert all(robotics in (event.object_id, event.subject_id) for event in events.items)
    with pytest.raises(NotFound, match="object ffff does not exist in this workspace"):
        book.audit.list(object_id="ffff")

    book.lists.create("Targets")
    book.lists.add("Targets", [robotics])
    book.annotations.set(robotics, stage="Diligence")
    book.annotations.comment(robotics, "Strong team")
    dossier = book.entities.show(robotics)
    assert dossier["facts"]["revenue"]["value"] == 25_000_000
    assert dossier["facts"]["revenue"]["source"] == "harmonic"
    [relation] = dossier["relations"]
    assert (relation["predicate"], relation["other_id"]) == ("acquirer_match", helix)
    assert [item["name"] for item in dossier["lists"]] == ["Targets"]
    assert dossier["annotations"]["stage"] == "Diligence"
    assert [c["text"] for c in dossier["annotations"]["comments"]] == ["Strong team"]
    assert any(event["object"].startswith("annotation") for event in dossier["audit"])


def test_common_name_words_do_not_flood_the_candidates(sg: SignalGraph) -> None:
    from signalgraph.query import entities as query

    sg.sources.add("vendor")
    sg.entities.ingest(
        [company(f"f{i}", f"Firm{i:04d} Labs") for i in range(query.COMMON_WORD + 20)]
        + [company("z", "Zorblax Labs")],
        source="vendor",
    )
    sg.resolve()
    with sg.engine.connect() as conn:
        workspace_id = sg.workspace_id_in(conn)
        kept = query._without_common_words(conn, workspace_id, ["t:zorblax", "t:laboratories"])
        alone = query._without_common_words(conn, workspace_id, ["t:laboratories"])
    assert kept == ["t:zorblax"]
    assert alone == ["t:laboratories"]
    assert sg.entities.search("Zorblax Labs")[0]["name"] == "Zorblax Labs"
    assert len(sg.entities.search("labs", limit=50)) == 50
