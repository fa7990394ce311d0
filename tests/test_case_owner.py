"""One child a case: a case reference a source gives to two children stays with one
(loaders.case_owner), whatever the rows' order or the night each came in, and the
other child's row is quarantined with its reason. Expected answers are worked out by
hand from the rows below (which child's row starts first)."""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import asdict
from pathlib import Path

import pytest

from graph import GraphStore
from graph.engines.falkordb import FalkorDBStore
from loaders.case_owner import Claim, refusals
from loaders.load import LOAD_LOCK, LoadResult, run_load
from loaders.validate import Record
from tests.conftest import AS_OF, embedded_store
from tests.fingerprint import fingerprint
from tests.test_delta import copy_graph

PERSONS = (
    "PERSON_ID,FORENAME,SURNAME,DOB\n"
    "1,Amy,Smith,2012-03-02\n"
    "2,Ben,Jones,2013-05-06\n"
    "3,Cat,Brown,2014-07-08\n"
)
HEADER = "EPISODE_ID,PERSON_ID,EPISODE_TYPE,START_DATE,WORKER_ID\n"
STAFF = "STAFF_ID,NAME,TEAM\nW1,Wyn One,T1\nW2,Wyn Two,T1\n"
MAPPINGS = {
    "persons": """
        source: persons
        files: persons.csv
        columns: {PERSON_ID: person.la_child_id, FORENAME: person.given_name,
                  SURNAME: person.family_name, DOB: person.dob}
        """,
    # one source, several files: a row of one reference may come in a file not read again
    "episodes": """
        source: episodes
        files: episodes/*.csv
        entity: case
        columns: {EPISODE_ID: case.ref, PERSON_ID: person.la_child_id,
                  EPISODE_TYPE: case.kind, START_DATE: case.start, WORKER_ID: case.worker_id}
        required: [case.ref, case.start]
        """,
    "staff": """
        source: staff
        files: staff.csv
        entity: staff
        columns: {STAFF_ID: staff.id, NAME: staff.name, TEAM: staff.team_id}
        """,
}
# E1 for Amy (person 1) from March and, in another file, for Ben (person 2) from
# January: Ben's row starts first, so E1 is Ben's; Amy's own E2 is no conflict
AMY = "E1,1,CIN,2025-03-01,W1\nE2,1,CIN,2025-02-01,W1\n"
BEN_EARLIER = "E1,2,CIN,2025-01-01,W2\n"
BEN_LATER = "E1,2,CIN,2025-06-01,W2\n"


def _record(person: str, row: int, file: str = "e.csv") -> Record:
    values = {"case.ref": "E1", "person.la_child_id": person}
    return Record(f"r{file}{row}", "episodes", file, row, "case", values)


def test_the_child_whose_row_starts_first_keeps_the_case_in_either_order() -> None:
    amy = [Claim("episodes:E1", "P-a", "2025-03-01", _record("1", 2))]
    amy.append(Claim("episodes:E1", "P-a", "2025-04-01", _record("1", 3)))
    ben = Claim("episodes:E1", "P-b", "2025-01-01", _record("2", 4))
    for claims in ([*amy, ben], [ben, *amy]):
        refused = refusals(claims)
        assert set(refused) == {id(c) for c in amy}  # both of Amy's rows, none of Ben's
        assert "kept with the child of e.csv row 4 (person id 2, P-b)" in refused[id(amy[0])]
    # one child's rows of a case are no conflict; on one start the lower uid keeps it
    assert refusals(amy) == {}
    cal = Claim("episodes:E1", "P-c", "2025-01-01", _record("3", 5))
    for claims in ([ben, cal], [cal, ben]):
        assert set(refusals(claims)) == {id(cal)}
    # an undated row comes after every dated one
    undated = Claim("episodes:E1", "P-0", None, _record("9", 6))
    assert set(refusals([undated, *amy])) == {id(undated)}


def test_a_family_episodes_and_a_returns_case_name_their_child() -> None:
    """They never meet another child's case: their uid holds the person (a family
    episode's rows are a case for each child; a return's case has no reference)."""
    from loaders.build import Builder

    builder = Builder(AS_OF)
    values = {"case.kind": "EH", "family.ref": "F1", "case.start": "2025-01-01"}
    for puid in ("P-a", "P-b"):
        builder._case(Record(f"r-{puid}", "early_help", "f.csv", 2, "person", values), puid, values)
    claims = [claim for claim, _, _ in builder._claims]
    assert len({c.case for c in claims}) == 2 and all(c.person in c.case for c in claims)
    assert refusals(claims) == {}


