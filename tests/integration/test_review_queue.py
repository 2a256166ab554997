"""The review queue stays honest: an item whose pair became one entity leaves it, with why."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

import signalgraph
from signalgraph.client import SignalGraph
from signalgraph.db.admin import check
from signalgraph.db.engine import dedicated_connection
from signalgraph.ids import uuid7
from signalgraph.resolve import decisions
from signalgraph.resolve.decisions import JudgedDifferent
from signalgraph.resolve.review_queue import RAISE
from tests.concurrency import at_once
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

# Pending items whose two sides resolve to one entity (what must never stay).
MOOT_PENDING = """
SELECT count(*) FROM review_item r
WHERE r.status = 'pending'
  AND coalesce((SELECT to_id FROM entity_redirect e WHERE e.workspace_id = r.workspace_id
                AND e.from_id = r.entity_a), r.entity_a)
    = coalesce((SELECT to_id FROM entity_redirect e WHERE e.workspace_id = r.workspace_id
                AND e.from_id = r.entity_b), r.entity_b)
"""


def company(external_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "type": "company", "name": name, **extra}


def entity_of(sg: SignalGraph, external_id: str, source: str = "vendor") -> Any:
    rows = {r["external_id"]: r["entity_id"] for r in sg.entities.clusters(source_name=source)}
    return rows[external_id]


def invented_name(rng: random.Random) -> str:
    def word() -> str:
        return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3))

    return f"{word().title()} {word().title()}"


def scalar(sg: SignalGraph, query: str) -> Any:
    with sg.engine.connect() as conn:
        return conn.execute(sa.text(query)).scalar_one()


@pytest.fixture
def er(sg: SignalGraph) -> SignalGraph:
    sg.sources.add("vendor")
    sg.sources.add("crm")
    return sg


def test_two_concurrent_resolves_leave_no_pending_review_of_one_entity(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The untrained model, which this data is made for: "X", "X Inc" and "X Holdings" link.
    monkeypatch.setattr("signalgraph.resolve.funnel.TRAIN_MIN_RECORDS", 10**9)
    setup = signalgraph.connect(url=database_url)
    setup.sources.add("vendor")
    rng = random.Random(5)
    names = [invented_name(rng) for _ in range(300)]
    records = []
    # Batch by batch, each company's first three spellings come in consecutive batches, so
    # the two runs decide them at the same time, each making its own entity. The later
    # spelling fits both entities and sends them to review; reconciliation then merges them.
    for start in range(0, len(names), 40):
        for n, spelling in enumerate(("{}", "{} Inc", "{} Holdings")):
            records.extend(
                company(f"r{start + i}-{n}", spelling.format(name), properties={"country": "US"})
                for i, name in enumerate(names[start : start + 40])
            )
    setup.entities.ingest(records, source="vendor")
    setup.close()
    results = at_once(database_url, lambda client: client.resolve(batch_size=40))
    # The runs did overlap: each made entities the other had too, and pairs went to review.
    assert sum(r.counters["merged_concurrent"] for r in results) > 0
    assert sum(r.counters["review"] for r in results) > 0
    sg = signalgraph.connect(url=database_url)
    try:
        assert scalar(sg, "SELECT count(DISTINCT entity_id) FROM entity_record") == 300
        assert scalar(sg, MOOT_PENDING) == 0
        settled = scalar(
            sg,
            "SELECT count(*) FROM review_item WHERE status = 'settled' AND resolution = 'merged' "
            "AND decided_by = 'resolve' AND merge_id IS NOT NULL",
        )
        assert settled > 0
        assert scalar(sg, "SELECT count(*) FROM review_item WHERE status = 'settled'") == (
            settled + sum(r.counters["reviews_settled"] for r in results)
        )
        report = check(sg.engine, deep=True)
        assert report["integrity"]["pending_reviews_of_one_entity"] == 0
        assert report["ok"], report
    finally:
        sg.close()


def test_an_item_raised_while_its_pair_was_being_merged_is_settled_by_the_next_run(
    er: SignalGraph,
) -> None:
    er.entities.ingest(
        [company("v1", "Acme Robotics"), company("v2", "Zeta Foods")], source="vendor"
    )
    er.resolve()
    acme, zeta = entity_of(er, "v1"), entity_of(er, "v2")
    raised = orjson.dumps(
        [
            {"id": str(uuid7()), "a": str(min(acme, zeta)), "b": str(max(acme, zeta)),
             "probability": 0.5, "weight": 0.0, "features": {}, "uncertainty": 1.0}
        ]
    ).decode()  # fmt: skip
    with er.engine.connect() as merging:
        # The merge settles what it sees; the item is raised and committed meanwhile, by a
        # statement that cannot see the uncommitted merge either.
        decisions.merge_entities(merging, er.workspace_id, acme, zeta, actor="ana", reason="test")
        with dedicated_connection(er.url, er.settings) as raising:
            raising.execute(RAISE, {"ws": er.workspace_id, "run": None, "rows": raised})
            raising.commit()
        merging.commit()
    assert scalar(er, MOOT_PENDING) == 1
    assert er.resolve().counters["reviews_settled"] == 1
    assert scalar(er, MOOT_PENDING) == 0
    assert scalar(er, "SELECT decided_by FROM review_item") == "resolve"


def northwind_in_review(er: SignalGraph) -> tuple[Any, Any, dict[str, Any]]:
    """Return the two Northwind entities and the review item asking if they are one."""
    er.entities.ingest(
        [company("v1", "Northwind Robotics", properties={"country": "US"})], source="vendor"
    )
    er.entities.ingest(
        [company("c1", "Northwind Robotics Ltd", properties={"country": "FR"})], source="crm"
    )
    er.resolve()
    (item,) = er.review.list()
    return entity_of(er, "v1"), entity_of(er, "c1", "crm"), item


def test_merging_a_pair_through_a_third_entity_settles_its_review_item(
    er: SignalGraph, cli: Cli, database_url: str
) -> None:
    # Zeta is the oldest entity, so it survives both merges: neither merge names the pair.
    er.entities.ingest([company("z1", "Zeta Foods")], source="crm")
    er.resolve()
    zeta = entity_of(er, "z1", "crm")
    vendor, crm, item = northwind_in_review(er)
    base = ["--database-url", database_url]
    first = cli(*base, "entities", "merge", str(zeta), str(vendor), "--actor", "ana", "--json")
    assert first.exit_code == 0, first.stderr
    assert [i["id"] for i in er.review.list()] == [item["id"]]  # still two entities
    second = cli(*base, "entities", "merge", str(zeta), str(crm), "--actor", "ana", "--json")
    assert second.exit_code == 0, second.stderr
    (merge,) = second.json()["merges"]  # type: ignore[index]

    shown = er.review.show(item["id"])
    assert shown["status"] == "settled"
    assert shown["resolution"] == "merged"
    assert shown["decided_by"] == "ana"
    assert str(shown["merge_id"]) == merge["id"]
    assert shown["decided_at"] is not None
    assert shown["explanation"]["same_entity"] is True
    assert er.review.list() == []
    listed = cli(*base, "review", "list")
    assert listed.exit_code == 0
    assert "nothing to review" in listed.stderr + listed.stdout

    # Deciding it says what happened instead of failing, for either answer.
    for decision in ("same", "different"):
        decided = cli(*base, "review", "decide", str(item["id"])[:13], decision)
        assert decided.exit_code == 0, decided.stderr
        assert "settled automatically" in decided.stderr
    assert "entities unmerge" in decided.stderr  # "different": how to act on it
    assert er.review.show(item["id"])["status"] == "settled"  # deciding changed nothing


def test_a_decision_on_another_pair_that_joins_the_clusters_settles_the_item(
    er: SignalGraph,
) -> None:
    er.sources.add("wire")
    er.entities.ingest([company("z1", "Zeta Foods")], source="crm")
    er.resolve()
    zeta = entity_of(er, "z1", "crm")
    vendor, crm, item = northwind_in_review(er)
    er.entities.ingest(
        [company("w1", "Northwind Robotics GmbH", properties={"country": "DE"})], source="wire"
    )
    er.resolve()
    wire = entity_of(er, "w1", "wire")
    (other,) = [i for i in er.review.list() if i["id"] != item["id"]]
    assert {other["entity_a"], other["entity_b"]} == {vendor, wire}
    # Neither item names its cluster's surviving id any more: Zeta absorbs the vendor's
    # entity, the CRM entity absorbs the wire's.
    er.entities.merge([zeta, vendor])
    er.entities.merge([crm, wire])
    assert len(er.review.list()) == 2
    decided = er.review.decide(other["id"], "same", actor="ana")
    assert decided["merge"] is not None

    shown = er.review.show(item["id"])
    assert (shown["status"], shown["resolution"]) == ("settled", "merged")
    assert (shown["decided_by"], shown["merge_id"]) == ("ana", decided["merge"]["id"])
    answered = er.review.show(other["id"])
    assert (answered["status"], answered["resolution"]) == ("decided", "judged")
    assert answered["judgement_id"] == decided["judgement"]["id"]
    assert er.review.list() == []


def test_an_unmerge_leaves_the_settled_item_settled_and_the_pair_judged_different(
    er: SignalGraph,
) -> None:
    vendor, crm, item = northwind_in_review(er)
    merged = er.entities.merge([vendor, crm], actor="ana")
    assert er.review.show(item["id"])["status"] == "settled"
    er.entities.unmerge(merged["merges"][0]["id"], actor="ana")
    # Apart again, and the unmerge judged them different: the question is answered, so the
    # item is not asked again.
    shown = er.review.show(item["id"])
    assert shown["explanation"]["same_entity"] is False
    assert [j["decision"] for j in shown["explanation"]["judgements"]] == ["different"]
    assert shown["status"] == "settled"
    assert er.review.list() == []
    with pytest.raises(JudgedDifferent):
        er.entities.merge([vendor, crm])


def test_a_stale_item_left_by_an_older_version_is_counted_then_settled_by_listing(
    er: SignalGraph,
) -> None:
    vendor, crm, item = northwind_in_review(er)
    er.entities.merge([vendor, crm])
    with er.transaction() as conn:  # what versions before 0014 left behind
        conn.execute(
            sa.text(
                "UPDATE review_item SET status = 'pending', resolution = NULL, "
                "decided_by = NULL, merge_id = NULL, decided_at = NULL"
            )
        )
    report = check(er.engine, deep=True)
    assert report["integrity"]["pending_reviews_of_one_entity"] == 1
    assert not report["ok"]
    assert "pending_reviews_of_one_entity=1" in report["reason"]
    assert er.review.list() == []
    shown = er.review.show(item["id"])
    assert (shown["status"], shown["resolution"], shown["decided_by"]) == (
        "settled",
        "merged",
        "review list",
    )
    assert shown["merge_id"] is None  # found later: which merge did it is not known
    assert check(er.engine, deep=True)["ok"]


def test_deciding_a_stale_pending_item_settles_it_instead_of_failing(er: SignalGraph) -> None:
    vendor, crm, item = northwind_in_review(er)
    er.entities.merge([vendor, crm])
    with er.transaction() as conn:
        conn.execute(sa.text("UPDATE review_item SET status = 'pending', resolution = NULL"))
    result = er.review.decide(item["id"], "different", actor="ana")
    assert result["judgement"] is None
    assert result["entity"] == min(vendor, crm)
    assert result["settled"]["status"] == "settled"
    assert result["settled"]["decided_by"] == "ana"
    assert er.review.show(item["id"])["explanation"]["judgements"] == []
