"""The risk of NEET factors a load keeps on each pupil, so the list as at a load's day
reads them instead of working them out again where the years below are not kept (the
analysts' copy holds none); loaders.risk_factors decides what goes in.

The day and detection rules the kept factors are as at are kept once, on the
``RiskDay`` node, not on each pupil: it goes before a load writes anything (no pupil's
factors are trusted meanwhile) and comes back once the load has written the factors
that moved, so a pupil whose factors are the same is not written. A review merge
clears the factors of the person it changes. The saved query ignores any it cannot
trust (another day, other detection rules) and works those pupils out from the records.

Finding the pupils it must work out means walking every child of the cohort's ages
(0.4 of the list's 0.7 s at county scale), so a ``RiskList`` node says when there are
none: a load writes it once every pupil's factors are kept, and it goes before any
are forgotten.

Any other day of the academic years a load covers reads ``RiskYear`` nodes: each
pupil's answer on every day of one academic year, as the days it changes on and the
answer from each (loaders.risk_spans works them out), so that list too is a read of
kept values; the load's own day too, as one of them (fewer reads than the factors on
every pupil of the cohort). A load hides them rather than forgetting them before it
writes (the ``RiskList`` marked ``loading``: the saved query trusts none meanwhile), so
that a delta forgets and writes again only those of the pupils it worked out again
(loaders.risk_factors); a review merge forgets the person's with their factors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from graph.cypher import cypher
from graph.store import GraphStore

# The properties the load keeps; documented with the Person node in graph.schema.
KEPT = (
    "risk_factors",
    "risk_year_group",
    "risk_school",
    "risk_school_urn",
    "risk_area",
    "risk_attendance_pct",
)
_UNSET = ", ".join(f"p.{name} = null" for name in KEPT)
# what older code kept on every pupil, the day and rules now on the RiskDay node: cleared
# with the rest when every pupil's factors are written again (a full load's)
_RETIRED = ("risk_as_of", "risk_rules")

# the list as a whole, first: a reader never sees it with someone's factors missing (a
# load's marker stays: the kept years stay hidden until the load has written them)
FORGET_LIST = cypher(
    "risk_facts.forget_list", "MATCH (k:RiskList) WHERE k.loading IS NULL DELETE k", writes=True
)
# while a load runs: no list, and no RiskYear trusted (the saved query's first branch)
HIDE = cypher(
    "risk_facts.hide",
    """
    MERGE (k:RiskList {uid: 'risk_of_neet'})
    SET k.loading = true, k.as_of = null, k.rules = null, k.years = null
    """,
    writes=True,
)
KEEP_LIST = cypher(
    "risk_facts.keep_list",
    """
    MERGE (k:RiskList {uid: 'risk_of_neet'})
    SET k.as_of = date($as_of), k.rules = $rules, k.years = $years, k.loading = null
    """,
    example={"as_of": "2026-11-02", "rules": "x", "years": [2025, 2026]},
    writes=True,
)
# the day and rules every pupil's kept factors are as at: gone while a load writes them
# (none trusted), then kept once they are all written
FORGET_DAY = cypher("risk_facts.forget_day", "MATCH (d:RiskDay) DELETE d", writes=True)
KEEP_DAY = cypher(
    "risk_facts.keep_day",
    """
    MERGE (d:RiskDay {uid: 'risk_of_neet'})
    SET d.as_of = date($as_of), d.rules = $rules
    """,
    example={"as_of": "2026-11-02", "rules": "x"},
    writes=True,
)
FORGET_YEARS = cypher("risk_facts.forget_years", "MATCH (y:RiskYear) DELETE y", writes=True)
FORGET_YEARS_OF = cypher(
    "risk_facts.forget_years_of",
    "MATCH (y:RiskYear) WHERE y.person = $uid DELETE y",
    example={"uid": "P-x"},
    writes=True,
)
FORGET_YEARS_OF_PUPILS = cypher(
    "risk_facts.forget_years_of_pupils",
    "UNWIND $rows AS row MATCH (y:RiskYear {person: row.uid}) DELETE y",
    example={"rows": [{"uid": "P-x"}]},
    writes=True,
)
SAVE_YEARS = cypher(
    "risk_facts.save_years",
    """
    UNWIND $rows AS row
    CREATE (y:RiskYear {uid: row.person + '/' + toString(row.ay)})
    SET y.person = row.person, y.ay = row.ay, y.rules = $rules, y.area = row.area,
        y.year_group = row.year_group, y.starts = row.starts, y.schools = row.schools,
        y.school_urns = row.school_urns, y.attendance = row.attendance,
        y.factors = row.factors
    """,
    example={"rows": [], "rules": "x"},
    writes=True,
)
# What working out a pupil's answer on any day reads: everything the saved query's
# worked-out part reads of each child born on one of the days (ISO text) in $born, in
# the order the engine walks it (the query takes the first school and area it meets).
# One index lookup a day: FalkorDB scans the whole birth-date index for a range of
# dates (graph.planning.COHORT). Each child's relationships are walked once, whatever
# their type, as ``edges``, each led by its kind (loaders.risk_spans.EDGES): a pattern
# comprehension a type walked each child six times.
_WALK = """
    OPTIONAL MATCH (c)-[r]->(x)
    WITH c, collect(CASE type(r)
      WHEN 'ATTENDS' THEN CASE WHEN x:School THEN [0, x.uid, x.name, x.phase, r.from, r.to] END
      WHEN 'ATTENDANCE' THEN [1, CASE WHEN x:School THEN x.uid END, r.term_start, r.possible,
                              r.absent]
      WHEN 'EXCLUDED' THEN [2, r.date, r.kind]
      WHEN 'HAS_CASE' THEN CASE WHEN x:Case THEN [3, x.kind, x.status, x.start, x.end] END
      WHEN 'LIVES_AT' THEN CASE WHEN x:Address
                                THEN [4, r.from, r.to, x.imd_decile, x.postcode_district] END
      WHEN 'PARENT_OF' THEN CASE WHEN x:Person THEN [5] END
    END) AS edges
    RETURN c.uid AS uid, c.dob AS dob, coalesce(c.young_carer = true, false) AS young_carer,
           coalesce(c.fsm = true, false) AS fsm, coalesce(c.eal = true, false) AS eal, edges
    """
PUPILS = cypher(
    "risk_facts.pupils",
    """
    UNWIND $born AS born
    MATCH (c:Person {dob_key: born})
    WITH c WHERE c:Child
    """
    + _WALK,
    example={"born": ["2010-09-01", "2010-09-02"]},
)
# The same of some people by uid who are children born in [$born_from, $born_to) (a
# delta's touched pupils, loaders.risk_factors: most people a delta touches are not).
PUPILS_OF = cypher(
    "risk_facts.pupils_of",
    """
    UNWIND $uids AS uid
    MATCH (c:Person {uid: uid})
    WITH c WHERE c:Child AND c.dob >= date($born_from) AND c.dob < date($born_to)
    """
    + _WALK,
    example={"uids": ["P-x"], "born_from": "2010-09-01", "born_to": "2015-09-01"},
)
CHILDREN = cypher(
    "risk_facts.children",
    "UNWIND $uids AS uid MATCH (c:Person {uid: uid}) WHERE c:Child RETURN c.uid AS uid",
    example={"uids": ["P-x"]},
)
# The children a changed node of a label is part of the walk of (a school's name and
# phase, a home's area and deprivation, a case's kind, status and dates), past and
# present: a delta works their answers out again.
PUPILS_AT = {
    label: cypher(
        f"risk_facts.pupils_at_{label.lower()}",
        f"MATCH (x:{label}) WHERE x.uid IN $uids MATCH (c:Child)-[:{rel}]->(x) "
        "RETURN DISTINCT c.uid AS uid",
        example={"uids": ["x"]},
    )
    for label, rel in (("School", "ATTENDS"), ("Address", "LIVES_AT"), ("Case", "HAS_CASE"))
}
CLEAR_ALL = cypher(
    "risk_facts.clear_all",
    # the retired per-pupil day too: a graph of an older release may hold it on a
    # pupil whose year group a review merge has since cleared
    "MATCH (p:Person) WHERE p.risk_year_group IS NOT NULL OR p.risk_as_of IS NOT NULL SET "
    + ", ".join(f"p.{name} = null" for name in KEPT + _RETIRED),
    writes=True,
)
# the pupils holding kept factors (a year group with every one; a review merge clears
# them all but the retired day)
KEPT_ON = cypher(
    "risk_facts.kept_on", "MATCH (p:Person) WHERE p.risk_year_group IS NOT NULL RETURN p.uid AS uid"
)
CLEAR_ONE = cypher(
    "risk_facts.clear_one",
    f"MATCH (p:Person {{uid: $uid}}) SET {_UNSET}",
    example={"uid": "P-x"},
    writes=True,
)
KEPT_DAY = cypher("risk_facts.kept_day", "MATCH (d:RiskDay) RETURN d.as_of AS day")
# the kept factors of pupils whose answer is off every roll now (no row to write)
CLEAR_OF = cypher(
    "risk_facts.clear_of",
    f"UNWIND $rows AS row MATCH (p:Person {{uid: row.uid}}) SET {_UNSET}",
    example={"rows": [{"uid": "P-x"}]},
    writes=True,
)
SAVE = cypher(
    "risk_facts.save",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.uid})
    SET p.risk_factors = row.factors, p.risk_year_group = row.year_group,
        p.risk_school = row.school, p.risk_school_urn = row.school_urn, p.risk_area = row.area,
        p.risk_attendance_pct = row.attendance_pct
    """,
    example={"rows": []},
    writes=True,
)


