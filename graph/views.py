"""The reads behind the app's pages: a child's record, the family network, caseloads.

Pages call these and never hold Cypher. Each returns plain Python values; access
rules and auditing are applied on top by :mod:`graph.access.guard`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from graph import caseload_tally, family_rules
from graph.cypher import cypher
from graph.dates import read_day, years_old
from graph.schema import RETURN_FACTS
from graph.store import COUNTY_WIDE_READ_TIMEOUT_MS, GraphStore

FIND_BY_ID = cypher(
    "views.find_by_id",
    """
    MATCH (p:Person)
    WHERE p.upn = $id OR p.nhs_number = $id OR p.la_child_id = $id OR p.uid = $id
    RETURN p.uid AS uid
    LIMIT 20
    """,
    example={"id": "9434765919"},
)
FIND_BY_DOB = cypher(
    "views.find_by_dob",
    # by the birth date's key, which an index serves (FalkorDB's range index takes no dates)
    "MATCH (p:Person) WHERE p.dob_key = $dob RETURN p.uid AS uid LIMIT 50",
    example={"dob": "2015-03-04"},
)
SEARCH_SUMMARY = cypher(
    "views.search_summary",
    """
    UNWIND $uids AS id
    MATCH (p:Person {uid: id})
    OPTIONAL MATCH (p)-[r:ATTENDS]->(s:School)
    WHERE r.to IS NULL
    OPTIONAL MATCH (p)-[l:LIVES_AT]->(a:Address)
    WHERE l.to IS NULL
    RETURN p.uid AS uid, p.full_name AS name, p.dob AS dob,
           collect(DISTINCT s.name)[0] AS school,
           collect(DISTINCT a.postcode_district)[0] AS district
    """,
    example={"uids": ["P-x"]},
)
PERSON = cypher(
    "views.person",
    """
    MATCH (p:Person {uid: $uid})
    RETURN p.uid AS uid, p.given_name AS given_name, p.middle_names AS middle_names,
           p.family_name AS family_name, p.full_name AS full_name,
           p.other_names AS other_names, p.dob AS dob, p.sex AS sex,
           p.ethnicity AS ethnicity, p.language AS language, p.upn AS upn,
           p.nhs_number AS nhs_number, p.uln AS uln, p.la_child_id AS la_child_id,
           p.fsm AS fsm, p.eal AS eal, p.young_carer AS young_carer, p.sources AS sources
    """,
    example={"uid": "P-x"},
)
ADDRESSES = cypher(
    "views.addresses",
    """
    MATCH (p:Person {uid: $uid})-[r:LIVES_AT]->(a:Address)
    OPTIONAL MATCH (a)-[:HAS_NOTE]->(n:Note {kind: 'safety'})
    RETURN a.uid AS uid, a.line1 AS line1, a.town AS town, a.postcode AS postcode,
           a.imd_decile AS imd_decile, a.lat AS lat, a.lon AS lon, r.from AS from,
           r.to AS to, collect(n.text) AS safety_notes
    ORDER BY from DESC
    """,
    example={"uid": "P-x"},
)
FAMILY = cypher(
    "views.family",
    """
    MATCH (p:Person {uid: $uid})
    OPTIONAL MATCH (p)<-[pr:PARENT_OF]-(parent:Person)
    WITH p, collect(DISTINCT {uid: parent.uid, name: parent.full_name, dob: parent.dob,
                              relation: 'parent (' + pr.kind + ')'}) AS parents
    OPTIONAL MATCH (p)-[cr:PARENT_OF]->(kid:Person)
    WITH p, parents, collect(DISTINCT {uid: kid.uid, name: kid.full_name, dob: kid.dob,
                                       relation: 'child'}) AS children
    OPTIONAL MATCH (p)<-[:PARENT_OF]-(:Person)-[:PARENT_OF]->(sib:Person)
    WHERE sib.uid <> p.uid
    RETURN parents, children,
           collect(DISTINCT {uid: sib.uid, name: sib.full_name, dob: sib.dob,
                             relation: 'sibling'}) AS siblings
    """,
    example={"uid": "P-x"},
)
SCHOOLS = cypher(
    "views.schools",
    """
    MATCH (p:Person {uid: $uid})-[r:ATTENDS]->(s:School)
    RETURN s.uid AS urn, s.name AS name, s.phase AS phase, r.from AS from, r.to AS to,
           r.year_group AS year_group
    ORDER BY from DESC
    """,
    example={"uid": "P-x"},
)
CASES = cypher(
    "views.cases",
    """
    MATCH (p:Person {uid: $uid})-[:HAS_CASE]->(c:Case)-[:WITH_SERVICE]->(s:Service)
    OPTIONAL MATCH (c)<-[w:WORKS_ON]-(pro:Professional)
    RETURN c.uid AS uid, c.kind AS kind, c.status AS status, c.start AS start,
           c.end AS end, c.reason AS reason, s.name AS service,
           collect(DISTINCT pro.name) AS workers, collect(DISTINCT pro.uid) AS worker_uids,
           collect(DISTINCT pro.team) AS teams
    ORDER BY status DESC, start DESC
    """,
    example={"uid": "P-x"},
)
WORKER_TEAMS = cypher(
    "views.worker_teams",
    """
    UNWIND $uids AS uid
    // the person first, on its own: in one pattern with an unwound uid, FalkorDB starts
    // from the index of open cases and walks each to its person, once for every uid
    // (1,000 uids at 20,000 children: 14.8 s, this way 0.05 s)
    MATCH (p:Person {uid: uid})
    WITH uid, p
    MATCH (p)-[:HAS_CASE]->(c:Case)<-[w:WORKS_ON]-(pro:Professional)
    WHERE c.status = 'open' AND w.to IS NULL
    OPTIONAL MATCH (pro)-[:IN_TEAM]->(t:Team)
    RETURN uid, collect(DISTINCT pro.uid) AS workers, collect(DISTINCT t.uid) AS teams
    """,
    example={"uids": ["P-x"]},
)
PROFESSIONALS = cypher(
    "views.professionals",
    """
    MATCH (p:Person {uid: $uid})-[:HAS_CASE]->(c:Case {status: 'open'})
          <-[w:WORKS_ON]-(pro:Professional)
    WHERE w.to IS NULL
    RETURN DISTINCT pro.name AS name, pro.role AS role, pro.team AS team,
           pro.email AS email, pro.phone AS phone, c.kind AS for_case
    ORDER BY name
    """,
    example={"uid": "P-x"},
)
ATTENDANCE = cypher(
    "views.attendance",
    """
    MATCH (p:Person {uid: $uid})-[a:ATTENDANCE]->(s:School)
    RETURN a.term AS term, a.term_start AS term_start, s.name AS school,
           a.possible AS possible, a.absent AS absent, a.unauthorised AS unauthorised
    ORDER BY term_start
    """,
    example={"uid": "P-x"},
)
NEEDS = cypher(
    "views.needs",
    """
    MATCH (p:Person {uid: $uid})-[r:HAS_NEED]->(n:Need)
    RETURN n.uid AS code, n.name AS name, r.rank AS rank, r.from AS from
    ORDER BY rank
    """,
    example={"uid": "P-x"},
)
NOTES = cypher(
    "views.notes",
    """
    MATCH (p:Person {uid: $uid})-[:HAS_NOTE]->(n:Note)
    RETURN n.uid AS uid, n.kind AS kind, n.text AS text, n.author AS author, n.at AS at
    ORDER BY at DESC
    """,
    example={"uid": "P-x"},
)
EXCLUSIONS = cypher(
    "views.exclusions",
    """
    MATCH (p:Person {uid: $uid})-[e:EXCLUDED]->(s:School)
    RETURN e.date AS date, e.kind AS kind, e.sessions AS sessions, e.reason AS reason,
           s.name AS school
    ORDER BY date
    """,
    example={"uid": "P-x"},
)
ALERTS = cypher(
    "views.alerts",
    """
    MATCH (a:Alert)-[:ABOUT]->(p:Person {uid: $uid})
    RETURN DISTINCT a.kind AS kind, a.text AS text, a.created_at AS created_at
    ORDER BY created_at
    """,
    example={"uid": "P-x"},
)
PROFESSIONAL_NAME = cypher(
    "views.professional_name",
    "MATCH (w:Professional {uid: $uid}) RETURN w.name AS name LIMIT 1",
    example={"uid": "W-x"},
)
PERSON_EXISTS = cypher(
    "views.person_exists",
    "MATCH (p:Person {uid: $uid}) RETURN p.uid AS uid LIMIT 1",
    example={"uid": "P-x"},
)
# What the statutory returns say about the child (graph.schema.RETURN_FACTS): each fact
# with its label, and a period of care with its episodes.
_FACT_TYPES = "|".join(
    rel.type for node, rel in RETURN_FACTS if rel.start == "Person" and node.label != "Disability"
)
SOCIAL_CARE = cypher(
    "views.social_care",
    f"""
    MATCH (p:Person {{uid: $uid}})
    OPTIONAL MATCH (p)-[:{_FACT_TYPES}]->(f)
    OPTIONAL MATCH (f)-[:HAS_EPISODE]->(e:Episode)
    WITH f, e ORDER BY e.start
    WITH f, collect(properties(e)) AS episodes
    WHERE f IS NOT NULL
    RETURN labels(f)[0] AS label, properties(f) AS fact, episodes
    """,
    example={"uid": "P-x"},
)
DISABILITIES = cypher(
    "views.disabilities",
    """
    MATCH (p:Person {uid: $uid})-[:HAS_DISABILITY]->(d:Disability)
    RETURN d.uid AS code, d.name AS name
    ORDER BY code
    """,
    example={"uid": "P-x"},
)
# The case kind each fact belongs to, for who may see it (graph.access.guard).
FACT_KIND = {
    "Referral": "CIN",
    "CINPlan": "CIN",
    "Section47": "CP",
    "CPPlan": "CP",
    "PeriodOfCare": "CLA",
    "MissingEpisode": "CLA",
    "Outcome": "CLA",
    "Adoption": "CLA",
    "Status": "CLA",
}
ADD_NOTE = cypher(
    "views.add_note",
    """
    MATCH (p:Person {uid: $uid})
    OPTIONAL MATCH (w:Professional {uid: $worker})
    CREATE (n:Note {uid: $note_uid, kind: 'update', text: $text,
                    author: coalesce(w.name, $author), at: $at})
    CREATE (p)-[:HAS_NOTE]->(n)
    RETURN n.uid AS uid
    """,
    example={
        "uid": "P-x",
        "note_uid": "N-x",
        "text": "t",
        "author": "a",
        "worker": "W-x",
        "at": "2026-11-02T10:00",
    },
    writes=True,
)


# The relationship types are spelt out in the pattern so the engine never walks
# attendance, provenance or review links; school links (a whole school of
# classmates) only when asked for.
def _network(name: str, rel_types: str) -> str:
    """One family network statement per set of relationship types (one text, two uses)."""
    return cypher(
        name,
        f"""
    MATCH (c:Person {{uid: $uid}})
    OPTIONAL MATCH path = (c)-[:{rel_types}*1..3]-(m)
    WHERE length(path) <= $depth
      AND all(r IN relationships(path) WHERE type(r) IN $types
              AND (r.from IS NULL OR r.from <= date($as_of))
              AND (r.to IS NULL OR r.to > date($as_of)))
      AND all(n IN nodes(path) WHERE labels(n)[0] IN $labels)
      AND none(n IN nodes(path)[1..-1] WHERE n:Professional)
    WITH c, [x IN collect(path) WHERE x IS NOT NULL] AS paths
    WITH c, paths, reduce(ns = [c], p IN paths | ns + nodes(p)) AS all_nodes,
         reduce(rs = [], p IN paths | rs + relationships(p)) AS all_rels
    UNWIND all_nodes AS n
    WITH DISTINCT all_rels, n
    OPTIONAL MATCH (n)-[:HAS_CASE]->(k:Case {{status: 'open'}})
    WITH all_rels, n, collect(DISTINCT k.kind) AS open_cases
    WITH all_rels, collect({{uid: n.uid, label: labels(n)[0],
                            name: coalesce(n.full_name, n.name, n.line1, n.kind, n.uid),
                            open_cases: open_cases, child: 'Child' IN labels(n),
                            dob: n.dob, sex: n.sex, kind: n.kind, status: n.status,
                            postcode: n.postcode, role: n.role, team: n.team,
                            service: head([(n)-[:WITH_SERVICE]->(s:Service) | s.name]),
                            workers: [(n)<-[w:WORKS_ON]-(p:Professional)
                                      WHERE w.to IS NULL | p.name]}}) AS nodes
    UNWIND (CASE WHEN size(all_rels) = 0 THEN [NULL] ELSE all_rels END) AS r
    WITH nodes, r
    RETURN nodes, collect(DISTINCT CASE WHEN r IS NULL THEN NULL ELSE
        {{source: startNode(r).uid, target: endNode(r).uid, type: type(r),
         kind: r.kind, role: r.role}} END) AS edges
    """,
        example={
            "uid": "P-x",
            "depth": 2,
            "as_of": "2026-11-02",
            "types": ["PARENT_OF", "LIVES_AT"],
            "labels": ["Person", "Address"],
        },
    )


NETWORK = _network("views.network", "PARENT_OF|MEMBER_OF|LIVES_AT|HAS_CASE|WORKS_ON")


# The caseload map asks for what it draws, never every case in the county: counts per
# worker and kind, cases counted per home, one team's cases one by one, and the cases
# waiting for a worker (counted, the first few named). The filters every read shares:
_CASE_FILTERS = """
    ($status = 'any' OR c.status = $status) AND ($kind = 'any' OR c.kind = $kind)
      AND ($service = 'any' OR s.uid = $service)
