"""Signal links through the Python API and ingest, on a real database."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.errors import NotFound, UsageError
from signalgraph.links.spec import parse_reference, reference_matches


def doc(external_id: str, title: str, published: str, *links: dict[str, Any]) -> dict[str, Any]:
    """A contract document as the obligation-extraction system would send it."""
    record: dict[str, Any] = {
        "external_id": external_id,
        "kind": "document",
        "title": title,
        "text": f"{title}. Made between Acme Corp and Globex LLC ({external_id}).",
        "published_at": published,
    }
    if links:
        record["links"] = list(links)
    return record


def amends(reference: str) -> dict[str, Any]:
    return {"type": "amends", "reference": reference}


def key(type_: str, external_id: str, source: str | None = None) -> dict[str, Any]:
    to = {"external_id": external_id} | ({"source": source} if source else {})
    return {"type": type_, "to": to}


def rows(sg: SignalGraph, sql: str, **params: Any) -> list[Any]:
    with sg.engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params).all())


def link_flags(sg: SignalGraph) -> list[tuple[str, bool, str | None]]:
    return [
        (f.kind, f.resolved_at is None, f.resolution_note)
        for f in sg.flags.list(open_only=False)
        if f.object_type == "signal_link"
    ]


def signal_id(sg: SignalGraph, external_id: str) -> Any:
    found = rows(sg, "SELECT signal_id FROM signal_key WHERE external_id = :e", e=external_id)
    return found[0][0]


@pytest.fixture
def contracts(sg: SignalGraph) -> SignalGraph:
    sg.sources.ensure("contracts")
    return sg


def test_reference_rule() -> None:
    ref = parse_reference("amends the Master Agreement of 2021-03-04")
    assert ref.words == ("master", "agreement")
    assert ref.day == date(2021, 3, 4)
    assert parse_reference("MSA dated January 10, 2023").day == date(2023, 1, 10)
    assert parse_reference("the NDA of 4th of March, 2021").day == date(2021, 3, 4)
    msa = parse_reference("MSA dated January 10, 2023")
    assert reference_matches(msa.words, msa.day, "Master Services Agreement", date(2023, 1, 10))
    assert reference_matches(msa.words, msa.day, "msa_acme_signed.pdf", date(2023, 1, 10))
    assert not reference_matches(msa.words, msa.day, "Master Services Agreement", date(2023, 1, 11))
    assert not reference_matches(msa.words, msa.day, "Statement of Work", date(2023, 1, 10))
    assert not reference_matches(ref.words, ref.day, None, date(2021, 3, 4))


def test_amendment_before_its_master_agreement_resolves_in_a_later_run(
    contracts: SignalGraph,
) -> None:
    sg = contracts
    first = sg.ingest(
        [
            doc(
                "amend-1",
                "First Amendment",
                "2022-06-01",
                amends("amends the Master Agreement of 2021-03-04"),
                key("references", "sow-7"),
            )
        ],
        source="contracts",
    )
    assert first.counters["links"] == 2
    waiting = sg.links.list(status="dangling").items
    assert {link.target for link in waiting} == {
        "amends the Master Agreement of 2021-03-04",
        "contracts / sow-7",
    }
    assert sorted(link_flags(sg)) == [("dangling_link", True, None)] * 2

    second = sg.ingest(
        [
            doc("msa-2021", "Master Services Agreement", "2021-03-04T10:00:00+00:00"),
            doc("sow-7", "Statement of Work 7", "2021-08-01"),
            doc("msa-2020", "Master Services Agreement", "2020-01-15"),  # another date
        ],
        source="contracts",
    )
    assert second.counters["links_resolved"] == 2
    links = {link.type: link for link in sg.links.list().items}
    assert links["amends"].status == "resolved"
    assert links["amends"].resolution == "reference"
    assert links["amends"].target_signal_id == signal_id(sg, "msa-2021")
    assert links["references"].target_signal_id == signal_id(sg, "sow-7")
    assert links["references"].resolution == "key"
    assert sorted(link_flags(sg)) == [("dangling_link", False, "link resolved")] * 2

    # Both directions, for the signal detail view.
    master = sg.links.of(signal_id(sg, "msa-2021"))
    assert [link.from_external_id for link in master["incoming"]] == ["amend-1"]
    assert master["outgoing"] == []
    amendment = sg.links.of(signal_id(sg, "amend-1"))
    assert len(amendment["outgoing"]) == 2


def test_target_in_the_same_batch_and_in_another_source(contracts: SignalGraph) -> None:
    sg = contracts
    sg.sources.ensure("mail")
    sg.ingest([doc("thread-1", "Renewal question", "2024-01-01")], source="mail")
    result = sg.ingest(
        [
            doc("b", "Reply", "2024-01-03", key("replies_to", "a")),
            doc("a", "Question", "2024-01-02", key("references", "thread-1", source="mail")),
        ],
        source="contracts",
    )
    assert result.counters["links_resolved"] == 2
    resolved = {
        (link.from_external_id, link.type, link.status, link.target_signal_id)
        for link in sg.links.list().items
    }
    assert resolved == {
        ("b", "replies_to", "resolved", signal_id(sg, "a")),
        ("a", "references", "resolved", signal_id(sg, "thread-1")),
    }
    assert link_flags(sg) == []  # never dangling, never flagged

    # A reference to a signal later in the same batch, and a link by signal id.
    thread = str(signal_id(sg, "thread-1"))
    sg.ingest(
        [
            doc("amend-9", "Amendment 9", "2024-03-01", amends("Order Form of 2024-02-02")),
            doc(
                "of",
                "Order Form",
                "2024-02-02",
                {"type": "references", "to": {"signal_id": thread}},
            ),
        ],
        source="contracts",
    )
    found = {link.from_external_id: link for link in sg.links.list().items}
    assert found["amend-9"].target_signal_id == signal_id(sg, "of")
    assert found["of"].target_signal_id == signal_id(sg, "thread-1")
    assert found["of"].target == "mail / thread-1"
    assert link_flags(sg) == []


def test_links_in_csv_cells(contracts: SignalGraph, tmp_path: Any) -> None:
    sg = contracts
    path = tmp_path / "docs.csv"
    path.write_text(
        "external_id,title,published_at,links\n"
        "m,Master Agreement,2021-03-04,\n"
        'a,Amendment,2022-01-01,"[{""type"": ""amends"", ""to"": {""external_id"": ""m""}}]"\n'
        'b,Broken,2022-01-01,"[{""type"": ""amends"""\n'
    )
    result = sg.ingest(str(path), source="contracts")
    assert (result.counters["inserted"], result.counters["rejected"]) == (2, 1)
    (link,) = sg.links.list().items
    assert (link.status, link.target_signal_id) == ("resolved", signal_id(sg, "m"))
    assert sg.rejects.list()[0].field == "links"


