"""People as clusters of records, and the rules no automatic link may break.

A union-find over record uids that keeps, for each cluster, what the rules need: its
checked identifiers, its dates of birth, the latest a named parent or liable adult
could have been born, and who its records name as parents and children. Before two
clusters join, :meth:`Clusters.check` says which rule the join would break, if any:

* two different valid identifiers of the same kind (UPN, NHS number, ULN): two people;
* born after the latest day a parent or liable adult named could have been born;
* a parent fewer than :data:`PARENT_MIN_AGE` years older than their child;
* someone their own parent, or both parent and child of one person;
* someone both parent and sibling of the same child;
* a child with more than two birth parents.

A refused link is not made; linkage sends the pair to review with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from itertools import compress
from operator import attrgetter
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph.family_rules import BIRTH, PARENT_MIN_AGE
from loaders.linkage.identity import CHECKED_IDS, ID_NAMES, Identity, years_before
from loaders.linkage.inputs import OPEN_END, Edge, Tenure

# Family-group roles that say someone looks after a child without being their parent:
# the age and sibling rules do not apply to them (an older sibling can be a carer).
NOT_PARENTAL = {"carer"}
RULES = {
    "identifiers": "different checked identifiers of the same kind",
    "too_young": "born after a parent or liable adult named could have been born",
    "parent_age": "a parent under 12 years older than their child",
    "own_parent": "someone their own parent, or parent and child of one person",
    "parent_and_sibling": "someone both parent and sibling of a child",
    "birth_parents": "a child with more than two birth parents",
    "two_homes": "someone at two addresses at once",
}


class Refused(str):
    """Why a link was not made: the text for a reviewer, the rule's key, and the
    clusters (root records) the text names besides the pair, for the audit of whoever
    reads it."""

    rule: str
    named: tuple[str, ...]

    def __new__(cls, rule: str, text: str, named: tuple[str, ...] = ()) -> Refused:
        made = super().__new__(cls, text)
        made.rule = rule
        made.named = named
        return made


class Tangled(ValueError):
    """Records grouped as identical that :meth:`Clusters._grouped` cannot join as the
    joins one at a time would: one uid in two groups."""


class Clusters:
    """Union-find over record uids; a cluster's root is its least uid."""

    def __init__(
        self,
        identities: Iterable[Identity],
        edges: Iterable[Edge] = (),
        homes: Mapping[str, Iterable[Tenure]] | None = None,
        same: Sequence[int] | None = None,
        alike: bool = True,
    ) -> None:
        """``same``: each record's group, numbered in order of each group's first
        record: a group starts as one cluster, as joining each record to its group's
        first, in order, would leave it (:meth:`_grouped`). ``alike``: the groups are
        of identical identities (the same :func:`~loaders.linkage.identity.signature`),
        so a group's identifiers, birth dates and latest birth are read from its first
        record alone; else (the people a delta keeps) from all its records, a column at
        a time (:func:`_by_group`)."""
        records = identities if isinstance(identities, list) else list(identities)
        rids = [r.rid for r in records]
        self.parent: dict[str, str] = dict(zip(rids, rids, strict=True))
        heads = records
        if same is not None:
            first = dict(zip(reversed(same), range(len(same) - 1, -1, -1), strict=True))
            heads = [records[first[g]] for g in range(len(first))]
        unlike = same is not None and not alike
        # root -> (address, from, to) of its dated stays (an unknown end: still there)
        self.dated: dict[str, frozenset[tuple[str, str, str]]] = {}
        made: dict[tuple[Tenure, ...], frozenset[tuple[str, str, str]]] = {}  # shared
        for rid, tenures in (homes or {}).items():
            key = tuple(tenures)
            found = made.get(key)
            if found is None:
                found = made[key] = frozenset(
                    (t.address, t.start, t.end or OPEN_END) for t in tenures if t.start
                )
            if found:
                self.dated[rid] = found
        # one set a value, shared by the records that hold it (millions of records, at
        # county scale, held a gigabyte of sets of one)
        one: dict[str, frozenset[str]] = {}

        def held(name: str) -> tuple[list[str], list[str]]:
            """The records holding a value of ``name`` and their values, a column at a
            time rather than a record at a time (there are millions)."""
            values = list(map(attrgetter(name), heads))
            return list(compress(map(attrgetter("rid"), heads), values)), list(
                compress(values, values)
            )

        def sets(name: str) -> dict[str, frozenset[str]]:
            if unlike:
                return _by_group(records, same, heads, name, one)
            holders, values = held(name)
            one.update((v, frozenset((v,))) for v in set(values).difference(one))
            return dict(zip(holders, map(one.__getitem__, values), strict=True))

        # kind -> root -> its checked identifiers of that kind
        self.ids: dict[str, dict[str, frozenset[str]]] = {k: sets(k) for k in CHECKED_IDS}
        self.dobs: dict[str, frozenset[str]] = sets("dob")
        # latest possible birth (a parent, a liable adult)
        self.latest: dict[str, str] = (
            _by_group(records, same, heads, "born_before")
            if unlike
            else dict(zip(*held("born_before"), strict=True))
        )
        self.named: dict[str, Identity] = {  # root -> a record of theirs with a name
            r.rid: r for r in records if r.given.strip() or r.family.strip()
        }
        # the roots joined into another, in order: what changed since a given point
        # (the adults' pass gathers again only around them, :mod:`.relational`)
        self.joined: list[str] = []
        self.up: dict[str, list[tuple[str, str]]] = {}  # root -> (parent record, kind)
        self.down: dict[str, list[tuple[str, str]]] = {}  # root -> (child record, kind)
        parent, up, down = self.parent, self.up, self.down
        for e in edges:
            if e.parent in parent and e.child in parent:
                mine = up.get(e.child)
                if mine is None:
                    up[e.child] = [(e.parent, e.kind)]
                else:
                    mine.append((e.parent, e.kind))
                mine = down.get(e.parent)
                if mine is None:
                    down[e.parent] = [(e.child, e.kind)]
                else:
                    mine.append((e.child, e.kind))
        if same is not None:
            self._grouped(records, same, heads)

    def _grouped(self, records: list[Identity], same: Sequence[int], heads: list[Identity]) -> None:
        """Each group of ``same`` made one cluster, as :meth:`join` would make it joining
        each record to its group's cluster in the records' order: its root the least
        uid; its stays, parents, children and named record taken over as join takes
        them (the order of the edge lists and which record names the cluster are the
        words'); its identifiers, birth dates and latest birth, held under its first
        record's uid (:meth:`__init__`), moved to the root. The joined records go to
        :attr:`joined`, in join's order."""
        roots = [r.rid for r in heads]
        dated, up, down, named = self.dated, self.up, self.down, self.named
        tables = (dated, up, down)
        # each uid's group once met, in the parents' place until they are set below
        met = cast(dict[str, object], self.parent)
        for r, g in zip(records, same, strict=True):
            rb = r.rid
            before = met[rb]
            if before.__class__ is int:  # a uid met before: the same record again
                if before != g:
                    raise Tangled(f"record {rb} is in two groups of identical records")
                continue
            met[rb] = g
            ra = roots[g]
            if ra == rb:  # the group's first record
                continue
            if rb < ra:
                ra, rb = rb, ra
                roots[g] = ra
            self.joined.append(rb)
            for table in tables:
                other = table.pop(rb, None)
                if other is not None:
                    held = table.get(ra)
                    if held is None:
                        table[ra] = other
                    elif table is dated:
                        table[ra] = held | other
                    else:
                        held.extend(other)
            someone = named.pop(rb, None)
            if someone is not None and ra not in named:
                named[ra] = someone
        moved = [(head.rid, root) for head, root in zip(heads, roots, strict=True)]
        for table in (self.dobs, self.latest, *self.ids.values()):
            for head, root in moved:
                if head != root:
                    value = table.pop(head, None)
                    if value is not None:
                        table[root] = value
        rids = map(attrgetter("rid"), records)
        self.parent.update(zip(rids, map(roots.__getitem__, same), strict=True))  # in place

    def take_in(self, more: Clusters, edges: Iterable[Edge]) -> None:
        """The records of ``more`` (clusters of records new to these: a scoped link's
        block mates, :mod:`.kept_keys`) taken in, each of its clusters one here, with
        ``edges`` (those with an end among them; ``more`` holds those with both), as
        clusters holding them from the start would have them. Their joins are not
        listed in :attr:`joined`: records new to the clusters make every gathering of
        them number its records again (``relational.Gathering.people``)."""
        self.parent.update(more.parent)
        for table, theirs in (
            (self.dated, more.dated),
            (self.dobs, more.dobs),
            (self.latest, more.latest),
            (self.named, more.named),
        ):
            table.update(theirs)
        for kind, held in more.ids.items():
            self.ids[kind].update(held)
        for mine, found in ((self.up, more.up), (self.down, more.down)):
            for root, listed in found.items():
                mine.setdefault(root, []).extend(listed)
        new, find = more.parent, self.find
        for e in edges:  # an end held before: the edge goes to both people's lists
            if e.parent in new and e.child in new:
                continue
            self.up.setdefault(find(e.child), []).append((e.parent, e.kind))
            self.down.setdefault(find(e.parent), []).append((e.child, e.kind))

    def find(self, x: str) -> str:
        parent = self.parent
        root = parent.get(x)
        if root is None:
            parent[x] = x
            return x
        if root == x or parent[root] == root:  # most calls: a root, or one step below
            return root
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> bool:
        """Join the two clusters, whatever the rules say (:meth:`check` first)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.join(ra, rb)
        return True

    def join(self, ra: str, rb: str) -> None:
        """:meth:`union` of two different roots (the caller found them)."""
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.joined.append(rb)
        for table in (self.dated, self.dobs, *self.ids.values()):
            other = table.pop(rb, None)
            if other is not None:
                held = table.get(ra)
                table[ra] = other if held is None else held | other
        other_day = self.latest.pop(rb, None)
        if other_day is not None:
            held_day = self.latest.get(ra)
            self.latest[ra] = other_day if held_day is None else min(held_day, other_day)
        for edges in (self.up, self.down):
            more = edges.pop(rb, None)
            if more is not None:
                held_edges = edges.get(ra)
                if held_edges is None:
                    edges[ra] = more
                else:
                    held_edges.extend(more)
        someone = self.named.pop(rb, None)
        if someone is not None and ra not in self.named:
            self.named[ra] = someone

    def two_homes(self, a: str, b: str, places: Mapping[str, str] | None = None) -> Refused | None:
        """Joined, would the two clusters be at different addresses over the same days
        (dated stays only; a move's last and first days may touch)? The adults' pass asks,
        as it scores pairs of people and links many in a round: two links each sound can
        together make one person of two who lived apart at the same time."""
        ra, rb = self.find(a), self.find(b)
        return None if ra == rb else self.apart(ra, rb, places)

    def apart(self, ra: str, rb: str, places: Mapping[str, str] | None = None) -> Refused | None:
        """:meth:`two_homes` of two different roots (the caller found them). The reason
        names the two addresses (``places``: an address key's words) and the days, the
        first such overlap in address and date order, so a reviewer can check both."""
        mine, theirs = self.dated.get(ra), self.dated.get(rb)
        if not mine or not theirs:
            return None
        others = sorted(theirs)
        for x in sorted(mine):  # sorted: the same stays named in every run
            for y in others:
                if x[0] != y[0] and x[1] < y[2] and y[1] < x[2]:
                    since, until = max(x[1], y[1]), min(x[2], y[2])
                    when = f"from {since}" + ("" if until == OPEN_END else f" to {until}")
                    where = [(places or {}).get(k) or f"address {k}" for k in (x[0], y[0])]
                    return Refused(
                        "two_homes", f"would be at {where[0]} and {where[1]} at once, {when}"
                    )
        return None

    def name(self, root: str) -> str:
        r = self.named.get(root)
        if r is None:
            return "someone unnamed"
        name = f"{r.given} {r.family}".strip()
        return f"{name} (born {r.dob})" if r.dob else name

    def check(self, a: str, b: str) -> Refused | None:
        """The rule joining ``a``'s and ``b``'s clusters would break, or None."""
        ra, rb = self.find(a), self.find(b)
        return None if ra == rb else self.rules(ra, rb)

    def rules(self, ra: str, rb: str) -> Refused | None:
        """:meth:`check` of two different roots (the caller found them)."""
        for kind, held in self.ids.items():
            x, y = held.get(ra), held.get(rb)
            if x and y and x - y and y - x:
                return Refused(
                    "identifiers", f"different {ID_NAMES[kind]}s, each passing its check"
                )
        latest = [d for d in (self.latest.get(ra), self.latest.get(rb)) if d]
        up, down = self.up, self.down
        family = ra in up or rb in up or ra in down or rb in down
        if not (latest or family):  # most pairs: no rule below can apply
            return None
        dobs_a, dobs_b = self.dobs.get(ra), self.dobs.get(rb)
        if dobs_a is None or dobs_b is None:
            dobs = dobs_a or dobs_b or frozenset()
        else:
            dobs = dobs_a | dobs_b
        if dobs and latest and min(dobs) > min(latest):
            return Refused(
                "too_young",
                f"born {min(dobs)}: too young to be the parent or liable adult one record "
                f"names (born on or before {min(latest)})",
            )
        if family:
            return self._family(ra, rb, dobs)
        return None

    def _family(self, ra: str, rb: str, dobs: frozenset[str]) -> Refused | None:
        find = self.find
        me = {ra, rb}
        ups = self.up.get(ra, []) + self.up.get(rb, [])
        downs = self.down.get(ra, []) + self.down.get(rb, [])
        parents = {find(p) for p, kind in ups if kind not in NOT_PARENTAL}
        children = {find(c) for c, kind in downs if kind not in NOT_PARENTAL}
        if me & parents or me & children:
            return Refused("own_parent", "one would be named as the other's parent")
        both = parents & children
        if both:
            who = self.name(min(both))
            return Refused("own_parent", f"would be both parent and child of {who}", (min(both),))
        births = {find(p) for p, kind in ups if kind == BIRTH}
        if len(births) > 2:
            return Refused("birth_parents", "would have more than two birth parents")
        siblings: set[str] = set()
        for p in parents:
            siblings |= {find(c) for c, kind in self.down.get(p, []) if kind not in NOT_PARENTAL}
        both = (siblings - me) & children
        if both:
            who = self.name(min(both))
            return Refused(
                "parent_and_sibling", f"would be both parent and sibling of {who}", (min(both),)
            )
        for c in children:
            theirs = {find(x) for x, kind in self.down.get(c, []) if kind not in NOT_PARENTAL}
            if theirs & children:
                who = self.name(min(theirs & children))
                return Refused(
                    "parent_and_sibling",
                    f"{self.name(c)} would be both parent and sibling of {who}",
                    (c, min(theirs & children)),
                )
        for p in sorted(parents):
            if not _old_enough(self.dobs.get(p), dobs):
                return Refused(
                    "parent_age",
                    f"would be under {PARENT_MIN_AGE} years younger than their parent "
                    f"{self.name(p)}",
                    (p,),
                )
        for c in sorted(children):
            if not _old_enough(dobs, self.dobs.get(c)):
                return Refused(
                    "parent_age",
                    f"would be under {PARENT_MIN_AGE} years older than their child {self.name(c)}",
                    (c,),
                )
        return None


def kept_groups(records: list[Identity], kept: Mapping[str, str]) -> list[int]:
    """Each record's group, numbered in order of each group's first record: its kept
    person's (as an earlier load, or a reviewer, left them: the rules were checked when
    they were joined), else its own uid's. Made one cluster a group at the start
    (``Clusters(same=...)``), as joining each record to its person's first record, in
    order, would leave them."""
    keys = [person(kept, r.rid) for r in records]
    return pa.array(keys, pa.string()).dictionary_encode().indices.to_pylist()


def person(kept: Mapping[str, str], uid: str) -> str:
    """A record's person: its kept person's uid, else its own, marked so that a
    person's uid and a record's are told apart (a record of no kept person is a person
    of its own)."""
    return kept.get(uid, "\0" + uid)


def _by_group(
    records: list[Identity],
    same: Sequence[int],
    heads: list[Identity],
    name: str,
    one: dict[str, frozenset[str]] | None = None,
) -> dict:
    """Each group's values of the field ``name`` (its records' that hold one) under its
    first record's uid: with ``one`` (a set a value, shared) the set of them, as joins
    leave it; else the least (a latest birth). Each distinct value a group holds is
    found in Arrow, so Python meets each once a group, not once a record."""
    values = pa.array(list(map(attrgetter(name), records)), pa.string())
    pairs = pa.table({"g": pa.array(same, pa.int64()), "v": values})
    pairs = pairs.filter(pc.fill_null(pc.not_equal(values, ""), False))
    pairs = pairs.group_by(["g", "v"], use_threads=False).aggregate([])
    pairs = pairs.sort_by([("g", "ascending"), ("v", "ascending")])
    owners = pa.array([r.rid for r in heads], pa.string()).take(pairs["g"]).to_pylist()
    found = pairs["v"].to_pylist()
    if one is None:  # the least: a dict keeps each owner's last, so fill it from the end
        return dict(zip(reversed(owners), reversed(found), strict=True))
    one.update((v, frozenset((v,))) for v in set(found).difference(one))
    out = dict(zip(owners, map(one.__getitem__, found), strict=True))  # one value each
    if len(out) < len(owners):  # the groups holding more than one value: all of them
        group = pairs["g"].to_numpy()
        bounds = np.flatnonzero(np.r_[True, group[1:] != group[:-1], True])  # each run's
        for at in np.flatnonzero(np.diff(bounds) > 1).tolist():
            start, end = bounds[at], bounds[at + 1]
            out[owners[start]] = frozenset(found[start:end])
    return out


def _old_enough(parent: frozenset[str] | None, child: frozenset[str] | None) -> bool:
    """Every birth date the parent's records give is at least the minimum age before
    every one the child's give (the person built may carry any of them; unknown either
    side: nothing to say)."""
    if not parent or not child:
        return True
    return max(parent) <= _parent_by(min(child))


@cache
def _parent_by(born: str) -> str:
    """The latest a parent of a child born on ``born`` may have been born (a few
    thousand days asked again for every pair with children)."""
    return years_before(born, PARENT_MIN_AGE)
