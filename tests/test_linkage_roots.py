"""Identical records made one cluster at the start (``Clusters(same=...)``) as joining
them one at a time would; each record's person as the adults' rounds read it
(``Gathering.roots``: the union-find's parents followed in numpy, kept up to date from
the joins since), and what a round leaves to find (``left_to_find``), against the
people worked out here by brute force: the connected components of the pairs joined,
each named by its least uid (a cluster's root)."""

from __future__ import annotations

import random
from dataclasses import replace

import pyarrow as pa
import pytest

from loaders.linkage import Context, Identity, link
from loaders.linkage.clusters import Clusters, Tangled
from loaders.linkage.identity import signature
from loaders.linkage.inputs import Edge, Tenure
from loaders.linkage.relational import Gathering, left_to_find


def _components(uids: list[str], pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Each uid's component's least uid, by growing each component until it stops."""
    near: dict[str, set[str]] = {u: set() for u in uids}
    for a, b in pairs:
        near[a].add(b)
        near[b].add(a)
    least: dict[str, str] = {}
    for start in uids:
        if start in least:
            continue
        seen, frontier = {start}, [start]
        while frontier:
            frontier = [n for u in frontier for n in near[u] if n not in seen]
            seen.update(frontier)
        for u in seen:
            least[u] = min(seen)
    return least


@pytest.mark.parametrize("seed", range(5))
def test_roots_are_the_components_of_the_joins_after_each_batch(seed):
    """Three batches of random joins (the rounds' links), the roots read after each:
    every record's, and a chosen few's by uid, are the brute force's."""
    rng = random.Random(seed)
    uids = [f"r{n:04d}" for n in rng.sample(range(10_000), 400)]
    reps = [Identity(rid=u, given="Jo", family="Hunt") for u in uids]
    clusters = Clusters(reps)
    gathering = Gathering(reps, clusters, Context())
    joined: list[tuple[str, str]] = []
    for batch in (150, 120, 60):
        for _ in range(batch):
            a, b = rng.sample(uids, 2)
            clusters.union(a, b)
            joined.append((a, b))
        truth = _components(uids, joined)
        texts = gathering.uids
        every = texts.take(pa.array(gathering.roots(clusters))).to_pylist()
        assert every == [truth[u] for u in uids]
        some = rng.sample(uids, 50)
        found = texts.take(pa.array(gathering.roots(clusters, pa.array(some)))).to_pylist()
        assert found == [truth[u] for u in some]


def test_left_to_find_counts_the_pairs_the_joins_made_one():
    """Expected pairs less the pairs of the people now one: 40 people, made 12 by
    random joins; the brute force counts each person's pairs."""
    rng = random.Random(7)
    uids = [f"p{n:02d}" for n in range(40)]
    pairs = [tuple(rng.sample(uids, 2)) for _ in range(30)]
    truth = _components(uids, pairs)
    sizes = [list(truth.values()).count(root) for root in set(truth.values())]
    made_one = sum(n * (n - 1) // 2 for n in sizes)
    trained = {"probability_two_random_records_match": 0.5}
    expected = 0.5 * 40 * 39 / 2
    assert left_to_find(trained, [truth[u] for u in uids]) == expected - made_one


def _records(rng: random.Random) -> list[Identity]:
    """Random records in groups of identical identities (some unnamed, some with
    identifiers, birth dates or a latest birth), in shuffled order, a few uids twice
    (a record read twice: the same identity)."""
    groups = [
        Identity(
            rid="",
            given=rng.choice(["Jo", "", "Sam"]),
            family=rng.choice(["Hunt", "", "Lal"]),
            dob=rng.choice(["", "1990-01-02", "2015-05-06"]),
            upn=rng.choice(["", "", f"U{g}"]),
            nhs=rng.choice(["", f"N{g}"]),
            born_before=rng.choice(["", "2001-01-01"]),
        )
        for g in range(40)
    ]
    uids = rng.sample(range(10_000), 300)
    records = [replace(rng.choice(groups), rid=f"r{n:04d}") for n in uids]
    records += rng.sample(records, 15)
    rng.shuffle(records)
    return records


def _state(clusters: Clusters) -> dict:
    roots = {rid: clusters.find(rid) for rid in clusters.parent}
    return {
        "roots": roots,
        "joined": clusters.joined,
        "named": {k: v.rid for k, v in clusters.named.items()},
        "tables": [clusters.dated, clusters.dobs, clusters.latest, clusters.ids],
        "edges": [clusters.up, clusters.down],  # in order: the words read the first
    }


@pytest.mark.parametrize("seed", range(8))
def test_identical_records_grouped_at_the_start_as_joined_one_at_a_time(seed):
    """Clusters(same=...) against the same records joined to their group's first
    record one at a time, in order (how linkage compressed them before): the same
    roots, joins, named record, stays, identifiers, birth dates and edge lists (in
    order), over random groups, stays and parent edges."""
    rng = random.Random(seed)
    records = _records(rng)
    uids = sorted({r.rid for r in records})
    homes = {
        rid: tuple(Tenure(f"a{rng.randrange(9)}", "2020-01-01", "") for _ in range(2))
        for rid in rng.sample(uids, 80)
    }
    edges = [Edge(*rng.sample(uids, 2), rng.choice(["birth", "carer"]), True) for _ in range(120)]
    first: dict[tuple, int] = {}
    same = [first.setdefault(signature(r), len(first)) for r in records]
    heads = {g: r for r, g in zip(reversed(records), reversed(same), strict=True)}
    one_at_a_time = Clusters(records, edges, homes)
    for r, g in zip(records, same, strict=True):
        if heads[g] is not r:
            one_at_a_time.union(heads[g].rid, r.rid)
    grouped = Clusters(records, edges, homes, same=same)
    assert _state(grouped) == _state(one_at_a_time)
    truth = {}
    for g in set(same):
        members = [r.rid for r, h in zip(records, same, strict=True) if h == g]
        truth.update(dict.fromkeys(members, min(members)))
    assert _state(grouped)["roots"] == truth


def test_a_uid_in_two_groups_is_refused():
    """One uid with two identities cannot be grouped as joined one at a time."""
    records = [Identity(rid="a", given="Jo"), Identity(rid="a", given="Sam")]
    with pytest.raises(Tangled):
        Clusters(records, same=[0, 1])


def test_a_uid_in_two_groups_is_linked_the_slower_way_and_said_so():
    """link() falls back to joining identical records one at a time, and its notes say
    why, so that a load slowed by it shows the reason; the other record its own person."""
    records = [
        Identity(rid="a", given="Jo", family="Hunt", dob="2012-01-02"),
        Identity(rid="a", given="Joanne", family="Hunt", dob="2012-01-02"),
        Identity(rid="b", given="Sam", family="Bell", dob="2011-05-06"),
    ]
    result = link(records)
    assert any("two groups" in note for note in result.notes)
    assert result.cluster_of["a"] != result.cluster_of["b"]


def _kept_records(rng: random.Random) -> tuple[list[Identity], dict[str, str]]:
    """Random records, some identical (:func:`_records`), some each their own (other
    birth dates, identifiers and latest births), and a delta's kept people: most uids
    given one of 60 people at random, so a person's records disagree and one
    representative's records may be split among people."""
    records = _records(rng)
    records += [
        Identity(
            rid=f"s{n:04d}",
            given="Al",
            dob=rng.choice(["", "1980-03-04", "1981-04-05", "2012-07-08"]),
            upn=rng.choice(["", f"V{n % 7}"]),
            nhs=rng.choice(["", f"M{n % 5}"]),
            born_before=rng.choice(["", "1999-01-01", "1995-06-07"]),
        )
        for n in rng.sample(range(10_000), 120)
    ]
    rng.shuffle(records)
    uids = sorted({r.rid for r in records})
    kept = {u: f"person{rng.randrange(60)}" for u in uids if rng.random() < 0.8}
    return records, kept


def _random_context(rng: random.Random, uids: list[str]) -> Context:
    homes = {
        rid: tuple(Tenure(f"a{rng.randrange(9)}", "2020-01-01", "") for _ in range(2))
        for rid in rng.sample(uids, 80)
    }
    edges = [Edge(*rng.sample(uids, 2), rng.choice(["birth", "carer"]), True) for _ in range(120)]
    return Context(edges=edges, homes=homes)


@pytest.mark.parametrize("seed", range(8))
def test_kept_people_start_as_they_did_joined_one_at_a_time(seed):
    """A delta's start (``_clusters`` with the kept people): the same roots, named
    record, stays, identifiers, birth dates, latest births and edge lists (in order) as
    joining each record to its kept person's first record, in order, then each record
    to its representative (its signature's first record), in order, one union at a
    time (how linkage made them before)."""
    from loaders.linkage import _clusters

    rng = random.Random(seed)
    records, kept = _kept_records(rng)
    context = _random_context(rng, sorted({r.rid for r in records}))
    firsts: dict[tuple, int] = {}  # each signature's first record's place in reps
    rep_at = [firsts.setdefault(signature(r), len(firsts)) for r in records]
    reps = [records[rep_at.index(at)] for at in range(len(firsts))]
    one_at_a_time = Clusters(records, context.edges, context.homes)
    first_of: dict[str, str] = {}
    for r in records:
        if r.rid in kept:
            one_at_a_time.union(first_of.setdefault(kept[r.rid], r.rid), r.rid)
    for r, at in zip(records, rep_at, strict=True):
        one_at_a_time.union(reps[at].rid, r.rid)
    grouped, tangled = _clusters(records, reps, rep_at, context, kept)
    assert tangled is None
    mine, theirs = _state(grouped), _state(one_at_a_time)
    del mine["joined"], theirs["joined"]  # the order of joins before the rounds: unread
    assert mine == theirs
    assert sorted(grouped.joined) == sorted(one_at_a_time.joined)


def test_each_groups_values_are_the_least_latest_birth_and_every_identifier():
    """``_by_group`` against values worked out here (review23: the random test's later
    joins hid a group's greatest latest birth): each group's least latest birth, and the
    set of every identifier its records hold, under its first record's uid; a group
    holding none has no entry."""
    from loaders.linkage.clusters import _by_group

    rng = random.Random(5)
    births = ["", "1990-01-01", "1985-05-05", "1999-09-09"]
    records = [
        Identity(rid=f"r{n}", born_before=rng.choice(births), upn=rng.choice(["", "U1", "U2"]))
        for n in range(200)
    ]
    same = [rng.randrange(40) for _ in records]
    heads = {}
    for r, g in zip(records, same, strict=True):
        heads.setdefault(g, r)
    first = [heads.get(g, Identity(rid=f"none{g}")) for g in range(40)]
    least, upns = {}, {}
    for r, g in zip(records, same, strict=True):
        if r.born_before:
            owner = heads[g].rid
            least[owner] = min(least.get(owner, r.born_before), r.born_before)
        if r.upn:
            upns.setdefault(heads[g].rid, set()).add(r.upn)
    assert _by_group(records, same, first, "born_before") == least
    found = _by_group(records, same, first, "upn", {})
    assert {k: set(v) for k, v in found.items()} == upns