def test_ambiguous_reference_keeps_candidates_and_the_analyst_decides(
    contracts: SignalGraph,
) -> None:
    sg = contracts
    sg.ingest(
        [
            doc("nda-a", "Mutual NDA (Acme)", "2023-01-10"),
            doc("nda-b", "Non-Disclosure Agreement (Globex)", "2023-01-10T17:00:00Z"),
            doc("nda-c", "Non-Disclosure Agreement", "2023-01-11"),
        ],
        source="contracts",
    )
    sg.ingest(
        [doc("sow-1", "SOW", "2023-02-01", amends("the NDA dated January 10, 2023"))],
        source="contracts",
    )
    (link,) = sg.links.list().items
    assert link.status == "ambiguous"
    assert set(link.candidates) == {signal_id(sg, "nda-a"), signal_id(sg, "nda-b")}
    assert link_flags(sg) == [("ambiguous_link", True, None)]
    shown = sg.links.get(link.id)
    assert {c["external_id"] for c in shown.candidate_signals} == {"nda-a", "nda-b"}

    decided = sg.links.resolve(str(link.id)[:13], to=signal_id(sg, "nda-b"), actor="dana")
    assert decided.status == "resolved"
    assert decided.resolution == "analyst"
    assert decided.resolved_by == "dana"
    assert set(decided.candidates) == {signal_id(sg, "nda-a"), signal_id(sg, "nda-b")}
    assert link_flags(sg) == [("ambiguous_link", False, "link resolved")]
    audit = sg.audit.list(object_id=str(link.id)).items
    assert any(e.actor == "dana" and e.action == "update" for e in audit)