def _directory(root: Path, files: dict[str, str], mappings: dict[str, str]) -> tuple[Path, Path]:
    """``root``'s extracts (``files``: path -> text) and mappings (source -> YAML)."""
    data, maps = root / "data", root / "maps"
    maps.mkdir()
    for path, text in {"staff.csv": STAFF, **files}.items():
        (data / path).parent.mkdir(parents=True, exist_ok=True)
        (data / path).write_text(text)
    for name, text in {"staff": MAPPINGS["staff"], **mappings}.items():
        (maps / f"{name}.yaml").write_text(textwrap.dedent(text))
    return data, maps


def _episodes(root: Path, files: dict[str, str]) -> tuple[Path, Path]:
    """The persons and ``files`` of episodes (name -> rows), with their mappings."""
    episodes = {f"episodes/{name}": HEADER + rows for name, rows in files.items()}
    return _directory(root, {"persons.csv": PERSONS, **episodes}, MAPPINGS)


def _cases(store: GraphStore) -> list[tuple[str, str]]:
    rows = store.read(
        "MATCH (p:Person)-[:HAS_CASE]->(c:Case) RETURN c.uid AS c, p.la_child_id AS p ORDER BY c, p"
    ).rows
    return [(r["c"], r["p"]) for r in rows]


def _workers(store: GraphStore) -> list[tuple[str, str]]:
    rows = store.read(
        "MATCH (w:Professional)-[:WORKS_ON]->(c:Case) RETURN c.uid AS c, w.uid AS w ORDER BY c, w"
    ).rows
    return [(r["c"], r["w"]) for r in rows]


@pytest.mark.parametrize("order", [("a.csv", "b.csv"), ("b.csv", "a.csv")])
def test_the_other_childs_row_is_quarantined_with_its_reason(
    tmp_path: Path, store: GraphStore, order: tuple[str, str]
) -> None:
    data, maps = _episodes(tmp_path, dict(zip(order, (AMY, BEN_EARLIER), strict=True)))
    result = run_load(store, data, mappings=maps, as_of=AS_OF)
    assert result.report.closes
    counts = result.report.sources["episodes"]
    assert (counts.read, counts.loaded, counts.quarantined) == (3, 2, 1)
    (held,) = [q for q in result.quarantine if q.source == "episodes"]
    assert (held.file, held.row) == (f"episodes/{order[0]}", 2)
    assert held.reason.startswith("episodes gives case reference E1 to another child too")
    assert f"kept with the child of episodes/{order[1]} row 2 (person id 2, P-" in held.reason
    assert "starts 2025-01-01; this row's child (person id 1, P-" in held.reason
    assert _cases(store) == [("episodes:E1", "2"), ("episodes:E2", "1")]
    # Amy's allocation of E1 went with her row; her E2's stays
    assert _workers(store) == [("episodes:E1", "W2"), ("episodes:E2", "W1")]


def _night(store: FalkorDBStore, data: Path, maps: Path, loads: Path, **kw: bool) -> LoadResult:
    return run_load(store, data, mappings=maps, as_of=AS_OF, loads_dir=loads, relink=False, **kw)


@pytest.mark.parametrize(
    ("ben", "keeper"), [(BEN_EARLIER, "2"), (BEN_LATER, "1")], ids=["earlier", "later"]
)
def test_a_delta_keeps_the_case_where_a_full_reload_does(
    tmp_path: Path, ben: str, keeper: str
) -> None:
    """Night one holds Amy's rows; night two adds Ben's row of E1 in a file of its own,
    Amy's file unchanged (not read again by the delta). The delta and the full reload,
    over copies of night one's graph, leave the same graph, E1 with the child whose row
    starts first and Ben's allocation only where he keeps it; a load of the same files
    into an empty graph leaves the same cases."""
    data, maps = _episodes(tmp_path, {"a.csv": AMY})
    engine = tmp_path / "engine"
    first, empty = embedded_store(engine), embedded_store(tmp_path / "empty")
    graphs: dict[str, FalkorDBStore] = {}
    try:
        first.ensure_schema()
        empty.ensure_schema()
        _night(first, data, maps, tmp_path / "loads")
        (data / "episodes" / "b.csv").write_text(HEADER + ben)
        results = {}
        for kind in ("full", "delta"):
            graphs[kind] = copy_graph(first, engine)
            loads = tmp_path / f"loads-{kind}"
            shutil.copytree(tmp_path / "loads", loads, ignore=shutil.ignore_patterns(LOAD_LOCK))
            results[kind] = _night(graphs[kind], data, maps, loads, full=kind == "full")
        delta = results["delta"].report
        assert delta.delta and delta.since_last["episodes"]["files_skipped"] == 1
        for result in results.values():
            assert result.report.closes and result.report.sources["episodes"].quarantined == 1
        one, other = fingerprint(graphs["full"]), fingerprint(graphs["delta"])
        assert one == other, one.differences(other)
        # a case moved to an earlier-starting child on a later night has that child
        # only, as a load of the same files into an empty graph has it (one HAS_CASE)
        for graph in graphs.values():
            assert [p for c, p in _cases(graph) if c == "episodes:E1"] == [keeper]
        _night(empty, data, maps, tmp_path / "loads-empty")
        assert _cases(empty) == _cases(graphs["delta"])
        # (Amy's allocation of E1 stays, as an allocation whose row vanished does)
        assert (("episodes:E1", "W2") in _workers(graphs["delta"])) == (keeper == "2")
    finally:
        for store in (first, empty, *graphs.values()):
            store.drop_all()
            store.close()


