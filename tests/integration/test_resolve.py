from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

import signalgraph
from signalgraph.client import SignalGraph
from signalgraph.errors import UsageError
from signalgraph.resolve.decisions import JudgedDifferent
from tests.concurrency import at_once

LEI_A = "5493001KJTIIGC8Y1R12"
LEI_B = "529900T8BM49AURSDO55"


def company(external_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "type": "company", "name": name, **extra}


def entity_of(sg: SignalGraph, external_id: str, source: str = "vendor") -> Any:
    rows = {r["external_id"]: r["entity_id"] for r in sg.entities.clusters(source_name=source)}
    return rows[external_id]


@pytest.fixture
def er(sg: SignalGraph) -> SignalGraph:
    sg.sources.add("vendor")
    sg.sources.add("crm")
    return sg


def test_records_link_by_name_identifier_and_stay_apart_otherwise(er: SignalGraph) -> None:
    er.entities.ingest(
        [
            company("v1", "Acme Robotics Inc.", identifiers={"domain": "acme.ai"}),
            company("v2", "Helix Therapeutics", identifiers={"ticker": "HLXT"}),
            company("v3", "Zeta Foods GmbH", properties={"country": "DE"}),
        ],
        source="vendor",
    )
    er.entities.ingest(
        [
            company("c1", "ACME ROBOTICS", identifiers={"website": "https://www.acme.ai/"}),
            company("c2", "Helix Therapeutics, Inc.", identifiers={"ticker": "hlxt"}),
            company("c3", "Zeta Analytics", properties={"country": "US"}),
        ],
        source="crm",
    )
    result = er.resolve()
    assert result.status == "succeeded"
    assert result.counters["records"] == 6
    assert entity_of(er, "v1") == entity_of(er, "c1", "crm")
    assert entity_of(er, "v2") == entity_of(er, "c2", "crm")
    assert entity_of(er, "v3") != entity_of(er, "c3", "crm")
    dossier = er.entities.show(entity_of(er, "v1"))
    assert dossier["identifiers"] == {"domain": ["acme.ai"]}
    assert {r["source"] for r in dossier["records"]} == {"vendor", "crm"}
    assert dossier["records"][1]["method"] == "score"


def test_resolve_is_incremental(er: SignalGraph) -> None:
    er.entities.ingest([company("v1", "Acme Robotics")], source="vendor")
    first = er.resolve()
    assert first.counters["records"] == 1
    assert er.resolve().counters.get("records", 0) == 0  # nothing new: nothing read again
    er.entities.ingest([company("c1", "Acme Robotics Inc")], source="crm")
    second = er.resolve()
    assert second.counters["records"] == 1
    assert entity_of(er, "v1") == entity_of(er, "c1", "crm")
    with er.engine.connect() as conn:
        resolved_in = (
            conn.execute(
                sa.text("SELECT resolution->>'run_id' FROM entity_record ORDER BY created_at")
            )
            .scalars()
            .all()
        )
    assert resolved_in == [str(first.run_id), str(second.run_id)]


WORDS = (
    "Apex Birch Cobalt Dune Ember Fjord Grove Haven Iris Jasper Kite Lark Moss Nectar Onyx "
    "Pine Quill Rowan Sage Thistle Umber Vale Willow Yarrow Zephyr"
).split()


def test_later_sightings_link_after_a_clean_first_load(er: SignalGraph) -> None:
    """A first source without duplicates trains a model that still links what comes next."""
    names = [f"{a} {b} Analytics" for a in WORDS[:12] for b in WORDS[12:]][:130]
    er.entities.ingest([company(f"v{i}", n) for i, n in enumerate(names)], source="vendor")
    first = er.resolve()
    assert first.counters["new_entities"] == 130
    assert first.models["company"]["trained"] is True
    er.entities.ingest(
        [company(f"c{i}", names[i].upper() + " INC") for i in range(0, 130, 10)]
        + [company("typo", names[7].replace("Analytics", "Analytcs"))],
        source="crm",
    )
    second = er.resolve()
    assert second.counters["records"] == 14
    assert second.counters["linked_by_score"] == 13  # the same names, written another way
    assert entity_of(er, "v20") == entity_of(er, "c20", "crm")
    # One typo and nothing else: this data has shown no misspelt matches yet, so the pair
    # waits in review rather than being linked on the model's defaults.
    assert entity_of(er, "v7") != entity_of(er, "typo", "crm")
    (pending,) = er.review.list()
    assert {pending["entity_a"], pending["entity_b"]} == {
        entity_of(er, "v7"),
        entity_of(er, "typo", "crm"),
    }