"""
# A child's current home, picked with CASE rather than a WHERE on the OPTIONAL MATCH:
# FalkorDB runs an optional match with a relationship filter as a separate apply, several
# times slower.
_HOME = """
    OPTIONAL MATCH (child)-[l:LIVES_AT]->(a:Address)
    WITH child, c, s, pro, t, collect(CASE WHEN l.to IS NULL THEN a END)[0] AS home
"""
_CASE_ROW = """
    child.uid AS child_uid, child.full_name AS child_name, c.uid AS case_uid,
    c.kind AS kind, c.status AS status, c.start AS start, s.name AS service,
    pro.name AS professional, t.name AS team,
    home.lat AS lat, home.lon AS lon, home.postcode_district AS district
"""
_FILTERS_EXAMPLE = {"status": "open", "kind": "any", "service": "any"}
_WORKERS = """
    RETURN pro.uid AS professional_uid, pro.name AS professional, t.uid AS team_uid,
           t.name AS team, c.kind AS kind, s.uid AS service_uid, count(*) AS cases
"""
CASELOAD_WORKERS = cypher(
    "views.caseload_workers",
    f"""
    MATCH (pro:Professional)-[w:WORKS_ON]->(c:Case)-[:WITH_SERVICE]->(s:Service)
    WHERE w.to IS NULL AND {_CASE_FILTERS}
    OPTIONAL MATCH (pro)-[:IN_TEAM]->(t:Team)
    {_WORKERS}
    """,
    example=_FILTERS_EXAMPLE,
)
# One team's, from the team: each step after a WITH, or FalkorDB starts from the index
# of open cases and walks every case to its workers and teams (a read that grows with
# the county, not the team).
_TEAM_CASES = f"""
    MATCH (t:Team {{uid: $team}})
    WITH t
    MATCH (t)<-[:IN_TEAM]-(pro:Professional)
    WITH t, pro
    MATCH (pro)-[w:WORKS_ON]->(c:Case)
    WHERE w.to IS NULL
    WITH t, pro, c
    MATCH (c)-[:WITH_SERVICE]->(s:Service)
    WHERE {_CASE_FILTERS}
