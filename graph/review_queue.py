"""The linkage review queue: possible duplicates a person decides on, and undoes.

Read and decided only through ``graph.access.guard`` (the one door for every page).

Pairs live in the graph as ``ReviewPair`` nodes keyed by the two *source records*
they propose to join (record uids are stable across loads; person uids can change
as clusters grow). Each carries why it was proposed (``evidence``, in words), the rule
a link would break when that is why linkage did not make it (``reason``), and how many
children's family networks the decision changes (``impact``, the queue's order).

A decision is stored on the pair, so every later load applies it: accepted pairs are
linked, rejected pairs are kept apart and not proposed again. Accepting also merges the
two people at once, so users see one record straight away: every relationship of the
person merged away moves to the one kept, marked with the pair's uid, and the person
merged away is kept aside as a ``MergedPerson``. Undoing an accept moves the marked
relationships back and restores the person; undoing either decision returns the pair
to the queue. Decisions are labelled pairs: :func:`threshold_feedback` says how the
thresholds would move if they were followed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from graph import risk_facts, schema, version, views
from graph.access.projection import mirror
from graph.cypher import cypher
from graph.planning import forget_kept_tallies
from graph.store import GraphStore

# Linkage joins a pair scoring at least MATCH_THRESHOLD and leaves one scoring at least
# REVIEW_THRESHOLD to a person (``loaders.linkage``); reviewers' decisions are measured
# against them (:func:`threshold_feedback`).
MATCH_THRESHOLD = 0.90
REVIEW_THRESHOLD = 0.50


class ReviewError(ValueError):
    """A decision that cannot be applied (unknown pair, already decided)."""


def pair_uid(left: str, right: str) -> str:
    a, b = sorted((left, right))
    return "R-" + hashlib.sha1(f"{a}|{b}".encode()).hexdigest()[:16]


DECISIONS = cypher(
    "review.decisions",
    """
    MATCH (r:ReviewPair) WHERE r.status IN ['accepted', 'rejected']
    RETURN r.left_record AS left, r.right_record AS right, r.status AS status,
           r.probability AS probability, r.reason AS reason
    """,
)
# The pairs with both people still there (a pair whose person a merge removed waits for
# the next load), most consequential first: picked before their people are read, so the page
# reads the 25 it shows, not the whole queue.
_PENDING_PAIRS = """
    MATCH (r:ReviewPair {status: 'pending'})-[:CANDIDATE]->(:Person)
    WITH r, count(*) AS people
    WHERE people = 2