def clear(store: GraphStore, uid: str | None = None) -> None:
    """Forget the kept factors of everyone (a load about to write: their day, so none
    is trusted, and every pupil's ``RiskYear`` hidden until it has finished; the values
    stay, for the load to write again only those that moved), or of one person."""
    if uid is None:
        store.write(HIDE)
        store.write(FORGET_DAY)
    else:
        store.write(FORGET_LIST)
        store.write(CLEAR_ONE, {"uid": uid})
        store.write(FORGET_YEARS_OF, {"uid": uid})


# Who could first be on the list: the earliest-born child, and the first day any child
# is on a school roll (the list is empty in every academic year before both allow).
# Two reads: one optional match of every child's rolls took several times both.
FIRST_BORN = cypher("risk_facts.first_born", "MATCH (c:Child) RETURN min(c.dob) AS day")
FIRST_ON_ROLL = cypher(
    "risk_facts.first_on_roll",
    "MATCH (:Child)-[r:ATTENDS]->(:School) RETURN min(r.from) AS day",
)


def forget_list(store: GraphStore) -> None:
    """Forget the kept list as a whole (a person's answers may be missing from it): the
    saved query works every pupil out from the records until the next load."""
    store.write(FORGET_LIST)


def first_dates(store: GraphStore) -> tuple[dt.date | None, dt.date | None]:
    """The earliest-born child's birth date, and the first day any child is on a
    school roll (None when no child is on any): before both allow it, nobody can be on
    the list."""
    born, on_roll = (store.read(q).rows for q in (FIRST_BORN, FIRST_ON_ROLL))
    return (born[0]["day"] if born else None, on_roll[0]["day"] if on_roll else None)


