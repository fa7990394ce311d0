"""The linkage review queue: possible duplicates a person decides on.

Pairs live in the graph as ``ReviewPair`` nodes keyed by the two *source records*
they propose to join (record uids are stable across loads; person uids can change
as clusters grow). A decision is stored on the pair, so every later load applies it:
accepted pairs are linked, rejected pairs are kept apart and not proposed again.
Accepting also merges the two people at once, so users see one record straight away.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from graph import risk_facts, schema
from graph.access.projection import mirror
from graph.cypher import cypher
from graph.planning import forget_needs_tally
from graph.store import GraphStore
from loaders import write
from loaders.linkage import ReviewCandidate


class ReviewError(ValueError):
    """A decision that cannot be applied (unknown pair, already decided)."""


def pair_uid(left: str, right: str) -> str:
    a, b = sorted((left, right))
    return "R-" + hashlib.sha1(f"{a}|{b}".encode()).hexdigest()[:16]


DECISIONS = cypher(
    "review.decisions",
    """
    MATCH (r:ReviewPair) WHERE r.status IN ['accepted', 'rejected']
    RETURN r.left_record AS left, r.right_record AS right, r.status AS status
    """,
)
# The pairs with both people still there (a pair whose person a merge removed waits for
# the next load), most likely first: picked before their people are read, so the page
# reads the 25 it shows, not the whole queue.
_PENDING_PAIRS = """
    MATCH (r:ReviewPair {status: 'pending'})-[:CANDIDATE]->(:Person)
    WITH r, count(*) AS people
    WHERE people = 2
