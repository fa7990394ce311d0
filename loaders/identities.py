"""Who each identity record is, before linkage and after: the link stage's helpers.

Linkage (:mod:`loaders.linkage`) sees one :class:`Identity` per person named on a
record. Before it runs, the people already in the graph are read so that a new
extract's rows join them rather than copy them; after it, each cluster keeps the
person uid its records had, so uids stay put across loads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from graph.cypher import cypher
from graph.store import GraphStore
from loaders.build import person_uid
from loaders.linkage import Identity, plain
from loaders.people_kept import anchor_fields

# the fields adopt_existing matches on (loaders.people_kept.ANCHOR_FIELDS), in order
EXISTING_PEOPLE = cypher(
    "load.existing_people",
    """
    MATCH (p:Person)
    RETURN p.uid AS uid, p.given_name AS given_name, p.family_name AS family_name,
           p.dob AS dob, p.upn AS upn, p.nhs_number AS nhs_number, p.uln AS uln,
           p.la_child_id AS la_child_id
    """,
)
EXISTING_ASSIGNMENTS = cypher(
    "load.existing_assignments",
    "MATCH (s:SourceRecord)-[:DESCRIBES]->(p:Person) RETURN s.uid AS record, p.uid AS person",
)

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
                (n, getattr(ident, n))
                for n in ("upn", "nhs", "uln", "la_id")
                if getattr(ident, n) and ident.trusted
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
    ids: dict[str, set[str]] = {n: set() for n in ("upn", "nhs", "uln", "la_id")}
    days: set[str] = set()
    for key in wanted:
        if key[0] == "demographic":
            days.add(key[3])
        else:
            ids[key[0]].add(key[1])
    upns, nhss, ulns, la_ids = ids["upn"], ids["nhs"], ids["uln"], ids["la_id"]
    index: dict[tuple, str] = {}

    def hold(key: tuple, uid: str) -> None:
        seen = index.get(key)
        if seen is None or uid < seen:
            index[key] = uid

    for uid, (given, family, dob, upn, nhs, uln, la_id) in anchors.items():
        if upn in upns:
            hold(("upn", upn), uid)
        if nhs in nhss:
            hold(("nhs", nhs), uid)
        if uln in ulns:
            hold(("uln", uln), uid)
        if la_id in la_ids:
            hold(("la_id", la_id), uid)
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
    """Keep each cluster's earlier person uid where its records already had one (the
    commonest among them, a uid no cluster before it in root order kept); a new person's
    uid comes from its least record uid (:func:`person_uid`). On the load's critical path
    with the engine idle: a cluster whose records had one person uid no other cluster's
    records had (a delta's people, nearly all) keeps it, found in Arrow over every record
    at once; only the rest are worked out a cluster at a time, in root order."""
    rids = list(cluster_of)
    records = pa.table(
        {
            "rid": pa.array(rids, pa.string()),
            "root": pa.array(list(cluster_of.values()), pa.string()),
            "uid": pa.array(list(map(existing.get, rids)), pa.string()),
        }
    )
    # the clusters holding one earlier uid, which no other cluster holds
    pairs = records.filter(pc.is_valid(records["uid"]))
    pairs = pairs.group_by(["root", "uid"], use_threads=False).aggregate([])
    theirs = pairs.group_by("uid", use_threads=False).aggregate([("root", "count")])
    alone = theirs.filter(pc.equal(theirs["root_count"], 1))["uid"]
    held = pairs.group_by("root", use_threads=False).aggregate([("uid", "count"), ("uid", "min")])
    own = held.filter(
        pc.and_(pc.equal(held["uid_count"], 1), pc.is_in(held["uid_min"], value_set=alone))
    )
    # the rest, in root order: a uid is taken only from those of its own records, none of
    # which is another cluster's, so theirs are as if every cluster were worked out
    rest = records.filter(pc.invert(pc.is_in(records["root"], value_set=own["root"])))
    made = _person_uids(rest["rid"].to_pylist(), rest["root"].to_pylist(), existing)
    # a cluster keeps its own uid unless one before it in root order took it as a new
    # person's (a uid made from a record uid): then every cluster in turn
    roots, uids = own["root"].to_pylist(), own["uid_min"].to_pylist()
    uid_of = dict(zip(roots, uids, strict=True))
    first: dict[str, str] = {}  # a uid of theirs the rest took -> the first root taking it
    for root, uid in sorted(made.items(), reverse=True):
        first[uid] = root
    if any(first.get(uid, root) < root for root, uid in uid_of.items()):
        uid_of = _person_uids(rids, list(cluster_of.values()), existing)
        return dict(zip(rids, map(uid_of.__getitem__, cluster_of.values()), strict=True))
    uid_of.update(made)
    return dict(zip(rids, map(uid_of.__getitem__, cluster_of.values()), strict=True))


def _person_uids(rids: list[str], roots: list[str], existing: dict[str, str]) -> dict[str, str]:
    """Each cluster's person uid (cluster root -> uid), :func:`person_uids` a cluster at
    a time in root order (``rids`` and their ``roots``, in the records' order)."""
    least: dict[str, str] = {}  # cluster -> its least record uid
    for rid, root in zip(rids, roots, strict=True):
        seen = least.get(root)
        if seen is None or rid < seen:
            least[root] = rid
    earlier: dict[str, list[str]] = {}  # cluster -> its records' person uids, in order
    if existing:
        for rid, root in zip(rids, roots, strict=True):
            uid = existing.get(rid)
            if uid is not None:
                earlier.setdefault(root, []).append(uid)
    uid_of: dict[str, str] = {}
    used: set[str] = set()
    for root in sorted(least):  # the order decides which cluster keeps a shared uid
        found = earlier.get(root)
        uid = None
        if found:
            uid = next((u for u, _ in Counter(found).most_common() if u not in used), None)
        uid = uid or person_uid([least[root]])
        used.add(uid)
        uid_of[root] = uid
    return uid_of
