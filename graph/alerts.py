"""The reads and writes behind alerts: the state a load may change, the alerts it
raises, and a professional's own list. What counts as a change is decided in
:mod:`planning.alerts`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from graph.cypher import cypher, relationship_types
from graph.store import GraphStore

# what alerts compare, for each child matched with an open case someone holds
_WATCHED_STATE = """
    WITH c, collect(DISTINCT w.uid) AS workers, collect(DISTINCT k.kind) AS kinds
    OPTIONAL MATCH (c)-[l:LIVES_AT]->(a:Address)
    WHERE l.to IS NULL
    WITH c, workers, kinds, collect(DISTINCT {uid: a.uid, name: a.postcode_district}) AS addresses
    OPTIONAL MATCH (c)-[r:ATTENDS]->(s:School)
    WHERE r.to IS NULL
    WITH c, workers, kinds, addresses, collect(DISTINCT {uid: s.uid, name: s.name}) AS schools
    OPTIONAL MATCH (c)-[t:ATTENDANCE]->(:School)
    WITH c, workers, kinds, addresses, schools,
         collect({term: t.term, start: t.term_start, possible: t.possible,
                  absent: t.absent}) AS terms
    OPTIONAL MATCH (c)<-[:PARENT_OF]-(:Person)-[:PARENT_OF]->(sib:Person)-[:HAS_CASE]->(sk:Case)
    WHERE sib.uid <> c.uid AND sk.status = 'open' AND sk.kind IN ['CIN', 'CP', 'CLA']
    RETURN c.uid AS child, c.full_name AS name, workers, kinds, addresses, schools, terms,
           collect(DISTINCT {uid: sib.uid, name: sib.full_name}) AS siblings_in_care
    """
_OPEN_HELD = "WHERE k.status = 'open' AND wo.to IS NULL"
WATCHED = cypher(
    "alerts.watched",
    "MATCH (w:Professional)-[wo:WORKS_ON]->(k:Case)<-[:HAS_CASE]-(c:Person) "
    + _OPEN_HELD
    + _WATCHED_STATE,
)
# the same for some children only (those a delta load touched)
WATCHED_OF = cypher(
    "alerts.watched_of",
    "MATCH (c:Person) WHERE c.uid IN $people "
    "MATCH (w:Professional)-[wo:WORKS_ON]->(k:Case)<-[:HAS_CASE]-(c) "
    + _OPEN_HELD
    + _WATCHED_STATE,
    example={"people": ["P-x"]},
)
# the relationship types the watched state follows: a change to one names the people
# (and cases) whose state it may change
WATCHED_RELS = relationship_types(WATCHED)
# whose watched state a change may have changed: a person touched (their own rows, or
# a relationship's); the owners of a case touched; those living at an address or on the
# roll of a school whose own rows changed (its name is in the state); then each of those
# people's children and siblings (a sibling's case, name or parent is in it). The owners
# of cases are also whose open services a delta derives again (loaders.load).
NEAR = {
    "Case": cypher(
        "alerts.near_case",
        "MATCH (x:Case) WHERE x.uid IN $uids MATCH (p:Person)-[:HAS_CASE]->(x) "
        "RETURN DISTINCT p.uid AS uid",
        example={"uids": ["x"]},
    ),
    "Address": cypher(
        "alerts.near_address",
        "MATCH (x:Address) WHERE x.uid IN $uids MATCH (p:Person)-[l:LIVES_AT]->(x) "
        "WHERE l.to IS NULL RETURN DISTINCT p.uid AS uid",
        example={"uids": ["x"]},
    ),
    "School": cypher(
        "alerts.near_school",
        "MATCH (x:School) WHERE x.uid IN $uids MATCH (p:Person)-[l:ATTENDS]->(x) "
        "WHERE l.to IS NULL RETURN DISTINCT p.uid AS uid",
        example={"uids": ["x"]},
    ),
}
FAMILY = cypher(
    "alerts.family",
    """
    MATCH (p:Person) WHERE p.uid IN $people
    OPTIONAL MATCH (p)-[:PARENT_OF]->(c:Person)
    OPTIONAL MATCH (p)<-[:PARENT_OF]-(:Person)-[:PARENT_OF]->(s:Person)
    WITH collect(DISTINCT c.uid) + collect(DISTINCT s.uid) AS near
    UNWIND near AS uid
    RETURN DISTINCT uid
    """,
    example={"people": ["P-x"]},
)
RAISE = cypher(
    "alerts.raise",
    """
    UNWIND $rows AS row
    MATCH (w:Professional {uid: row.worker})
    MATCH (c:Person {uid: row.child})
    MERGE (a:Alert {uid: row.uid})
    ON CREATE SET a.kind = row.kind, a.key = row.key, a.text = row.text, a.child = row.child,
                  a.created_at = row.created_at, a.status = 'new'
    MERGE (w)-[:ALERTED]->(a)
    MERGE (a)-[:ABOUT]->(c)
    """,
    example={"rows": []},
    writes=True,
)
FOR_PROFESSIONAL = cypher(
    "alerts.for_professional",
    """
    MATCH (w:Professional {uid: $worker})-[:ALERTED]->(a:Alert)-[:ABOUT]->(c:Person)
    WHERE $include_seen OR a.status = 'new'
    RETURN a.uid AS uid, a.kind AS kind, a.text AS text, a.created_at AS created_at,
           a.status AS status, c.uid AS child_uid, c.full_name AS child_name
    ORDER BY created_at DESC, uid
    """,
    example={"worker": "W-x", "include_seen": True},
)
FOR_TEAMS = cypher(
    "alerts.for_teams",
    """
    MATCH (t:Team)<-[:IN_TEAM]-(w:Professional)-[:ALERTED]->(a:Alert)-[:ABOUT]->(c:Person)
    WHERE t.uid IN $teams AND ($include_seen OR a.status = 'new')
    RETURN a.uid AS uid, a.kind AS kind, a.text AS text, a.created_at AS created_at,
           a.status AS status, c.uid AS child_uid, c.full_name AS child_name,
           w.name AS for_worker
    ORDER BY created_at DESC, uid
    """,
    example={"teams": ["T001"], "include_seen": False},
)
MARK_SEEN = cypher(
    "alerts.mark_seen",
    """
    MATCH (w:Professional {uid: $worker})-[:ALERTED]->(a:Alert {uid: $uid})
    SET a.status = 'seen', a.seen_at = $at
    RETURN a.child AS child
    """,
    example={"worker": "W-x", "uid": "A-x", "at": "2026-11-22T10:00"},
    writes=True,
)
COUNT = cypher("alerts.count", "MATCH (a:Alert) RETURN count(a) AS alerts")


def watched(store: GraphStore, people: list[str] | None = None) -> list[dict[str, Any]]:
    """Children with an open, allocated case, with what alerts compare across loads
    (``people``: of those children only)."""
    if people is None:
        rows = store.read(WATCHED, max_rows=100_000_000).rows
    else:
        rows = store.read(WATCHED_OF, {"people": people}, max_rows=100_000_000).rows
    for row in rows:
        for key in ("addresses", "schools", "siblings_in_care"):
            row[key] = [x for x in row[key] if x.get("uid") is not None]
        row["terms"] = [
            {**x, "start": x["start"].isoformat() if isinstance(x["start"], dt.date) else None}
            for x in row["terms"]
            if x.get("term") is not None
        ]
    return rows


def near(
    store: GraphStore, people: set[str], cases: set[str], places: dict[str, set[str]]
) -> set[str]:
    """The people whose watched state may have changed when these ``people`` and
    ``cases`` were touched and these ``places`` (label: ``Address``, ``School`` -> uids)
    changed (:data:`NEAR`, :data:`FAMILY`)."""
    found = set(people)
    for label, uids in (("Case", cases), *places.items()):
        if uids:
            rows = store.read(NEAR[label], {"uids": sorted(uids)}, max_rows=100_000_000).rows
            found.update(r["uid"] for r in rows)
    if found:
        rows = store.read(FAMILY, {"people": sorted(found)}, max_rows=100_000_000).rows
        found.update(r["uid"] for r in rows if r["uid"] is not None)
    return found


def raise_alerts(store: GraphStore, rows: list[dict[str, Any]]) -> int:
    """MERGE on a uid made from the change and the recipient: raised once, ever."""
    if not rows:
        return 0
    return store.write_rows(RAISE, rows).nodes_created


def for_professional(
    store: GraphStore, worker: str, *, include_seen: bool = False
) -> list[dict[str, Any]]:
    return store.read(FOR_PROFESSIONAL, {"worker": worker, "include_seen": include_seen}).rows


def for_teams(
    store: GraphStore, teams: list[str], *, include_seen: bool = False
) -> list[dict[str, Any]]:
    """A manager's view: alerts for every professional in their teams."""
    return store.read(FOR_TEAMS, {"teams": teams, "include_seen": include_seen}).rows


def mark_seen(store: GraphStore, worker: str, uid: str) -> str | None:
    at = dt.datetime.now().isoformat(timespec="seconds")
    rows = store.write(MARK_SEEN, {"worker": worker, "uid": uid, "at": at}).returned
    return rows[0]["child"] if rows else None


def count(store: GraphStore) -> int:
    return store.read(COUNT).rows[0]["alerts"]