KEPT_YEARS = cypher(
    "risk_facts.kept_years", "MATCH (k:RiskList) RETURN k.years AS years, k.as_of AS day"
)


def kept_years(store: GraphStore) -> list[int]:
    """The academic years (by the year each began in) the latest load kept every
    pupil's answer for every day of, while none is forgotten: the list as at any day of
    them is a quick read."""
    rows = store.read(KEPT_YEARS).rows
    return list(rows[0]["years"] or []) if rows else []


def kept_day(store: GraphStore) -> dt.date | None:
    """The day the latest load kept factors as at, if it kept any: the risk list as at
    that day is a quick read, any other day is worked out from the records."""
    rows = store.read(KEPT_DAY).rows
    return rows[0]["day"] if rows else None


def save(
    store: GraphStore,
    rows: Sequence[Mapping[str, Any]],
    *,
    as_of: str,
    rules: str,
    years: Sequence[Mapping[str, Any]] = (),
    academic_years: Sequence[int] = (),
    forget: Sequence[str] | None = None,
    cleared: Sequence[str] | None = None,
) -> int:
    """Keep each row's factors (uid, factors, year_group, school, school_urn, area,
    attendance_pct) on its pupil, as at ``as_of`` under ``rules`` (the ``RiskDay``),
    and ``years``'s answers on every day (``RiskYear``'s properties, person and ay
    first) of ``academic_years``. With ``cleared`` None the rows are the whole cohort,
    and everyone's kept factors go first; else the rows are those that moved since the
    last load's (the rest are kept as they are) and ``cleared`` the pupils whose go
    (off every roll now). Every ``RiskYear`` kept before goes first, or those of the
    pupils in ``forget`` only (a delta's: the others' are kept as they are, ``years``
    holding the rest); the list meanwhile works them out. The pupils written."""
    store.write(HIDE)
    store.write(FORGET_DAY)
    if forget is None:
        store.write(FORGET_YEARS)
    elif forget:
        store.write_rows(FORGET_YEARS_OF_PUPILS, [{"uid": uid} for uid in forget])
    if cleared is None:
        store.write(CLEAR_ALL)
    elif cleared:
        store.write_rows(CLEAR_OF, [{"uid": uid} for uid in cleared])
    if rows:
        store.write_rows(SAVE, rows)
    if years:
        store.write_rows(SAVE_YEARS, years, params={"rules": rules})
    store.write(KEEP_DAY, {"as_of": as_of, "rules": rules})
    store.write(KEEP_LIST, {"as_of": as_of, "rules": rules, "years": list(academic_years)})
    return len(rows)