def test_misspelt_first_words_are_found_and_distinct_words_keep_apart(er: SignalGraph) -> None:
    er.entities.ingest(
        [
            company("v1", "Century Aluminum", properties={"country": "US"}),
            company("v2", "Century Communities", properties={"country": "US"}),
            company("v3", "Xcel Energy", properties={"country": "US"}),
        ],
        source="vendor",
    )
    er.entities.ingest(
        [
            company("c1", "Cenutry Aluminum Co.", properties={"country": "US"}),
            company("c2", "Xcell Energy Inc", properties={"country": "US"}),
        ],
        source="crm",
    )
    er.resolve()
    assert entity_of(er, "c1", "crm") == entity_of(er, "v1")
    assert entity_of(er, "v1") != entity_of(er, "v2")
    assert entity_of(er, "c2", "crm") == entity_of(er, "v3")


def test_unique_identifiers_link_and_conflict(er: SignalGraph) -> None:
    er.entities.ingest(
        [company("v1", "Acme Robotics", identifiers={"lei": LEI_A})], source="vendor"
    )
    er.entities.ingest(
        [
            company("c1", "Totally Different Name", identifiers={"lei": LEI_A}),
            company("c2", "Acme Robotics", identifiers={"lei": LEI_B}),
        ],
        source="crm",
    )
    result = er.resolve()
    assert result.counters["linked_by_identifier"] == 1
    assert entity_of(er, "v1") == entity_of(er, "c1", "crm")  # the LEI decides
    assert entity_of(er, "v1") != entity_of(er, "c2", "crm")  # two LEIs never auto-link
    flags = [f.as_dict() for f in er.flags.list()]
    assert any(f["kind"] == "identifier_conflict" for f in flags)
    assert er.review.list(), "the same-named company with another LEI is queued for review"


def test_invalid_identifiers_are_kept_and_flagged_not_used(er: SignalGraph) -> None:
    result = er.entities.ingest(
        [
            company("v1", "Acme", identifiers={"lei": "NOT-A-LEI", "domain": "acme.ai"}),
            company("v2", "Other", identifiers={"lei": "NOT-A-LEI"}),
        ],
        source="vendor",
    )
    assert result.counters["invalid_identifiers"] == 2
    er.resolve()
    assert entity_of(er, "v1") != entity_of(er, "v2")
    dossier = er.entities.show(entity_of(er, "v1"))
    assert "lei" not in dossier["identifiers"]
    assert "NOT-A-LEI" in str(dossier["records"][0]["properties"]["_invalid_identifiers"])
    assert (
        sum(f["kind"] == "invalid_identifier" for f in [f.as_dict() for f in er.flags.list()]) == 2
    )


def test_entity_record_rejects(er: SignalGraph) -> None:
    result = er.entities.ingest(
        [
            {"external_id": "x1", "type": "spaceship", "name": "Enterprise"},
            {"external_id": "x2", "type": "company"},
            {"external_id": "x3", "type": "company", "name": "Ok", "identifiers": ["a"]},
            company("x4", "Fine Co"),
        ],
        source="vendor",
    )
    assert result.counters["inserted"] == 1
    assert result.counters["rejected"] == 3
    reasons = {r.field: r.reason for r in er.rejects.list(run_id=result.run_id)}
    assert "unknown entity type 'spaceship'" in reasons["type"]
    assert reasons["name"] == "is missing or empty"
    assert reasons["identifiers"] == "expected an object, got array"
    er.entities.add_type("spaceship")
    assert (
        er.entities.ingest(
            [{"external_id": "x1", "type": "spaceship", "name": "Enterprise"}], source="vendor"
        ).counters["inserted"]
        == 1
    )


