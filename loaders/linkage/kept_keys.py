"""A scoped link's block mates, found inside it from the keys the last link kept.

A delta night's ``link()`` over only a scope (the new or changed records' people, those
sharing an identifier with one, and one ring about them) must still score each new row
against every row its blocking would meet over every record. The rows outside the scope
are kept people's; their keys, as the last link made them (:attr:`LinkResult.keys`,
read as tonight's people by :func:`as_people`), are met by the new rows' keys in each
scoring (the people pass, each adults' round; :func:`.scope.mates`), and the people met
are added to the link, with their records, one ring about them (children, parents,
co-parents, housemates: what their rows are made from) and their context, before that
scoring's frame is made again (:class:`Reach`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from loaders.linkage import scope
from loaders.linkage.clusters import Clusters, kept_groups, person
from loaders.linkage.identity import Identity, LinkResult, compressed
from loaders.linkage.inputs import Context, Tenure
from loaders.linkage.people import KEYS as PEOPLE_KEYS
from loaders.linkage.relational import KEYS as ADULT_KEYS

PEOPLE = "people"  # the column of each kept row's people (tonight's person uids)
_LISTED = pa.list_(pa.string())

# each record's parents, each record's children, each address's records
Kinship = tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]


def key_columns(keys: tuple[tuple[str, str], ...]) -> list[str]:
    """A model's key columns, with the rows' uids."""
    return ["unique_id", *dict.fromkeys(c for pair in keys for c in pair)]


@dataclass
class KeptKeys:
    """What a scoped ``link()`` meets its scorings' keys against, and adds from: the
    last link's keys as tonight's people (:func:`as_people`; the people pass's, and
    every adults' round's together), and every record tonight with its context and
    kept person (the link's records, context and kept people are some of them)."""

    people: pa.Table
    adults: pa.Table
    found: list[Identity]
    context: Context
    kept: Mapping[str, str]

    @classmethod
    def none(cls, found: list[Identity], context: Context, kept: Mapping[str, str]) -> KeptKeys:
        """No keys to meet (a link over every record that only makes its keys)."""
        return cls(_empty(PEOPLE_KEYS), _empty(ADULT_KEYS), found, context, kept)


def _empty(keys: tuple[tuple[str, str], ...]) -> pa.Table:
    return pa.table({PEOPLE: pa.array([], _LISTED)} | {c: [] for c in key_columns(keys)[1:]})


def adult_keys(frame: pa.Table, uids: pa.Array, places: pa.Array) -> pa.Table:
    """An adults' round's key columns with ``kin`` and ``homes`` as the children's
    uids and the addresses' keys (the frame holds the round's numbers for them)."""
    columns = {name: frame[name].combine_chunks() for name in key_columns(ADULT_KEYS)}
    for name, values in (("kin", uids), ("homes", places)):
        lists = columns[name]
        columns[name] = pa.ListArray.from_arrays(
            lists.offsets, values.take(lists.values), mask=lists.is_null()
        )
    return pa.table(columns)


def as_people(result: LinkResult, kept: Mapping[str, str]) -> tuple[pa.Table, pa.Table]:
    """``result``'s keys (the people pass's, then the adults' rounds' together) with
    each row's uid, and each ``kin`` uid, as tonight's people (``kept``) of the records
    its person held, so that tonight's keys meet them."""
    if not result.keys:
        raise ValueError("the link kept no keys: give it kept keys (KeptKeys.none)")
    of = _people_of(result.cluster_of, kept)
    people = _rows_as_people(result.keys[0], PEOPLE_KEYS, of)
    adults = [_rows_as_people(t, ADULT_KEYS, of) for t in result.keys[1:]]
    return people, pa.concat_tables(adults) if adults else _empty(ADULT_KEYS)


def _people_of(
    cluster_of: Mapping[str, str], kept: Mapping[str, str]
) -> Callable[[str], list[str]]:
    """Each uid as the people (``kept``'s) of the records its cluster holds."""
    members: dict[str, list[str]] = defaultdict(list)
    for rid, cluster in cluster_of.items():
        members[cluster].append(rid)

    def of(uid: str) -> list[str]:
        cluster = cluster_of.get(uid)
        rids = members[cluster] if cluster is not None else [uid]
        return sorted({person(kept, r) for r in rids})

    return of


def _rows_as_people(
    table: pa.Table, keys: tuple[tuple[str, str], ...], of: Callable[[str], list[str]]
) -> pa.Table:
    """``table``'s key columns, its rows and its ``kin`` as people (``of``)."""
    columns: dict[str, pa.Array] = {
        PEOPLE: pa.array([of(u) for u in table["unique_id"].to_pylist()], _LISTED)
    }
    for name in key_columns(keys)[1:]:
        column = table[name]
        if name == "kin":
            column = pa.array(
                [sorted({p for u in v for p in of(u)}) if v else None for v in column.to_pylist()],
                _LISTED,
            )
        columns[name] = column
    return pa.table(columns)


class Reach:
    """A scoped link's growth: the records it holds (``records``, ``reps`` and
    ``rep_at`` as ``link()`` made them, kept in tonight's order and changed in place),
    the people they are, and the keys its scorings made (:attr:`made`, the link's
    :attr:`LinkResult.keys`)."""

    def __init__(
        self,
        keys: KeptKeys,
        records: list[Identity],
        reps: list[Identity],
        rep_at: list[int],
        since: int,
    ) -> None:
        """``since``: how many joins the link's clusters held before its own (the kept
        people's)."""
        self.keys, self.kept = keys, keys.kept
        self.records, self.reps, self.rep_at = records, reps, rep_at
        self.inside = {r.rid for r in records}
        self.present = {person(self.kept, u) for u in self.inside}
        self.made: list[pa.Table] = []
        self.since = since
        self._records_of: dict[str, list[str]] | None = None
        self._kin: Kinship | None = None
        self._signatures: dict[int, tuple] = {}  # each record's, once made

    def people_of(self, clusters: Clusters) -> Callable[[str], list[str]]:
        """Each uid as the people (tonight's kept) of the records its cluster holds: a
        cluster starts as one kept person (or a new record), so its people are its
        root's and those of the roots this link joined into it (:attr:`since`)."""
        find, kept = clusters.find, self.kept
        members: dict[str, set[str]] = defaultdict(set)
        for root in clusters.joined[self.since :]:
            members[find(root)].add(person(kept, root))

        def of(uid: str) -> list[str]:
            root = find(uid)
            return sorted({person(kept, root), *members.get(root, ())})

        return of

    def met(self, rows: pa.Table, clusters: Clusters, adults: bool) -> set[str]:
        """The people outside the link whose kept keys meet ``rows`` (the new rows'
        key columns, with uids and ``kin`` as the link's uids); in an adults' round,
        the kept keys of the people those rows hold meet them too (a kept person a new
        record joined brings its surroundings into the rounds)."""
        keys, kept = (ADULT_KEYS, self.keys.adults) if adults else (PEOPLE_KEYS, self.keys.people)
        if rows.num_rows == 0 or kept.num_rows == 0:
            return set()
        mine = _rows_as_people(rows, keys, self.people_of(clusters))
        if adults:
            held = pc.unique(pc.list_flatten(mine[PEOPLE]))
            at = pc.list_parent_indices(kept[PEOPLE])
            theirs = kept.take(pc.unique(at.filter(pc.is_in(pc.list_flatten(kept[PEOPLE]), held))))
            mine = pa.concat_tables([mine, theirs.select(mine.column_names)])
        found = scope.mates(mine, kept, keys)
        return set(pc.list_flatten(found[PEOPLE]).to_pylist()) - self.present

    def grow(self, people: set[str], clusters: Clusters, context: Context) -> list[Identity]:
        """``people``'s records and one ring about them (:meth:`_ring`) taken into the
        link: into its records, representatives, ``clusters`` and ``context``
        (:meth:`.Clusters.take_in`, each kept person one cluster), and joined to their
        representatives' clusters where a record identical to one the link held is
        among them. Returns those added."""
        added = self._ring(people)
        if not added:
            return added
        whole = self.keys.context
        new, inside = {r.rid for r in added}, self.inside
        edges = [e for e in whole.edges if e.parent in inside and e.child in inside]
        context.edges[:] = edges
        context.homes.update((r, whole.homes[r]) for r in new if r in whole.homes)
        crossing = [e for e in edges if e.parent in new or e.child in new]
        homes = context.homes
        more = Clusters(
            added,
            crossing,
            {r.rid: homes[r.rid] for r in added if r.rid in homes},
            same=kept_groups(added, self.kept),
            alike=False,
        )
        clusters.take_in(more, crossing)
        self.records[:] = [r for r in self.keys.found if r.rid in inside]
        reps, rep_at = compressed(self.records, self._signatures)
        self.reps[:], self.rep_at[:] = reps, rep_at
        find = clusters.find
        for r, at in zip(self.records, rep_at, strict=True):
            rep = reps[at]
            if rep is not r and find(rep.rid) != find(r.rid):
                clusters.union(rep.rid, r.rid)
        return added

    def _ring(self, people: set[str]) -> list[Identity]:
        """The records of ``people`` and of one ring about them (their records'
        children and parents, those children's other parents, everyone at their
        addresses) that the link does not hold, in tonight's order; taken in."""
        kept = self.kept
        records_of = self._people_records()
        records = {r for p in people for r in records_of.get(p, ())}
        kin = ring(records, self._kinship(), self.keys.context.homes)
        people = people | {person(kept, u) for u in kin}
        added = {r for p in people for r in records_of.get(p, ())} - self.inside
        self.inside |= added
        self.present |= people
        return [r for r in self.keys.found if r.rid in added]

    def _people_records(self) -> dict[str, list[str]]:
        """Each person's records tonight."""
        if self._records_of is None:
            self._records_of = found = defaultdict(list)
            kept = self.kept
            for r in self.keys.found:
                found[person(kept, r.rid)].append(r.rid)
        return self._records_of

    def _kinship(self) -> Kinship:
        """:func:`kinship` of tonight's context, made once."""
        if self._kin is None:
            self._kin = kinship(self.keys.context)
        return self._kin


def kinship(context: Context) -> Kinship:
    """Each record's parents and children (the context's edges), and each address's
    records (its tenures)."""
    parents: dict[str, set[str]] = defaultdict(set)
    children: dict[str, set[str]] = defaultdict(set)
    for e in context.edges:
        parents[e.child].add(e.parent)
        children[e.parent].add(e.child)
    living: dict[str, set[str]] = defaultdict(set)
    for who, tenures in context.homes.items():
        for t in tenures:
            living[t.address].add(who)
    return parents, children, living


def ring(records: set[str], kin: Kinship, homes: Mapping[str, Sequence[Tenure]]) -> set[str]:
    """The uids of one ring about ``records``: their children and parents, those
    children's other parents, and everyone at the addresses (``homes``) of any of
    them; ``kin``: :func:`kinship`'s."""
    parents, children, living = kin
    found = {c for r in records for c in children.get(r, ())}
    found |= {p for r in records for p in parents.get(r, ())}
    found |= {p for c in found for p in parents.get(c, ())}
    addresses = {t.address for r in records | found for t in homes.get(r, ())}
    found |= {w for a in addresses for w in living[a]}
    return found
