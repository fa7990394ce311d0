"""A node two steps write (an address from the gazetteer or from a record): left
unwritten on a delta only while one step alone names it, and written by both steps, in
a full load's order, once both do (loaders.unchanged). No engine: what each load would
send to the writer is compared with what a full load sends."""

from __future__ import annotations

from loaders.unchanged import Unchanged, shared_labels
from loaders.write import ADDRESSES, OTHER_ADDRESSES, PLAN

SHARED = shared_labels(PLAN)


def _address(uid: str, town: str) -> dict:
    return {"uid": uid, "line1": "1 High St", "town": town, "postcode": "AB1 2CD"}


def _load(last: Unchanged | None, gazetteer: list[dict], others: list[dict]) -> tuple:
    """One load's two address steps: (the last load's record as this one leaves it,
    [(step name, uids written)] in the order the writer would write them)."""
    now = Unchanged(None, SHARED)
    if last is not None:
        now.before, now.nodes_before = last.after, last.nodes_after
        now.multi_before = last.multi_after
    sent = []
    for step, rows in ((ADDRESSES, gazetteer), (OTHER_ADDRESSES, others)):
        out = now.rows(step, rows)
        sent += [(earlier.name, [r["uid"] for r in owed]) for earlier, owed in now.take_owed()]
        if out:
            sent.append((step.name, [r["uid"] for r in out]))
    return now, sent


def test_a_node_one_step_names_is_left_and_one_both_name_is_written_by_both() -> None:
    assert "Address" in SHARED and ADDRESSES.name == OTHER_ADDRESSES.name == "addresses"
    a, b, c = _address("1", "Leeds"), _address("2", "York"), _address("3", "Hull")
    first, sent = _load(None, [a, b], [c])
    assert sent == [("addresses", ["1", "2"]), ("addresses", ["3"])]  # all new
    # the same again: nothing written
    same, sent = _load(first, [a, b], [c])
    assert sent == []
    # a record names the gazetteer's "1" too: the gazetteer's row first, then its own
    moved = _address("1", "Leeds, West Yorkshire")
    both, sent = _load(same, [a, b], [c, moved])
    assert sent == [("addresses", ["1"]), ("addresses", ["1"])]
    assert both.skipped == {"addresses": 2}  # "2" and "3"
    # named by both last load: written again even when one step alone names it now,
    # as the full load's rows would leave it over the graph both left
    alone, sent = _load(both, [a, b], [c])
    assert sent == [("addresses", ["1"])]
    # a record without which nodes two steps wrote (older code): every address written
    old = Unchanged(None, SHARED, before=alone.after, nodes_before=alone.nodes_after)
    assert old.multi_before is None
    assert old.rows(ADDRESSES, [a, b]) == [a, b]