def test_merge_then_unmerge_restores_the_exact_prior_state(er: SignalGraph) -> None:
    er.sources.add("wire")
    er.ingest(
        [
            {
                "external_id": "s1",
                "title": "A",
                "mentions": [{"type": "company", "text": "Alpha Ltd"}],
            },
            {
                "external_id": "s2",
                "title": "B",
                "mentions": [{"type": "company", "text": "Beta GmbH"}],
            },
        ],
        source="wire",
    )
    er.entities.ingest([company("v1", "Alpha"), company("v2", "Beta")], source="vendor")
    er.resolve()

    def state() -> list[tuple[Any, ...]]:
        with er.engine.connect() as conn:
            records = conn.execute(
                sa.text("SELECT id, entity_id FROM entity_record ORDER BY id")
            ).all()
            redirects = conn.execute(
                sa.text("SELECT from_id, to_id FROM entity_redirect ORDER BY from_id")
            ).all()
            mentions = conn.execute(
                sa.text(
                    "SELECT m.text, r.entity_id FROM mention m JOIN entity_record r "
                    "ON r.id = m.record_id ORDER BY m.text"
                )
            ).all()
        return [tuple(records), tuple(redirects), tuple(mentions)]

    before = state()
    alpha, beta = entity_of(er, "v1"), entity_of(er, "v2")
    merged = er.entities.merge([alpha, beta], reason="test")
    survivor = merged["survivor"]
    assert survivor == min(alpha, beta)
    absorbed = max(alpha, beta)
    assert er.entities.canonical(absorbed) == survivor  # the absorbed id still answers
    assert er.entities.show(absorbed)["id"] == survivor
    assert state() != before
    er.entities.unmerge(absorbed)
    assert state() == before
    # The unmerge is remembered as a judgement: the two never merge automatically again.
    with pytest.raises(JudgedDifferent):
        er.entities.merge([alpha, beta])


def test_redirect_chains_resolve_to_the_final_survivor(er: SignalGraph) -> None:
    er.entities.ingest(
        [company("a", "Alpha One"), company("b", "Bravo Two"), company("c", "Charlie Three")],
        source="vendor",
    )
    er.resolve()
    a, b, c = entity_of(er, "a"), entity_of(er, "b"), entity_of(er, "c")
    first = er.entities.merge([b, c])["survivor"]
    second = er.entities.merge([a, first])["survivor"]
    assert second == min(a, b, c)
    for original in (a, b, c):
        assert er.entities.canonical(original) == second
    with er.engine.connect() as conn:
        targets = set(conn.execute(sa.text("SELECT to_id FROM entity_redirect")).scalars())
    assert targets == {second}, "redirects always name a live entity"
    # Undo the outer merge: the inner one still holds.
    er.entities.unmerge(max(a, first))
    assert er.entities.canonical(c) == er.entities.canonical(b)
    assert er.entities.canonical(a) != er.entities.canonical(b)


def test_negative_judgements_win_transitively(er: SignalGraph) -> None:
    er.entities.ingest(
        [company("a", "Apex Foods"), company("b", "Apex Robotics"), company("c", "Cobalt")],
        source="vendor",
    )
    er.resolve()
    a, b, c = (entity_of(er, x) for x in "abc")
    er.entities.judge(a, b, "different", reason="different industries")
    merged = er.entities.merge([b, c])["survivor"]
    with pytest.raises(JudgedDifferent, match="different industries"):
        er.entities.merge([a, merged])
    with pytest.raises(UsageError, match="one entity now"):
        er.entities.judge(b, c, "different")
    # A later "same" judgement overrides, and merges.
    result = er.entities.judge(a, merged, "same", reason="checked: one company")
    assert result["merge"] is not None
    assert er.entities.canonical(b) == er.entities.canonical(a)


def test_split_moves_records_out_and_keeps_them_apart(er: SignalGraph) -> None:
    er.entities.ingest([company("v1", "Acme Robotics")], source="vendor")
    er.entities.ingest([company("c1", "Acme Robotics Inc")], source="crm")
    er.resolve()
    entity_id = entity_of(er, "v1")
    record = next(r for r in er.entities.show(entity_id)["records"] if r["source"] == "crm")
    result = er.entities.split(entity_id, [record["id"]], reason="another Acme")
    assert entity_of(er, "c1", "crm") == result["new_entity"]
    assert entity_of(er, "v1") == entity_id
    with pytest.raises(JudgedDifferent):
        er.entities.merge([entity_id, result["new_entity"]])
    with pytest.raises(UsageError, match="every record"):
        er.entities.split(entity_id, [er.entities.show(entity_id)["records"][0]["id"]])


