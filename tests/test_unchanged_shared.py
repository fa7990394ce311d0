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
    from loaders.write import PEOPLE, RESIDENCES

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


def _described(people: list[dict]) -> list[dict]:
    return [
        {"uid": f"R-{p['uid']}", "source": "s", "row": i, "file": "f", "person": p["uid"]}
        for i, p in enumerate(people)
    ]


def _parents(pairs: list[tuple[str, str]]) -> list[dict]:
    return [{"parent": a, "child": b, "kind": "birth", "from": None, "to": None} for a, b in pairs]


def test_a_partial_build_carrying_the_rest_over_records_what_a_full_build_records(
    tmp_path,
) -> None:
    """The owners recorded with each element (loaders.unchanged.Owners) let a load that
    builds only some people's rows carry over the rest: its record is the one building
    every row would leave. The element of a parent link between a person rebuilt and one
    carried is built (owned by both), not carried: were its old hash carried beside the
    new, the records would differ. Ground truth: the record a full build leaves."""
    from loaders.unchanged import MEMORY_FILE
    from loaders.write import PARENTS, PEOPLE, RESIDENCES, SOURCE_RECORDS

    class _Store:
        def counts(self) -> object:
            from types import SimpleNamespace

            return SimpleNamespace(labels={}, relationship_types={})

    kept_as = {"labels": {}, "types": {}, "stamp": None}
    places = [_address(f"A-{i}", "York") for i in range(7)]
    people = _people(10)
    links = [("P-0", "P-1"), ("P-2", "P-3"), ("P-4", "P-5")]

    def steps(folk: list[dict], pairs: list[tuple[str, str]]) -> list[tuple]:
        return [
            (ADDRESSES, places),
            (PEOPLE, folk),
            (SOURCE_RECORDS, _described(folk)),
            (RESIDENCES, _lives_at(folk)),
            (PARENTS, _parents(pairs)),
        ]

    first = Unchanged.take(tmp_path / MEMORY_FILE, SHARED, kept_as, False)
    for step, rows in steps(people, links):
        first.rows(step, rows)
    first.save(_Store())
    saved = (tmp_path / MEMORY_FILE).read_bytes()

    now = [dict(p) for p in people]
    now[3]["given_name"] = "Changed"  # P-3 rebuilt; P-2's link to them with them
    now_links = [*links, ("P-3", "P-6")]  # and a link new between P-3 and P-6
    rebuilt = {"P-3", "P-6"}

    full = Unchanged.take(tmp_path / MEMORY_FILE, SHARED, kept_as, False)
    assert full.active
    for step, rows in steps(now, now_links):
        full.rows(step, rows)

    (tmp_path / MEMORY_FILE).write_bytes(saved)
    partial = Unchanged.take(tmp_path / MEMORY_FILE, SHARED, kept_as, False)
    mine = [p for p in now if p["uid"] in rebuilt]
    # the builder's part: every element naming a rebuilt person, whole; the addresses
    # (owned by nobody) every night
    partial.rows(ADDRESSES, places)
    partial.rows(PEOPLE, mine)
    partial.rows(SOURCE_RECORDS, _described(now)[3:4] + _described(now)[6:7])
    partial.rows(RESIDENCES, [r for r in _lives_at(now) if r["person"] in rebuilt])
    partial.rows(PARENTS, _parents([p for p in now_links if rebuilt & set(p)]))
    kept = [p["uid"] for p in now if p["uid"] not in rebuilt]
    # carried by step: the people's own rows, then the rest
    carried = partial.carry(kept, [PEOPLE]) + partial.carry(kept, [SOURCE_RECORDS, RESIDENCES])
    carried += partial.carry(kept, [PARENTS])
    # P-0..P-9 but P-3, P-6: 8 people, their source records and residences; the links
    # P-0 -> P-1 and P-4 -> P-5 (P-2 -> P-3 is owned by P-3 too)
    assert carried == 8 * 3 + 2
    assert partial.after.tolist() == full.after.tolist()
    assert partial.nodes_after.tolist() == full.nodes_after.tolist()
    assert partial.multi_after == full.multi_after
    partial.rows(PEOPLE, now[:1])  # built as well as carried: still one pair
    assert partial.carry(kept, [ADDRESSES]) == 0  # owned by nobody: never carried
    owners, whole = partial.owners, full.owners
    assert _pairs(owners.elements, owners.element_owners) == _pairs(
        whole.elements, whole.element_owners
    )
    assert _pairs(owners.nodes, owners.node_owners) == _pairs(whole.nodes, whole.node_owners)


def _pairs(owned, owners) -> list[tuple[int, int]]:
    return sorted(zip(owned.tolist(), owners.tolist(), strict=True))


def test_a_load_whose_record_is_not_trusted_carries_nothing(tmp_path) -> None:
    """Without the last load's record (a first load, --full, an older release's record)
    every row is built: nothing is carried over."""
    from loaders.unchanged import MEMORY_FILE

    fresh = Unchanged.take(tmp_path / MEMORY_FILE, SHARED, {}, False)
    assert fresh.reason and fresh.carry(["P-1"]) == 0


def test_a_record_kept_before_owners_were_recorded_is_not_carried_from(tmp_path) -> None:
    """A record of the format before owners (version 3: its elements' hashes, no owners)
    is another release's: every row is built and written once, nothing carried, and the
    record saved after it has every element's owners."""
    import json

    import numpy as np

    from loaders.unchanged import MEMORY_FILE
    from loaders.write import PEOPLE

    class _Store:
        def counts(self) -> object:
            from types import SimpleNamespace

            return SimpleNamespace(labels={}, relationship_types={})

    path = tmp_path / MEMORY_FILE
    kept = {"labels": {}, "types": {}, "stamp": None}
    first = Unchanged.take(path, SHARED, kept, False)
    people = _people(3)
    first.rows(PEOPLE, people)
    with path.open("wb") as fh:  # as version 3 kept it: the same hashes, no owners
        np.savez(
            fh,
            head=np.array(json.dumps({"version": 3, "kept_as": kept})),
            elements=first.after,
            nodes=first.nodes_after,
            multi=np.empty(0, np.uint64),
        )
    older = Unchanged.take(path, SHARED, kept, False)
    assert "another release" in older.reason
    assert older.rows(PEOPLE, people) == people
    assert older.carry(p["uid"] for p in people) == 0
    older.save(_Store())
    again = Unchanged.take(path, SHARED, kept, False)
    assert again.active and len(np.unique(again.owners_before.elements)) == 3
    assert again.carry(p["uid"] for p in people) == 3
