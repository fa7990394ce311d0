"""The record of rows written (loaders.unchanged) hashes each element as the list of
its rows, whether it has one row or several, so a record kept by earlier code of the
same format version is read as it was. The expected hashes are worked out here from
the record's definition (blake2b of the rows' JSON, keys sorted, begun with the step),
not through the module's own hashing."""

from __future__ import annotations

import hashlib

import numpy as np
import orjson

from loaders.unchanged import Touched, Unchanged, shared_labels
from loaders.write import PEOPLE, PLAN, STEPS

ATTENDANCE, CASES, EXCLUSIONS = STEPS["attendance"], STEPS["cases"], STEPS["exclusions"]
SCHOOLS, SERVICES = STEPS["schools"], STEPS["services"]

SHARED = shared_labels(PLAN)


def _digest(person: bytes, text: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(text, digest_size=8, person=person).digest(), "big")


def _element(step, rows: list[dict]) -> int:
    """An element's hash by definition: the step's own hash begins it, then the JSON of
    the element's rows in order (``repr`` where JSON holds no value)."""
    what = orjson.dumps([step.name, step.statement, step.keyless])
    written_by = _digest(b"", what).to_bytes(8, "big")
    try:
        text = orjson.dumps(rows, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        text = repr(rows).encode()
    return _digest(written_by, text)


def _case(uid: str, **values: object) -> dict:
    row: dict = {"uid": uid, "kind": "CIN", **values}
    for end in CASES.others:
        row.setdefault(end.field, f"{end.label}-1")
    return row


def _mark(person: str, school: str, term: str) -> dict:
    rel = ATTENDANCE.rels[0]
    return {rel.start.field: person, rel.end.field: school, "term": term, "possible": 100}


def test_an_elements_hash_is_of_its_rows_as_a_list_with_one_row_or_several() -> None:
    cases = [_case("C-1"), _case("C-2", start="2026-01-02")]
    huge = [_case("C-3", number=2**70)]  # past 64 bits: hashed through repr
    marks = [_mark("P-1", "S-1", "autumn"), _mark("P-2", "S-1", "autumn")]
    marks.insert(1, _mark("P-1", "S-1", "spring"))  # P-1 at S-1: one element, two rows
    memory = Unchanged(None, SHARED)
    memory.rows(CASES, cases)
    memory.rows(CASES, huge)
    memory.rows(ATTENDANCE, marks)
    expected = [_element(CASES, [row]) for row in cases + huge] + [
        _element(ATTENDANCE, [marks[0], marks[1]]),
        _element(ATTENDANCE, [marks[2]]),
    ]
    assert sorted(memory.after.tolist()) == sorted(expected)


def test_a_delta_leaves_an_unchanged_row_of_its_own_and_writes_a_changed_one() -> None:
    first = Unchanged(None, SHARED)
    first.rows(PEOPLE, [{"uid": "Person-1"}])  # the cases' ends, written by the last load
    first.rows(SERVICES, [{"uid": "Service-1"}])
    first.rows(CASES, [_case("C-1"), _case("C-2")])
    now = Unchanged(None, SHARED)
    now.before, now.nodes_before = first.after, first.nodes_after
    now.multi_before, now.touched = first.multi_after, Touched()  # as take() trusts one
    changed = _case("C-2", end="2026-11-05")
    assert now.rows(CASES, [_case("C-1"), changed, _case("C-3")]) == [changed, _case("C-3")]
    assert now.skipped == {CASES.name: 1}
    assert now.touched is not None and now.touched.own("Case") == {"C-2", "C-3"}


def test_the_record_is_its_hashes_sorted_each_once() -> None:
    """The record's hashes as a sorted set gives them (the truth), some written twice.
    How long it takes is measured in benchmarks/README.md, not here."""
    values = np.random.default_rng(7).integers(0, 2**63, 1_000_000, dtype=np.uint64) * 2
    memory = Unchanged(None, SHARED)
    memory.after_parts = [values, values[:1000], values[5:9]]  # hashes written twice
    assert memory.after.tolist() == sorted(set(values.tolist()))


def test_an_unchanged_elements_row_naming_a_node_new_to_the_graph_writes_its_rows() -> None:
    """A node written from several rows (a case from two records) whose rows are the last
    load's, but whose second row names a person the last load did not write: its rows
    are written (its relationships were never made), the other unchanged cases are not.
    Rows and elements are laid out so that a row's place is not its element's."""
    person = next(e.field for e in CASES.others if e.label == "Person")
    rows = [
        _case("C-0"),
        _case("C-1"),
        _case("C-1", **{person: "Person-9"}),  # the person no earlier load wrote
        _case("C-2"),
    ]
    first = Unchanged(None, SHARED)
    first.rows(PEOPLE, [{"uid": "Person-1"}])
    first.rows(SERVICES, [{"uid": "Service-1"}])
    first.rows(CASES, rows)
    now = Unchanged(None, SHARED)
    now.before, now.nodes_before = first.after, first.nodes_after
    now.multi_before, now.touched = first.multi_after, Touched()
    assert now.rows(CASES, rows) == rows[1:3]
    assert now.skipped == {CASES.name: 2}
    assert now.touched is not None and now.touched.own("Case") == {"C-1"}


def test_each_step_naming_a_person_new_to_the_graph_writes_its_rows_for_them() -> None:
    """Two steps' unchanged rows name the same person the last load did not write (the
    second step finds them among the values the first looked up): each step writes its
    row for that person and leaves its row for the person the graph holds."""
    rows = {
        step: [_link(step, "Person-1", "School-1"), _link(step, "Person-2", "School-1")]
        for step in (ATTENDANCE, EXCLUSIONS)
    }
    first = Unchanged(None, SHARED)
    first.rows(PEOPLE, [{"uid": "Person-1"}])  # Person-2 was never written
    first.rows(SCHOOLS, [{"uid": "School-1"}])
    for step, written in rows.items():
        first.rows(step, written)
    now = Unchanged(None, SHARED)
    now.before, now.nodes_before = first.after, first.nodes_after
    now.multi_before, now.touched = first.multi_after, Touched()
    for step, written in rows.items():
        assert now.rows(step, written) == written[1:]
    assert now.skipped == {ATTENDANCE.name: 1, EXCLUSIONS.name: 1}


def _link(step, person: str, school: str) -> dict:
    rel = step.rels[0]
    return {rel.start.field: person, rel.end.field: school, "date": "2026-11-02"}