"""
CASELOAD_TEAM_WORKERS = cypher(
    "views.caseload_team_workers",
    _TEAM_CASES + _WORKERS,
    example=_FILTERS_EXAMPLE | {"team": "T-x"},
)
CASELOAD_HOMES = cypher(
    "views.caseload_homes",
    f"""
    MATCH (child:Person)-[:HAS_CASE]->(c:Case)-[:WITH_SERVICE]->(s:Service)
    WHERE {_CASE_FILTERS}
    WITH DISTINCT child, c, s, null AS pro, null AS t
    {_HOME}
    RETURN home.lat AS lat, home.lon AS lon, count(*) AS cases
    """,
    example=_FILTERS_EXAMPLE,
)
CASELOAD_TEAM_CASES = cypher(
    "views.caseload_team_cases",
    _TEAM_CASES
    + f"""
    WITH t, pro, c, s
    MATCH (child:Person)-[:HAS_CASE]->(c)
    {_HOME}
    RETURN {_CASE_ROW}
    ORDER BY child_name, case_uid
    LIMIT $limit
    """,
    example=_FILTERS_EXAMPLE | {"team": "T-x", "limit": 10},
)
# Cases of the kinds given that have no current worker, in the services given (all when
# null): how many, and the first ``limit`` of them, longest waiting first.
CASELOAD_UNALLOCATED = cypher(
    "views.caseload_unallocated",
    f"""
    MATCH (s:Service)<-[:WITH_SERVICE]-(c:Case)
    WHERE ($services IS NULL OR s.uid IN $services) AND {_CASE_FILTERS}
      AND NOT coalesce(c.kind, '') IN $no_worker_needed
    OPTIONAL MATCH (c)<-[w:WORKS_ON]-(:Professional)
    WITH c, s, count(CASE WHEN w IS NOT NULL AND w.to IS NULL THEN 1 END) AS workers
    WHERE workers = 0
    MATCH (child:Person)-[:HAS_CASE]->(c)
    WITH child, c, s, null AS pro, null AS t
    {_HOME}
    WITH {_CASE_ROW}
    ORDER BY start, child_name, case_uid
    WITH count(*) AS total,
         collect({{child_uid: child_uid, child_name: child_name, case_uid: case_uid,
                  kind: kind, status: status, start: start, service: service,
                  professional: professional, team: team, lat: lat, lon: lon,
                  district: district}}) AS cases
    RETURN total, cases[..$limit] AS cases
    """,
    example=_FILTERS_EXAMPLE | {"services": None, "no_worker_needed": ["Transport"], "limit": 5},
)
# The first cases waiting anywhere, once the load's tally has counted them all: from the
# cases no current worker holds (the derived ``workers``; not indexed: a label scan of
# cases), only those listed walked to their homes.
CASELOAD_FIRST_WAITING = cypher(
    "views.caseload_first_waiting",
    f"""
    MATCH (c:Case)
    WHERE c.workers = 0 AND ($status = 'any' OR c.status = $status)
      AND ($kind = 'any' OR c.kind = $kind) AND NOT coalesce(c.kind, '') IN $no_worker_needed
    WITH c
    MATCH (c)-[:WITH_SERVICE]->(s:Service)
    WHERE $service = 'any' OR s.uid = $service
    MATCH (child:Person)-[:HAS_CASE]->(c)
    WITH child, c, s
    ORDER BY c.start, child.full_name, c.uid
    LIMIT $limit
    WITH child, c, s, null AS pro, null AS t
    {_HOME}
    RETURN {_CASE_ROW}
    ORDER BY start, child_name, case_uid
    """,
    example=_FILTERS_EXAMPLE | {"no_worker_needed": ["Transport"], "limit": 5},
)
TEAMS = cypher("views.teams", "MATCH (t:Team) RETURN t.uid AS uid, t.name AS name ORDER BY name")
SERVICES = cypher(
    "views.services", "MATCH (s:Service) RETURN s.uid AS uid, s.name AS name ORDER BY name"
)

NETWORK_TYPES = ("PARENT_OF", "MEMBER_OF", "LIVES_AT", "ATTENDS", "HAS_CASE", "WORKS_ON")
NETWORK_LABELS = ("Person", "Family", "Address", "School", "Case", "Professional")
# What the network shows unless asked: a school link would pull in every classmate.
DEFAULT_TYPES = tuple(t for t in NETWORK_TYPES if t != "ATTENDS")


def find_children(store: GraphStore, text: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """By name (typo-tolerant full-text), date of birth, UPN, NHS number, LA id or uid."""
    text = text.strip()
    if not text:
        return []
    compact = text.replace(" ", "")
    uids: list[str] = []
    try:
        day = dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None and len(text) == 10 and text[2] == "/" and text[5] == "/":
        try:
            day = dt.datetime.strptime(text, "%d/%m/%Y").date()
        except ValueError:
            day = None
    if day is not None:
        uids = [r["uid"] for r in store.read(FIND_BY_DOB, {"dob": day.isoformat()}).rows]
    elif (any(ch.isdigit() for ch in compact) and compact.isalnum()) or text.startswith("P-"):
        uids = [
            r["uid"]
            for r in store.read(
                FIND_BY_ID,
                {
                    "id": compact.upper()
                    if compact[0].isalpha() and not text.startswith("P-")
                    else text
                },
            ).rows
        ]
    else:
        uids = [r["uid"] for r in store.search_people(text, limit=limit)]
    if not uids:
        return []
    rows = store.read(SEARCH_SUMMARY, {"uids": uids[:limit]}).rows
    order = {u: i for i, u in enumerate(uids)}
    out = []
    for r in sorted(rows, key=lambda r: order.get(r["uid"], 0)):
        dob = read_day(r["dob"])
        out.append(
            {
                "uid": r["uid"],
                "name": r["name"],
                "dob": dob,
                "age": years_old(dob),
                "school": r["school"],
                "district": r["district"],
            }
        )
    return out


def child_record(store: GraphStore, uid: str) -> dict[str, Any] | None:
    person = store.read(PERSON, {"uid": uid}).rows
    if not person:
        return None
    family = store.read(FAMILY, {"uid": uid}).rows[0]
    members = [
        m for group in ("parents", "children", "siblings") for m in family[group] if m.get("uid")
    ]
    record = {
        "person": person[0],
        "addresses": store.read(ADDRESSES, {"uid": uid}).rows,
        "family": members,
        "schools": store.read(SCHOOLS, {"uid": uid}).rows,
        "cases": store.read(CASES, {"uid": uid}).rows,
        "professionals": store.read(PROFESSIONALS, {"uid": uid}).rows,
        "attendance": store.read(ATTENDANCE, {"uid": uid}).rows,
        "needs": store.read(NEEDS, {"uid": uid}).rows,
        "notes": store.read(NOTES, {"uid": uid}).rows,
        "exclusions": store.read(EXCLUSIONS, {"uid": uid}).rows,
        "social_care": social_care(store, uid),
        "disabilities": store.read(DISABILITIES, {"uid": uid}).rows,
        "alerts": store.read(ALERTS, {"uid": uid}).rows,
    }
    # what the data already contradicts about this child and their family, in words
    record["warnings"] = family_rules.warnings(store, [uid])
    return record


def social_care(store: GraphStore, uid: str) -> list[dict[str, Any]]:
    """The child's facts from the statutory returns, each with its ``label`` and the
    case ``kind`` it belongs to (CIN, CP, CLA, EHCP), in date order."""
    out = []
    for row in store.read(SOCIAL_CARE, {"uid": uid}).rows:
        fact = {k: v for k, v in row["fact"].items() if k != "uid"}
        kind = FACT_KIND.get(row["label"])
        if row["label"] == "Assessment":
            kind = "EHCP" if fact.get("kind") == "EHC needs" else "CIN"
        elif row["label"] == "Review":
            kind = fact.get("kind") if fact.get("kind") in ("CP", "EHCP") else "CLA"
        fact |= {"label": row["label"], "case_kind": kind, "uid": row["fact"].get("uid")}
        if row["label"] == "PeriodOfCare":
            fact["episodes"] = row["episodes"]
        out.append(fact)
    return sorted(out, key=lambda f: (_day(f), f["label"]))


def _day(fact: dict[str, Any]) -> dt.date:
    for key in ("date", "start", "decided", "from"):
        if (day := read_day(fact.get(key))) is not None:
            return day
    return dt.date.min


def caseworkers(store: GraphStore, uid: str) -> tuple[list[str], list[str]]:
    """Who holds the child's open cases, and their teams: decides full or limited view."""
    return caseworkers_of(store, [uid]).get(uid, ([], []))