"""
# the people a pair's evidence names (its own two among them): whoever holds the records
NAMED = cypher(
    "review.named",
    """
    UNWIND $records AS record
    MATCH (:SourceRecord {uid: record})-[:DESCRIBES]->(p:Person)
    RETURN DISTINCT p.uid AS uid
    """,
    example={"records": ["S-1"]},
)
PENDING = cypher(
    "review.pending",
    _PENDING_PAIRS
    + """
    WITH r ORDER BY coalesce(r.impact, 0) DESC, r.probability DESC, r.uid LIMIT $first
    MATCH (r)-[:CANDIDATE]->(p:Person)
    WITH r, p ORDER BY p.uid
    WITH r, collect({uid: p.uid, name: p.full_name, dob: p.dob, sources: p.sources}) AS people
    RETURN r.uid AS uid, r.probability AS probability, r.agreed AS agreed,
           r.evidence AS evidence, r.reason AS reason, coalesce(r.impact, 0) AS impact,
           r.created_at AS created_at, people, r.named_records AS named_records
    ORDER BY impact DESC, probability DESC, uid
    """,
    example={"first": 25},
)
RECENT = cypher(
    "review.recent",
    """
    MATCH (r:ReviewPair) WHERE r.status IN ['accepted', 'rejected']
    OPTIONAL MATCH (r)-[:CANDIDATE]->(p:Person)
    OPTIONAL MATCH (m:MergedPerson {merged_by: r.uid})
    WITH r, collect(DISTINCT p.full_name) + collect(DISTINCT m.full_name) AS names,
         collect(DISTINCT p.uid) + collect(DISTINCT m.uid) AS people
    RETURN r.uid AS uid, r.status AS status, r.decided_by AS decided_by,
           r.decided_at AS decided_at, r.probability AS probability, names, people
    ORDER BY decided_at DESC, uid
    LIMIT $limit
    """,
    example={"limit": 10},
)
PENDING_COUNT = cypher("review.pending_count", _PENDING_PAIRS + "RETURN count(r) AS n")
PAIR = cypher(
    "review.pair",
    """
    MATCH (r:ReviewPair {uid: $uid})
    OPTIONAL MATCH (r)-[:CANDIDATE]->(p:Person)
    WITH r, p ORDER BY p.uid
    RETURN r.status AS status, r.probability AS probability, r.agreed AS agreed,
           r.evidence AS evidence, r.reason AS reason, coalesce(r.impact, 0) AS impact,
           r.left_record AS left_record, r.right_record AS right_record,
           r.merged_keep AS keep, r.merged_drop AS drop, collect(DISTINCT p.uid) AS people,
           r.named_records AS named_records
    """,
    example={"uid": "R-1"},
)
SOURCES = cypher(
    "review.sources",
    """
    MATCH (s:SourceRecord)-[d:DESCRIBES]->(p:Person {uid: $uid})
    RETURN s.uid AS record, s.source AS source, s.file AS file, s.row AS row,
           d.probability AS probability
    ORDER BY source, file, row
    LIMIT 200
    """,
    example={"uid": "P-x"},
)
DECIDE = cypher(
    "review.decide",
    """
    MATCH (r:ReviewPair {uid: $uid})
    SET r.status = $status, r.decided_by = $user, r.decided_at = $at,
        r.merged_keep = $keep, r.merged_drop = $drop
    """,
    example={
        "uid": "R-1",
        "status": "rejected",
        "user": "u",
        "at": "2026-11-02T10:00",
        "keep": None,
        "drop": None,
    },
    writes=True,
)
REOPEN = cypher(
    "review.reopen",
    """
    MATCH (r:ReviewPair {uid: $uid})
    SET r.status = 'pending', r.undone_by = $user, r.undone_at = $at, r.decided_by = NULL,
        r.decided_at = NULL, r.merged_keep = NULL, r.merged_drop = NULL
    """,
    example={"uid": "R-1", "user": "u", "at": "2026-11-02T10:00"},
    writes=True,
)
RETIRE = cypher(
    "review.retire_person",
    """
    MATCH (d:Person {uid: $drop})
    SET d.merged_into = $keep, d.merged_by = $pair, d.merged_labels = labels(d)
    REMOVE d:Person, d:Child, d:Adult
    SET d:MergedPerson
    """,
    example={"drop": "P-b", "keep": "P-a", "pair": "R-1"},
    writes=True,
)
RETIRED = cypher(
    "review.retired",
    "MATCH (d:MergedPerson {merged_by: $pair}) RETURN d.uid AS uid",
    example={"pair": "R-1"},
)
TAKEN = cypher(
    "review.uid_taken",
    "MATCH (p:Person {uid: $uid}) RETURN count(p) AS n",
    example={"uid": "P-b"},
)
RESTORE = cypher(
    "review.restore_person",
    """
    MATCH (d:MergedPerson {uid: $drop, merged_by: $pair})
    REMOVE d:MergedPerson
    SET d:Person
    """,
    example={"drop": "P-b", "pair": "R-1"},
    writes=True,
)
# the labels a person had besides Person (schema: Child or Adult), one statement each
RESTORE_LABELS = {
    label: cypher(
        f"review.restore_label_{label.lower()}",
        f"""
        MATCH (d:Person {{uid: $drop}})
        WHERE '{label}' IN d.merged_labels
        SET d:{label}
        """,
        example={"drop": "P-b"},
        writes=True,
    )
    for label in schema.node_type("Person").extra_labels
}
FORGET_MERGE = cypher(
    "review.forget_merge",
    """
    MATCH (d:Person {uid: $drop})
    REMOVE d.merged_into, d.merged_by, d.merged_labels
    """,
    example={"drop": "P-b"},
    writes=True,
)

# a merged person's open services worked out again (``loaders.derive`` does it for a load)
OPEN_SERVICES_FOR = cypher(
    "load.derive_open_services_for",
    """
    MATCH (p:Person {uid: $uid})
    OPTIONAL MATCH (p)-[:HAS_CASE]->(k:Case {status: 'open'})-[:WITH_SERVICE]->(s:Service)
    WITH p, collect(DISTINCT s.uid) AS services, collect(DISTINCT k.kind) AS kinds
    SET p.open_services = services, p.open_case_kinds = kinds,
        p.open_service_count = size(services)
    """,
    example={"uid": "P-x"},
    writes=True,
)


def _move_statements(back: bool) -> dict[str, str]:
    """One statement per relationship type touching Person: move it from ``$drop`` to
    ``$keep`` marking it with the pair (a merge), or back unmarking it (its undo)."""
    source, target = ("keep", "drop") if back else ("drop", "keep")
    mark = "{merged_by: $pair}" if back else ""
    tag = "REMOVE n.merged_by" if back else "SET n.merged_by = $pair"
    verb = "back" if back else "out"
    statements: dict[str, str] = {}
    for rel in schema.REL_TYPES:
        if "Person" in rel.start.split("|"):
            statements[f"{rel.type}>"] = cypher(
                f"review.move_{verb}_{rel.type.lower()}",
                f"""
                MATCH (d:Person {{uid: ${source}}})-[r:{rel.type} {mark}]->(x)
                MATCH (k:Person {{uid: ${target}}})
                WHERE x.uid <> k.uid
                CREATE (k)-[n:{rel.type}]->(x)
                SET n = properties(r)
                {tag}
                DELETE r
                """,
                example={"drop": "P-b", "keep": "P-a", "pair": "R-1"},
                writes=True,
            )
        if "Person" in rel.end.split("|"):
            statements[f"<{rel.type}"] = cypher(
                f"review.move_{verb}_in_{rel.type.lower()}",
                f"""
                MATCH (x)-[r:{rel.type} {mark}]->(d:Person {{uid: ${source}}})
                MATCH (k:Person {{uid: ${target}}})
                WHERE x.uid <> k.uid
                CREATE (x)-[n:{rel.type}]->(k)
                SET n = properties(r)
                {tag}
                DELETE r
                """,
                example={"drop": "P-b", "keep": "P-a", "pair": "R-1"},
                writes=True,
            )
    return statements


MOVES = _move_statements(back=False)
MOVES_BACK = _move_statements(back=True)


def decisions(store: GraphStore) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    accepted, rejected = [], []
    for row in store.read(DECISIONS, max_rows=10_000_000).rows:
        pair = (row["left"], row["right"])
        (accepted if row["status"] == "accepted" else rejected).append(pair)
    return accepted, rejected


def pending(store: GraphStore, first: int | None = None) -> list[dict]:
    """Pairs awaiting a decision, with both people, those whose decision changes most
    children's family networks first (then the likeliest): the first ``first`` of them,
    or as many as a read may return."""
    limit = store.max_rows if first is None else first
    return store.read(PENDING, {"first": limit}, max_rows=limit).rows


def named(store: GraphStore, records: Iterable[str | None] | None) -> list[str]:
    """The people now holding the records a pair's evidence named (``named_records``):
    those a view showing the evidence discloses."""
    wanted = sorted({r for r in records or () if r})
    return [r["uid"] for r in store.read(NAMED, {"records": wanted}).rows] if wanted else []


def pending_count(store: GraphStore) -> int:
    """How many pairs await a decision."""
    return int(store.read(PENDING_COUNT).scalar() or 0)


def recent(store: GraphStore, limit: int = 10) -> list[dict]:
    """The latest decisions, newest first, with the people's names (for undo)."""
    return store.read(RECENT, {"limit": limit}).rows


