"""Rejects of every kind are kept verbatim and export back to files that ingest again."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from signalgraph.client import SignalGraph
from signalgraph.errors import UsageError
from tests.corpus import one_company


def stored_rejects(sg: SignalGraph, run_id: uuid.UUID | None) -> list[tuple[str, bytes]]:
    """Return (reason, raw) of a run's rejects in input order."""
    with sg.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT reason, raw FROM reject WHERE run_id = :run ORDER BY file, line"),
            {"run": run_id},
        )
        return [(reason, bytes(raw)) for reason, raw in rows]


@pytest.fixture
def world(sg: SignalGraph) -> SignalGraph:
    """One resolved company (ticker AC) and a headcount property."""
    one_company(sg)
    sg.facts.define("headcount", "integer")
    return sg


FACT_LINES = [
    # Rejected while resolving references, and while typing the value, in the writer:
    b'{ "value" : 25 ,"property":"headcount",   "entity":"ticker:ZZZZ"}',
    b'{"property":  "headcount", "entity": {"ticker":"AC"}, "value": "lots", "as_of":"2024-01-01"}',
    # Rejected on its own, before the writer:
    b'{"entity":"ticker:AC","property":"headcount","value":7,  "confidence": 7}',
    b'{"entity": "ticker:AC", "property": "headcount", "value": 30}',
]
FACT_CSV_ROWS = [
    b'1,"ticker:ZZZZ",headcount,"25"',
    b'2,ticker:AC,"headcount","lots\r\nof them"',
    b"3,ticker:AC,headcount,12",
]


def test_fact_and_relation_rejects_keep_their_input_bytes(
    world: SignalGraph, tmp_path: Path
) -> None:
    ndjson = tmp_path / "facts.ndjson"
    ndjson.write_bytes(b"\n".join(FACT_LINES) + b"\r\n")
    result = world.facts.ingest(ndjson, source="harmonic")
    assert (result.counters["inserted"], result.counters["rejected"]) == (1, 3)
    assert [raw for _, raw in stored_rejects(world, result.run_id)] == FACT_LINES[:3]

    table = tmp_path / "facts.csv"
    table.write_bytes(b"external_id,entity,property,value\r\n" + b"\r\n".join(FACT_CSV_ROWS))
    result = world.facts.ingest(table, source="harmonic")
    assert (result.counters["inserted"], result.counters["rejected"]) == (1, 2)
    assert [raw for _, raw in stored_rejects(world, result.run_id)] == FACT_CSV_ROWS[:2]
    exported = tmp_path / "fix.csv"
    world.rejects.export(str(result.run_id), exported)
    assert exported.read_bytes() == (
        b"external_id,entity,property,value\n" + b"\n".join(FACT_CSV_ROWS[:2]) + b"\n"
    )

    relation = b'{ "object":{"ticker":"NOPE"}, "subject" : "ticker:AC","predicate":"works_at"}'
    links = tmp_path / "links.ndjson"
    links.write_bytes(relation + b"\n")
    result = world.relations.ingest(links, source="harmonic")
    assert stored_rejects(world, result.run_id) == [
        ("no entity has the identifier ticker:NOPE", relation)
    ]


