"""A delta's node step whose rows hold a value no set can hold falls back to writing
every row (loaders.unchanged): its nodes are still recorded as written this load, so a
later step rewriting a relationship type from them writes those relationships again."""

from __future__ import annotations

import threading

from loaders.unchanged import Unchanged, _node_hashes, shared_labels
from loaders.write import PLAN, STEPS

CASES, CASE_NOTES, SAFETY_NOTES = STEPS["cases"], STEPS["notes"], STEPS["address_notes"]

SHARED = shared_labels(PLAN)


def _case(uid: str, **ends: object) -> dict:
    row: dict = {"uid": uid}
    for end in CASES.others:  # the nodes a case row names (its person, its service)
        row[end.field] = ends.get(end.field, f"{end.label}-1")
    return row


def test_a_node_step_that_falls_back_still_records_its_nodes_as_written() -> None:
    assert CASES.node_type is not None and CASES.others
    first = Unchanged(None, SHARED)
    first.rows(CASES, [_case("C-1"), _case("C-2")])
    now = Unchanged(None, SHARED)
    now.before, now.nodes_before = first.after, first.nodes_after
    now.multi_before = first.multi_after
    assert now.active
    field = CASES.others[0].field
    odd = _case("C-1", **{field: ["not", "hashable"]})  # a list where a uid goes
    assert now.rows(CASES, [odd, _case("C-2")]) == [odd, _case("C-2")]  # every row
    written = set(_node_hashes("Case", ["C-1", "C-2"]).tolist())
    assert written <= now.nodes_written


def test_a_full_load_records_no_nodes_written() -> None:
    """Only a delta reads which nodes it wrote: a load without a record keeps none."""
    first = Unchanged(None, SHARED)
    first.reason = "no record of an earlier load"
    first.rows(CASES, [_case("C-1")])
    assert not first.nodes_written


def test_a_full_loads_record_is_the_one_hashing_each_step_as_written_would_keep() -> None:
    """A load without a record trusted hashes its rows after writing (Unchanged.record,
    on a thread of the load's): the record it keeps is the one hashed step by step."""
    steps = [
        (CASES, [_case("C-1"), _case("C-2"), _case("C-1")]),
        (CASE_NOTES, [_note("N-1", "P-1"), _note("N-2", "P-2")]),
        (SAFETY_NOTES, [_note("N-2", "A-1"), _note("N-3", "A-1")]),  # N-2 from both
    ]
    inline = Unchanged(None, SHARED)  # no earlier record, but hashed as it goes
    later = Unchanged(None, SHARED)
    later.reason = "no record of an earlier load"
    for step, rows in steps:
        assert inline.rows(step, rows) == rows
        assert later.rows(step, rows) == rows
    made = [_case("C-3")]  # rows written another way, made again when recorded later
    inline.written(CASES, made, list)
    later.written(CASES, [], lambda: made)
    assert len(later.later) == len(steps) + 1 and not later.after_parts
    done = threading.Thread(target=later.record)
    done.start()
    done.join()
    assert not later.later
    assert inline.after.tolist() == later.after.tolist()
    assert inline.nodes_after.tolist() == later.nodes_after.tolist()
    assert inline.multi_after == later.multi_after and later.multi_after


def _note(uid: str, about: str) -> dict:
    step = CASE_NOTES if about.startswith("P") else SAFETY_NOTES
    row: dict = {"uid": uid, "text": f"about {about}"}
    for end in step.others:
        row[end.field] = about
    return row