def test_a_person_rows_case_is_dropped_and_its_person_kept(
    tmp_path: Path, store: GraphStore
) -> None:
    """A person row (a youth justice register's) giving another child's reference: the
    row describes its child, who is loaded; its case and allocation are a value dropped."""
    yjs = """
        source: yjs
        files: yjs.csv
        columns: {YJ Ref: case.ref, Name: person.full_name, DOB: person.dob,
                  Start: case.start, Worker: case.worker_id}
        constants: {case.kind: YJ}
        """
    rows = (
        "YJ Ref,Name,DOB,Start,Worker\n"
        "YJ1,Amy Smith,2012-03-02,2025-03-01,W1\n"
        "YJ1,Ben Jones,2013-05-06,2025-01-01,W2\n"
    )
    data, maps = _directory(tmp_path, {"yjs.csv": rows}, {"yjs": yjs})
    result = run_load(store, data, mappings=maps, as_of=AS_OF)
    counts = result.report.sources["yjs"]
    assert result.report.closes
    assert (counts.loaded, counts.quarantined, counts.values_dropped) == (2, 0, 1)
    (dropped,) = result.dropped
    assert (dropped.file, dropped.row, dropped.field) == ("yjs.csv", 2, "case.ref")
    assert "gives case reference YJ1 to another child too" in dropped.reason
    assert dropped.reason.endswith("its case and allocation are not loaded, its person is")
    assert result.report.dropped_examples == [asdict(dropped)]
    people = store.read("MATCH (p:Person) RETURN p.full_name AS n ORDER BY n").rows
    assert [r["n"] for r in people] == ["Amy Smith", "Ben Jones"]
    owner = "MATCH (p:Person)-[:HAS_CASE]->(c:Case) RETURN p.full_name AS n, c.uid AS c"
    assert [(r["n"], r["c"]) for r in store.read(owner).rows] == [("Ben Jones", "yjs:YJ1")]
    assert _workers(store) == [("yjs:YJ1", "W2")]


def _services(store: GraphStore) -> list[tuple[str, str]]:
    rows = store.read(
        "MATCH (c:Case)-[:WITH_SERVICE]->(s:Service) RETURN c.uid AS c, s.uid AS s ORDER BY c, s"
    ).rows
    return [(r["c"], r["s"]) for r in rows]


def test_a_case_whose_kind_changes_is_with_its_new_service_only(tmp_path: Path) -> None:
    """E1 is CIN (social care) on night one and corrected at source to EH (early help)
    on night two: the delta over night one's graph leaves E1 with early help only, as a
    load of night two's files into an empty graph does (a case has one service)."""
    data, maps = _episodes(tmp_path, {"a.csv": AMY})
    first, empty = embedded_store(tmp_path / "engine"), embedded_store(tmp_path / "empty")
    try:
        for store in (first, empty):
            store.ensure_schema()
        _night(first, data, maps, tmp_path / "loads")
        assert ("episodes:E1", "social-care") in _services(first)
        (data / "episodes" / "a.csv").write_text(HEADER + AMY.replace("E1,1,CIN", "E1,1,EH"))
        assert _night(first, data, maps, tmp_path / "loads").report.delta
        _night(empty, data, maps, tmp_path / "loads-empty")
        expected = [("episodes:E1", "early-help"), ("episodes:E2", "social-care")]
        assert _services(empty) == expected
        assert _services(first) == expected
    finally:
        for store in (first, empty):
            store.drop_all()
            store.close()
