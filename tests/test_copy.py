"""The analysts' copy, by every route, is the same graph.

A county is loaded, then the same county a week later (``write_week_later``: new
attendance, moves, case events, births, corrections); the copy the second load's
differences make is compared, node for node and relationship for relationship, with
one written as the difference again and one written from nothing, and scanned for the real names and
identifiers of both weeks (from the truth files). The engine's copy equals the one
written from rows on a graph holding what the declaration does not cover, too, and the
engine starts again after copies. Analysts refused, not sent to the live graph, before
any copy.
"""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from collections import Counter

import orjson
import pytest

from graph import caseload_tally, views
from graph.access import guard
from graph.access.audit import AuditLog
from graph.access.copy_state import CopyState
from graph.access.policy import Principal
from graph.access.projection import mirror, write_copy
from graph.access.results import NoCopyYet
from graph.engines.falkordb import FalkorDBStore
from graph.store import Counts
from loaders.load import run_load
from queries.runner import run_adhoc, run_saved
from synthetic.week_later import write_week_later
from tests.conftest import AS_OF, embedded_store, person_map
from tests.privacy_truth import County, leaks
from ui.present.caseload import NO_WORKER_NEEDED

ANALYST = Principal("ana", "analyst")
NO_WORKER = sorted(NO_WORKER_NEEDED)
NODES = "MATCH (n) RETURN labels(n) AS labels, properties(n) AS props"
RELATIONSHIPS = (
    "MATCH (a)-[r]->(b) RETURN type(r) AS type, a.uid AS a, b.uid AS b, properties(r) AS props"
)


def _everything(copy) -> tuple[Counter, Counter]:
    """Every node (labels and properties) and every relationship (type, ends' uids and
    properties) of a copy, as multisets."""
    nodes = copy.read(NODES, max_rows=10_000_000).rows
    rels = copy.read(RELATIONSHIPS, max_rows=10_000_000).rows
    return (
        Counter(repr((sorted(r["labels"]), sorted(r["props"].items()))) for r in nodes),
        Counter(repr((r["type"], r["a"], r["b"], sorted(r["props"].items()))) for r in rels),
    )


@pytest.fixture(scope="module")
def weekly(small_county, tmp_path_factory):
    """The small county loaded, then loaded again a week later (5% of rows changed)."""
    later = tmp_path_factory.mktemp("week_later") / "county"
    write_week_later(small_county, later, seed=3, share=0.05)
    store = embedded_store(tmp_path_factory.mktemp("engine_weekly"), "weekly")
    store.drop_all()
    store.ensure_schema()
    try:
        yield store, small_county, later
    finally:
        store.drop_all()
        store.close()


def test_analysts_are_refused_before_any_copy_is_written(weekly, tmp_path):
    store, _, _ = weekly
    store.write("CREATE (:Person:Child {uid: 'P-only', full_name: 'Ann Lee'})")
    audit = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(NoCopyYet, match="not been written yet"):
        run_adhoc(store, "MATCH (c:Child) RETURN c.full_name AS n", principal=ANALYST, audit=audit)
    with pytest.raises(NoCopyYet):
        run_saved(store, "young_carers", principal=ANALYST, audit=audit)
    with pytest.raises(guard.AccessDenied, match="not been written yet"):
        guard.caseload(store, ANALYST, audit, no_worker_needed=[], status="open")
    store.drop_all()


