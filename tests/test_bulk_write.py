"""Bulk insertion writes the same graph as the MERGE statements.

A load's rows, captured as it runs, are written to two graphs: one the way a load
writes them (new nodes and relationships through the engine's bulk insertion), one
through the Cypher statements alone. The two must hold the same nodes, labels,
properties (dates as dates) and relationships, after a first load and after a second
load that both updates what the first wrote and adds to it. Comparing the two paths
on the same rows keeps linkage (which may settle a borderline pair differently from
one run to the next) out of the comparison.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from graph import GraphStore
from graph.bulk import NodeShape
from graph.engines import falkordb_bulk
from graph.engines.falkordb_bulk import FalkorBulkWriter, _ids_of
from graph.risk_facts import KEPT
from loaders import derive, write
from loaders import load as load_module
from loaders.build import Builder, GraphRows
from loaders.bulk_steps import BulkWrites
from loaders.load import run_load
from tests.conftest import AS_OF, embedded_store

# What the load's write and derive stages write (alerts and risk factors are written
# after them, into the loaded graph only).
LABELS = (
    "Person",
    "SourceRecord",
    "Address",
    "School",
    "Service",
    "Professional",
    "Team",
    "Family",
    "Case",
    "Need",
    "Note",
    "ReviewPair",
)
# Two loads of the same files, each with its own linkage: a borderline pair may be
# proposed for review in one and not the other.
LINKED_APART = tuple(label for label in LABELS if label != "ReviewPair")


def _props(props: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    # lists the load derives (open services) are sets: their order follows the order
    # relationships were created in, which is not part of the model
    return tuple(
        sorted(
            (k, repr(sorted(v) if isinstance(v, list) else v))
            for k, v in props.items()
            if k not in KEPT
        )
    )


def dump(store: GraphStore, labels: tuple[str, ...] = LABELS) -> tuple[Counter, Counter]:
    """Every node (labels, properties) and relationship (type, end uids, properties)."""
    nodes: Counter = Counter()
    edges: Counter = Counter()
    for label in labels:
        for r in store.read(
            f"MATCH (n:{label}) RETURN labels(n) AS l, properties(n) AS p", max_rows=10**7
        ).rows:
            nodes[(tuple(sorted(r["l"])), _props(r["p"]))] += 1
        for r in store.read(
            f"MATCH (a:{label})-[r]->(b) RETURN type(r) AS t, a.uid AS a, labels(b) AS bl, "
            "b.uid AS b, properties(r) AS p",
            max_rows=10**7,
        ).rows:
            if set(r["bl"]) & set(LABELS):
                edges[(r["t"], r["a"], r["b"], _props(r["p"]))] += 1
    return nodes, edges


def write_rows(
    store: GraphStore, rows: GraphRows, *, bulk: bool, loaded_at: str, ask: bool = False
) -> Any:
    """Write a load's rows as its stages would, through the bulk strategy or the
    statements alone, then derive; the strategy, for its counts. ``ask``: the bulk
    strategy looks up the uids its rows name, as on a delta, not every uid of a label."""
    quiet = lambda _name, _total: lambda _n: None  # noqa: E731
    params = {"loaded_at": loaded_at}
    writer = store.bulk_writer()
    if bulk:
        writes = BulkWrites(store, params, quiet, writer)
        writes.nodes.ask = ask
    else:
        writes = write.Writes(store, params, quiet, writer if store.bulk_load_running() else None)
    writes.begin()
    writes.reference(rows)
    writes.people(rows)
    writes.facts(rows)
    writes.finish()
    store.write(derive.CLOSE_SUPERSEDED_RESIDENCES)
    for statement in derive.DERIVED:
        store.write(statement)
    return writes


class Twin:
    """Writes each load's rows to a second graph too, through Cypher only."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, other: GraphStore) -> None:
        self.rows: Any = None  # the last load's rows

        def then_the_twin(load: Any) -> None:
            self.rows = load.rows  # taken before the derive stage lets go of them
            real(load)
            write_rows(other, self.rows, bulk=False, loaded_at=load.loaded_at)

        stages = list(load_module.STAGES)
        at = [name for name, _ in stages].index("derive")
        real = stages[at][1]
        stages[at] = ("derive", then_the_twin)
        monkeypatch.setattr(load_module, "STAGES", tuple(stages))