"""
PENDING = cypher(
    "review.pending",
    _PENDING_PAIRS
    + """
    WITH r ORDER BY r.probability DESC, r.uid LIMIT $first
    MATCH (r)-[:CANDIDATE]->(p:Person)
    WITH r, p ORDER BY p.uid
    WITH r, collect({uid: p.uid, name: p.full_name, dob: p.dob, sources: p.sources}) AS people
    RETURN r.uid AS uid, r.probability AS probability, r.agreed AS agreed,
           r.created_at AS created_at, people
    ORDER BY probability DESC, uid
    """,
    example={"first": 25},
)
PENDING_COUNT = cypher("review.pending_count", _PENDING_PAIRS + "RETURN count(r) AS n")
PAIR = cypher(
    "review.pair",
    """
    MATCH (r:ReviewPair {uid: $uid})
    OPTIONAL MATCH (r)-[:CANDIDATE]->(p:Person)
    WITH r, p ORDER BY p.uid
    RETURN r.status AS status, collect(p.uid) AS people
    """,
    example={"uid": "R-1"},
)
DECIDE = cypher(
    "review.decide",
    """
    MATCH (r:ReviewPair {uid: $uid})
    SET r.status = $status, r.decided_by = $user, r.decided_at = $at
    """,
    example={"uid": "R-1", "status": "rejected", "user": "u", "at": "2026-11-02T10:00"},
    writes=True,
)


def _move_statements() -> dict[str, str]:
    """One statement per relationship type touching Person: move it from drop to keep."""
    statements: dict[str, str] = {}
    for rel in schema.REL_TYPES:
        if "Person" in rel.start.split("|"):
            statements[f"{rel.type}>"] = cypher(
                f"review.move_out_{rel.type.lower()}",
                f"""
                MATCH (d:Person {{uid: $drop}})-[r:{rel.type}]->(x)
                MATCH (k:Person {{uid: $keep}})
                WHERE x.uid <> k.uid
                CREATE (k)-[n:{rel.type}]->(x)
                SET n = properties(r)
                DELETE r
                """,
                example={"drop": "P-b", "keep": "P-a"},
                writes=True,
            )
        if "Person" in rel.end.split("|"):
            statements[f"<{rel.type}"] = cypher(
                f"review.move_in_{rel.type.lower()}",
                f"""
                MATCH (x)-[r:{rel.type}]->(d:Person {{uid: $drop}})
                MATCH (k:Person {{uid: $keep}})
                WHERE x.uid <> k.uid
                CREATE (x)-[n:{rel.type}]->(k)
                SET n = properties(r)
                DELETE r
                """,
                example={"drop": "P-b", "keep": "P-a"},
                writes=True,
            )
    return statements


MOVES = _move_statements()
DROP_PERSON = cypher(
    "review.drop_person",
    "MATCH (d:Person {uid: $drop}) DETACH DELETE d",
    example={"drop": "P-b"},
    writes=True,
)


def candidate_rows(
    candidates: list[ReviewCandidate], person_of: dict[str, str]
) -> tuple[list[dict], list[dict]]:
    """The pairs linkage left for a person to decide (``GraphRows.review_pairs``), and
    the two people each proposes to join (``review_links``): a load writes them with
    everything else (``write.MERGE_REVIEW_PAIRS``)."""
    rows = []
    links = []
    for c in candidates:
        uid = pair_uid(c.left, c.right)
        left, right = sorted((c.left, c.right))
        rows.append(
            {
                "uid": uid,
                "probability": c.probability,
                "agreed": c.agreed,
                "left_record": left,
                "right_record": right,
            }
        )
        a, b = person_of.get(left), person_of.get(right)
        if a and b and a != b:
            links.append({"uid": uid, "left": a, "right": b})
    return rows, links


def decisions(store: GraphStore) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    accepted, rejected = [], []
    for row in store.read(DECISIONS, max_rows=10_000_000).rows:
        pair = (row["left"], row["right"])
        (accepted if row["status"] == "accepted" else rejected).append(pair)
    return accepted, rejected


def pending(store: GraphStore, first: int | None = None) -> list[dict]:
    """Pairs awaiting a decision, most likely first, with both people: the first
    ``first`` of them, or as many as a read may return."""
    limit = store.max_rows if first is None else first
    return store.read(PENDING, {"first": limit}, max_rows=limit).rows


def pending_count(store: GraphStore) -> int:
    """How many pairs await a decision."""
    return int(store.read(PENDING_COUNT).scalar() or 0)


def decide(store: GraphStore, uid: str, accept: bool, user: str) -> str:
    """Record the decision; on accept, merge the two people now. Returns the kept uid."""
    if accept and store.bulk_load_running():
        # the merge deletes a person, whose internal id the load may be using
        raise ReviewError(
            "a load is writing new records just now (or stopped part way: run it again); "
            "accept this pair once it has finished"
        )
    rows = store.read(PAIR, {"uid": uid}).rows
    if not rows or rows[0]["status"] is None:
        raise ReviewError(f"no review pair {uid!r}")
    if rows[0]["status"] != "pending":
        raise ReviewError(f"review pair {uid} was already {rows[0]['status']}")
    if not user.strip():
        raise ReviewError("a decision needs the name of the person making it")
    people = rows[0]["people"]
    at = dt.datetime.now().isoformat(timespec="seconds")
    status = "accepted" if accept else "rejected"
    store.write(DECIDE, {"uid": uid, "status": status, "user": user, "at": at})
    # the analysts' copy takes the same change, by pseudonyms (and without the reviewer)
    copy = mirror(store)
    if copy is not None:
        pair = copy.uid("ReviewPair", uid)
        copy.store.write(DECIDE, {"uid": pair, "status": status, "user": None, "at": at})
    if not accept or len(people) != 2:
        return ""
    keep, drop = sorted(people)
    merge_people(store, keep, drop)
    if copy is not None:
        merge_people(copy.store, copy.uid("Person", keep), copy.uid("Person", drop))
        copy.forget_person(drop)
    return keep


def merge_people(store: GraphStore, keep: str, drop: str) -> None:
    """Move every relationship of ``drop`` onto ``keep``, then remove ``drop``.

    ``keep`` now has both people's cases and records, so the facts a load derived for
    it are worked out again (open services) or forgotten until the next load (kept
    risk factors: the risk list works ``keep`` out from the records meanwhile; the needs
    forecast's tally: the forecast counts from the records meanwhile).
    """
    for statement in MOVES.values():
        store.write(statement, {"keep": keep, "drop": drop})
    store.write(DROP_PERSON, {"drop": drop})
    store.write(write.DERIVE_OPEN_SERVICES_FOR, {"uid": keep})
    risk_facts.clear(store, keep)
    forget_needs_tally(store)  # one child fewer: the forecast counts from the records