def test_explain_shows_the_evidence(er: SignalGraph) -> None:
    er.entities.ingest(
        [company("v1", "Acme Robotics", properties={"country": "US"}), company("v2", "Zeta")],
        source="vendor",
    )
    er.resolve()
    report = er.entities.explain(entity_of(er, "v1"), entity_of(er, "v2"))
    best = report["best_pair"]
    assert best["levels"]["name"] == 0
    assert best["weights"]["name"] < 0
    assert best["probability"] < 0.5


def test_review_decisions_take_effect(er: SignalGraph) -> None:
    er.entities.ingest(
        [company("v1", "Northwind Robotics", properties={"country": "US"})], source="vendor"
    )
    er.entities.ingest(
        [company("c1", "Northwind Robotics Ltd", properties={"country": "FR"})], source="crm"
    )
    er.resolve()
    items = er.review.list()
    assert len(items) == 1
    shown = er.review.show(items[0]["id"])
    best = shown["explanation"]["best_pair"]
    assert sorted(best["names"]) == ["Northwind Robotics", "Northwind Robotics Ltd"]
    assert best["levels"]["country"] == 0
    er.review.decide(items[0]["id"], "same", reason="same website")
    assert entity_of(er, "v1") == entity_of(er, "c1", "crm")
    assert er.review.list() == []
    with pytest.raises(UsageError, match="already decided"):
        er.review.decide(items[0]["id"], "different")


def test_mentions_resolve_into_entities_with_records(er: SignalGraph) -> None:
    er.sources.add("wire")
    er.ingest(
        [
            {
                "external_id": f"s{i}",
                "title": f"Story {i}",
                "mentions": [
                    {"type": "ORG", "text": name, "identifiers": ids}
                    for name, ids in [
                        ("Acme Robotics", {"domain": "acme.ai"}),
                        ("Maya Lindqvist", {}),
                    ]
                ]
                + [{"type": "person", "text": "Maya Lindqvist"}],
            }
            for i in range(3)
        ],
        source="wire",
    )
    er.entities.ingest(
        [company("v1", "Acme Robotics Inc", identifiers={"website": "acme.ai"})], source="vendor"
    )
    result = er.resolve()
    assert result.counters["mentions"] == 9
    acme = entity_of(er, "v1")
    dossier = er.entities.show(acme)
    assert dossier["mentions"] == 3
    assert len(dossier["recent_signals"]) == 3
    with er.engine.connect() as conn:
        unresolved = conn.execute(
            sa.text("SELECT count(*) FROM mention WHERE record_id IS NULL")
        ).scalar_one()
    assert unresolved == 0
    people = er.entities.list(entity_type="person")
    assert [p["name"] for p in people] == ["Maya Lindqvist"]
    assert er.resolve().counters.get("mentions", 0) == 0


def test_search_and_clusters(er: SignalGraph) -> None:
    er.entities.ingest(
        [
            company("v1", "Acme Robotics", identifiers={"domain": "acme.ai"}),
            company("v2", "Zeta Foods"),
        ],
        source="vendor",
    )
    er.resolve()
    found = er.entities.search("acme")
    assert found[0]["name"] == "Acme Robotics"
    assert er.entities.search("domain:www.acme.ai")[0]["matched"] == "identifier"
    assert er.entities.search("Zeta Fods")[0]["name"] == "Zeta Foods"
    rows = list(er.entities.clusters(source_name="vendor"))
    assert [r["external_id"] for r in rows] == ["v1", "v2"]


def test_two_resolvers_at_once_make_no_duplicate_entities(database_url: str) -> None:
    setup = signalgraph.connect(url=database_url)
    setup.sources.add("vendor")
    records = []
    for i in range(150):
        for variant in ("{} Holdings", "{} Inc.", "{}"):
            records.append(
                company(
                    f"r{i}-{variant}",
                    variant.format(f"Company{i:03d} Widgets"),
                    identifiers={"domain": f"company{i:03d}.example"},
                )
            )
    setup.entities.ingest(records, source="vendor")
    setup.close()
    at_once(database_url, lambda client: client.resolve(batch_size=40))
    check = signalgraph.connect(url=database_url)
    with check.engine.connect() as conn:
        live = conn.execute(
            sa.text(
                "SELECT count(DISTINCT entity_id) FROM entity_record WHERE entity_id IS NOT NULL"
            )
        ).scalar_one()
        unresolved = conn.execute(
            sa.text("SELECT count(*) FROM entity_record WHERE entity_id IS NULL")
        ).scalar_one()
    check.close()
    assert unresolved == 0
    assert live == 150