def caseworkers_of(store: GraphStore, uids: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """:func:`caseworkers` for many children at once (a query's rows); a child nobody
    holds an open case of is left out."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for start in range(0, len(uids), 5_000):
        rows = store.read(WORKER_TEAMS, {"uids": uids[start : start + 5_000]}, max_rows=10_000).rows
        out.update({r["uid"]: (r["workers"], r["teams"]) for r in rows})
    return out


def professional_name(store: GraphStore, uid: str | None) -> str | None:
    """The name of the professional an account belongs to, to sign what they write."""
    if not uid:
        return None
    rows = store.read(PROFESSIONAL_NAME, {"uid": uid}).rows
    return rows[0]["name"] if rows else None


def person_exists(store: GraphStore, uid: str) -> bool:
    return bool(store.read(PERSON_EXISTS, {"uid": uid}).rows)


def add_note(
    store: GraphStore, uid: str, author: str, text: str, *, worker: str | None = None
) -> str:
    """Write an update note on a person, signed with the name of the professional the
    account belongs to (``worker``), else with ``author``; raises LookupError when no
    one has the id (the write matched nothing), so a caller never reports a note that
    is not there."""
    text = text.strip()
    if not text:
        raise ValueError("the note is empty")
    if len(text) > 5_000:
        raise ValueError("a note is at most 5,000 characters")
    note_uid = f"N-{uuid.uuid4().hex[:16]}"
    at = dt.datetime.now().isoformat(timespec="seconds")
    written = store.write(
        ADD_NOTE,
        {
            "uid": uid,
            "note_uid": note_uid,
            "text": text,
            "author": author,
            "worker": worker,
            "at": at,
        },
    )
    if not written.nodes_created:
        raise LookupError(f"no one has the id {uid}")
    return note_uid


def family_network(
    store: GraphStore,
    uid: str,
    *,
    depth: int = 2,
    as_of: dt.date | None = None,
    types: tuple[str, ...] = NETWORK_TYPES,
    labels: tuple[str, ...] = NETWORK_LABELS,
) -> dict[str, list[dict[str, Any]]]:
    depth = max(1, min(3, int(depth)))
    rows = store.read(
        NETWORK,
        {
            "uid": uid,
            "depth": depth,
            "as_of": (as_of or dt.date.today()).isoformat(),
            "types": list(types),
            "labels": list(labels),
        },
        max_rows=10,
    ).rows
    if not rows:
        return {"nodes": [], "edges": [], "warnings": []}
    nodes = rows[0]["nodes"]
    people = [n["uid"] for n in nodes if n.get("label") == "Person"]
    return {
        "nodes": nodes,
        "edges": [e for e in rows[0]["edges"] if e],
        # contradictions in the data about anyone shown, in words
        "warnings": family_rules.warnings(store, people),
    }


@dataclass
class Caseload:
    """What the caseload map shows of the cases matching its filters: ``workers``,
    cases counted per (worker, team, kind, service); ``homes``, cases counted per home
    (lat, lon, cases; the whole county's, or none when a team is in view); ``cases``,
    the team in view's cases one by one (at most the limit asked); ``waiting``, the
    first cases needing a worker that have none, of ``waiting_total``."""

    workers: list[dict[str, Any]]
    homes: list[dict[str, Any]]
    cases: list[dict[str, Any]]
    waiting: list[dict[str, Any]]
    waiting_total: int


def caseload(
    store: GraphStore,
    *,
    no_worker_needed: list[str],
    status: str = "open",
    kind: str = "any",
    service: str = "any",
    team: str = "any",
    most_cases: int = 25_000,
    most_waiting: int = 1_000,
) -> Caseload:
    """The caseload map's reads: with a ``team`` its workers, its cases one by one and
    the cases waiting in the services it works in (in every service when it holds none);
    with every team, counts per worker and per home and the cases waiting anywhere."""
    filters = {"status": status, "kind": kind, "service": service}
    homes: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    services = None
    tally = caseload_tally.chosen(store, filters) if team == "any" else None
    if tally is not None:
        return _from_tally(store, tally, filters, no_worker_needed, most_waiting)
    if team == "any":
        workers = _wide(store, CASELOAD_WORKERS, filters)
        homes = _wide(store, CASELOAD_HOMES, filters)
    else:
        workers = _wide(store, CASELOAD_TEAM_WORKERS, filters | {"team": team})
        cases = _wide(store, CASELOAD_TEAM_CASES, filters | {"team": team, "limit": most_cases})
        services = sorted({w["service_uid"] for w in workers}) or None
    waiting = _wide(
        store,
        CASELOAD_UNALLOCATED,
        filters
        | {"services": services, "no_worker_needed": no_worker_needed, "limit": most_waiting},
    )[0]
    return Caseload(workers, homes, cases, list(waiting["cases"]), waiting["total"])


def _from_tally(
    store: GraphStore,
    tally: caseload_tally.Chosen,
    filters: dict[str, str],
    no_worker_needed: list[str],
    most_waiting: int,
) -> Caseload:
    """Every team's view from the load's tally, and the first cases waiting read one
    by one."""
    total = sum(
        n
        for (kind, service), n in tally.waiting.items()
        if (filters["kind"] in ("any", kind) and filters["service"] in ("any", service))
        and (kind or "") not in no_worker_needed
    )
    waiting = _wide(
        store,
        CASELOAD_FIRST_WAITING,
        filters | {"no_worker_needed": no_worker_needed, "limit": most_waiting},
    )
    return Caseload(tally.workers, tally.homes, [], waiting, total)


def _wide(store: GraphStore, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """A read that may cover a whole county (a county-wide filter), with its time limit."""
    return store.read(query, params, max_rows=200_000, timeout_ms=COUNTY_WIDE_READ_TIMEOUT_MS).rows


def teams(store: GraphStore) -> list[dict[str, Any]]:
    return store.read(TEAMS).rows


def services(store: GraphStore) -> list[dict[str, Any]]:
    return store.read(SERVICES).rows