@pytest.fixture
def twins(engine_dir: Path):
    stores = [embedded_store(engine_dir), embedded_store(engine_dir)]
    for s in stores:
        s.drop_all()
        s.ensure_schema()
    yield stores
    for s in stores:
        s.drop_all()
        s.close()


def _same_graph(bulk: GraphStore, cypher: GraphStore, labels: tuple[str, ...] = LABELS) -> None:
    (nodes_a, edges_a), (nodes_b, edges_b) = dump(bulk, labels), dump(cypher, labels)
    assert sum(nodes_b.values()) > 10_000 and sum(edges_b.values()) > 10_000
    assert nodes_a - nodes_b == Counter() and nodes_b - nodes_a == Counter()
    assert edges_a - edges_b == Counter() and edges_b - edges_a == Counter()


def test_first_load_writes_the_same_graph_either_way(
    small_county: Path, twins: list[GraphStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk, cypher = twins
    twin = Twin(monkeypatch, cypher)
    derived: list[int] = []  # properties the load's derivation set in the bulk graph
    real_write = bulk.write

    def spy(statement: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_write(statement, *args, **kwargs)
        if statement in derive.DERIVED:
            derived.append(result.properties_set)
        return result

    monkeypatch.setattr(bulk, "write", spy)
    report = run_load(bulk, small_county, as_of=AS_OF).report
    # a first load creates everything: the big steps all went the bulk way
    for step in (
        "people",
        "new source records",
        "addresses",
        "residences",
        "attendance",
        "review pairs",
        "review pairs' people",
    ):
        assert report.bulk_written.get(step, 0) == report.written[step], step
    _same_graph(bulk, cypher)
    for step in write.PLAN:  # every row the builder made has its step's fields, no others
        for row in step.of(twin.rows):
            step.check(row)
    # new people and cases were created with what they derive from their cases
    # (Builder.cases): the derivation, which still ran, found all of it right
    assert derived == [0, 0]
    with_facts = "MATCH (p:Person) WHERE p.open_service_count > 0 RETURN count(p) AS n"
    assert bulk.read(with_facts).scalar() > 100
    dob = bulk.read("MATCH (p:Person) WHERE p.dob IS NOT NULL RETURN p.dob AS d LIMIT 1").scalar()
    assert isinstance(dob, dt.date)
    # the birth date's key, either way: the ISO text of the date, null where it is
    for graph in twins:
        rows = graph.read("MATCH (p:Person) RETURN p.dob AS dob, p.dob_key AS key").rows
        assert sum(r["key"] is not None for r in rows) > 1_000
        assert all(r["key"] == (r["dob"] and r["dob"].isoformat()) for r in rows)


def test_a_second_load_that_updates_and_adds_writes_the_same_graph(
    small_county: Path,
    twins: list[GraphStore],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """First a part of the county (no social care, SEND or attendance), then all of it:
    the second load merges into people, addresses and schools the first wrote and adds
    new people, relationships to old and new ends, and new cases."""
    part = tmp_path / "part"
    shutil.copytree(
        small_county, part, ignore=shutil.ignore_patterns("social_care", "send", "attendance")
    )
    bulk, cypher = twins
    Twin(monkeypatch, cypher)
    assert run_load(bulk, part, as_of=AS_OF).report.bulk_written
    report = run_load(bulk, small_county, as_of=AS_OF).report
    # both paths were taken in the second load
    bulk_written, written = report.bulk_written, report.written
    assert 0 < bulk_written.get("people", 0) < written["people"]
    assert 0 < bulk_written.get("residences", 0) < written["residences"]
    assert bulk_written.get("cases", 0) > 0
    _same_graph(bulk, cypher)


def _person(uid: str, child: bool, dob: str | None) -> dict[str, Any]:
    empty = dict.fromkeys(write.PEOPLE.fields)
    return {**empty, "uid": uid, "child": child, "dob": dob, "given_name": uid, "sources": "x"}


def _awkward_rows() -> Any:
    """Rows a load's statements fold together (the same key twice, a null that keeps
    the earlier value), ends that are missing, and a service no load wrote."""
    rows = GraphRows()
    rows.people = [
        _person("P-a", True, "2015-01-02"),
        _person("P-b", False, None),
        _person("P-a", True, "2015-01-03"),
    ]
    rows.addresses = [
        {
            "uid": "A1",
            "uprn": "1",
            "line1": "1 High St",
            "town": "T",
            "postcode": "NM1 1AA",
            "postcode_district": "NM1",
            "lsoa": None,
            "imd_decile": 2,
            "lat": 51.5,
            "lon": 0.25,
            "local_authority": "N",
            "in_county": True,
            "postcode_only": False,
        }
    ]
    rows.lives_at = [
        {"person": "P-a", "address": "A1", "from": "2020-01-01", "to": None},
        {"person": "P-a", "address": "A1", "from": "2020-01-01", "to": "2021-01-01"},
        {"person": "P-a", "address": "A1", "from": "2022-01-01", "to": None},
        {"person": "P-nobody", "address": "A1", "from": "2022-01-01", "to": None},
        {"person": "P-a", "address": "A1", "from": None, "to": None},
        {"person": "P-b", "address": "A1", "from": None, "to": None},
        {"person": "P-b", "address": "A1", "from": None, "to": None},
    ]
    rows.parent_of = [
        {"parent": "P-b", "child": "P-a", "kind": "birth", "from": "2015-01-02", "to": None},
        {"parent": "P-b", "child": "P-a", "kind": "step", "from": None, "to": None},
    ]
    rows.services = [{"uid": u, "name": n} for u, n in (("early-help", "EH"), ("cin", "CIN"))]
    case = {
        "kind": "EH",
        "status": "closed",
        "start": "2024-01-01",
        "end": "2024-06-01",
        "reason": "N1",
        "placement_la": None,
        "placement_out_of_area": None,
        "placement_type": None,
        "service": "early-help",
    }
    rows.cases = [  # a service nobody wrote: the case is not written either way
        {**case, "uid": "c1", "person": "P-a", "service": "a-service-no-load-wrote"},
        {**case, "uid": "c2", "person": "P-a", "service": "cin"},
        {**case, "uid": "c2", "person": "P-b"},
    ]
    return rows


def _row_by_row(monkeypatch: pytest.MonkeyPatch, store: GraphStore) -> None:
    """Make ``store`` run the statements one row per batch: within one ``UNWIND``
    batch FalkorDB lets the first of two rows that MERGE the same node win, and Neo4j
    the last, so only row by row is what the statements mean."""
    one_by_one = store.write_rows
    monkeypatch.setattr(
        store, "write_rows", lambda *a, **k: one_by_one(*a, **{**k, "batch_size": 1})
    )


def _write(store: GraphStore, rows: Any, *, bulk: bool, ask: bool = False) -> Any:
    return write_rows(store, rows, bulk=bulk, loaded_at="2026-11-02T10:00:00", ask=ask)


def test_rows_that_merge_into_one_thing_end_as_the_statements_leave_them(
    twins: list[GraphStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    _row_by_row(monkeypatch, twins[1])
    rows = _awkward_rows()
    bulk_rows = _write(twins[0], rows, bulk=True).bulk_rows
    _write(twins[1], rows, bulk=False)
    # the keyless residence of P-a at A1 has a dated one in the same load: the statement's
    assert bulk_rows == {
        "services": 2,
        "addresses": 1,
        "people": 3,
        "residences": 5,
        "parents": 2,
        "cases": 2,
    }
    (nodes_a, edges_a), (nodes_b, edges_b) = dump(twins[0]), dump(twins[1])
    assert nodes_a == nodes_b
    assert edges_a == edges_b
    parent = twins[0].read("MATCH ()-[r:PARENT_OF]->() RETURN r.kind AS k, r.from AS f").rows
    assert parent == [{"k": "step", "f": dt.date(2015, 1, 2)}]
    # a case has one child (HAS_CASE one_in): c2's last row's, the other's edge gone
    child = "MATCH (p:Person)-[:HAS_CASE]->(c:Case) RETURN p.uid AS p, c.uid AS c"
    assert twins[0].read(child).rows == [{"p": "P-b", "c": "c2"}]
    # and one service (WITH_SERVICE rewritten): c2's last row's, early help
    service = "MATCH (c:Case)-[:WITH_SERVICE]->(s:Service) RETURN c.uid AS c, s.uid AS s"
    assert twins[0].read(service).rows == [{"c": "c2", "s": "early-help"}]


def _one_child_excluded_twice() -> GraphRows:
    """A child, a school and two rows of one exclusion (the same child, school and
    date: one relationship), as an extract that lists it twice gives them: 4 sessions
    then 10."""
    rows = GraphRows()
    rows.people = [_person("P-a", True, "2015-01-02")]
    school = dict.fromkeys(write.STEPS["schools"].fields)
    rows.schools = [{**school, "uid": "100001", "urn": "100001", "name": "S"}]
    exclusion = {"person": "P-a", "school": "100001", "date": "2026-09-18", "kind": "SUSP"}
    rows.exclusions = [
        {**exclusion, "sessions": 4, "reason": "TH"},
        {**exclusion, "sessions": 10, "reason": "DB"},
    ]
    return rows


def _exclusions(store: GraphStore) -> list[dict[str, Any]]:
    return store.read("MATCH ()-[r:EXCLUDED]->() RETURN r.sessions AS s, r.reason AS why").rows


@pytest.mark.parametrize("bulk", [False, True], ids=["statements", "bulk"])
def test_a_relationship_listed_twice_is_left_as_its_later_row_however_written(
    twins: list[GraphStore], bulk: bool
) -> None:
    """Two rows of one relationship in one batch leave the later one's values, as MERGE
    row by row leaves them, whether written in bulk (a first load), through the
    statements into an empty graph, or through them over the graph a first load left
    (a load that writes every row: ``--full``, or a delta whose record of the rows
    written is another release's). On 9a53854 the statements' batch left the first
    row's, so such a load changed a graph a delta leaves alone."""
    store = twins[0]
    rows = _one_child_excluded_twice()
    _write(store, rows, bulk=bulk)
    assert _exclusions(store) == [{"s": 10, "why": "DB"}]
    _write(store, rows, bulk=False)  # every row again, over what is there
    assert _exclusions(store) == [{"s": 10, "why": "DB"}]


@pytest.mark.parametrize("ask", [False, True], ids=["every-uid-read", "uids-asked"])
def test_nodes_the_graph_holds_go_through_the_statements_and_new_ones_in_bulk(
    twins: list[GraphStore], monkeypatch: pytest.MonkeyPatch, ask: bool
) -> None:
    """Over a graph holding P-a and A1, a second write's rows for them are the
    statements' (bulk insertion would make a second P-a and A1) and P-b's are bulk
    inserted, whether the writer reads every uid of a label (a load writing every row)
    or asks only for the uids its rows name (a delta)."""
    for store in twins:  # P-a's rows go through the statements in both
        _row_by_row(monkeypatch, store)
    rows = _awkward_rows()
    first = GraphRows()
    first.people, first.addresses = [_person("P-a", True, "2015-01-01")], rows.addresses
    for store in twins:
        _write(store, first, bulk=False)
    bulk_rows = _write(twins[0], rows, bulk=True, ask=ask).bulk_rows
    _write(twins[1], rows, bulk=False)
    # new: P-b, the services, case c2 (its two rows folded), P-b's two residences and
    # both parent rows (P-b was created in this write); P-a, A1 and P-a's rows: statements
    assert bulk_rows == {"services": 2, "people": 1, "residences": 2, "parents": 2, "cases": 2}
    people = twins[0].read("MATCH (p:Person) RETURN p.uid AS uid ORDER BY uid").rows
    assert [p["uid"] for p in people] == ["P-a", "P-b"]
    assert twins[0].read("MATCH (a:Address) RETURN count(a) AS n").scalar() == 1
    (nodes_a, edges_a), (nodes_b, edges_b) = dump(twins[0]), dump(twins[1])
    assert nodes_a == nodes_b
    assert edges_a == edges_b


def test_a_load_stopped_before_its_dates_were_converted_is_completed_by_the_next(
    twins: list[GraphStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release before this one sent dates as text and converted them at the end of
    the write; a load of it that stopped before then left them so (as would one whose
    conversion failed after its command). The next load converts them first: otherwise
    its MERGE would not find those relationships by their date and would write them a
    second time."""
    rows = _awkward_rows()

    def stop(self: FalkorBulkWriter) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(FalkorBulkWriter, "finish", stop)
        for each in ("_node_dates", "_edge_dates"):  # as the release before: not converted
            m.setattr(falkordb_bulk, each, lambda *_args: None)
        with pytest.raises(KeyboardInterrupt):
            _write(twins[0], rows, bulk=True)
    stopped = (
        twins[0].read("MATCH ()-[r:LIVES_AT]->() WHERE r.from IS NOT NULL RETURN r.from AS f").rows
    )
    assert [type(r["f"]) for r in stopped] == [str, str]  # dates still text
    for store in twins:
        _row_by_row(monkeypatch, store)
    _write(twins[0], rows, bulk=True)  # the load run again
    _write(twins[1], rows, bulk=False)
    assert dump(twins[0]) == dump(twins[1])


@pytest.mark.parametrize(
    "again", [("bulk",), ("no-bulk",), ("no-bulk, stopped", "bulk")], ids=" then ".join
)
def test_a_load_stopped_between_new_records_and_their_links_is_completed_by_the_next(
    small_county: Path,
    twins: list[GraphStore],
    monkeypatch: pytest.MonkeyPatch,
    again: tuple[str, ...],
) -> None:
    """Bulk insertion creates a step's nodes, then its relationships, in separate
    commands. A load stopped between the two leaves source records that describe
    nobody, and dates as text; the next load, in bulk or not, must link those records,
    not create them a second time (bulk insertion checks no unique constraint), and
    turn the dates into dates. A load that stops before it has linked them leaves the
    stopped load's marker for the one after."""
    store = twins[0]
    real = FalkorBulkWriter.create_edges

    def stop_at_describes(self: FalkorBulkWriter, shape: Any, rows: Any) -> None:
        if shape.type == "DESCRIBES":
            raise KeyboardInterrupt
        real(self, shape, rows)

    with monkeypatch.context() as m:
        m.setattr(FalkorBulkWriter, "create_edges", stop_at_describes)
        with pytest.raises(KeyboardInterrupt):
            run_load(store, small_county, as_of=AS_OF)
    unlinked = store.read(
        "MATCH (s:SourceRecord) WHERE NOT (s)-[:DESCRIBES]->() RETURN count(s) AS n"
    ).scalar()
    assert unlinked > 1000  # it stopped where this test means it to
    real_rows = store.write_rows

    def stop_at_people(statement: Any, *args: Any, **kwargs: Any) -> Any:
        if statement is write.PEOPLE.statement:
            raise KeyboardInterrupt
        return real_rows(statement, *args, **kwargs)

    for how in again:
        if how == "no-bulk, stopped":
            with monkeypatch.context() as m:
                m.setattr(store, "write_rows", stop_at_people)
                with pytest.raises(KeyboardInterrupt):
                    run_load(store, small_county, as_of=AS_OF, bulk=False)
            assert store.bulk_load_running()
        else:
            run_load(store, small_county, as_of=AS_OF, bulk=how == "bulk")
    run_load(twins[1], small_county, as_of=AS_OF)  # never stopped
    records = (
        "MATCH (s:SourceRecord) OPTIONAL MATCH (s)-[d:DESCRIBES]->() "
        "RETURN count(DISTINCT s.uid) AS uids, count(DISTINCT s) AS nodes, count(d) AS links"
    )
    counts = store.read(records).rows[0]
    assert counts == twins[1].read(records).rows[0]
    assert counts["uids"] == counts["nodes"] == counts["links"]
    assert not store.bulk_load_running()
    text = "MATCH (p:Person) WHERE typeOf(p.dob) = 'String' RETURN count(p) AS n"
    assert store.read(text).scalar() == 0


@pytest.mark.parametrize("holes", [False, True])
def test_ids_of_nodes_just_created_are_right_when_the_engine_reuses_deleted_ones(
    twins: list[GraphStore], monkeypatch: pytest.MonkeyPatch, holes: bool
) -> None:
    """New nodes' ids are supposed consecutive and confirmed by the engine; where it
    gave some the numbers of deleted nodes, they are looked up one by one instead."""
    store = twins[0]
    store.write("UNWIND range(1, 10) AS i CREATE (:SourceRecord {uid: 'old' + toString(i)})")
    if holes:
        store.write("MATCH (n:SourceRecord) WHERE n.uid IN ['old3', 'old7'] DELETE n")
    writer = store.bulk_writer()
    assert isinstance(writer, FalkorBulkWriter)
    uids = [f"new{i}" for i in range(5)]
    writer.create_nodes(NodeShape("SourceRecord", ("uid",)), [{"uid": u} for u in uids])
    looked_up: list[int] = []
    lookup = writer._lookup
    monkeypatch.setattr(
        writer, "_lookup", lambda label, u: looked_up.append(len(u)) or lookup(label, u)
    )
    got = _ids_of(uids, writer._created_span("SourceRecord", uids))
    truth = store.read(
        "MATCH (n:SourceRecord) WHERE n.uid STARTS WITH 'new' RETURN n.uid AS u, id(n) AS id"
    ).rows
    assert got == {r["u"]: r["id"] for r in truth}
    assert looked_up == ([1, 5] if holes else [1])


def test_nodes_looked_up_by_uid_across_several_slices_get_their_own_ids(
    twins: list[GraphStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The uid lookup sends at most ``CHUNK`` uids a query: with slices of two, each
    uid still gets its own node's id (the engine's own answer), and a uid the graph
    lacks none, whichever slice it falls in."""
    store = twins[0]
    store.write("UNWIND range(1, 7) AS i CREATE (:SourceRecord {uid: 'u' + toString(i)})")
    truth = {
        r["u"]: r["id"]
        for r in store.read("MATCH (n:SourceRecord) RETURN n.uid AS u, id(n) AS id").rows
    }
    monkeypatch.setattr(falkordb_bulk, "CHUNK", 2)
    writer = store.bulk_writer()
    assert isinstance(writer, FalkorBulkWriter)
    asked = ["u7", "u1", "gone", "u4", "u2", "u6", "u3", "u5"]
    assert writer._lookup("SourceRecord", asked) == truth
    assert writer.held("SourceRecord", ["u3", "gone", "u6"]) == {"u3", "u6"}


def test_no_merge_deletes_a_person_while_a_load_is_writing_in_bulk(
    twins: list[GraphStore],
) -> None:
    """Bulk insertion names nodes by internal id and a deleted node's id is given to
    the next one created, so a reviewer's merge waits for the load."""
    from graph import review_queue

    store = twins[0]
    writer = store.bulk_writer()
    assert writer is not None
    writer.begin([])
    assert store.bulk_load_running()
    with pytest.raises(review_queue.ReviewError, match="a load is writing"):
        review_queue.decide(store, "R-any", True, "reviewer")
    with pytest.raises(review_queue.ReviewError, match="no review pair"):
        review_queue.decide(store, "R-any", False, "reviewer")  # a rejection deletes nothing
    writer.finish()
    assert not store.bulk_load_running()
    with pytest.raises(review_queue.ReviewError, match="no review pair"):
        review_queue.decide(store, "R-any", True, "reviewer")


def _next_load_completes_it(county: Path, twins: list[GraphStore]) -> None:
    """Load ``county`` into the first graph, after its failed load, and into the second,
    never loaded: the two graphs are the same."""
    run_load(twins[0], county, as_of=AS_OF)
    run_load(twins[1], county, as_of=AS_OF)  # never stopped
    for each in twins:  # when each record was first loaded differs, by design
        each.write("MATCH (s:SourceRecord) SET s.loaded_at = null")
    _same_graph(twins[0], twins[1], LINKED_APART)


def test_a_build_that_fails_stops_the_writer_and_the_next_load_writes_everything(
    small_county: Path, twins: list[GraphStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """People are written on a second thread while the facts are built. A build that
    fails must fail the load with its own error, stop that writer before it writes a
    fact, and leave nothing the next load cannot finish."""
    store = twins[0]
    real = Builder.facts
    built: list[int] = []

    def fail_part_way(self: Builder, record: Any) -> None:
        built.append(1)
        if len(built) == 5_000:
            raise ValueError("a record the builder cannot take")
        real(self, record)

    with monkeypatch.context() as m:
        m.setattr(Builder, "facts", fail_part_way)
        with pytest.raises(ValueError, match="a record the builder cannot take"):
            run_load(store, small_county, as_of=AS_OF)
    assert not [t for t in threading.enumerate() if t.name.startswith("jigsaw-write")]
    assert store.read("MATCH (k:Case) RETURN count(k) AS n").scalar() == 0
    _next_load_completes_it(small_county, twins)


def test_a_load_that_fails_while_linking_stops_the_writer_and_the_next_load_links_its_records(
    small_county: Path, twins: list[GraphStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """New source records' nodes are created on the writer thread while linkage runs
    (loaders.ahead). A linkage that fails must fail the load with its own error, leave
    no writer running, and leave records the next load links rather than creates again."""
    store = twins[0]
    created = threading.Event()
    real_ahead = load_module._write_ahead

    def ahead(*args: Any, **kwargs: Any) -> Any:
        try:
            return real_ahead(*args, **kwargs)
        finally:
            created.set()

    def fail(*args: Any, **kwargs: Any) -> Any:
        assert created.wait(120)  # the nodes are there: the failure comes after them
        raise ValueError("linkage ran out of memory")

    with monkeypatch.context() as m:
        m.setattr(load_module, "_write_ahead", ahead)
        m.setattr(load_module, "link", fail)
        with pytest.raises(ValueError, match="linkage ran out of memory"):
            run_load(store, small_county, as_of=AS_OF)
    assert not [t for t in threading.enumerate() if t.name.startswith("jigsaw-write")]
    counts = "MATCH (s:SourceRecord) OPTIONAL MATCH (s)-[d]->() RETURN count(s) AS s, count(d) AS d"
    records = store.read(counts).rows[0]
    assert records["s"] > 1000 and records["d"] == 0  # created, linked to nobody
    assert store.bulk_load_running()
    _next_load_completes_it(small_county, twins)
    assert not store.bulk_load_running()


def test_a_failure_writing_records_ahead_is_the_loads_error(
    small_county: Path, twins: list[GraphStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = FalkorBulkWriter.create_nodes

    def refuse(self: FalkorBulkWriter, shape: NodeShape, *args: Any, **kwargs: Any) -> None:
        if shape.label == "SourceRecord":
            raise ConnectionError("the engine went away")
        real(self, shape, *args, **kwargs)

    monkeypatch.setattr(FalkorBulkWriter, "create_nodes", refuse)
    built: list[int] = []
    real_facts = Builder.facts
    monkeypatch.setattr(Builder, "facts", lambda self, r: built.append(1) or real_facts(self, r))
    with pytest.raises(ConnectionError, match="the engine went away"):
        run_load(twins[0], small_county, as_of=AS_OF)
    assert built == []  # it failed before building, not after
    assert twins[0].read("MATCH (p:Person) RETURN count(p) AS n").scalar() == 0


@pytest.mark.parametrize("order", ["as created", "same first, then shuffled", "reversed"])
def test_relationships_from_new_nodes_find_their_ends_in_any_order(
    twins: list[GraphStore], order: str
) -> None:
    """The ids found when nodes were created are used for their relationships only when
    the rows come in the order the nodes were created; any other order looks them up."""
    from graph.bulk import EdgeShape

    store = twins[0]
    store.write("CREATE (:Person {uid: 'p'})")
    writer = store.bulk_writer()
    assert isinstance(writer, FalkorBulkWriter)
    uids = [f"r{i}" for i in range(6)]
    writer.create_nodes(NodeShape("SourceRecord", ("uid",)), [{"uid": u} for u in uids])
    ordered = {
        "as created": uids,
        "same first, then shuffled": [uids[0], *reversed(uids[1:])],
        "reversed": list(reversed(uids)),
    }[order]
    shape = EdgeShape("DESCRIBES", ("SourceRecord", "uid"), ("Person", "person"), ("n",))
    writer.create_edges(shape, [{"uid": u, "person": "p", "n": i} for i, u in enumerate(ordered)])
    got = store.read(
        "MATCH (s:SourceRecord)-[d:DESCRIBES]->(:Person {uid: 'p'}) RETURN s.uid AS s, d.n AS n"
    ).rows
    assert sorted((r["s"], r["n"]) for r in got) == sorted((u, i) for i, u in enumerate(ordered))
