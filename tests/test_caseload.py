"""The caseload map's reads (graph.views.caseload) against every case read one by one:
the counts per worker and per home, one team's cases and the cases waiting for a worker
are what the whole list gives, for every team and filter; through the guard, the
children named are audited and withheld from roles that do not see people."""

from __future__ import annotations

from collections import Counter

import pytest

from graph import caseload_tally, views
from graph.access import guard
from graph.access.audit import AuditLog
from graph.access.policy import Principal
from ui.present.caseload import NO_WORKER_NEEDED

NO_WORKER = sorted(NO_WORKER_NEEDED)

# Every case matching the filters with each current worker (a row per worker, one with
# none when it has none) and the child's current home: the page's single read before.
EVERY_CASE = """
MATCH (child:Person)-[:HAS_CASE]->(c:Case)-[:WITH_SERVICE]->(s:Service)
WHERE ($status = 'any' OR c.status = $status) AND ($kind = 'any' OR c.kind = $kind)
  AND ($service = 'any' OR s.uid = $service)
OPTIONAL MATCH (c)<-[w:WORKS_ON]-(worker:Professional)
WITH child, c, s, collect(CASE WHEN w.to IS NULL THEN worker END) AS workers
UNWIND CASE WHEN size(workers) = 0 THEN [null] ELSE workers END AS pro
OPTIONAL MATCH (pro)-[:IN_TEAM]->(t:Team)
OPTIONAL MATCH (child)-[l:LIVES_AT]->(a:Address)
WITH child, c, s, pro, t, collect(CASE WHEN l.to IS NULL THEN a END)[0] AS home
RETURN child.uid AS child_uid, child.full_name AS child_name, c.uid AS case_uid,
       c.kind AS kind, c.status AS status, c.start AS start, s.uid AS service_uid,
       s.name AS service, pro.uid AS professional_uid, pro.name AS professional,
       t.uid AS team_uid, t.name AS team, home.lat AS lat, home.lon AS lon,
       home.postcode_district AS district
"""
FILTERS = [
    {"status": "open", "kind": "any", "service": "any"},
    {"status": "any", "kind": "CP", "service": "any"},
    {"status": "closed", "kind": "any", "service": "any"},
]


def _every_case(store, filters: dict) -> list[dict]:
    return store.read(EVERY_CASE, filters, max_rows=1_000_000).rows


def _waiting(rows: list[dict], services: set | None) -> list[dict]:
    """Cases with no current worker, of a kind that needs one, longest waiting first."""
    cases = {
        r["case_uid"]: r
        for r in rows
        if r["professional"] is None
        and r["kind"] not in NO_WORKER_NEEDED
        and (services is None or r["service_uid"] in services)
    }
    return sorted(
        cases.values(), key=lambda r: (_last(r["start"]), _last(r["child_name"]), r["case_uid"])
    )


def _last(value: object) -> tuple:
    """Cypher's ascending order: nulls after every value."""
    return (value is None, value if value is not None else 0)


def _worker_counts(rows: list[dict]) -> Counter:
    return Counter(
        (r["professional_uid"], r["team_uid"], r["kind"], r["service_uid"])
        for r in rows
        if r["professional_uid"]
    )


def _counted(workers: list[dict]) -> Counter:
    out: Counter = Counter()
    for w in workers:
        out[(w["professional_uid"], w["team_uid"], w["kind"], w["service_uid"])] += w["cases"]
    return out


@pytest.fixture(params=["kept tally", "from the records"])
def counted(request, loaded_county):
    """The county as its load left it (the caseload tally kept), or with the tally
    forgotten (a review merge's state: the map counts from the records); kept again
    after."""
    store = loaded_county.store
    assert caseload_tally.chosen(store, FILTERS[0]) is not None, "the load keeps a tally"
    if request.param == "from the records":
        caseload_tally.forget(store)
        assert caseload_tally.chosen(store, FILTERS[0]) is None
    yield store
    if request.param == "from the records":
        caseload_tally.keep(store)


