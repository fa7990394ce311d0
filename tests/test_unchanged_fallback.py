"""A delta's node step whose rows hold a value no set can hold falls back to writing
every row (loaders.unchanged): its nodes are still recorded as written this load, so a
later step rewriting a relationship type from them writes those relationships again."""

from __future__ import annotations

from loaders.unchanged import Unchanged, _node_hashes, shared_labels
from loaders.write import CASES, PLAN

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
