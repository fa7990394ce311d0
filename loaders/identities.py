"""Who each identity record is, before linkage and after: the link stage's helpers.

Linkage (:mod:`loaders.linkage`) sees one :class:`Identity` per person named on a
record. Before it runs, the people already in the graph are read so that a new
extract's rows join them rather than copy them; after it, each cluster keeps the
person uid its records had, so uids stay put across loads.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from graph.cypher import cypher
from graph.store import GraphStore
from loaders.build import person_uid
from loaders.linkage import Identity, plain

EXISTING_PEOPLE = cypher(
    "load.existing_people",
    """
    MATCH (p:Person)
    OPTIONAL MATCH (p)-[r:LIVES_AT]->(a:Address)
    WHERE r.to IS NULL
    WITH p, collect(a.postcode) AS postcodes
    RETURN p.uid AS uid, p.given_name AS given, p.family_name AS family, p.dob AS dob,
           p.sex AS sex, p.upn AS upn, p.nhs_number AS nhs, p.uln AS uln,
           p.la_child_id AS la_id, postcodes[0] AS postcode
    """,
)
EXISTING_ASSIGNMENTS = cypher(
    "load.existing_assignments",
    "MATCH (s:SourceRecord)-[:DESCRIBES]->(p:Person) RETURN s.uid AS record, p.uid AS person",
)


def existing_assignments(store: GraphStore) -> dict[str, str]:
    """Source record uid -> the person it describes, for every record in the graph."""
    rows = store.read(EXISTING_ASSIGNMENTS, max_rows=100_000_000).rows
    return {r["record"]: r["person"] for r in rows}


def adopt_existing(
    cluster_of: dict[str, str],
    identities: list[Identity],
    existing: dict[str, str],
    anchors: list[Identity],
) -> None:
    """New records whose person is already in the graph (from an earlier extract) join
    that person: on a checked identifier, or on exact name and date of birth. Only
    clusters none of whose records were loaded before are considered, so a reload of
    the same files never changes who is who."""
    if not anchors:
        return
    index: dict[tuple, str] = {}
    for a in anchors:
        uid = a.rid[1:]
        for name in ("upn", "nhs", "uln", "la_id"):
            if getattr(a, name):
                index.setdefault((name, getattr(a, name)), uid)
        if a.dob and a.given and a.family:
            index.setdefault(("demographic", plain(a.given), plain(a.family), a.dob), uid)
    members: dict[str, list[Identity]] = {}
    for ident in identities:
        members.setdefault(cluster_of[ident.rid], []).append(ident)
    for group in members.values():
        if any(i.rid in existing for i in group):
            continue
        found = None
        for ident in group:
            keys = [
                (n, getattr(ident, n))
                for n in ("upn", "nhs", "uln", "la_id")
                if getattr(ident, n) and ident.trusted
            ]
            if ident.dob and ident.given and ident.family:
                keys.append(("demographic", plain(ident.given), plain(ident.family), ident.dob))
            found = next((index[k] for k in keys if k in index), None)
            if found:
                break
        if found:
            for ident in group:
                existing[ident.rid] = found


def anchors(store: GraphStore) -> list[Identity]:
    """People already in the graph, so a new extract's rows join them, not copy them."""
    anchors = []
    for row in store.read(EXISTING_PEOPLE, max_rows=100_000_000).rows:
        dob = row["dob"]
        anchors.append(
            Identity(
                rid="@" + row["uid"],
                given=row["given"] or "",
                family=row["family"] or "",
                dob=dob.isoformat() if isinstance(dob, dt.date) else "",
                sex=row["sex"] or "",
                postcode=row["postcode"] or "",
                upn=row["upn"] or "",
                nhs=row["nhs"] or "",
                uln=row["uln"] or "",
                la_id=row["la_id"] or "",
            )
        )
    return anchors


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
            uid = next((u for u, _ in Counter(found).most_common() if u not in used), None)
        uid = uid or person_uid([least[root]])
        used.add(uid)
        uid_of[root] = uid
    return {rid: uid_of[root] for rid, root in cluster_of.items()}