def test_a_copy_written_as_a_difference_equals_one_written_afresh(weekly, monkeypatch):
    store, county, later = weekly
    # each copy written over the one before it, a week old: not the engine's duplicate
    # of the last (tests/test_copy_touched.py)
    monkeypatch.setattr(FalkorDBStore, "duplicate_pseudonymised", lambda self, replacing: False)
    run_load(store, county, as_of=AS_OF)
    # from rows (the route an engine without its own graph copy takes): the other
    # buffer has no hashes yet, so afresh
    first = write_copy(store)
    assert first.fresh and first.nodes > 5_000

    run_load(store, later, as_of=AS_OF + dt.timedelta(days=7))  # its copy: a difference
    by_the_load = _everything(store.pseudonymised())
    difference = write_copy(store)  # over the first week's copy again
    assert not difference.fresh
    assert 0 < difference.changed < (difference.nodes + difference.relationships) / 4
    by_difference = _everything(store.pseudonymised())
    afresh = write_copy(store, incremental=False)
    assert afresh.fresh
    assert _everything(store.pseudonymised()) == by_difference == by_the_load

    # nothing in it names anyone, of either week
    secrets = County(later).secrets(County(later).everyone())
    workers = County(later).worker_secrets()
    secrets.full_names |= workers.full_names
    secrets.identifiers |= workers.identifiers
    copy = store.pseudonymised()
    rows = copy.read(NODES, max_rows=10_000_000).rows
    rows += copy.read(RELATIONSHIPS, max_rows=10_000_000).rows
    assert not leaks(rows, secrets)
    assert run_adhoc(store, "MATCH (c:Child) RETURN count(c) AS n", principal=ANALYST).rows
    # a review merge mirrored on the published copy changes it outside the copy's
    # writing: the copy written over it next is written afresh, not as a difference
    assert mirror(store) is not None
    assert not write_copy(store).fresh  # over the other buffer, untouched
    assert write_copy(store).fresh  # over the one the merge changed


def test_a_failed_bulk_insertion_leaves_the_published_copy_and_no_thread(weekly, monkeypatch):
    """The copy's bulk insertion runs on a thread of its own while this one makes the
    next label's columns: an insertion that fails there is raised from ``write_copy``,
    no writing thread is left behind, and analysts still read the copy published
    before."""
    from graph.engines.falkordb_bulk import FalkorBulkWriter

    store, county, _ = weekly
    if not store.counts().nodes:
        run_load(store, county, as_of=AS_OF)
    write_copy(store, incremental=False)
    published = _everything(store.pseudonymised())

    def failing(self, *args, **kwargs):
        raise RuntimeError("the engine refused the relationships")

    monkeypatch.setattr(FalkorBulkWriter, "create_edges", failing)
    with pytest.raises(RuntimeError, match="refused the relationships"):
        write_copy(store, incremental=False)
    assert not [t for t in threading.enumerate() if t.name.startswith("jigsaw-copy-write")]
    assert _everything(store.pseudonymised()) == published


def test_a_copy_over_hashes_in_the_layout_before_is_written_afresh_and_the_same(weekly):
    """A buffer whose hashes are recorded as main recorded them before (one JSON
    document) is not trusted: the copy written over it is written afresh; the next,
    over the other buffer (this layout), as the difference; each the same graph."""
    from graph.access.pseudonyms import Pseudonyms

    store, county, _ = weekly
    if not store.counts().nodes:
        run_load(store, county, as_of=AS_OF)
    write_copy(store, incremental=False)
    write_copy(store, incremental=False)  # both buffers recorded
    expected = _everything(store.pseudonymised())
    state = CopyState.beside(Pseudonyms.open(store.pseudonym_dir, store.name).home, store.name)
    _layout_one(state._file("spare"))  # the one written over next
    assert write_copy(store).fresh
    assert _everything(store.pseudonymised()) == expected
    assert not write_copy(store).fresh
    assert _everything(store.pseudonymised()) == expected


