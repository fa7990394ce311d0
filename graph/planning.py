"""The reads behind forward planning: who moves school next September (or the cohorts a
load kept), and today's children with their needs for the forecast (or the tally of
them a load kept). Logic lives in :mod:`planning`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

from graph import caseload_tally
from graph.cypher import cypher
from graph.store import COUNTY_WIDE_READ_TIMEOUT_MS, GraphStore

# From the birth-date index, one day at a time (FalkorDB scans the whole index for a
# range of dates: a read that grows with everyone in the graph, where a lookup a day
# grows with the days), :Person first (FalkorDB uses an index only for the
# first label); each optional match's condition in a CASE rather than its WHERE
# (FalkorDB runs the latter as a per-row apply); open case kinds from the derived
# ``open_case_kinds``.
COHORT = cypher(
    "planning.cohort",
    """
    UNWIND [date($today)] AS today
    UNWIND $born AS born
    MATCH (c:Person {dob_key: born})
    WITH c, today WHERE c:Child
    OPTIONAL MATCH (c)-[home:LIVES_AT]->(a:Address)
    WITH c, today, collect(CASE WHEN home.to IS NULL THEN a END)[0] AS a
    OPTIONAL MATCH (c)-[r:ATTENDS]->(s:School)
    WITH c, a, collect(CASE WHEN r.from <= today AND (r.to IS NULL OR r.to > today)
                            THEN s END)[0] AS s
    OPTIONAL MATCH (c)-[o:OFFERED]->(o_s:School)
    WITH c, a, s, collect(CASE WHEN o.entry_point = $entry_point THEN o_s END)[0] AS offer
    OPTIONAL MATCH (c)-[n:HAS_NEED]->(need:Need)
    WITH c, a, s, offer, n, need
    ORDER BY n.rank
    RETURN c.uid AS child_uid, c.full_name AS child_name, c.dob AS dob, c.sources AS known_from,
           a.postcode_district AS area, a.lat AS lat, a.lon AS lon,
           s.uid AS setting_urn, s.name AS setting, s.phase AS setting_phase,
           s.high_age AS setting_high_age,
           offer.uid AS offer_urn, offer.name AS offer_school,
           coalesce(c.open_case_kinds, []) AS kinds,
           [x IN collect(need.uid) WHERE x IS NOT NULL] AS needs
    """,
    example={
        "born": ["2022-09-01", "2022-09-02"],
        "today": "2026-11-02",
        "entry_point": "Reception",
    },
)
# COHORT as a load leaves it, for keeping: every school spell (in the order COHORT walks
# them, so the first on a day is the one COHORT takes) instead of the one on $today.
_SPELLS = """
    OPTIONAL MATCH (c)-[home:LIVES_AT]->(a:Address)
    WITH c, collect(CASE WHEN home.to IS NULL THEN a END)[0] AS a
    OPTIONAL MATCH (c)-[r:ATTENDS]->(s:School)
    WITH c, a, collect(CASE WHEN r IS NOT NULL
                            THEN [s.uid, s.name, s.phase, s.high_age, r.from, r.to] END)
           AS spells
    OPTIONAL MATCH (c)-[o:OFFERED]->(o_s:School)
    WITH c, a, spells,
         collect(CASE WHEN o.entry_point = $entry_point THEN o_s END)[0] AS offer
    OPTIONAL MATCH (c)-[n:HAS_NEED]->(need:Need)
    WITH c, a, spells, offer, n, need
    ORDER BY n.rank
    RETURN c.uid AS child_uid, c.full_name AS child_name, c.dob AS dob, c.sources AS known_from,
           a.postcode_district AS area, a.lat AS lat, a.lon AS lon, spells,
           offer.uid AS offer_urn, offer.name AS offer_school,
           coalesce(c.open_case_kinds, []) AS kinds,
           [x IN collect(need.uid) WHERE x IS NOT NULL] AS needs
    """
_COHORT_DAYS = """
    UNWIND $born AS born
    MATCH (c:Person {dob_key: born})
    WITH c WHERE c:Child
    """
COHORT_SPELLS = cypher(
    "planning.cohort_spells",
    _COHORT_DAYS + _SPELLS,
    example={"born": ["2022-09-01", "2022-09-02"], "entry_point": "Reception"},
)
# The same of some people by uid who are children born in [$born_from, $born_before) (a
# delta's touched ones, loaders.transition_cohorts); how many children the whole read
# would find, to tell whether anyone left the cohort untouched; and the children on the
# roll of, or offered a place at, some schools (whose own rows a delta changed).
COHORT_SPELLS_OF = cypher(
    "planning.cohort_spells_of",
    """
    UNWIND $uids AS uid
    MATCH (c:Person {uid: uid})
    WITH c WHERE c:Child AND c.dob >= date($born_from) AND c.dob < date($born_before)
    """
    + _SPELLS,
    example={
        "uids": ["P-x"],
        "born_from": "2022-09-01",
        "born_before": "2023-09-01",
        "entry_point": "Reception",
    },
)
COHORT_COUNT = cypher(
    "planning.cohort_count",
    _COHORT_DAYS + "RETURN count(c) AS children",
    example={"born": ["2022-09-01", "2022-09-02"]},
)
CHILDREN_AT_SCHOOLS = cypher(
    "planning.children_at_schools",
    "MATCH (s:School) WHERE s.uid IN $uids MATCH (c:Child)-[:ATTENDS|OFFERED]->(s) "
    "RETURN DISTINCT c.uid AS uid",
    example={"uids": ["100001"]},
)
SCHOOLS = cypher(
    "planning.schools",
    """
    MATCH (s:School)
    WHERE s.lat IS NOT NULL
    RETURN s.uid AS urn, s.name AS name, s.phase AS phase, s.lat AS lat, s.lon AS lon,
           s.low_age AS low_age, s.high_age AS high_age
    ORDER BY urn
    """,
)
# Two reads, merged in Python, instead of one that walked each child's cases and needs
# with OPTIONAL MATCH ... WHERE: FalkorDB runs that as a per-row apply, and the one read
# took 15-21 s at county (289,000 children) against about 6 s for these two. Open case
# kinds come from the derived ``open_case_kinds`` the load keeps on each person.
_BORN = "c.dob > date($born_after) AND c.dob < date($born_before)"
_CHILDREN = """
    OPTIONAL MATCH (c)-[home:LIVES_AT]->(a:Address)
    RETURN c.uid AS child_uid, c.dob AS dob,
           collect(CASE WHEN home.to IS NULL THEN a.postcode_district END)[0] AS area,
           coalesce(c.open_case_kinds, []) AS kinds
    """
_PRIMARY_NEED = """
      AND any(kind IN c.open_case_kinds WHERE kind IN ['EHCP', 'SEN support'])
    RETURN c.uid AS child_uid, need.uid AS primary_need
    """
_EVERYONE = {"born_after": "2005-09-01", "born_before": "2055-09-01"}
COHORT_CHILDREN = cypher(
    "planning.cohort_children", f"MATCH (c:Person) WHERE {_BORN}" + _CHILDREN, example=_EVERYONE
)
COHORT_PRIMARY_NEEDS = cypher(
    "planning.cohort_primary_needs",
    f"MATCH (c:Person)-[n:HAS_NEED]->(need:Need) WHERE n.rank = 1 AND {_BORN}" + _PRIMARY_NEED,
    example=_EVERYONE,
)
# The same of some children only (a delta's touched ones), by uid; and how many the
# whole read would find, to tell whether anyone left the graph untouched.
_OF = f"UNWIND $uids AS uid MATCH (c:Person {{uid: uid}}) WHERE {_BORN}"
CHILDREN_OF = cypher(
    "planning.cohort_children_of", _OF + _CHILDREN, example={**_EVERYONE, "uids": ["P-x"]}
)
PRIMARY_NEEDS_OF = cypher(
    "planning.cohort_primary_needs_of",
    _OF + " MATCH (c)-[n:HAS_NEED]->(need:Need) WHERE n.rank = 1" + _PRIMARY_NEED,
    example={**_EVERYONE, "uids": ["P-x"]},
)
CHILDREN_COUNT = cypher(
    "planning.cohort_children_count",
    f"MATCH (c:Person) WHERE {_BORN} RETURN count(c) AS children",
    example=_EVERYONE,
)


def cohort(
    store: GraphStore, *, born_from: dt.date, born_before: dt.date, today: dt.date, entry_point: str
) -> list[dict[str, Any]]:
    """COHORT's rows: the children born in [born_from, born_before), their school on
    ``today``, their offer for ``entry_point`` (in no order)."""
    params = {
        "born": _days(born_from, born_before),
        "today": today.isoformat(),
        "entry_point": entry_point,
    }
    return _county_wide(store, COHORT, params)


def cohort_spells(
    store: GraphStore, *, born_from: dt.date, born_before: dt.date, entry_point: str
) -> list[dict[str, Any]]:
    """COHORT_SPELLS' rows: as :func:`cohort`'s, every school spell for the one school."""
    params = {"born": _days(born_from, born_before), "entry_point": entry_point}
    return _county_wide(store, COHORT_SPELLS, params)


def cohort_spells_of(
    store: GraphStore,
    uids: list[str],
    *,
    born_from: dt.date,
    born_before: dt.date,
    entry_point: str,
) -> list[dict[str, Any]]:
    """COHORT_SPELLS' rows of those of ``uids`` who are children born in [born_from,
    born_before)."""
    if not uids:
        return []
    params = {
        "uids": uids,
        "born_from": born_from.isoformat(),
        "born_before": born_before.isoformat(),
        "entry_point": entry_point,
    }
    return _county_wide(store, COHORT_SPELLS_OF, params)


def cohort_count(store: GraphStore, *, born_from: dt.date, born_before: dt.date) -> int:
    """How many children :func:`cohort_spells` would find."""
    params = {"born": _days(born_from, born_before)}
    return int(store.read(COHORT_COUNT, params).scalar() or 0)


def children_at_schools(store: GraphStore, urns: set[str]) -> set[str]:
    """The children on the roll of, or offered a place at, one of these schools."""
    if not urns:
        return set()
    return {r["uid"] for r in _county_wide(store, CHILDREN_AT_SCHOOLS, {"uids": sorted(urns)})}


def _days(born_from: dt.date, born_before: dt.date) -> list[str]:
    """Every day in [born_from, born_before) as the ISO text ``dob_key`` holds."""
    days = range((born_before - born_from).days)
    return [(born_from + dt.timedelta(days=d)).isoformat() for d in days]


def schools(store: GraphStore) -> list[dict[str, Any]]:
    return store.read(SCHOOLS, max_rows=1_000_000).rows


def children_and_needs(
    store: GraphStore, born_after: dt.date, uids: list[str] | None = None
) -> list[dict[str, Any]]:
    """Everyone born after ``born_after`` (of ``uids`` only, when given) with their dob,
    area, open case kinds and primary need."""
    params: dict[str, Any] = _born(born_after)
    reads = (COHORT_PRIMARY_NEEDS, COHORT_CHILDREN)
    if uids is not None:
        params["uids"] = uids
        reads = (PRIMARY_NEEDS_OF, CHILDREN_OF)
    needs: dict[str, str] = {}
    for row in _county_wide(store, reads[0], params):
        # two primary needs (from two sources): the first by code, so reads agree
        uid = row["child_uid"]
        needs[uid] = min(needs.get(uid, row["primary_need"]), row["primary_need"])
    children = _county_wide(store, reads[1], params)
    for row in children:
        row["primary_need"] = needs.get(row["child_uid"])
    return children


def children_born_after(store: GraphStore, born_after: dt.date) -> int:
    """How many :func:`children_and_needs` would find."""
    return int(store.read(CHILDREN_COUNT, _born(born_after)).scalar() or 0)


def _born(born_after: dt.date) -> dict[str, Any]:
    # The upper bound is there for FalkorDB: it compares dates more than 68 years apart
    # wrongly, so "dob > 2008-09-01" alone also let in people born before 1940
    # (docs/cypher-portability.md).
    born_before = born_after.replace(year=born_after.year + 50, day=1)
    return {"born_after": born_after.isoformat(), "born_before": born_before.isoformat()}


def _county_wide(store: GraphStore, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return store.read(
        query, params, max_rows=100_000_000, timeout_ms=COUNTY_WIDE_READ_TIMEOUT_MS
    ).rows


# The forecast's input counted once a load has finished: children alike in birth cohort,
# area and categories, as parallel lists on one node (a few thousand cells for a county,
# read in milliseconds, where the children behind them take seconds). The node is the
# whole tally or absent: kept after a load, forgotten before one writes and when a
# review merge changes anyone.
NEEDS_TALLY = "needs_forecast"
KEEP_NEEDS_TALLY = cypher(
    "planning.keep_needs_tally",
    """
    MERGE (t:NeedsTally {uid: $uid})
    SET t.born_after = date($born_after), t.cohorts = $cohorts, t.areas = $areas,
        t.categories = $categories, t.children = $children
    """,
    example={
        "uid": NEEDS_TALLY,
        "born_after": "2004-08-31",
        "cohorts": [2019],
        "areas": ["X1"],
        "categories": ["EHCP"],
        "children": [1],
    },
    writes=True,
)
FORGET_NEEDS_TALLY = cypher(
    "planning.forget_needs_tally", "MATCH (t:NeedsTally) DELETE t", writes=True
)
NEEDS_TALLY_READ = cypher(
    "planning.needs_tally",
    """
    MATCH (t:NeedsTally {uid: $uid})
    RETURN t.born_after AS born_after, t.cohorts AS cohorts, t.areas AS areas,
           t.categories AS categories, t.children AS children
    """,
    example={"uid": NEEDS_TALLY},
)


@dataclass(frozen=True)
class NeedsTally:
    """Everyone born after ``born_after``, counted by cell: ``cells[i]`` is (birth
    cohort, area, categories joined by ``|``) and ``children[i]`` how many are in it."""

    born_after: dt.date
    cells: list[tuple[int, str, str]]
    children: list[int]


def keep_needs_tally(store: GraphStore, tally: NeedsTally) -> None:
    store.write(
        KEEP_NEEDS_TALLY,
        {
            "uid": NEEDS_TALLY,
            "born_after": tally.born_after.isoformat(),
            "cohorts": [cell[0] for cell in tally.cells],
            "areas": [cell[1] for cell in tally.cells],
            "categories": [cell[2] for cell in tally.cells],
            "children": list(tally.children),
        },
    )


def forget_needs_tally(store: GraphStore) -> None:
    store.write(FORGET_NEEDS_TALLY)


def forget_kept_tallies(store: GraphStore) -> None:
    """Forget the counts a load keeps (the needs forecast's, the caseload map's, the
    transitions' cohorts) once the records under them change: the pages count from the
    records until the next load."""
    forget_needs_tally(store)
    caseload_tally.forget(store)
    forget_cohorts(store)


def kept_needs_tally(store: GraphStore) -> NeedsTally | None:
    rows = store.read(NEEDS_TALLY_READ, {"uid": NEEDS_TALLY}).rows
    if not rows:
        return None
    row = rows[0]
    cells = list(zip(row["cohorts"], row["areas"], row["categories"], strict=True))
    return NeedsTally(row["born_after"], cells, list(row["children"]))


# Transitions' three cohorts as a load leaves them (COHORT_SPELLS' rows), one node an
# entry point: the page picks each child's school on its day from the spells, where
# COHORT walks every child of the cohort (about 1.7 s at county). The rows are one
# JSON text (columns :data:`KEPT_COLUMNS`, dates as ISO text), read as one value. Kept,
# and forgotten, with the tallies above.
KEEP_COHORT = cypher(
    "planning.keep_cohort",
    """
    MERGE (t:TransitionCohort {uid: $uid})
    SET t.born_from = date($born_from), t.born_before = date($born_before), t.rows = $rows
    """,
    example={
        "uid": "Reception",
        "born_from": "2022-09-01",
        "born_before": "2023-09-01",
        "rows": "[]",
    },
    writes=True,
)
FORGET_COHORTS = cypher(
    "planning.forget_cohorts", "MATCH (t:TransitionCohort) DELETE t", writes=True
)
KEPT_COHORT = cypher(
    "planning.kept_cohort",
    """
    MATCH (t:TransitionCohort {uid: $uid})
    RETURN t.born_from AS born_from, t.born_before AS born_before, t.rows AS rows
    """,
    example={"uid": "Reception"},
)
# ``ahead``: the school expected whatever the day's school (the offer, else the nearest
# of the next phase), as [urn, basis, miles], worked out by the load (planning.transitions)
# so the page does not search every school for each child; None when not worked out.
KEPT_COLUMNS = (
    "child_uid",
    "child_name",
    "dob",
    "known_from",
    "area",
    "lat",
    "lon",
    "spells",
    "offer_urn",
    "offer_school",
    "kinds",
    "needs",
    "ahead",
)


def keep_cohort(
    store: GraphStore,
    entry_point: str,
    born_from: dt.date,
    born_before: dt.date,
    rows: list[dict[str, Any]],
) -> None:
    """Keep COHORT_SPELLS' ``rows`` for ``entry_point`` (children born in [born_from,
    born_before)), replacing any kept before."""
    values = [[row[c] for c in KEPT_COLUMNS] for row in rows]
    keep_cohort_rows(store, entry_point, born_from, born_before, values)


def keep_cohort_rows(
    store: GraphStore,
    entry_point: str,
    born_from: dt.date,
    born_before: dt.date,
    rows: list[list[Any]],
) -> None:
    """:func:`keep_cohort` of rows already in :data:`KEPT_COLUMNS`' order."""
    text = orjson.dumps(rows).decode()
    store.write(
        KEEP_COHORT,
        {
            "uid": entry_point,
            "born_from": born_from.isoformat(),
            "born_before": born_before.isoformat(),
            "rows": text,
        },
    )