def test_a_new_candidate_turns_a_dangling_reference_ambiguous(contracts: SignalGraph) -> None:
    sg = contracts
    sg.ingest(
        [doc("amend", "Amendment", "2024-05-01", amends("the Order Form of 2024-04-01"))],
        source="contracts",
    )
    sg.ingest(
        [
            doc("of-1", "Order Form 1", "2024-04-01"),
            doc("of-2", "Order Form 2", "2024-04-01"),
        ],
        source="contracts",
    )
    (link,) = sg.links.list().items
    assert link.status == "ambiguous"
    assert len(link.candidates) == 2
    # The dangling flag gave way to an ambiguous one.
    assert sorted(link_flags(sg)) == [
        ("ambiguous_link", True, None),
        ("dangling_link", False, "link is now ambiguous"),
    ]


def test_exact_duplicates_are_not_candidates_and_named_duplicates_stay_named(
    contracts: SignalGraph,
) -> None:
    sg = contracts
    sg.ingest(
        [
            doc("msa", "Master Agreement", "2021-03-04"),
            # The same text again under another key: an exact duplicate.
            doc("msa", "Master Agreement", "2021-03-04") | {"external_id": "msa-copy"},
        ],
        source="contracts",
    )
    sg.ingest(
        [
            doc(
                "amend",
                "Amendment 1",
                "2022-01-01",
                amends("Master Agreement of 2021-03-04"),
                key("references", "msa-copy"),
            )
        ],
        source="contracts",
    )
    assert sg.signals.get(signal_id(sg, "msa-copy")).duplicate_of == signal_id(sg, "msa")
    links = {link.type: link for link in sg.links.list().items}
    assert links["amends"].target_signal_id == signal_id(sg, "msa")
    # A key names a signal: it keeps pointing at what was named, duplicate or not.
    assert links["references"].target_signal_id == signal_id(sg, "msa-copy")


def test_re_ingesting_changes_nothing_and_changed_records_replace_their_links(
    contracts: SignalGraph,
) -> None:
    sg = contracts
    batch = [
        doc("a", "A", "2024-01-01", key("references", "x"), key("references", "x")),
        doc("b", "B", "2024-01-01", amends("Master Agreement of 2021-03-04")),
    ]
    sg.ingest(batch, source="contracts")
    before = rows(sg, "SELECT id, status, updated_at FROM signal_link ORDER BY id")
    flags_before = link_flags(sg)
    again = sg.ingest(batch, source="contracts")
    assert again.counters["unchanged"] == 2
    assert "links" not in again.counters
    assert rows(sg, "SELECT id, status, updated_at FROM signal_link ORDER BY id") == before
    assert link_flags(sg) == flags_before
    assert len(before) == 2  # the same link twice in a record is one link

    # A changed record: its record links now are what it names; an added link stays.
    sg.links.add({"source": "contracts", "external_id": "a"}, "supersedes", to={"external_id": "b"})
    changed = doc("a", "A, corrected", "2024-01-01", key("references", "y"))
    result = sg.ingest([changed], source="contracts")
    assert result.counters["updated"] == 1
    targets = {
        (link.type, link.target, link.origin)
        for link in sg.links.of(signal_id(sg, "a"))["outgoing"]
    }
    assert targets == {
        ("references", "contracts / y", "record"),
        ("supersedes", "contracts / b", "user"),
    }
    notes = [note for kind, is_open, note in link_flags(sg) if not is_open]
    assert notes == ["link removed"]