def pair(store: GraphStore, uid: str) -> dict:
    """A pair with everything a person needs to decide it: for each side, the person's
    fields, addresses over time, family and source records."""
    rows = store.read(PAIR, {"uid": uid}).rows
    if not rows or rows[0]["status"] is None:
        raise ReviewError(f"no review pair {uid!r}")
    found = rows[0]
    people = list(found["people"])
    sides = []
    for person in people:
        record = store.read(views.PERSON, {"uid": person}).rows
        family = store.read(views.FAMILY, {"uid": person}).rows
        sides.append(
            {
                "person": record[0] if record else {"uid": person},
                "addresses": store.read(views.ADDRESSES, {"uid": person}).rows,
                "family": [
                    m
                    for group in ("parents", "children", "siblings")
                    for m in (family[0][group] if family else [])
                    if m.get("uid")
                ],
                "sources": store.read(SOURCES, {"uid": person}).rows,
            }
        )
    return {**{k: v for k, v in found.items() if k != "people"}, "uid": uid, "sides": sides}


def _loading(store: GraphStore) -> bool:
    """Whether a load is writing the graph (or stopped part way). A merge or its undoing
    waits for it: the load works out people's answers and tallies from what it read
    before (a merge then would be written over, or missed), and its bulk insertion names
    nodes by internal ids that a person moved aside would give up."""
    return store.bulk_load_running() or version.loading_since(store) is not None


