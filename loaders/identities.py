"""Who each identity record is, before linkage and after: the link stage's helpers.

Linkage (:mod:`loaders.linkage`) sees one :class:`Identity` per person named on a
record. Before it runs, the people already in the graph are read so that a new
extract's rows join them rather than copy them; after it, each cluster keeps the
person uid its records had, so uids stay put across loads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from graph.cypher import cypher
from graph.store import GraphStore
from loaders.build import person_uid
from loaders.linkage import Identity, plain
from loaders.linkage.identity import ID_FIELDS
from loaders.people_kept import ANCHOR_FIELDS, ID_PROPERTIES, anchor_fields

# the fields adopt_existing matches on (loaders.people_kept.ANCHOR_FIELDS), in order
EXISTING_PEOPLE = cypher(
    "load.existing_people",
    "MATCH (p:Person) RETURN p.uid AS uid, "
    + ", ".join(f"p.{name} AS {name}" for name in ANCHOR_FIELDS),
)
EXISTING_ASSIGNMENTS = cypher(
    "load.existing_assignments",
    "MATCH (s:SourceRecord)-[:DESCRIBES]->(p:Person) RETURN s.uid AS record, p.uid AS person",
)

# where each identifier linkage checks is in an anchor (ANCHOR_FIELDS)
_AT = {name: ANCHOR_FIELDS.index(ID_PROPERTIES[name]) for name in ID_FIELDS}
_NAME_AND_BIRTH = [ANCHOR_FIELDS.index(f) for f in ("given_name", "family_name", "dob")]

LINKED_PROBABILITIES = cypher(
    "load.linked_probabilities",
    """
    MATCH (s:SourceRecord)-[d:DESCRIBES]->(:Person)
    WHERE d.probability < 1
    RETURN s.uid AS record, d.probability AS probability
    """,
)


def linked_probabilities(store: GraphStore) -> dict[str, float]:
    """Source record uid -> the probability it describes its person, where under 1 (a
    record linked by probability; the rest hold 1)."""
    rows = store.read(LINKED_PROBABILITIES, max_rows=100_000_000).rows
    return {r["record"]: r["probability"] for r in rows}


def existing_assignments(store: GraphStore) -> dict[str, str]:
    """Source record uid -> the person it describes, for every record in the graph."""
    rows = store.read(EXISTING_ASSIGNMENTS, max_rows=100_000_000).rows
    return {r["record"]: r["person"] for r in rows}


def adopt_existing(
    cluster_of: dict[str, str],
    identities: list[Identity],
    existing: dict[str, str],
    anchors: Mapping[str, tuple[str, ...]],
) -> None:
    """New records whose person is already in the graph (from an earlier extract) join
    that person: on a checked identifier, or on exact name and date of birth. Only
    clusters none of whose records were loaded before are considered, so a reload of
    the same files never changes who is who. ``anchors``: the graph's people (person
    uid -> :data:`~loaders.people_kept.ANCHOR_FIELDS`, from :func:`anchors` or kept)."""
    if not anchors:
        return
    # the clusters with a record new to the graph, and of those the ones with no other
    # (a delta's are few: the rest of the work is only for them)
    new = {cluster_of[i.rid] for i in identities if i.rid not in existing}
    members: dict[str, list[Identity]] = {}
    for ident in identities:
        root = cluster_of[ident.rid]
        if root in new:
            members.setdefault(root, []).append(ident)
    groups = [g for g in members.values() if not any(i.rid in existing for i in g)]
    if not groups:
        return
    # each group's keys, in the order tried: a checked identifier, then name and birth date
    keys_of: list[list[tuple]] = []
    for group in groups:
        keys: list[tuple] = []
        for ident in group:
            keys += [
                (n, getattr(ident, n)) for n in ID_FIELDS if getattr(ident, n) and ident.trusted
            ]
            if ident.dob and ident.given and ident.family:
                keys.append(("demographic", plain(ident.given), plain(ident.family), ident.dob))
        keys_of.append(keys)
    index = _least_holders(anchors, {k for keys in keys_of for k in keys})
    for group, keys in zip(groups, keys_of, strict=True):
        found = next((index[k] for k in keys if k in index), None)
        if found:
            for ident in group:
                existing[ident.rid] = found


def _least_holders(anchors: Mapping[str, tuple[str, ...]], wanted: set[tuple]) -> dict[tuple, str]:
    """The least person uid holding each of the ``wanted`` keys among ``anchors``
    (:func:`adopt_existing`'s keys: a checked identifier, or name and birth date); the
    anchors' names are made plain only where their birth date is one wanted."""
    ids: dict[str, set[str]] = {n: set() for n in ID_FIELDS}
    days: set[str] = set()
    for key in wanted:
        if key[0] == "demographic":
            days.add(key[3])
        else:
            ids[key[0]].add(key[1])
    asked = [(_AT[name], name, ids[name]) for name in ID_FIELDS if ids[name]]
    index: dict[tuple, str] = {}

    def hold(key: tuple, uid: str) -> None:
        seen = index.get(key)
        if seen is None or uid < seen:
            index[key] = uid

    at_given, at_family, at_dob = _NAME_AND_BIRTH
    for uid, fields in anchors.items():
        for at, name, values in asked:
            if fields[at] in values:
                hold((name, fields[at]), uid)
        given, family, dob = fields[at_given], fields[at_family], fields[at_dob]
        if dob in days and given and family:
            key = ("demographic", plain(given), plain(family), dob)
            if key in wanted:
                hold(key, uid)
    return index


def anchors(store: GraphStore) -> dict[str, tuple[str, ...]]:
    """People already in the graph, so a new extract's rows join them, not copy them:
    person uid -> :data:`~loaders.people_kept.ANCHOR_FIELDS`."""
    rows = store.read(EXISTING_PEOPLE, max_rows=100_000_000).rows
    return {row["uid"]: anchor_fields(row) for row in rows}


def person_uids(cluster_of: dict[str, str], existing: dict[str, str]) -> dict[str, str]:
    """Keep each cluster's earlier person uid where its records already had one; a new
    person's uid comes from its least record uid (:func:`person_uid`). On the load's
    critical path with the engine idle, so no list of members per cluster is made."""
    least: dict[str, str] = {}  # cluster -> its least record uid
    for rid, root in cluster_of.items():
        seen = least.get(root)
        if seen is None or rid < seen:
            least[root] = rid
    earlier: dict[str, list[str]] = {}  # cluster -> its records' person uids, in order
    if existing:
        for rid, root in cluster_of.items():
            uid = existing.get(rid)
            if uid is not None:
                earlier.setdefault(root, []).append(uid)
    uid_of: dict[str, str] = {}
    used: set[str] = set()
    for root in sorted(least):  # the order decides which cluster keeps a shared uid
        found = earlier.get(root)
        uid = None
        if found:
            first = found[0]
            if found.count(first) == len(found):  # one earlier person (a delta's most)
                uid = first if first not in used else None
            else:
                uid = next((u for u, _ in Counter(found).most_common() if u not in used), None)
        uid = uid or person_uid([least[root]])
        used.add(uid)
        uid_of[root] = uid
    return {rid: uid_of[root] for rid, root in cluster_of.items()}