def test_bad_links_reject_their_record_only(contracts: SignalGraph) -> None:
    sg = contracts
    records: list[Any] = [
        doc("ok", "Fine", "2024-01-01", key("references", "elsewhere")),
        {"external_id": "t", "links": [{"type": "likes", "to": {"external_id": "x"}}]},
        {"external_id": "n", "links": [{"to": {"external_id": "x"}}]},
        {"external_id": "o", "links": "amends x"},
        {"external_id": "i", "links": [5]},
        {
            "external_id": "both",
            "links": [{"type": "amends", "to": {"external_id": "x"}, "reference": "y"}],
        },
        {"external_id": "none", "links": [{"type": "amends"}]},
        {"external_id": "self", "links": [key("amends", "self")]},
        {"external_id": "src", "links": [key("amends", "x", source="nowhere")]},
        {"external_id": "sid", "links": [{"type": "amends", "to": {"signal_id": "nope"}}]},
        {
            "external_id": "sid2",
            "links": [
                {"type": "amends", "to": {"signal_id": "01890000-0000-7000-8000-000000000000"}}
            ],
        },
        {"external_id": "date", "links": [amends("MSA of 2021-02-30")]},
        {"external_id": "onlydate", "links": [amends("of 2021-03-04")]},
        {"external_id": "extra", "links": [{"type": "amends", "reference": "x", "weight": 1}]},
        {"external_id": "long", "links": [key("amends", "x" * 1001)]},
    ]
    result = sg.ingest(records, source="contracts")
    assert result.counters["inserted"] == 1
    assert result.counters["rejected"] == len(records) - 1
    fields = {r.raw.decode()[:30]: (r.field, r.reason) for r in sg.rejects.list(limit=100)}
    by_field = sorted(field for field, _ in fields.values())
    assert by_field == sorted(
        [
            "links[0].type",
            "links[0].type",
            "links",
            "links[0]",
            "links[0]",
            "links[0]",
            "links[0].to",
            "links[0].to.source",
            "links[0].to.signal_id",
            "links[0].to.signal_id",
            "links[0].reference",
            "links[0].reference",
            "links[0].weight",
            "links[0].to.external_id",
        ]
    )
    reasons = " | ".join(reason for _, reason in fields.values())
    assert "'likes' is not a link type" in reasons
    assert "source 'nowhere' does not exist" in reasons
    assert "a signal cannot link to itself" in reasons
    assert "'2021-02-30' is not a date" in reasons
    assert rows(sg, "SELECT count(*) FROM signal_link")[0][0] == 1


def test_hostile_strings_are_data(contracts: SignalGraph) -> None:
    sg = contracts
    hostile = "x'); DROP TABLE signal_link; --"
    sg.ingest(
        [
            doc(
                "h", "Hostile", "2024-01-01", key("references", hostile), amends(hostile + " ÆØÅ 𝔘")
            ),
            {"external_id": "nul", "links": [key("amends", "a\u0000b")]},
        ],
        source="contracts",
    )
    targets = sorted(link.target for link in sg.links.list().items)
    assert targets == sorted([f"contracts / {hostile}", hostile + " ÆØÅ 𝔘"])
    (reject,) = sg.rejects.list()
    assert reject.field == "links"
    assert "NUL" in reject.reason
    sg.ingest([doc(hostile, "The target", "2024-01-02")], source="contracts")
    statuses = {link.target: link.status for link in sg.links.list().items}
    assert statuses[f"contracts / {hostile}"] == "resolved"