def decide(store: GraphStore, uid: str, accept: bool, user: str) -> str:
    """Record the decision; on accept, merge the two people now. Returns the kept uid."""
    if accept and _loading(store):
        raise ReviewError(
            "a load is writing the graph just now (or stopped part way: run it again); "
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
    keep, drop = sorted(people) if accept and len(people) == 2 else (None, None)
    version.stamp(store)  # what loads kept no longer describes the graph
    store.write(
        DECIDE, {"uid": uid, "status": status, "user": user, "at": at, "keep": keep, "drop": drop}
    )
    # the analysts' copy takes the same change, by pseudonyms (and without the reviewer)
    copy = mirror(store)
    if copy is not None:
        copied = copy.uid("ReviewPair", uid)
        copy.store.write(
            DECIDE,
            {"uid": copied, "status": status, "user": None, "at": at, "keep": None, "drop": None},
        )
    if keep is None or drop is None:
        return ""
    merge_people(store, keep, drop, uid)
    if copy is not None:
        pair_copy = copy.uid("ReviewPair", uid)
        merge_people(copy.store, copy.uid("Person", keep), copy.uid("Person", drop), pair_copy)
        copy.forget_person(drop)
    return keep


def undo(store: GraphStore, uid: str, user: str) -> None:
    """Return a decided pair to the queue; an accepted pair's merge is undone first (the
    person merged away restored with every relationship the merge moved)."""
    rows = store.read(PAIR, {"uid": uid}).rows
    if not rows or rows[0]["status"] is None:
        raise ReviewError(f"no review pair {uid!r}")
    found = rows[0]
    if found["status"] not in ("accepted", "rejected"):
        raise ReviewError(f"review pair {uid} has no decision to undo")
    if not user.strip():
        raise ReviewError("undoing a decision needs the name of the person doing it")
    at = dt.datetime.now().isoformat(timespec="seconds")
    if found["status"] == "accepted":
        if _loading(store):
            raise ReviewError(
                "a load is writing the graph just now (or stopped part way: run it again); "
                "undo this decision once it has finished"
            )
        keep, drop = found["keep"], found["drop"]
        if not (keep and drop) or not store.read(RETIRED, {"pair": uid}).rows:
            raise ReviewError(f"review pair {uid}'s merge cannot be found to undo")
        if store.read(TAKEN, {"uid": drop}).rows[0]["n"]:
            raise ReviewError(
                f"a load has since given {drop}'s uid to someone: reject the pair instead"
            )
    version.stamp(store)  # what loads kept no longer describes the graph
    if found["status"] == "accepted":
        unmerge_people(store, keep, drop, uid)
    # the analysts' copy takes the undo too, by pseudonyms (and without who undid it)
    copy = mirror(store)
    if copy is not None:
        pair_copy = copy.uid("ReviewPair", uid)
        retired = copy.store.read(RETIRED, {"pair": pair_copy}).rows
        if found["status"] == "accepted" and retired:
            unmerge_people(copy.store, copy.uid("Person", keep), retired[0]["uid"], pair_copy)
            copy.restore_person(drop)
        copy.store.write(REOPEN, {"uid": pair_copy, "user": None, "at": at})
    store.write(REOPEN, {"uid": uid, "user": user, "at": at})


def merge_people(store: GraphStore, keep: str, drop: str, pair: str) -> None:
    """Move every relationship of ``drop`` onto ``keep`` (marked with ``pair``), then set
    ``drop`` aside as a MergedPerson.

    ``keep`` now has both people's cases and records, so the facts a load derived for
    it are worked out again (open services) or forgotten until the next load (kept
    risk factors: the risk list works ``keep`` out from the records meanwhile; the needs
    forecast's and the caseload map's tallies: counted from the records meanwhile).
    """
    for statement in MOVES.values():
        store.write(statement, {"keep": keep, "drop": drop, "pair": pair})
    store.write(RETIRE, {"drop": drop, "keep": keep, "pair": pair})
    store.write(OPEN_SERVICES_FOR, {"uid": keep})
    risk_facts.clear(store, keep)
    forget_kept_tallies(store)  # one child fewer, cases moved: counted from the records


def unmerge_people(store: GraphStore, keep: str, drop: str, pair: str) -> None:
    """Undo :func:`merge_people`: ``drop`` back as a person, with what the merge moved."""
    store.write(RESTORE, {"drop": drop, "pair": pair})
    for statement in RESTORE_LABELS.values():
        store.write(statement, {"drop": drop})
    store.write(FORGET_MERGE, {"drop": drop})
    for statement in MOVES_BACK.values():
        store.write(statement, {"keep": keep, "drop": drop, "pair": pair})
    for uid in (keep, drop):
        store.write(OPEN_SERVICES_FOR, {"uid": uid})
        risk_facts.clear(store, uid)
    forget_kept_tallies(store)  # one child more: counted from the records


@dataclass(frozen=True)
class Feedback:
    """What reviewers' decisions say about the thresholds: each decided pair is a
    labelled pair (accepted: one person; rejected: two)."""

    accepted: tuple[float, ...]  # their probabilities
    rejected: tuple[float, ...]
    match_threshold: float = MATCH_THRESHOLD
    review_threshold: float = REVIEW_THRESHOLD

    def suggested_match(self) -> float | None:
        """The lowest threshold that would have linked no rejected pair, if it links any
        accepted one the current threshold left for review."""
        above = max(self.rejected, default=self.review_threshold)
        candidates = sorted(p for p in self.accepted if p > above)
        return round(candidates[0], 2) if candidates else None

    def __str__(self) -> str:
        if not self.accepted and not self.rejected:
            return "No decisions yet: the thresholds stand as set."
        words = [
            f"{len(self.accepted)} pair(s) accepted{_span(self.accepted)}",
            f"{len(self.rejected)} rejected{_span(self.rejected)}",
        ]
        text = "Reviewers' decisions: " + ", ".join(words) + ". "
        wrong = [p for p in self.rejected if p >= self.match_threshold]
        suggested = self.suggested_match()
        if suggested is not None and suggested < self.match_threshold:
            linked = sum(p >= suggested for p in self.accepted)
            text += (
                f"A match threshold of {suggested:.0%} (now {self.match_threshold:.0%}) would "
                f"have linked {linked} of the accepted pairs and none of the rejected."
            )
        elif wrong:
            text += f"{len(wrong)} rejected pair(s) scored above the match threshold."
        else:
            text += f"They agree with the match threshold of {self.match_threshold:.0%}."
        low = [p for p in self.accepted if p < self.review_threshold + 0.1]
        if low:
            text += (
                f" {len(low)} accepted pair(s) scored near the review threshold "
                f"({self.review_threshold:.0%}): lowering it would show more such pairs."
            )
        return text


def _span(scores: tuple[float, ...]) -> str:
    return f" (scored {min(scores):.0%} to {max(scores):.0%})" if scores else ""


def threshold_feedback(store: GraphStore) -> Feedback:
    """Reviewers' decisions as labelled pairs; pairs left for a broken rule are not a
    measure of the threshold and are left out."""
    accepted: list[float] = []
    rejected: list[float] = []
    for row in store.read(DECISIONS, max_rows=10_000_000).rows:
        if row["reason"] or row["probability"] is None:
            continue
        (accepted if row["status"] == "accepted" else rejected).append(float(row["probability"]))
    return Feedback(tuple(sorted(accepted)), tuple(sorted(rejected)))