def pupils(store: GraphStore, born_from: dt.date, born_to: dt.date) -> list[dict[str, Any]]:
    """What the risk list reads of each child born in [born_from, born_to) (PUPILS)."""
    days = range((born_to - born_from).days)
    params = {"born": [(born_from + dt.timedelta(days=d)).isoformat() for d in days]}
    return store.read(PUPILS, params, max_rows=100_000_000).rows


def pupils_of(
    store: GraphStore, uids: Sequence[str], born_from: dt.date, born_to: dt.date
) -> list[dict[str, Any]]:
    """What the risk list reads of each of these people who is a child born in
    [born_from, born_to) (PUPILS_OF)."""
    if not uids:
        return []
    params = {
        "uids": list(uids),
        "born_from": born_from.isoformat(),
        "born_to": born_to.isoformat(),
    }
    return store.read(PUPILS_OF, params, max_rows=100_000_000).rows


def kept_on(store: GraphStore) -> set[str]:
    """The pupils holding kept factors: whose CLEAR_ALL changes (a retired day alone
    is nothing the analysts' copy holds)."""
    return {r["uid"] for r in store.read(KEPT_ON, max_rows=100_000_000).rows}


def children(store: GraphStore, uids: Sequence[str]) -> set[str]:
    """Which of ``uids`` are children in the graph."""
    if not uids:
        return set()
    return {r["uid"] for r in store.read(CHILDREN, {"uids": list(uids)}, max_rows=100_000_000).rows}


def pupils_at(store: GraphStore, label: str, uids: set[str]) -> set[str]:
    """The children whose walk reaches one of these nodes of ``label`` (PUPILS_AT)."""
    if not uids:
        return set()
    rows = store.read(PUPILS_AT[label], {"uids": sorted(uids)}, max_rows=100_000_000).rows
    return {r["uid"] for r in rows}