@pytest.mark.parametrize("failing", ["stage_map", "publish_pseudonymised"])
def test_a_copy_failing_before_its_map_is_published_leaves_copy_and_map_as_they_were(
    weekly, monkeypatch, failing
):
    """The person map is made beside the one in use while the copy is written, and put
    in its place after the copy is published: a copy that fails between the two (the
    map's making, the copy's publishing) leaves analysts the copy and the map they read
    before, each naming the same people; the next copy publishes both."""
    from graph.access.pseudonyms import Pseudonyms

    store, county, _ = weekly
    if not store.counts().nodes:
        run_load(store, county, as_of=AS_OF)
    write_copy(store, incremental=False)
    published, mapped = _everything(store.pseudonymised()), person_map(store)
    store.write("CREATE (:Person:Child {uid: 'P-failing', full_name: 'Ann Lee'})")
    try:

        def fails(*args, **kwargs):
            raise RuntimeError(f"{failing} failed")

        if failing == "stage_map":
            monkeypatch.setattr(Pseudonyms, "stage_map", fails)
        else:
            monkeypatch.setattr(store, "publish_pseudonymised", fails)
        with pytest.raises(RuntimeError, match=f"{failing} failed"):
            write_copy(store)
        assert _everything(store.pseudonymised()) == published
        assert person_map(store) == mapped
        monkeypatch.undo()
        write_copy(store)
        assert "P-failing" in {uid for _, uid in person_map(store)} - {u for _, u in mapped}
    finally:
        monkeypatch.undo()
        store.write("MATCH (p:Person {uid: 'P-failing'}) DETACH DELETE p")
        write_copy(store, incremental=False)


def test_the_copy_counts_what_the_live_graph_counts(weekly, tmp_path):
    """After the week later's load above (its copy written as a difference): what an
    analyst's caseload map and saved queries count from the copy is what the live graph
    counts, from the tally the load kept in each and from the records alike. (A team
    manager's run of a saved query shows fewer rows: only children of their team's
    caseload, docs/access.md; that is scoping, not a different count.)"""
    store, _, _ = weekly
    audit = AuditLog(tmp_path / "audit.jsonl")
    copy = store.pseudonymised()
    for filters in ({}, {"status": "any"}, {"kind": "CIN"}, {"kind": "EH"}):
        for tallied in (True, False):
            if not tallied:
                for graph in (store, copy):
                    caseload_tally.forget(graph)
            live = views.caseload(store, no_worker_needed=NO_WORKER, **filters)
            seen = guard.caseload(store, ANALYST, audit, no_worker_needed=NO_WORKER, **filters)
            assert seen.waiting_total == live.waiting_total == len(live.waiting)
            assert _counts(seen) == _counts(live), (filters, tallied)
        for graph in (store, copy):
            caseload_tally.keep(graph)
    assert _counts(live)[0] > 0  # the county has cases waiting for a worker
    for query, params in (
        ("open_cases_no_worker", {}),
        ("open_cases_no_worker", {"kind": "CIN"}),
        ("known_to_three_services", {}),
    ):
        everyone = run_saved(store, query, params).rows
        analysts = run_saved(store, query, params, principal=ANALYST, audit=audit).rows
        assert len(analysts) == len(everyone) > 0, query


CELLS = "MATCH (t:CaseloadCell) RETURN properties(t) AS cell"


def _cells(graph) -> list[str]:
    return sorted(repr(sorted(r["cell"].items())) for r in graph.read(CELLS, max_rows=100_000).rows)


def _tally_reads(monkeypatch) -> list[str]:
    """The names of the graphs the caseload tally is counted from, as they are read."""
    read_from: list[str] = []
    reads = caseload_tally._read

    def recorded(graph, *args, **kwargs):
        read_from.append(graph.name)
        return reads(graph, *args, **kwargs)

    monkeypatch.setattr(caseload_tally, "_read", recorded)
    return read_from


def test_a_loads_copy_counts_its_tally_from_the_loads_parts_as_its_records_would(
    weekly, monkeypatch
):
    """A load's copy counts the caseload map's tally from the parts the load counted in
    the live graph, coarsened as the copy holds them (homes at their districts' centres,
    workers by pseudonym), without reading the copy's cases: the same cells as counted
    from the copy's own records afterwards."""
    store, county, _ = weekly
    copy = store.pseudonymised()
    read_from = _tally_reads(monkeypatch)
    run_load(store, county, as_of=AS_OF + dt.timedelta(days=14))  # a delta after the above
    assert set(read_from) == {store.name}  # the live graph's cases only, never the copy's
    by_the_load = _cells(copy)
    assert len(by_the_load) > 10
    caseload_tally.keep(copy)  # counted again from the copy's own records
    assert copy.name in read_from
    assert _cells(copy) == by_the_load


