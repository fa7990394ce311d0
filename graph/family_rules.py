"""What a family in the graph cannot be, and where it already is.

The rules linkage keeps when it joins records (``loaders.linkage.clusters``), stated
here once for what is already in the data: a parent at least :data:`PARENT_MIN_AGE`
years older than their child, no one both parent and sibling of a child, at most two
birth parents. A load quarantines a relationship row that breaks the age rule; what
remains (two sources that disagree, a reviewer's merge) is shown as a warning on the
record and in the network, never silently.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from graph.cypher import cypher
from graph.dates import read_day
from graph.store import COUNTY_WIDE_READ_TIMEOUT_MS, GraphStore

PARENT_MIN_AGE = 12  # years older than the child, at least
CHILD_AGE = 18  # a child is younger than this on the day
BIRTH = "birth"


def too_young_to_parent(parent_dob: object, child_dob: object) -> bool:
    """Both dates known and the parent fewer than PARENT_MIN_AGE years older."""
    parent_dob, child_dob = read_day(parent_dob), read_day(child_dob)
    if parent_dob is None or child_dob is None:
        return False
    try:
        latest = child_dob.replace(year=child_dob.year - PARENT_MIN_AGE)
    except ValueError:  # 29 February
        latest = child_dob.replace(year=child_dob.year - PARENT_MIN_AGE, day=28)
    return parent_dob > latest


@dataclass(frozen=True)
class ParentLink:
    """One PARENT_OF, with what the rules need."""

    parent: str
    child: str
    kind: str | None
    parent_dob: dt.date | None
    child_dob: dt.date | None
    parent_name: str | None = None
    child_name: str | None = None


def breaks(links: Iterable[ParentLink]) -> list[tuple[str, str, str]]:
    """Each rule a set of parent links breaks: (rule, person uid, words)."""
    links = list(links)
    parents: dict[str, set[str]] = defaultdict(set)
    births: dict[str, set[str]] = defaultdict(set)
    names: dict[str, str] = {}
    for link in links:
        parents[link.child].add(link.parent)
        if link.kind == BIRTH:
            births[link.child].add(link.parent)
        names[link.parent] = link.parent_name or link.parent
        names[link.child] = link.child_name or link.child
    found: list[tuple[str, str, str]] = []
    for link in links:
        parent, child = names[link.parent], names[link.child]
        if link.parent == link.child:
            found.append(("own_parent", link.child, f"{child} is recorded as their own parent"))
        if too_young_to_parent(link.parent_dob, link.child_dob):
            found.append(
                (
                    "parent_age",
                    link.child,
                    f"{parent} (born {link.parent_dob}) is recorded as parent of {child} (born "
                    f"{link.child_dob}): under {PARENT_MIN_AGE} years older",
                )
            )
        if parents[link.parent] & parents[link.child]:
            found.append(
                (
                    "parent_and_sibling",
                    link.child,
                    f"{parent} is recorded as both parent and sibling of {child}",
                )
            )
    for child, who in births.items():
        if len(who) > 2:
            found.append(
                (
                    "birth_parents",
                    child,
                    f"{names[child]} has {len(who)} recorded birth parents: "
                    + ", ".join(sorted(names[p] for p in who)),
                )
            )
    return found


# Two reads, each from an indexed end: one MATCH on "p.uid = id OR c.uid = id" can use
# no index and walks every parent link for each id (about a second a record at county).
PARENT_LINKS_OF = cypher(
    "family_rules.parent_links_of",
    """
    UNWIND $uids AS id
    MATCH (p:Person {uid: id})-[r:PARENT_OF]->(c:Person)
    RETURN p.uid AS parent, c.uid AS child, r.kind AS kind, p.dob AS parent_dob,
           c.dob AS child_dob, p.full_name AS parent_name, c.full_name AS child_name
    UNION
    UNWIND $uids AS id
    MATCH (p:Person)-[r:PARENT_OF]->(c:Person {uid: id})
    RETURN p.uid AS parent, c.uid AS child, r.kind AS kind, p.dob AS parent_dob,
           c.dob AS child_dob, p.full_name AS parent_name, c.full_name AS child_name
    """,
    example={"uids": ["P-x"]},
)
SIBLING_PARENT_LINKS = cypher(
    "family_rules.sibling_parent_links",
    """
    UNWIND $uids AS id
    MATCH (:Person {uid: id})<-[:PARENT_OF]-(q:Person)-[r:PARENT_OF]->(c:Person)
    RETURN DISTINCT q.uid AS parent, c.uid AS child, r.kind AS kind, q.dob AS parent_dob,
           c.dob AS child_dob, q.full_name AS parent_name, c.full_name AS child_name
    """,
    example={"uids": ["P-x"]},
)
ALL_PARENT_LINKS = cypher(
    "family_rules.all_parent_links",
    """
    MATCH (p:Person)-[r:PARENT_OF]->(c:Person)
    RETURN p.uid AS parent, c.uid AS child, r.kind AS kind, p.dob AS parent_dob,
           c.dob AS child_dob
    """,
)
CONFLICTS = cypher(
    "family_rules.conflicts",
    """
    UNWIND $uids AS id
    MATCH (p:Person {uid: id})
    WHERE p.conflicts IS NOT NULL
    RETURN p.uid AS uid, p.full_name AS name, p.conflicts AS conflicts
    """,
    example={"uids": ["P-x"]},
)


def warnings(store: GraphStore, uids: Iterable[str]) -> list[dict[str, str]]:
    """Data-quality warnings about these people: each rule their family breaks, and the
    fields their sources disagree on (uid, text)."""
    wanted = sorted(set(uids))
    if not wanted:
        return []
    rows = store.read(PARENT_LINKS_OF, {"uids": wanted}, max_rows=100_000).rows
    rows += store.read(SIBLING_PARENT_LINKS, {"uids": wanted}, max_rows=100_000).rows
    links = {ParentLink(**r) for r in rows}
    out = [{"uid": uid, "text": text} for _rule, uid, text in breaks(links)]
    for row in store.read(CONFLICTS, {"uids": wanted}).rows:
        out.append({"uid": row["uid"], "text": f"sources disagree on {row['conflicts']}"})
    return list({(w["uid"], w["text"]): w for w in out}.values())


def count_breaks(store: GraphStore) -> dict[str, int]:
    """How many of each rule the whole graph breaks (benchmark and tests)."""
    rows = store.read(
        ALL_PARENT_LINKS, max_rows=100_000_000, timeout_ms=COUNTY_WIDE_READ_TIMEOUT_MS
    ).rows
    counts: dict[str, int] = dict.fromkeys(
        ("parent_age", "parent_and_sibling", "birth_parents", "own_parent"), 0
    )
    for rule, _uid, _text in breaks(ParentLink(**r) for r in rows):
        counts[rule] += 1
    return counts
