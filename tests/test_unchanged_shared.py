"""A node two steps write (an address from the gazetteer or from a record): left
unwritten on a delta only while one step alone names it, and written by both steps, in
a full load's order, once both do (loaders.unchanged). No engine: what each load would
send to the writer is compared with what a full load sends."""

from __future__ import annotations

from loaders.unchanged import Unchanged, shared_labels
from loaders.write import PLAN, STEPS

ADDRESSES, OTHER_ADDRESSES = STEPS["addresses"], STEPS["other_addresses"]

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


def _people(n: int) -> list[dict]:
    return [{"uid": f"P-{i}", "given_name": f"Name {i}", "dob": "2015-01-01"} for i in range(n)]


def _lives_at(people: list[dict]) -> list[dict]:
    return [
        {"person": p["uid"], "address": f"A-{i % 7}", "from": None, "to": None, "source": "s"}
        for i, p in enumerate(people)
    ]


def test_a_record_read_back_leaves_unwritten_exactly_the_rows_that_did_not_change(
    tmp_path,
) -> None:
    """A load's record saved and read back (as the next load reads it): that load
    writes only the node whose rows changed, the relationship whose rows changed and
    the relationships of a node new to the graph, and says what it touched; known from
    the rows changed here, not from the hashes."""
    from loaders.unchanged import MEMORY_FILE
    from loaders.write import PEOPLE, STEPS

    RESIDENCES = STEPS["lives_at"]

    class _Store:  # the counts a record is kept with: none here
        def counts(self) -> object:
            from types import SimpleNamespace

            return SimpleNamespace(labels={}, relationship_types={})

    people = _people(500)
    places = [_address(f"A-{i}", "York") for i in range(7)]
    first = Unchanged.take(tmp_path / MEMORY_FILE, SHARED, {}, False)
    assert first.reason  # no record yet: every row written
    assert first.rows(ADDRESSES, places) == places
    assert first.rows(PEOPLE, people) == people
    assert first.rows(RESIDENCES, _lives_at(people)) == _lives_at(people)
    first.save(_Store())
    kept = {"labels": {}, "types": {}, "stamp": None}
    again = Unchanged.take(tmp_path / MEMORY_FILE, SHARED, kept, False)
    assert again.active and not (tmp_path / MEMORY_FILE).exists()
    now = [dict(p) for p in people] + _people(502)[500:]  # two people new
    now[17]["given_name"] = "Changed"
    moved = _lives_at(now)
    moved[40]["address"] = "A-elsewhere"
    elsewhere = _address("A-elsewhere", "Hull")
    assert again.rows(ADDRESSES, [*places, elsewhere]) == [elsewhere]
    assert again.rows(PEOPLE, now) == [now[17], now[500], now[501]]
    assert again.rows(RESIDENCES, moved) == [moved[40], moved[500], moved[501]]
    assert again.skipped == {"addresses": 7, "people": 499, "residences": 499}
    assert again.touched is not None
    assert again.touched.own("Person") == {"P-17", "P-500", "P-501"}
    assert again.touched.own("Address") == {"A-elsewhere"}
    assert again.touched.named_by("Person", ["LIVES_AT"]) == {"P-40", "P-500", "P-501"}
    assert again.touched.named_by("Address", ["LIVES_AT"]) == {"A-elsewhere", "A-3", "A-4"}


def test_a_record_an_older_release_kept_writes_every_row_once_and_says_why(tmp_path) -> None:
    """A record whose hashes another release worked out is not trusted (its hashes
    would match nothing, or the wrong rows): every row written, the reason given."""
    import json

    import numpy as np

    from loaders.unchanged import MEMORY_FILE, VERSION
    from loaders.write import PEOPLE

    path = tmp_path / MEMORY_FILE
    kept = {"labels": {}, "types": {}, "stamp": None}
    head = json.dumps({"version": VERSION - 1, "kept_as": kept})
    empty = np.empty(0, np.uint64)
    with path.open("wb") as fh:
        np.savez(fh, head=np.array(head), elements=empty, nodes=empty, multi=empty)
    older = Unchanged.take(path, SHARED, kept, False)
    assert "another release" in older.reason and older.touched is None
    people = _people(3)
    assert older.rows(PEOPLE, people) == people
