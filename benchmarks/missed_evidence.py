"""What the extracts hold for the adults' true pairs a run left in two people.

Each pair of one true adult's people (as ``link()`` left them) is put in the first class
of :data:`CLASSES` whose evidence the two people's records hold, whatever its dates
(the levels count most of these only at some dates, or not at all); a pair meeting none
holds nothing but names. Counted in record pairs, as :func:`benchmarks.linkage.missed`
counts, for ``--missed``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import combinations
from typing import Any

CLASSES = (
    "a child both are named against",
    "an address both held (any time)",
    "a child one is named for, at an address of the other (any time)",
    "the co-parent (by person) at an address of the other (any time)",
    "the co-parent's full name on someone who lived with the other",
    "both lived with one same person (any time, any address)",
    "each lived with someone of one full name",
    "a child of one's co-parent at an address of the other, or named for the other",
    "one moved out the day the other moved in, under the family name of someone the "
    "other lived with",
    "one moved out the day the other moved in (another address)",
    "a postcode district in common",
)
NOTHING = ("nothing but names: one family name", "nothing but names: other family names")
CROWDED = 30  # an address with more people than this names no one as living together


def by_evidence(inputs: Any, cluster_of: dict[str, str], labels: dict[str, str]) -> list:
    """(class, record pairs) for the adults' true pairs left apart, most first."""
    from loaders.linkage.identity import plain

    ctx = inputs.context
    kids: dict[str, set[str]] = defaultdict(set)
    parents: dict[str, set[str]] = defaultdict(set)
    for e in ctx.edges:
        child, parent = cluster_of.get(e.child), cluster_of.get(e.parent)
        if child and parent:
            kids[parent].add(child)
            parents[child].add(parent)
    stays: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    for rid, tenures in ctx.homes.items():
        person = cluster_of.get(rid)
        if person is not None:
            for t in tenures:
                stays[person].add((t.address, t.start or "", t.end or ""))
    names: dict[str, set[str]] = defaultdict(set)
    families: dict[str, set[str]] = defaultdict(set)
    districts: dict[str, set[str]] = defaultdict(set)
    for r in inputs.found:
        person = cluster_of.get(r.rid)
        if r.given:
            names[person].add(f"{plain(r.given)} {plain(r.family)}")
        if r.family:
            families[person].add(plain(r.family))
        if r.postcode:
            districts[person].add(r.postcode.split()[0])
    for person, held in stays.items():
        for address, _, _ in held:
            postcode = ctx.places.get(address, "").rsplit(",", 1)[-1].split()
            if postcode:
                districts[person].add(postcode[0])
    homes = {person: {a for a, _, _ in held} for person, held in stays.items()}
    mates = _mates(stays)
    empty: set[str] = set()

    def co_parents(x: str, pair: set[str]) -> set[str]:
        return {o for c in kids.get(x, empty) for o in parents[c]} - pair

    def moved(x: str, y: str) -> bool:
        outs = {(e, a) for a, _, e in stays.get(x, empty) if e}
        return any(s == e and a != b for b, s, _ in stays.get(y, empty) if s for e, a in outs)

    def classes(p: str, q: str) -> str:
        pair = {p, q}
        hp, hq = homes.get(p, empty), homes.get(q, empty)
        both = ((p, q, hq), (q, p, hp))
        if kids[p] & kids[q]:
            return CLASSES[0]
        if hp & hq:
            return CLASSES[1]
        if any(homes.get(c, empty) & h for x, _, h in both for c in kids.get(x, empty)):
            return CLASSES[2]
        if any(homes.get(o, empty) & h for x, _, h in both for o in co_parents(x, pair)):
            return CLASSES[3]
        for x, y, _ in both:
            named = set().union(*(names[o] for o in co_parents(x, pair)))
            if any(names[m] & named for m in mates.get(y, empty) - pair):
                return CLASSES[4]
        mp, mq = mates.get(p, empty) - pair, mates.get(q, empty) - pair
        if mp & mq:
            return CLASSES[5]
        if set().union(*(names[m] for m in mp)) & set().union(*(names[m] for m in mq)):
            return CLASSES[6]
        for x, y, h in both:
            halves = {s for o in co_parents(x, pair) for s in kids.get(o, empty)}
            halves -= kids.get(x, empty)
            if kids.get(y, empty) & halves or any(homes.get(s, empty) & h for s in halves):
                return CLASSES[7]
        if moved(p, q) or moved(q, p):
            for x, y, _ in both:
                if any(families[m] & families[y] for m in mates.get(x, empty) - pair):
                    return CLASSES[8]
            return CLASSES[9]
        if districts[p] & districts[q]:
            return CLASSES[10]
        return NOTHING[0] if families[p] & families[q] else NOTHING[1]

    split: dict[str, Counter] = defaultdict(Counter)
    for rid, label in labels.items():
        person = cluster_of.get(rid)
        if person is not None:
            split[label][person] += 1
    counted: Counter = Counter()
    for found in split.values():
        for (p, n), (q, m) in combinations(sorted(found.items()), 2):
            counted[classes(p, q)] += n * m
    return counted.most_common()


def _mates(stays: dict[str, set[tuple[str, str, str]]]) -> dict[str, set[str]]:
    """Who lived with whom: people at one address (held by no more than
    :data:`CROWDED`) over days that overlap, an undated stay at any time."""
    at: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    for person, held in stays.items():
        for address, start, end in held:
            at[address].add((person, start, end))
    mates: dict[str, set[str]] = defaultdict(set)
    for found in at.values():
        if len({p for p, _, _ in found}) > CROWDED:
            continue
        for (x, s1, e1), (y, s2, e2) in combinations(found, 2):
            if x != y and (not s1 or not s2 or (s1 < (e2 or "9") and s2 < (e1 or "9"))):
                mates[x].add(y)
                mates[y].add(x)
    return mates