@pytest.fixture
def rules_changed(monkeypatch):
    """Changes the copy's rules ((label, property) -> rule) as the copy reads, coarsens
    and writes them (:mod:`graph.access.projection` worked out again from them, its
    statements named anew) and as its tally reads them; as declared again after."""
    from graph import cypher
    from graph.access import projection
    from graph.access.copy_rules import KEPT_NODES

    def change(changed: dict[tuple[str, str], str]) -> None:
        monkeypatch.setattr(cypher, "REGISTRY", {})
        for (label, prop), rule in changed.items():
            monkeypatch.setitem(KEPT_NODES, label, {**KEPT_NODES[label], prop: rule})
        importlib.reload(projection)

    yield change
    monkeypatch.undo()
    importlib.reload(projection)


def test_a_changed_copy_rule_changes_the_loads_tally_as_the_copys_records(
    weekly, monkeypatch, rules_changed
):
    """A copy rule of a caseload part's field changed once (a team's name dropped, a
    worker's name kept, a service's uid pseudonymised) changes the tally a copy counts
    from the live graph's parts as it changes the copy's records: the same cells as
    counted from the copy's own records, the copy's cases not read."""
    from graph.access import projection
    from graph.access.pseudonyms import Pseudonyms

    store, county, _ = weekly
    if not store.counts().nodes:  # run on its own
        run_load(store, county, as_of=AS_OF)
    changed = {("Team", "name"): "drop", ("Professional", "name"): "keep"}
    rules_changed({**changed, ("Service", "uid"): "pseudonym"})
    read_from = _tally_reads(monkeypatch)
    parts = caseload_tally.parts(store)
    try:
        projection.write_copy(store, incremental=False, tally=lambda: parts.values())
        copy = store.pseudonymised()
        assert set(read_from) == {store.name}  # the parts only, never the copy's cases
        by_the_load = _cells(copy)
        caseload_tally.keep(copy)  # counted again from the copy's own records
    finally:  # a copy of other rules: those after written afresh
        state = CopyState.beside(Pseudonyms.open(store.pseudonym_dir, store.name).home, store.name)
        for buffer in ("published", "spare"):
            state.distrust(buffer)
    assert len(by_the_load) > 10
    services = [c for c in by_the_load if "('whole', False)" in c]
    assert services and all("ps-" in c for c in services)  # services pseudonymised
    assert copy.name in read_from
    assert _cells(copy) == by_the_load


def test_a_copy_rule_the_tally_cannot_apply_has_the_copy_recount(weekly, monkeypatch):
    """Were a copy rule for a field of the caseload parts one the tally cannot apply
    to the live value (a team's name kept only where shared), a load's copy counts its
    tally from its own records, not the live graph's parts, which hold the live name."""
    from graph.access import projection
    from graph.access.copy_rules import KEPT_NODES

    store, county, _ = weekly
    assert projection.parts_follow_rules()  # the rules as declared
    monkeypatch.setitem(KEPT_NODES, "Team", {**KEPT_NODES["Team"], "name": "shared"})
    assert not projection.parts_follow_rules()
    read_from = _tally_reads(monkeypatch)
    run_load(store, county, as_of=AS_OF + dt.timedelta(days=21))
    copy = store.pseudonymised().name  # written as its staging graph, then published
    assert any(name.startswith(copy) for name in read_from)  # counted from its records


# copy rules under which the copy's records do not count the tally as the live graph's
# parts do (each one the guard passed on 4aa6d8f): owner, property (None: the label or
# relationship type itself not copied), rule
UNCOUNTABLE = [
    ("Team", "uid", "drop"),  # the copy writes no team (no uid to write it by)
    ("Service", None, None),  # no service in the copy: its cases' cells not there
    ("Address", None, None),
    ("IN_TEAM", None, None),  # no worker's team in the copy
    ("Case", "workers", "drop"),  # no case waiting in the copy (workers = 0 read)
    ("WORKS_ON", "to", "drop"),  # every allocation ended in the copy (w.to IS NULL read)
    ("LIVES_AT", "to", "shared"),
]