def test_python_api_add_list_and_errors(contracts: SignalGraph) -> None:
    sg = contracts
    sg.ingest(
        [doc("m", "Master Agreement", "2021-03-04"), doc("a", "Amendment", "2022-01-01")],
        source="contracts",
    )
    a, m = signal_id(sg, "a"), signal_id(sg, "m")
    by_reference = sg.links.add(a, "amends", reference="Master Agreement of March 4, 2021")
    assert by_reference.status == "resolved"
    assert by_reference.target_signal_id == m
    assert by_reference.origin == "user"
    # The same link again is the same link.
    assert sg.links.add(a, "amends", reference="master  agreement of March 4, 2021").id == (
        by_reference.id
    )
    by_id = sg.links.add(str(a)[:13], "attachment_of", to=str(m))
    assert (by_id.status, by_id.target_signal_id) == ("resolved", m)
    waiting = sg.links.add(a, "supersedes", to={"external_id": "future"})
    assert waiting.status == "dangling"
    assert link_flags(sg) == [("dangling_link", True, None)]

    page = sg.links.list(limit=2)
    assert len(page.items) == 2
    assert page.next_cursor is not None
    rest = sg.links.list(limit=2, cursor=page.next_cursor)
    assert len({link.id for link in page.items + rest.items}) == 3
    assert [link.id for link in sg.links.list(signal=m).items] == [by_id.id, by_reference.id]
    assert [link.id for link in sg.links.list(status="dangling").items] == [waiting.id]

    with pytest.raises(UsageError, match="not a link type"):
        sg.links.add(a, "likes", to=str(m))
    with pytest.raises(UsageError, match="cannot link to itself"):
        sg.links.add(a, "amends", to=str(a))
    with pytest.raises(UsageError, match="either"):
        sg.links.add(a, "amends")
    with pytest.raises(NotFound, match="source 'nope'"):
        sg.links.add(a, "amends", to={"external_id": "x", "source": "nope"})
    with pytest.raises(NotFound):
        sg.links.add("0123abcd", "amends", to=str(m))
    with pytest.raises(UsageError, match="NUL"):
        sg.links.add(a, "amends", reference="Master\x00Agreement")
    with pytest.raises(UsageError, match="lone surrogate"):
        sg.links.add(a, "amends", to={"external_id": "x\ud800"})
    with pytest.raises(UsageError, match="unknown status"):
        sg.links.list(status="lost")
    with pytest.raises(NotFound):
        sg.links.resolve("0123abcd", to=str(m))


def test_detaching_the_target_month_makes_links_wait_again(contracts: SignalGraph) -> None:
    sg = contracts
    sg.ingest(
        [
            doc("old", "Old Master Agreement", "2019-05-01"),
            doc("new", "New", "2024-01-01", key("supersedes", "old")),
        ],
        source="contracts",
    )
    assert sg.links.list().items[0].status == "resolved"
    sg.partitions.detach_before(date(2020, 1, 1))
    (link,) = sg.links.list().items
    assert (link.status, link.target_signal_id) == ("dangling", None)
    sg.ingest([doc("old", "Old Master Agreement", "2019-05-01")], source="contracts")
    assert sg.links.list().items[0].status == "resolved"


def test_recheck_finds_pairs_that_concurrent_runs_hid_from_each_other(
    contracts: SignalGraph,
) -> None:
    sg = contracts
    sg.ingest(
        [
            doc("t", "Target", "2024-01-01"),
            doc("m", "Master Agreement", "2021-03-04"),
            doc("k", "Keyed", "2024-01-02", key("references", "t")),
            doc("r", "Referring", "2024-01-03", amends("Master Agreement of 2021-03-04")),
        ],
        source="contracts",
    )
    # As if each link had been written while its target's batch was not yet committed.
    with sg.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE signal_link SET status = 'dangling', target_signal_id = NULL, "
                "resolution = NULL, resolved_at = NULL"
            )
        )
    assert {link.status for link in sg.links.list().items} == {"dangling"}
    # The end of any later run rechecks key links ...
    sg.ingest([doc("other", "Unrelated", "2024-02-01")], source="contracts")
    statuses = {link.from_external_id: link.status for link in sg.links.list().items}
    assert statuses == {"k": "resolved", "r": "dangling"}
    # ... and `links recheck` matches reference texts again too.
    assert sg.links.recheck() == {"resolved": 1, "ambiguous": 0}
    assert {link.status for link in sg.links.list().items} == {"resolved"}
    assert sg.links.recheck() == {"resolved": 0, "ambiguous": 0}


def test_links_never_cross_workspaces(contracts: SignalGraph) -> None:
    sg = contracts
    sg.workspaces.create("other")
    other = sg.use_workspace("other")
    other.sources.ensure("contracts")
    other.ingest(
        [doc("amend", "Amendment", "2022-01-01", key("amends", "m"), amends("Master Agreement"))],
        source="contracts",
    )
    sg.ingest([doc("m", "Master Agreement", "2021-03-04")], source="contracts")
    assert {link.status for link in other.links.list().items} == {"dangling"}
    assert sg.links.list().items == []
    assert other.links.recheck() == {"resolved": 0, "ambiguous": 0}
    other.ingest([doc("m", "Master Agreement", "2021-03-04")], source="contracts")
    assert {link.status for link in other.links.list().items} == {"resolved"}