def test_rejects_of_ndjson_and_csv_export_to_one_file_per_format(
    world: SignalGraph, tmp_path: Path
) -> None:
    ndjson = tmp_path / "facts.ndjson"
    ndjson.write_bytes(b"\n".join(FACT_LINES) + b"\n{broken\n")
    table = tmp_path / "facts.csv"
    table.write_bytes(b"external_id,entity,property,value\n" + b"\n".join(FACT_CSV_ROWS) + b"\n")
    first = world.facts.ingest([ndjson, table], source="harmonic")
    assert (first.counters["inserted"], first.counters["rejected"]) == (2, 6)
    reasons = Counter(reason for reason, _ in stored_rejects(world, first.run_id))

    report = world.rejects.export(str(first.run_id), tmp_path / "fix.csv")
    assert report["written"] == 6
    assert [(f["path"], f["format"], f["written"]) for f in report["files"]] == [
        (str(tmp_path / "fix.ndjson"), "ndjson", 4),
        (str(tmp_path / "fix.csv"), "csv", 2),
    ]
    assert (tmp_path / "fix.ndjson").read_bytes() == b"\n".join([*FACT_LINES[:3], b"{broken"]) + (
        b"\n"
    )
    # Fix nothing: the same reasons again, nothing lost.
    fix_files = [tmp_path / "fix.ndjson", tmp_path / "fix.csv"]
    again = world.facts.ingest(fix_files, source="harmonic")
    assert (again.counters["inserted"], again.counters["rejected"]) == (0, 6)
    assert Counter(reason for reason, _ in stored_rejects(world, again.run_id)) == reasons
    # Fix one of each: they are stored, the others still rejected.
    fixed_ndjson = (tmp_path / "fix.ndjson").read_bytes().replace(b'"lots"', b"40")
    (tmp_path / "fix.ndjson").write_bytes(fixed_ndjson)
    fixed_csv = (tmp_path / "fix.csv").read_bytes().replace(b"ticker:ZZZZ", b"ticker:AC")
    (tmp_path / "fix.csv").write_bytes(fixed_csv)
    fixed = world.facts.ingest(fix_files, source="harmonic")
    assert (fixed.counters["inserted"], fixed.counters["rejected"]) == (2, 4)
    with world.engine.connect() as conn:
        values = conn.execute(sa.text("SELECT value_num FROM fact WHERE run_id = :run"),
                              {"run": fixed.run_id}).scalars().all()  # fmt: skip
    assert sorted(values) == [25, 40]


def test_rejects_of_signal_files_in_several_formats(sg: SignalGraph, tmp_path: Path) -> None:
    sg.sources.add("feed")
    ndjson = tmp_path / "in.ndjson"
    ndjson.write_bytes(
        b'{"external_id": "n1", "title": "One"}\n'
        b'{"external_id": "n2", "published_at": "tomorrow"}\n'
        b"{broken\n"
        b'{"external_id": "", "title": "x"}\n'
    )
    table = tmp_path / "in.csv"
    table.write_bytes(b"external_id,title,published_at\nc1,One,2024-01-01\nc2,Two,soon\n")
    tsv = tmp_path / "in.tsv"
    tsv.write_bytes(b"external_id\tpublished_at\nt1\tlater\n")
    other_csv = tmp_path / "other.csv"
    other_csv.write_bytes(b"external_id,text,published_at\nd1,Text,never\n")
    first = sg.ingest([ndjson, table, tsv, other_csv], source="feed")
    assert first.counters["rejected"] == 6
    reasons = Counter(reason for reason, _ in stored_rejects(sg, first.run_id))

    report = sg.rejects.export(str(first.run_id), tmp_path / "fix.csv")
    paths = [(Path(f["path"]).name, f["format"], f["written"]) for f in report["files"]]
    assert paths == [
        ("fix.ndjson", "ndjson", 3),
        ("fix.csv", "csv", 1),
        ("fix.tsv", "tsv", 1),
        ("fix-2.csv", "csv", 1),
    ]
    second_header = b"external_id,text,published_at\nd1,Text,never\n"
    assert (tmp_path / "fix-2.csv").read_bytes() == second_header
    files = [tmp_path / name for name, _, _ in paths]
    again = sg.ingest(files, source="feed")
    assert (again.counters["inserted"], again.counters["rejected"]) == (0, 6)
    assert Counter(reason for reason, _ in stored_rejects(sg, again.run_id)) == reasons

    # One format only: the file named, whatever it is called.
    single = sg.ingest([table], source="feed")
    report = sg.rejects.export(str(single.run_id), tmp_path / "only.txt")
    assert [Path(f["path"]).name for f in report["files"]] == ["only.txt"]
    # Standard output takes one format; the run's inputs are never overwritten.
    with tmp_path.joinpath("out").open("wb") as out, pytest.raises(UsageError, match="4 files"):
        sg.rejects.export(str(first.run_id), out)
    with pytest.raises(UsageError, match="is an input of run"):
        sg.rejects.export(str(first.run_id), tmp_path / "in.csv")
    assert table.read_bytes().startswith(b"external_id,title")