@pytest.mark.parametrize(("owner", "prop", "rule"), UNCOUNTABLE)
def test_a_copy_the_tally_does_not_count_as_its_records_has_the_copy_recount(
    monkeypatch, owner, prop, rule
):
    """Were the copy to hold its records so that they count the tally otherwise than
    the live graph's parts (a label's uid not kept or pseudonymised, a label or
    relationship type the tally reads not copied, a property its reads filter on not
    kept as they read it), the copy counts its tally from its own records."""
    from graph.access import projection
    from graph.access.copy_rules import KEPT_NODES, KEPT_RELS

    assert projection.parts_follow_rules()  # the rules as declared
    rules = KEPT_NODES if owner in KEPT_NODES else KEPT_RELS
    if prop is None:
        monkeypatch.delitem(rules, owner)
    else:
        monkeypatch.setitem(rules, owner, {**rules[owner], prop: rule})
    assert not projection.parts_follow_rules()


def test_the_tally_guard_names_what_the_tallys_reads_walk_and_filter_on():
    """The labels, relationship types and filtered properties the guard checks are
    those the tally's reads name (read from their text, not the guard's own list)."""
    import re

    from graph.access import projection

    reads = " ".join((caseload_tally.HOMES, caseload_tally.WAITING, caseload_tally.WORKERS))
    assert set(re.findall(r"\(\w*:(\w+)", reads)) == set(projection._TALLY_LABELS)
    assert set(re.findall(r"\[\w*:(\w+)", reads)) == set(projection._TALLY_RELS)
    filtered = re.findall(r"\b\w+\.(\w+) (?:IS NULL|= 0)", reads)
    assert sorted(filtered) == sorted(prop for _, prop in projection._TALLY_FILTERS)


def test_a_caseload_part_of_a_kind_the_copy_cannot_turn_fails_loudly():
    """A part's row of a kind no copy rule says how to turn fails, naming its kind,
    rather than reaching the copy's tally as nothing (or as the live values)."""
    from graph.access import projection

    rows = [["home", "open", "cin", "S1", 51.5, -1.2, 1, "OX1"], ["visit", "open", "cin", 1]]
    with pytest.raises(ValueError, match="visit"):
        projection._copied_parts([rows], {"centres": {"OX1": [51.0, -1.0]}}, keys=None)


def test_caseload_parts_fold_into_the_copys_rows_with_their_cases_summed(tmp_path):
    """Rows the copy holds alike are one row with their cases summed (two homes of a
    district at its centre), and rows it holds apart stay apart (a home with no point,
    a worker by their pseudonym, their name dropped): the tally counted from them is
    the one worked out here by hand."""
    from graph.access import projection
    from graph.access.pseudonyms import Pseudonyms

    keys = Pseudonyms.open(tmp_path, "g")
    parts = [
        [["home", "open", "cin", "S1", 51.51, -1.21, 1, "OX1"]],
        [
            ["home", "open", "cin", "S1", 51.49, -1.19, 1, "OX1"],
            ["waiting", "open", "cin", "S1", 1],
        ],
        [["home", "open", "cin", "S1", None, None, 1, "OX1"], ["waiting", "open", "cin", "S1", 1]],
        [["home", "closed", "cin", "S1", 51.49, -1.19, 1, "OX1"]],
        [["worker", "open", "cin", "S1", "W1", "Ann Worker", "T1", "Team A", 1]],
        [["worker", "open", "cin", "S1", "W1", "Ann Worker", "T1", "Team A", 2]],
        [["worker", "open", "cin", "S1", "W2", "Bob Worker", "T1", "Team A", 1]],
    ]
    copied = projection._copied_parts(parts, {"centres": {"OX1": [51.5, -1.2]}}, keys)
    cells = caseload_tally.count(copied)
    w1, w2 = keys.of("Professional", "W1"), keys.of("Professional", "W2")
    assert cells == {
        ("open", "cin", "S1"): {
            "homes": Counter({(51.5, -1.2): 2, (None, None): 1}),
            "workers": Counter({(w1, None, "T1", "Team A"): 3, (w2, None, "T1", "Team A"): 1}),
            "waiting": 2,
        },
        ("closed", "cin", "S1"): {
            "homes": Counter({(51.5, -1.2): 1}),
            "workers": Counter(),
            "waiting": 0,
        },
    }
    assert len(copied[0]) == 6  # of nine: two homes, two waiting and two workers folded


