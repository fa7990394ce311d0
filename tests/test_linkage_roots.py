"""Each record's person as the adults' rounds read it (``Gathering.roots``: the
union-find's parents followed in numpy, kept up to date from the joins since), and
what a round leaves to find (``left_to_find``), against the people worked out here by
brute force: the connected components of the pairs joined, each named by its least
uid (a cluster's root)."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from loaders.linkage import Context, Identity
from loaders.linkage.clusters import Clusters
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
