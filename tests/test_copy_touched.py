"""A delta's copy, read from what the load touched, is the copy written from the whole
graph; and each case where it cannot know falls back to reading the whole graph.

Each test changes a small live graph as a load would, says what it touched (as
:class:`loaders.unchanged.Touched` does), writes the copy from that, then compares it,
node for node and relationship for relationship, with one written afresh from the same
live graph. Each fall-back's test fails when the fall-back is taken away: the copy read
from the touched nodes alone would then differ.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from collections.abc import Iterator

import pytest

from graph import review_queue, version
from graph.access import projection
from graph.access.copy_rules import MIN_SHARED
from graph.access.copy_state import CopyState
from graph.access.projection import Written, write_copy
from graph.access.pseudonyms import Pseudonyms
from graph.engines.falkordb import FalkorDBStore
from loaders.load import run_load
from loaders.unchanged import Touched, Unchanged
from synthetic.week_later import write_week_later
from tests.conftest import AS_OF, embedded_store, person_map

NODES = "MATCH (n) RETURN labels(n) AS labels, properties(n) AS props"
RELATIONSHIPS = (
    "MATCH (a)-[r]->(b) RETURN type(r) AS type, a.uid AS a, b.uid AS b, properties(r) AS props"
)
SETUP = [
    "UNWIND range(1, 12) AS i CREATE (:Person:Child {uid: 'p' + toString(i), sex: 'F', "
    "dob: date('2012-03-04')})",
    "UNWIND range(1, 12) AS i CREATE (:Address {uid: 'a' + toString(i), "
    "postcode_district: CASE WHEN i <= 6 THEN 'AB1' ELSE 'AB2' END, "
    "lat: 52.0 + i / 1000.0, lon: -1.0, town: 'Town' + toString(i % 2)})",
    "MATCH (p:Person), (a:Address) WHERE substring(p.uid, 1) = substring(a.uid, 1) "
    "CREATE (p)-[:LIVES_AT {from: date('2020-01-01')}]->(a)",
    "CREATE (:School {uid: 's1', name: 'North', urn: 100}), (:School {uid: 's2', name: 'South'})",
    "MATCH (p:Person), (s:School {uid: 's1'}) CREATE (p)-[:ATTENDANCE {term: 'autumn', "
    "possible: 100, absent: 3, term_start: date('2026-09-01')}]->(s)",
    # nine cases share a reason: one short of its being kept in the copy
    f"UNWIND range(1, {MIN_SHARED - 1}) AS i MATCH (p:Person {{uid: 'p' + toString(i)}}) "
    "CREATE (p)-[:HAS_CASE]->(:Case {uid: 'c' + toString(i), kind: 'cin', status: 'open', "
    "reason: 'family stress', start: date('2025-01-01')})",
]


def _everything(store: FalkorDBStore) -> tuple[Counter, Counter]:
    copy = store.pseudonymised()
    nodes = copy.read(NODES, max_rows=1_000_000).rows
    rels = copy.read(RELATIONSHIPS, max_rows=1_000_000).rows
    return (
        Counter(repr((sorted(r["labels"]), sorted(r["props"].items()))) for r in nodes),
        Counter(repr((r["type"], r["a"], r["b"], sorted(r["props"].items()))) for r in rels),
    )


def _touched(
    nodes: dict[str, set[str]] | None = None,
    named: dict[tuple[str, str], set[str]] | None = None,
    derived: dict[str, set[str]] | None = None,
) -> Touched:
    return Touched(nodes=dict(nodes or {}), named=dict(named or {}), derived=dict(derived or {}))


@pytest.fixture
def live(tmp_path) -> Iterator[FalkorDBStore]:
    """A small live graph with both copies written and known to lag it by nothing: the
    first copy, afresh, and the engine's duplicate of it."""
    store = embedded_store(tmp_path / "engine", "touched")
    store.copy_duplicate = True  # the setting these tests are about (off by default)
    store.drop_all()
    store.ensure_schema()
    for statement in SETUP:
        store.write(statement)
    try:
        assert write_copy(store).fresh
        yield store
    finally:
        store.pseudonymised().drop_all()
        store.drop_all()
        store.close()