def test_a_kind_of_part_folded_by_one_field_folds_by_it(rules_changed):
    """Under rules dropping a case's status and kind (which the tally can apply), a
    waiting row keeps one field of the live value, its service's uid: rows folded by
    it, as worked out here by hand (a lone field taken as the value, not a tuple of one,
    would fail)."""
    rules_changed({("Case", "status"): "drop", ("Case", "kind"): "drop"})
    from graph.access import projection

    assert projection.parts_follow_rules()
    rows = [
        ["waiting", "open", "cin", "S1", 1],
        ["waiting", "closed", "cp", "S1", 1],
        ["waiting", "open", "cin", "S2", 1],
    ]
    copied = projection._copied_parts([rows], {"centres": {}}, keys=None)
    assert copied == [[["waiting", None, None, "S1", 2], ["waiting", None, None, "S2", 1]]]


# what a graph holds that the copy's declaration does not account for: an undeclared
# property, relationship type and label, a kept relationship type between other labels
STRAYS = """
    MATCH (p:Person) WITH p ORDER BY p.uid LIMIT 2
    WITH collect(p) AS ps
    WITH ps[0] AS a, ps[1] AS c
    SET a.stray_secret = 'Ann Stray'
    CREATE (c)-[:STRAY_TYPE {note: 'x'}]->(a), (c)-[:HAS_CASE]->(a),
           (:StrayOnly {uid: 'stray-1', name: 'Bob Stray'})
    WITH a MATCH (a)-[l:LIVES_AT]->() SET l.stray_note = 'Flat 2'
"""
UNSTRAY = """
    MATCH (n) WHERE n:StrayOnly OR n.stray_secret IS NOT NULL
    OPTIONAL MATCH (n)-[x:STRAY_TYPE|HAS_CASE]-(:Person)
    DELETE x REMOVE n.stray_secret
    WITH n WHERE n:StrayOnly DETACH DELETE n
"""


def test_the_copy_holds_nothing_its_declaration_does_not_account_for(weekly):
    """What the live graph holds beyond the copy's declaration (an undeclared property,
    relationship type and label, a kept type between other labels) is not copied."""
    store, county, _ = weekly
    if not store.counts().nodes:  # run on its own
        run_load(store, county, as_of=AS_OF)
    store.write(STRAYS)
    try:
        assert write_copy(store, incremental=False).nodes > 5_000
        words = repr(_everything(store.pseudonymised()))
    finally:
        store.write(UNSTRAY)
    assert "Stray" not in words and "Flat 2" not in words and "STRAY_TYPE" not in words


def _counts(found) -> tuple[int, int, Counter, int]:
    """Cases waiting, cases counted at homes, current workers' cases by kind and
    service, and how many workers hold them."""
    by_kind: Counter = Counter()
    for w in found.workers:
        by_kind[(w["kind"], w["service_uid"])] += w["cases"]
    workers = {w["professional_uid"] for w in found.workers}
    return found.waiting_total, sum(h["cases"] for h in found.homes), by_kind, len(workers)


