"""Families the graph cannot hold: bad relationship rows are quarantined with their
reason, contradictions already in the data are warnings on the record and in the
network, and a loaded county breaks no rule (against its truth, separately)."""

from __future__ import annotations

import textwrap

from graph import family_rules, views
from graph.access import guard
from graph.access.audit import AuditLog
from graph.access.policy import BreakGlass, Principal, load_policy
from loaders.load import run_load
from tests import truth as t
from tests.conftest import AS_OF, embedded_store


def test_relationship_rows_naming_no_one_or_a_too_young_parent_are_quarantined(tmp_path):
    data, maps = tmp_path / "data", tmp_path / "maps"
    data.mkdir()
    maps.mkdir()
    (data / "persons.csv").write_text(
        "PERSON_ID,FORENAME,SURNAME,DOB\n"
        "1,Amy,Smith,2012-03-02\n"
        "2,Jane,Smith,1985-06-01\n"
        "3,Kim,Smith,2015-01-01\n"
    )
    (data / "relationships.csv").write_text(
        "PERSON_ID,RELATED_PERSON_ID,RELATIONSHIP\n"
        "1,2,Mother\n"  # fine
        "1,3,Mother\n"  # a mother born after her child
        "9,2,Mother\n"  # a child no extract holds
    )
    (maps / "persons.yaml").write_text(
        textwrap.dedent(
            """
            source: persons
            files: persons.csv
            columns: {PERSON_ID: person.la_child_id, FORENAME: person.given_name,
                      SURNAME: person.family_name, DOB: person.dob}
            """
        )
    )
    (maps / "relationships.yaml").write_text(
        textwrap.dedent(
            """
            source: relationships
            files: relationships.csv
            entity: relationship
            columns: {PERSON_ID: person.la_child_id, RELATED_PERSON_ID: related.la_child_id,
                      RELATIONSHIP: related.kind}
            codes: {related.kind: {Mother: birth}}
            """
        )
    )
    store = embedded_store(tmp_path / "engine")
    try:
        store.ensure_schema()
        result = run_load(store, data, mappings=maps, as_of=AS_OF)
        report = result.report
        assert report.closes
        assert report.sources["relationships"].quarantined == 2
        reasons = {q.row: q.reason for q in result.quarantine if q.source == "relationships"}
        assert "under 12 years before the child" in reasons[3]
        assert "is in no person extract" in reasons[4]
        assert sum(report.relationships_refused.values()) == 1
        assert "relationship rows quarantined" in report.to_markdown()
        links = store.read("MATCH (p)-[:PARENT_OF]->(c) RETURN p.la_child_id AS p").rows
        assert [r["p"] for r in links] == ["2"]
        assert family_rules.count_breaks(store) == dict.fromkeys(
            ("parent_age", "parent_and_sibling", "birth_parents", "own_parent"), 0
        )
    finally:
        store.close()


BAD_FAMILY = """
CREATE (m:Person:Adult {uid: 'P-m', full_name: 'Jane Smith', dob: date('2006-01-01')}),
       (a:Person:Child {uid: 'P-a', full_name: 'Amy Smith', dob: date('2012-03-02'),
                        conflicts: 'date of birth 2012-03-02 (2 records) or 2012-02-03'}),
       (b:Person:Child {uid: 'P-b', full_name: 'Ben Smith', dob: date('2014-05-06')}),
       (d:Person:Adult {uid: 'P-d', full_name: 'John Smith'}),
       (x:Person:Adult {uid: 'P-x', full_name: 'Sara Jones'}),
       (m)-[:PARENT_OF {kind: 'birth'}]->(a), (d)-[:PARENT_OF {kind: 'birth'}]->(a),
       (x)-[:PARENT_OF {kind: 'birth'}]->(a), (m)-[:PARENT_OF {kind: 'birth'}]->(b),
       (b)-[:PARENT_OF {kind: 'parent'}]->(a)
"""


def test_contradictions_in_the_data_are_warnings_on_the_record_and_in_the_network(store, tmp_path):
    store.write(BAD_FAMILY)
    texts = [w["text"] for w in views.child_record(store, "P-a")["warnings"]]
    assert any(
        "Jane Smith (born 2006-01-01) is recorded as parent of Amy Smith" in x for x in texts
    ), texts
    assert any("Ben Smith is recorded as both parent and sibling of Amy Smith" in x for x in texts)
    assert any("Amy Smith has 3 recorded birth parents" in x for x in texts)
    assert any("sources disagree on date of birth 2012-03-02" in x for x in texts)
    network = views.family_network(store, "P-a", depth=2, as_of=AS_OF)
    assert {w["text"] for w in network["warnings"]} >= set(texts)
    manager, audit = Principal("tm", "team_manager"), AuditLog(tmp_path / "audit.jsonl")
    limited = guard.child_record(store, manager, audit, "P-a")  # not on their caseload
    assert limited is not None and not limited["access"]["full"] and limited["warnings"] == []
    glass = BreakGlass(load_policy().break_glass_purposes[0], "checking the family record")
    full = guard.child_record(store, manager, audit, "P-a", break_glass=glass)
    assert full is not None and [w["text"] for w in full["warnings"]] == texts
    assert family_rules.count_breaks(store)["parent_and_sibling"] >= 1


def test_a_loaded_county_has_no_impossible_parent_links(loaded_county):
    """Zero parent links breaking a rule in the graph, and the truth agrees that every
    parent link there is one the county really has (checked apart from Jigsaw)."""
    assert family_rules.count_breaks(loaded_county.store) == dict.fromkeys(
        ("parent_age", "parent_and_sibling", "birth_parents", "own_parent"), 0
    )
    people = t.table(loaded_county.root, "people").set_index("person_id")
    parents = t.table(loaded_county.root, "parents")
    gaps = (
        parents.assign(p=parents.parent_id.map(people.dob), c=parents.child_id.map(people.dob))
        .dropna()
        .pipe(lambda f: (f.c - f.p).dt.days / 365.25)
    )
    assert gaps.min() >= 12  # the county itself never has such a parent