def _as_afresh(store: FalkorDBStore, written: Written) -> None:
    """The copy just written, and the person map, equal those written afresh from the
    same live graph (the map: every live person's pseudonym and uid)."""
    by_touched, mapped = _everything(store), person_map(store)
    assert write_copy(store, incremental=False).fresh
    assert by_touched == _everything(store), written
    assert mapped == person_map(store), written


def test_a_delta_copy_reads_what_the_load_touched_and_equals_one_written_afresh(live):
    live.write("MATCH (c:Case {uid: 'c1'}) SET c.status = 'closed', c.end = date('2026-11-01')")
    live.write(
        "MATCH (p:Person {uid: 'p2'}), (s:School {uid: 's2'}) CREATE (p)-[:ATTENDANCE "
        "{term: 'spring', possible: 50, absent: 1, term_start: date('2027-01-04')}]->(s)"
    )
    live.write("MATCH (:Person {uid: 'p3'})-[x:ATTENDANCE]->() DELETE x")
    touched = _touched(
        {"Case": {"c1"}},
        {("ATTENDANCE", "Person"): {"p2", "p3"}, ("ATTENDANCE", "School"): {"s1", "s2"}},
    )
    written = write_copy(live, touched=touched)
    assert written.touched and not written.fresh and written.changed == 3, written
    _as_afresh(live, written)


def test_a_delta_copy_looks_up_the_recorded_hashes_of_what_it_read_alone(live, monkeypatch):
    """A delta's copy takes from the recorded hashes only the items it read (a county's
    are millions, a night's change thousands): never every item of a kind as a dict,
    which the copy from the whole graph makes, but for the labels read whole
    (``projection.WHOLE``: one node each here). The same copy as one written afresh."""
    from graph.access.copy_state import Kind

    whole = Kind.as_dict
    made: list[int] = []

    def as_dict(self):
        made.append(len(self))
        return whole(self)

    live.write("MATCH (c:Case {uid: 'c1'}) SET c.status = 'closed'")
    live.write("MATCH (:Person {uid: 'p3'})-[x:ATTENDANCE]->() DELETE x")
    touched = _touched({"Case": {"c1"}}, {("ATTENDANCE", "Person"): {"p3"}})
    assert live.counts().labels["Case"] > 1 and live.counts().relationship_types["ATTENDANCE"] > 1
    with monkeypatch.context() as patch:
        patch.setattr(Kind, "as_dict", as_dict)
        written = write_copy(live, touched=touched)
    assert written.touched and not written.fresh and written.changed == 2, written
    assert max(made, default=0) <= 1, made
    _as_afresh(live, written)


def test_people_whose_derived_facts_were_set_are_read_and_no_other_person(live):
    """Derive writes risk of NEET factors on the pupils whose factors moved and open
    services on the owners of touched cases, people the load's rows do not name: the
    load says so (``derived``), and only those people are read."""
    live.write(
        "MATCH (p:Person) WHERE p.uid IN ['p4', 'p5'] SET p.risk_factors = ['attendance'], "
        "p.risk_year_group = 10"
    )
    live.write("MATCH (p:Person {uid: 'p6'}) SET p.open_services = ['cin']")
    asked: list[set[str] | None] = []
    reads = projection._ScopedReads.asked
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            projection._ScopedReads,
            "asked",
            lambda self, label: asked.append(reads(self, label)) or asked[-1],
        )
        written = write_copy(
            live, touched=_touched({"Case": {"c1"}}, derived={"Person": {"p4", "p5", "p6"}})
        )
    assert written.touched and written.changed == 3, written
    assert asked == [{"p4", "p5", "p6"}]  # the people read: no other
    _as_afresh(live, written)