def test_copy_hashes_are_trusted_only_for_the_counts_and_swap_they_were_recorded_with(tmp_path):
    """The hashes a difference is worked out from: a buffer's are trusted for the counts
    recorded with them, change places with the other's at a swap, and neither's is
    trusted while a swap has not finished (a crash part way: the next copy is afresh);
    a buffer something else wrote to is not trusted at all."""
    state = CopyState.beside(tmp_path, "county graph")
    counts, other = Counts({"Person": 2}, {"LIVES_AT": 1}), Counts({"Person": 3}, {})
    state.record("spare", counts, {"Person": {"a": 1, "b": 2}}, [], fresh=True)
    assert _plain(state.trusted("spare", counts)) == {"Person": {"a": 1, "b": 2}}
    assert state.trusted("spare", other) is None and state.trusted("published", counts) is None
    state.record(
        "spare",
        other,
        {"Person": {"c": 3}, "LIVES_AT": {"a\x1fb": 4}},
        [("Person", "a")],
        fresh=False,
    )
    assert _plain(state.trusted("spare", other)) == {
        "Person": {"b": 2, "c": 3},
        "LIVES_AT": {"a\x1fb": 4},
    }
    state.begin_swap()  # ... and the process dies before end_swap
    assert state.trusted("spare", other) is None and state.trusted("published", other) is None
    state.record("spare", counts, {"Person": {"d": 5}}, [], fresh=True)  # the next, afresh
    state.begin_swap()
    state.end_swap()
    assert _plain(state.trusted("published", counts)) == {"Person": {"d": 5}}
    assert state.trusted("spare", other) is None  # what was published before: none recorded
    state.record("spare", other, {"Person": {"e": 6}}, [], fresh=True)
    state.begin_swap()
    state.end_swap()
    assert _plain(state.trusted("published", other)) == {"Person": {"e": 6}}
    assert _plain(state.trusted("spare", counts)) == {"Person": {"d": 5}}
    state.distrust("spare")
    assert state.trusted("spare", counts) is None
    assert all(oct(p.stat().st_mode)[-3:] == "600" for p in tmp_path.glob("*.json"))


def _plain(known: dict | None) -> dict | None:
    """Recorded hashes as dicts (kind -> key -> hash), to compare with what was recorded."""
    return None if known is None else {kind: of.as_dict() for kind, of in known.items()}


def _layout_one(path) -> None:
    """Rewrite a buffer's file in the layout main wrote before (one JSON document of
    the counts and every hash), with the same counts and hashes."""
    head, _, rest = path.read_bytes().partition(b"\n")
    hashes, at = {}, 0
    while rest[at:]:
        line_end = rest.index(b"\n", at)
        frame = orjson.loads(rest[at:line_end])
        keys_end = line_end + 1 + frame["keys"]
        keys = orjson.loads(rest[line_end + 1 : keys_end])
        values = [
            int.from_bytes(rest[keys_end + 8 * i : keys_end + 8 * i + 8], "little", signed=True)
            for i in range(frame["n"])
        ]
        hashes[frame["kind"]] = dict(zip(keys, values, strict=True))
        at = keys_end + 8 * frame["n"]
    path.write_bytes(orjson.dumps({"counts": orjson.loads(head)["counts"], "hashes": hashes}))


def test_copy_hashes_are_read_back_a_kind_at_a_time_and_only_from_their_own_layout(tmp_path):
    """Any key and any 64-bit hash read back as recorded, a kind with none too; a file
    cut short, of another version, or in the layout one JSON document held before (the
    same counts and hashes) is not trusted, so the copy is written afresh."""
    state = CopyState.beside(tmp_path, "g")
    counts = Counts({"Person": 3, "Need": 1}, {"LIVES_AT": 1})
    hashes = {
        "Person": {"a": -(2**63), "b\nc": 2**63 - 1, 'd"\x1f\u00e9': 0},
        "Need": {"Speech and language delay": 7},
        "School": {},
        "LIVES_AT": {"a\x1fb\x1fc": -1},
    }
    state.record("spare", counts, hashes, [], fresh=True)
    assert _plain(state.trusted("spare", counts)) == hashes
    path = state._file("spare")
    whole = path.read_bytes()
    between = whole.rindex(b'{"kind"')  # cut exactly between two kinds
    for cut in (len(whole) - 1, len(whole) - 8, whole.rindex(b"\n") + 3, between, 10):
        path.write_bytes(whole[:cut])
        assert state.trusted("spare", counts) is None, cut
    path.write_bytes(whole.replace(b'"version":2', b'"version":3', 1))
    assert state.trusted("spare", counts) is None
    path.write_bytes(whole)
    _layout_one(path)
    assert orjson.loads(path.read_bytes())["hashes"] == hashes  # what main read back
    assert state.trusted("spare", counts) is None
    # nothing of it is taken into the next record either
    assert _plain(state.updated("spare", {"Person": {"e": 1}}, [], fresh=False)) == {
        "Person": {"e": 1}
    }