def forget_cohorts(store: GraphStore) -> None:
    store.write(FORGET_COHORTS)


@dataclass(frozen=True)
class KeptCohort:
    """An entry point's cohort as the last load kept it: the children born in
    [born_from, born_before), each a list of :data:`KEPT_COLUMNS` (dates as ISO text)."""

    born_from: dt.date
    born_before: dt.date
    rows: list[list[Any]]

    def on_day(self, today: dt.date) -> list[dict[str, Any]]:
        """COHORT's rows on ``today``: each child's first school spell running on that
        day (COHORT's ``s``) as their setting. ISO dates compare as the dates do."""
        on, day, columns = today.isoformat(), dt.date.fromisoformat, KEPT_COLUMNS
        out = []
        for values in self.rows:
            row = dict(zip(columns, values, strict=True))
            row["dob"] = row["dob"] and day(row["dob"])
            spell = _NO_SPELL
            for s in row.pop("spells"):
                if s[4] is not None and s[4] <= on and (s[5] is None or s[5] > on):
                    spell = s
                    break
            row["setting_urn"], row["setting"], row["setting_phase"], row["setting_high_age"] = (
                spell[:4]
            )
            out.append(row)
        return out


_NO_SPELL = (None,) * 6


def kept_cohort(store: GraphStore, entry_point: str) -> KeptCohort | None:
    """The cohort the last load kept for ``entry_point``, if it kept one in today's
    columns (one kept by older code, narrower, is as none: worked out from the records)."""
    found = store.read(KEPT_COHORT, {"uid": entry_point}).rows
    if not found:
        return None
    row = found[0]
    rows = orjson.loads(row["rows"])
    if rows and len(rows[0]) != len(KEPT_COLUMNS):
        return None
    return KeptCohort(row["born_from"], row["born_before"], rows)