@pytest.mark.parametrize("filters", FILTERS)
def test_every_team_counts_per_worker_and_home_and_lists_who_waits(counted, filters):
    store = counted
    rows = _every_case(store, filters)
    found = views.caseload(store, no_worker_needed=NO_WORKER, **filters, most_waiting=3)
    assert _counted(found.workers) == _worker_counts(rows)
    homes = Counter()
    for h in found.homes:
        homes[(h["lat"], h["lon"])] += h["cases"]
    one_a_case = {r["case_uid"]: r for r in rows}.values()
    assert homes == Counter((r["lat"], r["lon"]) for r in one_a_case)
    assert found.cases == []  # no case one by one for the whole county
    waiting = _waiting(rows, None)
    assert found.waiting_total == len(waiting)
    assert [w["case_uid"] for w in found.waiting] == [r["case_uid"] for r in waiting[:3]]
    if filters["status"] == "open":
        assert 3 < found.waiting_total < len(one_a_case), "the county has cases waiting"
    everything = views.caseload(store, no_worker_needed=NO_WORKER, **filters, most_waiting=10**6)
    assert [w["case_uid"] for w in everything.waiting] == [r["case_uid"] for r in waiting]
    columns = ("child_uid", "child_name", "kind", "status", "start", "service", "lat", "lon")
    assert [{k: w[k] for k in columns} for w in everything.waiting] == [
        {k: r[k] for k in columns} for r in waiting
    ]
    # by kind or service alone: the tally's own cells, not the whole county's
    for kind in sorted({r["kind"] for r in rows if r["kind"]})[:3]:
        some = views.caseload(store, no_worker_needed=NO_WORKER, **filters | {"kind": kind})
        mine = [r for r in rows if r["kind"] == kind]
        assert _counted(some.workers) == _worker_counts(mine)
        assert sum(h["cases"] for h in some.homes) == len({r["case_uid"] for r in mine})
        assert some.waiting_total == len(_waiting(mine, None))


def test_a_team_its_cases_one_by_one_and_who_waits_in_its_services(loaded_county):
    store = loaded_county.store
    filters = FILTERS[0]
    rows = _every_case(store, filters)
    teams = Counter(r["team_uid"] for r in rows if r["team_uid"])
    assert len(teams) > 2
    for team in teams:
        found = views.caseload(store, no_worker_needed=NO_WORKER, team=team, **filters)
        mine = [r for r in rows if r["team_uid"] == team]
        assert _counted(found.workers) == _worker_counts(mine)
        assert sorted(c["case_uid"] for c in found.cases) == sorted(r["case_uid"] for r in mine)
        columns = ("child_uid", "kind", "service", "professional", "team", "lat", "lon")
        by_case = {(r["case_uid"], r["professional"]): r for r in mine}
        for case in found.cases:
            expected = by_case[(case["case_uid"], case["professional"])]
            assert all(case[k] == expected[k] for k in columns)
        waiting = _waiting(rows, {r["service_uid"] for r in mine})
        assert found.waiting_total == len(waiting)
        assert [w["case_uid"] for w in found.waiting] == [r["case_uid"] for r in waiting]
    # a team's cases drawn one by one stop at the limit asked
    busiest = teams.most_common(1)[0][0]
    capped = views.caseload(store, no_worker_needed=NO_WORKER, team=busiest, most_cases=3)
    assert len(capped.cases) == 3


def test_the_guard_audits_the_children_named_and_withholds_them_from_analysts(
    loaded_county, tmp_path
):
    store = loaded_county.store
    audit = AuditLog(tmp_path / "audit.jsonl")
    manager = Principal("tm", "team_manager")
    team = next(r["team_uid"] for r in _every_case(store, FILTERS[0]) if r["team_uid"])
    found = guard.caseload(store, manager, audit, no_worker_needed=NO_WORKER, team=team)
    named = {r["child_uid"] for r in found.cases + found.waiting}
    assert named and None not in named
    entry = list(audit.entries())[-1]
    assert entry["action"] == "view_caseload" and set(entry["children"]) == named
    # the whole county: counts, and only the children waiting named (and audited)
    found = guard.caseload(store, manager, audit, no_worker_needed=NO_WORKER, most_waiting=3)
    assert set(list(audit.entries())[-1]["children"]) == {r["child_uid"] for r in found.waiting}
    assert len(found.waiting) == 3 and not found.cases


def test_the_tally_by_cell_equals_the_cases_parts_counted(loaded_county):
    """The analysts' copy keeps its tally from reads grouped by cell, a load from each
    case's part: the two count the same cells."""
    store = loaded_county.store
    by_case = caseload_tally.count(caseload_tally.parts(store).values())
    by_cell = caseload_tally.count(
        [
            [
                row
                for _, row in caseload_tally._read(
                    store,
                    (
                        caseload_tally.HOMES_BY_CELL,
                        caseload_tally.WAITING_BY_CELL,
                        caseload_tally.WORKERS_BY_CELL,
                    ),
                )
            ]
        ]
    )
    assert by_cell == by_case
    assert sum(c["waiting"] for c in by_case.values()) > 0
    assert sum(sum(c["workers"].values()) for c in by_case.values()) > 0