def test_the_relationships_of_people_whose_derived_facts_alone_were_set_are_not_read(live):
    """A derived fact is a person's own property: their relationships (homes,
    attendance) are not read for it, the relationships of a person whose own rows
    changed are; the copy is the one written afresh all the same."""
    live.write("MATCH (p:Person) WHERE p.uid IN ['p4', 'p5'] SET p.risk_factors = ['attendance']")
    live.write("MATCH (p:Person {uid: 'p7'}) SET p.sex = 'M'")
    starts: list[str] = []
    read = projection._ScopedReads._read

    def noted(self, statement, params):
        starts.extend(params.get("left", ()))
        return read(self, statement, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(projection._ScopedReads, "_read", noted)
        written = write_copy(
            live, touched=_touched({"Person": {"p7"}}, derived={"Person": {"p4", "p5"}})
        )
    assert written.touched and written.changed == 3, written
    assert set(starts) == {"p7"}, sorted(set(starts))
    _as_afresh(live, written)


def test_a_start_labels_relationships_without_properties_are_read_at_once_as_each_type(live):
    """A delta reads the types without properties in the copy starting at a label
    (``projection.BARE_FROM``) in one read, once, and hands each type the rows its own
    read finds: its own relationships (not another type's), to an end of its type's
    label only (a HAS_CASE to an address is no case of the copy's), each type's read
    checked against a read of that type alone written here."""
    live.write("MATCH (p:Person {uid: 'p1'}), (a:Address {uid: 'a3'}) CREATE (p)-[:HAS_CASE]->(a)")
    live.write(
        "MATCH (p:Person {uid: 'p2'}) CREATE (p)-[:REFERRED]->(:Referral {uid: 'r2'}), "
        "(p)-[:HAS_STATUS]->(:Status {uid: 'st2'})"
    )
    scope = projection.Scope(nodes={"Person": {"p1", "p2", "p3"}})
    read = projection._ScopedReads._read
    asked: list[str] = []

    def noted(self, statement, params):
        asked.append(statement)
        return read(self, statement, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(projection._ScopedReads, "_read", noted)
        reads = projection._ScopedReads(live, scope)
        got = {rel: reads.relationships(rel) for rel in ("HAS_CASE", "REFERRED", "HAS_STATUS")}
    assert asked == [projection.BARE_FROM["Person"]]  # one read for the three types
    for rel, end in (("HAS_CASE", "Case"), ("REFERRED", "Referral"), ("HAS_STATUS", "Status")):
        alone = live.read(
            f"MATCH (a:Person)-[:{rel}]->(b:{end}) WHERE a.uid IN ['p1', 'p2', 'p3'] "
            "RETURN a.uid AS left, b.uid AS right"
        ).rows
        assert _pairs(got[rel]) == sorted((r["left"], r["right"]) for r in alone), rel
        assert got[rel].rows == len(alone)
    assert _pairs(got["HAS_CASE"]) == [("p1", "c1"), ("p2", "c2"), ("p3", "c3")]
    assert _pairs(got["REFERRED"]) == [("p2", "r2")]


def _pairs(read) -> list[tuple[str, str]]:
    """A relationship read's (start, end) uids, in order."""
    return sorted(zip(read.columns["left"], read.columns["right"], strict=True))


def test_a_delta_copy_changes_the_person_map_for_the_people_it_read(live):
    """A person new and one gone: the map in use is changed for those two (the rest
    left as they are), and is the map made afresh."""
    live.write("MATCH (p:Person {uid: 'p12'}) DETACH DELETE p")
    live.write("CREATE (:Person:Child {uid: 'p13', sex: 'M', dob: date('2013-05-06')})")
    written = write_copy(live, touched=_touched({"Person": {"p12", "p13"}}))
    assert written.touched, written
    uids = {uid for _, uid in person_map(live)}
    assert "p13" in uids and "p12" not in uids
    _as_afresh(live, written)


def test_a_person_map_missing_people_is_made_again_from_every_person(live):
    """A map not holding every live person after a delta's change (one someone cut):
    made again from every person's uid."""
    path = Pseudonyms.open(live.pseudonym_dir, live.name).map_path
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM person WHERE uid = 'p7'")
    db.close()
    live.write("MATCH (c:Case {uid: 'c1'}) SET c.status = 'closed'")
    written = write_copy(live, touched=_touched({"Case": {"c1"}}))
    assert written.touched, written
    assert "p7" in {uid for _, uid in person_map(live)}
    _as_afresh(live, written)


def test_a_copy_failing_part_way_leaves_its_buffer_untrusted(live):
    """A copy whose writing fails after it changed the buffer: the buffer's recorded
    hashes no longer say what it holds, so the next copy into it is written afresh.
    Trusted, a change the failed copy wrote and the live graph then undid would stay."""
    live.write("MATCH (p:Person {uid: 'p1'}) SET p.sex = 'M'")
    live.write("MATCH (c:Case {uid: 'c1'}) SET c.kind = 'cp'")
    calls = 0
    write_rows = FalkorDBStore.write_rows

    def fails_second(self, *args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the engine stopped")
        return write_rows(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FalkorDBStore, "write_rows", fails_second)
        with pytest.raises(RuntimeError, match="stopped"):
            # the person's update written (people first), then the case's fails
            write_copy(live, touched=_touched({"Person": {"p1"}, "Case": {"c1"}}))
    state = CopyState.beside(Pseudonyms.open(live.pseudonym_dir, live.name).home, live.name)
    assert state.trusted("spare", live.pseudonymised_staging().counts()) is None
    live.write("MATCH (p:Person {uid: 'p1'}) SET p.sex = 'F'")  # both undone
    live.write("MATCH (c:Case {uid: 'c1'}) SET c.kind = 'cin'")
    written = write_copy(live, touched=_touched({"Person": {"p1"}, "Case": {"c1"}}))
    assert written.fresh, written
    _as_afresh(live, written)


def test_a_shared_value_crossing_its_threshold_reads_the_nodes_holding_it(live):
    """The tenth case with a reason makes the reason kept on the other nine, which the
    load did not touch: they are read too."""
    live.write(
        "MATCH (p:Person {uid: 'p10'}) CREATE (p)-[:HAS_CASE]->(:Case {uid: 'c10', "
        "kind: 'cin', status: 'open', reason: 'family stress', start: date('2026-11-01')})"
    )
    touched = _touched({"Case": {"c10"}}, {("HAS_CASE", "Person"): {"p10"}})
    written = write_copy(live, touched=touched)
    assert written.touched and written.changed == 2 + MIN_SHARED - 1, written
    _as_afresh(live, written)


def test_people_sharing_sources_that_come_to_be_kept_are_read(live):
    """A person's sources are kept where ten share them: the tenth makes the other
    nine's kept, people the load did not touch (each copy already holding the nine's
    sources as not kept, so that only the crossing reads them)."""
    nine = {f"p{i}" for i in range(1, MIN_SHARED)}
    live.write(f"MATCH (p:Person) WHERE p.uid IN {sorted(nine)} SET p.sources = ['gp', 'school']")
    for touched in (_touched({"Person": nine}), _touched({"Person": nine}), _touched()):
        assert write_copy(live, touched=touched).touched
    live.write(f"MATCH (p:Person {{uid: 'p{MIN_SHARED}'}}) SET p.sources = ['gp', 'school']")
    written = write_copy(live, touched=_touched({"Person": {f"p{MIN_SHARED}"}}))
    assert written.touched and written.changed == MIN_SHARED, written
    _as_afresh(live, written)


def test_a_district_centre_moving_reads_the_homes_in_it(live):
    """A new home in a district moves its centre: every home there moves in the copy,
    and is read, the other district's not."""
    live.write("CREATE (:Address {uid: 'a13', postcode_district: 'AB1', lat: 53.5, lon: -1.5})")
    written = write_copy(live, touched=_touched({"Address": {"a13"}}))
    assert written.touched and written.changed == 7, written
    _as_afresh(live, written)


def test_the_copy_written_over_two_loads_old_reads_what_both_loads_touched(live):
    """On FalkorDB the copy written over is the one before the last: it lags the live
    graph by the load before this one too."""
    live.write("MATCH (c:Case {uid: 'c2'}) SET c.status = 'closed'")
    first = write_copy(live, touched=_touched({"Case": {"c2"}}))
    assert first.touched and first.changed == 1, first
    live.write("MATCH (c:Case {uid: 'c3'}) SET c.status = 'closed'")
    second = write_copy(live, touched=_touched({"Case": {"c3"}}))
    assert second.touched and second.changed == 2, second  # c2 as well as c3
    _as_afresh(live, second)


def test_the_first_copy_after_one_not_told_what_changed_reads_what_its_load_touched(live):
    """A full load's copy (nothing said what changed) leaves the copy written over next
    holding what it holds (the engine's duplicate, with its hashes): the first night
    after it reads only what that night touched, as the second does."""
    live.write("MATCH (c:Case {uid: 'c4'}) SET c.status = 'closed'")
    live.write("MATCH (p:Person {uid: 'p8'}) SET p.sex = 'M'")
    assert not write_copy(live).touched  # a full load's: nothing said what changed
    live.write("MATCH (c:Case {uid: 'c5'}) SET c.status = 'closed'")
    written = write_copy(live, touched=_touched({"Case": {"c5"}}))
    assert written.touched and not written.fresh and written.changed == 1, written
    _as_afresh(live, written)


@pytest.mark.parametrize("why", ["the setting off", "the engine declining"])
def test_a_copy_not_duplicated_leaves_the_next_to_read_everything(live, monkeypatch, why):
    """``copy_duplicate`` off (the default: the engine's memory rises while it copies),
    or the engine declining to copy: a copy read from the whole graph leaves the spare
    lagging by what no load said, and the next copy over it reads the whole graph (its
    hashes still trusted)."""
    if why == "the setting off":
        live.copy_duplicate = False
    else:
        monkeypatch.setattr(FalkorDBStore, "duplicate_pseudonymised", lambda self, replacing: False)
    live.write("MATCH (c:Case {uid: 'c4'}) SET c.status = 'closed'")
    assert not write_copy(live).touched
    monkeypatch.undo()
    live.write("MATCH (c:Case {uid: 'c5'}) SET c.status = 'closed'")
    written = write_copy(live, touched=_touched({"Case": {"c5"}}))
    assert not written.touched and "not saying" in written.whole, written
    _as_afresh(live, written)


def test_a_copy_the_engine_refuses_leaves_no_spare_and_the_next_written_afresh(live):
    """The engine refusing to duplicate (anything but a fork it waits out) after the
    spare was deleted to make room: no spare and no hashes for it, so the next copy is
    written afresh, and equals one written afresh."""
    import redis
    from falkordb import Graph

    def refuse(self, clone):
        raise redis.ResponseError("refused for the test")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Graph, "copy", refuse)
        live.write("MATCH (c:Case {uid: 'c4'}) SET c.status = 'closed'")
        assert not write_copy(live).touched
    assert not live._db.connection.exists(live.pseudonymised_staging().graph_name)
    live.write("MATCH (c:Case {uid: 'c5'}) SET c.status = 'closed'")
    written = write_copy(live, touched=_touched({"Case": {"c5"}}))
    assert written.fresh, written
    _as_afresh(live, written)


def test_a_decision_mirrored_while_the_engine_duplicates_leaves_the_spare_untrusted(live):
    """A rejection does not wait for a load: mirrored into the published copy while the
    engine duplicates it, it takes the published hashes the spare was to take. The load
    goes on (no error at its last stage), the spare untrusted: the next copy over it is
    read whole and equals one written afresh."""
    duplicate = FalkorDBStore.duplicate_pseudonymised

    def decided_meanwhile(self, replacing):
        projection.mirror(self)  # what review_queue.decide does first
        return duplicate(self, replacing)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FalkorDBStore, "duplicate_pseudonymised", decided_meanwhile)
        live.write("MATCH (c:Case {uid: 'c4'}) SET c.status = 'closed'")
        assert not write_copy(live).touched
    live.write("MATCH (c:Case {uid: 'c5'}) SET c.status = 'closed'")
    written = write_copy(live, touched=_touched({"Case": {"c5"}}))
    assert not written.touched, written
    _as_afresh(live, written)


def test_counts_that_disagree_after_a_delta_copy_read_the_whole_graph(live):
    """A node the load wrote and did not say it touched: the copy's counts tell."""
    live.write("CREATE (:Case {uid: 'c99', kind: 'cin', status: 'open'})")
    written = write_copy(live, touched=_touched({"Case": {"c1"}}))
    assert not written.touched and "counts" in written.whole, written
    _as_afresh(live, written)


def test_after_counts_disagreed_the_copy_written_over_next_reads_the_whole_graph(live):
    """A load that did not say all it changed leaves the other copy (two loads old on
    FalkorDB) lagging by what it did not say: a property as well as the node the counts
    caught. When the next load undoes the count's difference, only a whole read of the
    copy written over brings the property across."""
    live.write("CREATE (:Case {uid: 'c99', kind: 'cin', status: 'open'})")
    live.write("MATCH (c:Case {uid: 'c7'}) SET c.status = 'closed'")  # said by nobody
    with pytest.MonkeyPatch.context() as patch:  # the one before left in the other
        patch.setattr(FalkorDBStore, "duplicate_pseudonymised", lambda self, replacing: False)
        first = write_copy(live, touched=_touched({"Case": {"c1"}}))
    assert "counts" in first.whole, first
    live.write("MATCH (c:Case {uid: 'c99'}) DELETE c")
    second = write_copy(live, touched=_touched({"Case": {"c99"}}))
    assert not second.touched, second
    _as_afresh(live, second)


def test_after_counts_disagreed_the_engine_duplicates_the_copy_read_whole(live):
    """The copy read whole as the counts disagreed is duplicated into the other: the
    next reads only what its load touched."""
    live.write("CREATE (:Case {uid: 'c99', kind: 'cin', status: 'open'})")
    live.write("MATCH (c:Case {uid: 'c7'}) SET c.status = 'closed'")  # said by nobody
    assert "counts" in write_copy(live, touched=_touched({"Case": {"c1"}})).whole
    live.write("MATCH (c:Case {uid: 'c99'}) DELETE c")
    second = write_copy(live, touched=_touched({"Case": {"c99"}}))
    assert second.touched and second.changed == 1, second
    _as_afresh(live, second)


@pytest.mark.parametrize("rejected", [None, "before the copy", "as the copy is published"])
def test_after_a_delta_load_the_copy_equals_one_written_from_the_whole_graph(
    small_county, tmp_path, monkeypatch, rejected
):
    """A county loaded, loaded again unchanged, then a week later: each a delta over
    the last (their reports kept), the last's copy read from what it touched only.
    A pair rejected while the week loads (a rejection does not wait for a load), before
    its copy is written or just before that copy takes the published one's place,
    reaches the copy too. And the week's load marks the graph as loading before it
    reads what the last load kept, so no merge falls between the two."""
    later = tmp_path / "week_later"
    write_week_later(small_county, later, seed=3, share=0.01)
    store = embedded_store(tmp_path / "engine", "touched_loads")
    store.copy_duplicate = True
    store.drop_all()
    store.ensure_schema()
    loads = tmp_path / "loads"
    marked: list[str | None] = []

    def reject() -> None:
        pair = store.read(
            "MATCH (r:ReviewPair {status: 'pending'}) RETURN r.uid AS uid ORDER BY uid LIMIT 1"
        ).scalar()
        review_queue.decide(store, pair, False, "a reviewer")

    def after_stage(name: str) -> None:
        if rejected == "before the copy" and name == "alerts":
            reject()

    try:
        run_load(store, small_county, as_of=AS_OF, loads_dir=loads)
        again = run_load(store, small_county, as_of=AS_OF, loads_dir=loads).report
        assert not again.wrote_every_row
        take = Unchanged.take.__func__  # type: ignore[attr-defined]

        def marked_then_take(cls, *args, **kwargs):
            marked.append(version.loading_since(store))
            return take(cls, *args, **kwargs)

        monkeypatch.setattr(Unchanged, "take", classmethod(marked_then_take))
        if rejected == "as the copy is published":
            publish = FalkorDBStore.publish_pseudonymised

            def reject_then_publish(self) -> None:
                if not marked[1:]:
                    marked.append("rejected")
                    reject()
                publish(self)

            monkeypatch.setattr(FalkorDBStore, "publish_pseudonymised", reject_then_publish)
        week = run_load(
            store,
            later,
            as_of=AS_OF + dt.timedelta(days=7),
            loads_dir=loads,
            after_stage=after_stage,
        )
        monkeypatch.undo()
        assert marked[0] is not None  # a merge waits from before the kept state is read
        report = week.report
        assert report.delta
        said = any("pseudonymised copy" in part for part in report.over_everything)
        assert said == (rejected is not None), report.over_everything
        by_the_load, mapped = _everything(store), person_map(store)
        assert write_copy(store, incremental=False).fresh
        assert _everything(store) == by_the_load
        assert person_map(store) == mapped
    finally:
        store.pseudonymised().drop_all()
        store.drop_all()
        store.close()