def test_a_kind_of_recorded_hashes_changes_as_a_dict_popped_then_updated_would():
    """The recorded hashes of a kind, changed (items removed, others set, one removed
    and set again), hold what a dict of them holds after the same pops and update, in
    the same order (the order the file is written in)."""
    from graph.access.copy_state import Kind

    items = {f"k{i}": i * 7 - 20 for i in range(12)}
    removed = {"k3", "k8", "k11", "not there"}
    changed = {"k1": 100, "k8": -5, "new1": 2**63 - 1, "k5": -(2**63), "new0": 0}
    expected = dict(items)
    for key in removed:
        expected.pop(key, None)
    expected.update(changed)
    got = Kind.of(items).changed(removed, changed)
    assert list(got.items()) == list(expected.items())
    assert Kind.of(items).picked({"k2", "k8", "nowhere"}) == {"k2": -6, "k8": 36}
    assert Kind.of({}).changed(set(), {"a": 1}).as_dict() == {"a": 1}


def test_a_delta_adds_new_kinds_of_recorded_hashes_in_the_order_of_its_changes(tmp_path):
    """Kinds the record did not hold are added in the order the changes name them, as
    dicts popped then updated would add them (the file is written in that order), even
    when a removal names one of them first."""
    state = CopyState.beside(tmp_path, "g")
    base = {"Person": {"a": 1, "b": 2}}
    changed = {"Need": {"n": 3}, "School": {"s": 4}, "Person": {"c": 5}}
    removed = [("School", "x"), ("Need", "y"), ("Person", "a")]
    expected = {kind: dict(of) for kind, of in base.items()}  # the rule, with dicts
    for kind, key in removed:
        expected.get(kind, {}).pop(key, None)
    for kind, of in changed.items():
        expected.setdefault(kind, {}).update(of)
    from graph.access.copy_state import Kind

    known = {kind: Kind.of(of) for kind, of in base.items()}
    got = state.updated("spare", changed, removed, fresh=False, base=known)
    assert list(got) == list(expected)
    assert _plain(got) == expected


def test_copy_hashes_changed_in_place_equal_those_read_again(tmp_path):
    """A difference changes the hashes :meth:`CopyState.trusted` gave it in place
    (``base``), not a second copy read from the file: the same hashes either way, and
    the ones given are those returned."""
    state = CopyState.beside(tmp_path, "g")
    counts = Counts({"Person": 3}, {"LIVES_AT": 1})
    state.record(
        "spare",
        counts,
        {"Person": {"a": 1, "b": 2, "c": 3}, "LIVES_AT": {"a\x1fb": 4}},
        [],
        fresh=True,
    )
    changed = {"Person": {"b": 20, "d": 4}, "ATTENDS": {"d\x1fs": 5}}
    removed = [("Person", "c"), ("LIVES_AT", "a\x1fb")]
    again = state.updated("spare", changed, removed, fresh=False)
    base = state.trusted("spare", counts)
    assert base is not None
    in_place = state.updated("spare", changed, removed, fresh=False, base=base)
    assert in_place is base
    assert (
        _plain(in_place)
        == _plain(again)
        == {
            "Person": {"a": 1, "b": 20, "d": 4},
            "LIVES_AT": {},
            "ATTENDS": {"d\x1fs": 5},
        }
    )
