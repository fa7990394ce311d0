"""The risk list's one walk of each pupil (graph.risk_facts.PUPILS) against a graph
written by hand: every kind of edge read once, led by its kind, and nothing read that
the walk's guards leave out (a non-school ATTENDS, a HAS_CASE to a non-case)."""

from __future__ import annotations

import datetime as dt

from graph import risk_facts
from loaders.risk_spans import EDGES, Pupil

D = dt.date.fromisoformat


def _write(store) -> None:
    store.write(
        """
        CREATE (c:Person:Child {uid: 'P-c', dob: date('2011-03-04'), dob_key: '2011-03-04',
                               fsm: true}),
               (o:Person:Child {uid: 'P-o', dob: date('2011-03-05'), dob_key: '2011-03-05'}),
               (a:Person:Adult {uid: 'P-a', dob: date('2011-03-04'), dob_key: '2011-03-04'}),
               (baby:Person:Child {uid: 'P-b', dob: date('2026-01-01'), dob_key: '2026-01-01'}),
               (s:School {uid: 'S-1', name: 'Hill School', phase: 'Secondary'}),
               (n:Service {uid: 'X-1', name: 'Not a school'}),
               (k:Case {uid: 'K-1', kind: 'CIN', status: 'open', start: date('2025-01-02')}),
               (h:Address {uid: 'A-1', imd_decile: 2, postcode_district: 'AB1'}),
               (c)-[:ATTENDS {from: date('2022-09-01')}]->(s),
               (c)-[:ATTENDS {from: date('2022-09-01')}]->(n),
               (c)-[:ATTENDANCE {term_start: date('2025-09-01'), possible: 100, absent: 12}]->(s),
               (c)-[:EXCLUDED {date: date('2025-10-10'), kind: 'suspension'}]->(s),
               (c)-[:HAS_CASE]->(k),
               (c)-[:HAS_CASE]->(h),
               (c)-[:LIVES_AT {from: date('2020-01-01')}]->(h),
               (c)-[:PARENT_OF]->(baby),
               (a)-[:LIVES_AT {from: date('2020-01-01')}]->(h)
        """
    )


def test_each_pupil_read_once_with_every_kind_of_edge(store):
    _write(store)
    rows = risk_facts.pupils(store, D("2011-03-04"), D("2011-03-06"))
    assert len(rows) == 2  # each pupil once
    by_uid = {r["uid"]: r for r in rows}
    assert set(by_uid) == {"P-c", "P-o"}  # children born in the range only: not the adult
    c = by_uid["P-c"]
    assert (c["dob"], c["fsm"], c["eal"], c["young_carer"]) == (D("2011-03-04"), True, False, False)
    assert len(c["edges"]) == len(EDGES)  # the guarded edges (a service, a case to an
    # address) collect as nothing
    edges = sorted(c["edges"], key=lambda e: e[0])
    assert edges == [
        [0, "S-1", "Hill School", "Secondary", D("2022-09-01"), None],
        [1, "S-1", D("2025-09-01"), 100, 12],
        [2, D("2025-10-10"), "suspension"],
        [3, "CIN", "open", D("2025-01-02"), None],
        [4, D("2020-01-01"), None, 2, "AB1"],
        [5],
    ]
    assert [EDGES[e[0]] for e in edges] == list(EDGES)
    assert by_uid["P-o"]["edges"] == []
    # and the pupil the list works out from them
    pupil = Pupil(c)
    assert pupil.constant == (False, True, False, True)  # young carer, FSM, EAL, a parent
    assert pupil.rolls == [("S-1", "Hill School", "Secondary", D("2022-09-01"), None)]
    assert pupil.terms == [("S-1", D("2025-09-01"), 100, 12)]
    assert pupil.area == "AB1"


def test_who_could_first_be_on_the_list(store):
    """risk_facts.first_dates: the earliest-born child and the first day a child is on
    a school roll; none on an empty graph; an adult's birth or roll, a child's place at
    a non-school and a child with no roll count for nothing."""
    assert risk_facts.first_dates(store) == (None, None)
    store.write(
        """
        CREATE (a:Person:Adult {uid: 'P-a', dob: date('1980-01-01')}),
               (c:Person:Child {uid: 'P-c', dob: date('2012-05-06')}),
               (d:Person:Child {uid: 'P-d', dob: date('2010-02-03')}),
               (s:School {uid: 'S-1'}), (n:Service {uid: 'X-1'}),
               (a)-[:ATTENDS {from: date('1985-09-01')}]->(s),
               (d)-[:ATTENDS {from: date('2013-09-01')}]->(n),
               (c)-[:ATTENDS {from: date('2016-09-01')}]->(s)
        """
    )
    assert risk_facts.first_dates(store) == (D("2010-02-03"), D("2016-09-01"))
    store.write("MATCH (:Child)-[r:ATTENDS]->(:School) DELETE r")
    assert risk_facts.first_dates(store) == (D("2010-02-03"), None)
