"""The Cypher a load runs: batched ``UNWIND $rows`` MERGEs on stable keys.

Every statement MERGEs on our own uids (or on the pair of nodes plus the fact's own
key for relationships), so running a load twice, or again after a crash part way,
converges on the same graph. Statements are portable Cypher (see DESIGN.md) and are
registered so the portability guard runs and lints each one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING

from graph.bulk import EdgeShape
from graph.cypher import cypher
from graph.store import GraphStore
from loaders import bulk_steps as steps
from loaders import write_returns
from loaders.build import SERVICE_NAMES, GraphRows
from loaders.bulk_steps import BulkStep

if TYPE_CHECKING:
    from loaders.ahead import RecordsAhead

_P = {"uid": "P-x", "given_name": "A", "middle_names": None, "family_name": "B",
      "full_name": "A B", "other_names": None, "dob": "2015-01-02", "dod": None, "sex": "F",
      "ethnicity": None, "language": None, "upn": None, "nhs_number": None, "uln": None,
      "la_child_id": None, "fsm": None, "eal": None, "young_carer": None, "sources": "x",
      "conflicts": None, "child": True}  # fmt: skip

# Child or Adult is set in the same statement (FOREACH over a one- or no-element list,
# portable Cypher for "if"): a second pass per label looked every person up again and
# took 17 s of a county load.
MERGE_PEOPLE = cypher(
    "load.people",
    """
    UNWIND $rows AS row
    MERGE (p:Person {uid: row.uid})
    SET p.given_name = row.given_name, p.middle_names = row.middle_names,
        p.family_name = row.family_name, p.full_name = row.full_name,
        p.other_names = row.other_names,
        p.dob = CASE WHEN row.dob IS NULL THEN NULL ELSE date(row.dob) END,
        p.dod = CASE WHEN row.dod IS NULL THEN NULL ELSE date(row.dod) END,
        p.sex = row.sex, p.ethnicity = row.ethnicity, p.language = row.language,
        p.upn = row.upn, p.nhs_number = row.nhs_number, p.uln = row.uln,
        p.la_child_id = row.la_child_id, p.fsm = row.fsm, p.eal = row.eal,
        p.young_carer = row.young_carer, p.sources = row.sources, p.conflicts = row.conflicts
    FOREACH (_ IN CASE WHEN row.child THEN [1] ELSE [] END | SET p:Child REMOVE p:Adult)
    FOREACH (_ IN CASE WHEN row.child THEN [] ELSE [1] END | SET p:Adult REMOVE p:Child)
    """,
    example={"rows": [_P]},
    writes=True,
)
MERGE_SOURCE_RECORDS = cypher(
    "load.source_records",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.person})
    MERGE (s:SourceRecord {uid: row.uid})
    ON CREATE SET s.loaded_at = $loaded_at
    SET s.source = row.source, s.source_key = row.source_key, s.row = row.row,
        s.file = row.file
    WITH s, p, row
    OPTIONAL MATCH (s)-[old:DESCRIBES]->(other:Person)
    WHERE other.uid <> p.uid
    DELETE old
    MERGE (s)-[d:DESCRIBES]->(p)
    SET d.probability = row.probability
    """,
    example={
        "rows": [
            {
                "uid": "s:1",
                "person": "P-x",
                "source": "s",
                "source_key": None,
                "row": 2,
                "file": "f.csv",
                "probability": 1.0,
            }
        ],
        "loaded_at": "2026-11-02T10:00",
    },
    writes=True,
)
# Records no earlier load wrote (the usual case, and all of a first load): nothing to
# merge with or move, so a plain CREATE, about twice as fast as the MERGE above.
CREATE_SOURCE_RECORDS = cypher(
    "load.new_source_records",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.person})
    CREATE (s:SourceRecord {uid: row.uid, loaded_at: $loaded_at, source: row.source,
                            source_key: row.source_key, row: row.row, file: row.file})
    CREATE (s)-[:DESCRIBES {probability: row.probability}]->(p)
    """,
    example={"rows": [], "loaded_at": "2026-11-02T10:00"},
    writes=True,
)
MERGE_AREAS_AND_ADDRESSES = cypher(
    "load.addresses",
    """
    UNWIND $rows AS row
    MERGE (a:Address {uid: row.uid})
    SET a.uprn = row.uprn, a.line1 = row.line1, a.town = row.town, a.postcode = row.postcode,
        a.postcode_district = row.postcode_district, a.lsoa = row.lsoa,
        a.imd_decile = row.imd_decile, a.lat = row.lat, a.lon = row.lon,
        a.local_authority = row.local_authority, a.in_county = row.in_county,
        a.postcode_only = row.postcode_only
    """,
    example={
        "rows": [
            {
                "uid": "1",
                "uprn": "1",
                "line1": "1 A St",
                "town": "T",
                "postcode": "NM1 1AA",
                "postcode_district": "NM1",
                "lsoa": "E0",
                "imd_decile": 3,
                "lat": 51.5,
                "lon": 0.5,
                "local_authority": "N",
                "in_county": True,
                "postcode_only": False,
            }
        ]
    },
    writes=True,
)
MERGE_SCHOOLS = cypher(
    "load.schools",
    """
    UNWIND $rows AS row
    MERGE (s:School {uid: row.uid})
    SET s.urn = row.urn, s.name = row.name, s.phase = row.phase, s.kind = row.kind,
        s.postcode = row.postcode, s.lat = row.lat, s.lon = row.lon,
        s.low_age = row.low_age, s.high_age = row.high_age
    """,
    example={
        "rows": [
            {
                "uid": "1",
                "urn": "1",
                "name": "S",
                "phase": "Primary",
                "kind": "Academy",
                "postcode": None,
                "lat": None,
                "lon": None,
                "low_age": 4,
                "high_age": 11,
            }
        ]
    },
    writes=True,
)
MERGE_SERVICES = cypher(
    "load.services",
    "UNWIND $rows AS row MERGE (s:Service {uid: row.uid}) SET s.name = row.name",
    example={"rows": [{"uid": "send", "name": "SEND"}]},
    writes=True,
)
MERGE_STAFF = cypher(
    "load.staff",
    """
    UNWIND $rows AS row
    MERGE (w:Professional {uid: row.uid})
    SET w.name = row.name, w.role = row.role, w.agency = row.agency, w.email = row.email,
        w.phone = row.phone, w.team = row.team
    WITH w, row WHERE row.team_uid IS NOT NULL
    MERGE (t:Team {uid: row.team_uid})
    SET t.name = row.team
    MERGE (w)-[:IN_TEAM]->(t)
    WITH t, row WHERE row.service IS NOT NULL
    MERGE (s:Service {uid: row.service})
    MERGE (t)-[:PART_OF]->(s)
    """,
    example={
        "rows": [
            {
                "uid": "W1",
                "name": "N",
                "role": "R",
                "agency": "A",
                "email": None,
                "phone": None,
                "team": "T",
                "team_uid": "T1",
                "service": "send",
            }
        ]
    },
    writes=True,
)
MERGE_LIVES_AT = cypher(
    "load.lives_at",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.person})
    MATCH (a:Address {uid: row.address})
    MERGE (p)-[r:LIVES_AT {from: date(row.from)}]->(a)
    SET r.to = CASE WHEN row.to IS NULL THEN NULL ELSE date(row.to) END
    """,
    example={"rows": [{"person": "P-x", "address": "1", "from": "2020-01-01", "to": None}]},
    writes=True,
)
# An address seen without a date: one residence of unknown start, not one per sighting.
MERGE_LIVES_AT_UNDATED = cypher(
    "load.lives_at_undated",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.person})
    MATCH (a:Address {uid: row.address})
    MERGE (p)-[r:LIVES_AT]->(a)
    """,
    example={"rows": [{"person": "P-x", "address": "1"}]},
    writes=True,
)
# "Tell us once": a newer move closes whatever residence was still open before it.
CLOSE_SUPERSEDED_RESIDENCES = cypher(
    "load.close_superseded_residences",
    """
    MATCH (p:Person)-[r:LIVES_AT]->(:Address)
    WHERE r.to IS NULL
    WITH p, r ORDER BY r.from DESC
    WITH p, collect(r) AS open
    WHERE size(open) > 1
    WITH open[0] AS latest, open[1..] AS older
    UNWIND older AS o
    SET o.to = latest.from
    """,
    writes=True,
)
# Derived facts, recomputed from the graph at the end of every load (the loader is the
# only writer of cases and allocations, so they cannot drift). County-wide questions
# ("open cases nobody holds", "children known to three services", "siblings of a
# child with an open SEND case") then start from an index instead of walking all
# 157,000 open cases and their services: 2-10 s each at county scale before.
# Only what changed is SET: on FalkorDB a SET costs as much when it changes nothing
# (153,000 people: 10 s either way), and each one leaves the node slower to read until
# the engine next starts from a snapshot (docs/engines.md). People and cases new in a load
# are created with these already (Builder.cases), so a first load sets next to nothing.
# Lists compare as sets: the builder sorts them, a walk of the graph need not.
DERIVE_CASE_WORKERS = cypher(
    "load.derive_case_workers",
    """
    MATCH (k:Case)
    OPTIONAL MATCH (k)<-[w:WORKS_ON]-()
    WITH k, count(CASE WHEN w IS NOT NULL AND w.to IS NULL THEN 1 END) AS workers
    WHERE k.workers IS NULL OR k.workers <> workers
    SET k.workers = workers
    """,
    writes=True,
)
# Each case is walked once and picked by CASE (docs/cypher-portability.md):
# finding the people and then their open cases again took 9.3 s at county scale, this
# 3.0 s, with the same lists for all 153,417 people.
DERIVE_OPEN_SERVICES = cypher(
    "load.derive_open_services",
    """
    MATCH (p:Person)-[:HAS_CASE]->(k:Case)
    OPTIONAL MATCH (k)-[:WITH_SERVICE]->(s:Service)
    WITH p, collect(DISTINCT CASE WHEN k.status = 'open' THEN s.uid END) AS services,
         collect(DISTINCT CASE WHEN k.status = 'open' AND s IS NOT NULL THEN k.kind END)
           AS kinds
    WHERE p.open_services IS NULL OR p.open_case_kinds IS NULL
       OR size(p.open_services) <> size(services) OR size(p.open_case_kinds) <> size(kinds)
       OR any(x IN services WHERE NOT x IN p.open_services)
       OR any(x IN kinds WHERE NOT x IN p.open_case_kinds)
    SET p.open_services = services, p.open_case_kinds = kinds,
        p.open_service_count = size(services)
    """,
    writes=True,
)
DERIVE_OPEN_SERVICES_FOR = cypher(
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
MERGE_PARENT_OF = cypher(
    "load.parent_of",
    """
    UNWIND $rows AS row
    MATCH (a:Person {uid: row.parent})
    MATCH (c:Person {uid: row.child})
    MERGE (a)-[r:PARENT_OF]->(c)
    SET r.kind = row.kind,
        r.from = CASE WHEN row.from IS NULL THEN r.from ELSE date(row.from) END,
        r.to = CASE WHEN row.to IS NULL THEN NULL ELSE date(row.to) END
    """,
    example={
        "rows": [{"parent": "P-x", "child": "P-x", "kind": "birth", "from": None, "to": None}]
    },
    writes=True,
)
MERGE_FAMILIES = cypher(
    "load.families",
    "UNWIND $rows AS row MERGE (f:Family {uid: row.uid}) SET f.name = row.name, "
    "f.source = row.source",
    example={"rows": [{"uid": "eh:1", "name": "1", "source": "eh"}]},
    writes=True,
)
MERGE_MEMBER_OF = cypher(
    "load.member_of",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.person})
    MATCH (f:Family {uid: row.family})
    MERGE (p)-[r:MEMBER_OF]->(f)
    SET r.role = row.role,
        r.from = CASE WHEN row.from IS NULL THEN NULL ELSE date(row.from) END,
        r.to = CASE WHEN row.to IS NULL THEN NULL ELSE date(row.to) END
    """,
    example={
        "rows": [
            {"person": "P-x", "family": "eh:1", "role": "child", "from": "2020-01-01", "to": None}
        ]
    },
    writes=True,
)
MERGE_ATTENDS = cypher(
    "load.attends",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.person})
    MATCH (s:School {uid: row.school})
    MERGE (p)-[r:ATTENDS]->(s)
    SET r.from = CASE WHEN row.from IS NULL THEN NULL ELSE date(row.from) END,
        r.to = CASE WHEN row.to IS NULL THEN NULL ELSE date(row.to) END,
        r.year_group = row.year_group
    """,
    example={
        "rows": [
            {"person": "P-x", "school": "1", "from": "2020-09-01", "to": None, "year_group": "3"}
        ]
    },
    writes=True,
)
MERGE_ATTENDANCE = cypher(
    "load.attendance",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.person})
    MATCH (s:School {uid: row.school})
    MERGE (p)-[r:ATTENDANCE {term: row.term}]->(s)
    SET r.term_start = date(row.term_start), r.possible = row.possible,
        r.absent = row.absent, r.unauthorised = row.unauthorised
    """,
    example={
        "rows": [
            {
                "person": "P-x",
                "school": "1",
                "term": "2025-26 Autumn",
                "term_start": "2025-09-01",
                "possible": 140,
                "absent": 10,
                "unauthorised": 3,
            }
        ]
    },
    writes=True,
)
MERGE_EXCLUSIONS = cypher(
    "load.exclusions",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.person})
    MATCH (s:School {uid: row.school})
    MERGE (p)-[r:EXCLUDED {date: date(row.date)}]->(s)
    SET r.kind = row.kind, r.sessions = row.sessions, r.reason = row.reason
    """,
    example={
        "rows": [
            {
                "person": "P-x",
                "school": "1",
                "date": "2025-11-01",
                "kind": "SUSP",
                "sessions": 2,
                "reason": "PA",
            }
        ]
    },
    writes=True,
)
MERGE_OFFERS = cypher(
    "load.offers",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.person})
    MATCH (s:School {uid: row.school})
    MERGE (p)-[r:OFFERED {entry_point: row.entry_point}]->(s)
    SET r.start = date(row.start),
        r.date = CASE WHEN row.date IS NULL THEN NULL ELSE date(row.date) END
    """,
    example={
        "rows": [
            {
                "person": "P-x",
                "school": "1",
                "entry_point": "Year 7",
                "start": "2027-09-01",
                "date": "2026-11-01",
            }
        ]
    },
    writes=True,
)
MERGE_CASES = cypher(
    "load.cases",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.person})
    MERGE (c:Case {uid: row.uid})
    SET c.kind = row.kind, c.status = row.status,
        c.start = CASE WHEN row.start IS NULL THEN NULL ELSE date(row.start) END,
        c.end = CASE WHEN row.end IS NULL THEN NULL ELSE date(row.end) END,
        c.reason = row.reason, c.placement_la = row.placement_la,
        c.placement_type = row.placement_type, c.placement_out_of_area = row.placement_out_of_area
    MERGE (p)-[:HAS_CASE]->(c)
    MERGE (s:Service {uid: row.service})
    MERGE (c)-[:WITH_SERVICE]->(s)
    """,
    example={
        "rows": [
            {
                "uid": "c:1",
                "person": "P-x",
                "kind": "CIN",
                "status": "open",
                "start": "2025-01-01",
                "end": None,
                "reason": None,
                "placement_la": None,
                "placement_type": None,
                "placement_out_of_area": False,
                "service": "social-care",
            }
        ]
    },
    writes=True,
)
MERGE_WORKS_ON = cypher(
    "load.works_on",
    """
    UNWIND $rows AS row
    MATCH (w:Professional {uid: row.worker})
    MATCH (c:Case {uid: row.case})
    MERGE (w)-[r:WORKS_ON]->(c)
    SET r.role = w.role,
        r.from = CASE WHEN row.from IS NULL THEN NULL ELSE date(row.from) END,
        r.to = CASE WHEN row.to IS NULL THEN NULL ELSE date(row.to) END
    """,
    example={"rows": [{"worker": "W1", "case": "c:1", "from": "2025-01-01", "to": None}]},
    writes=True,
)
MERGE_NEEDS = cypher(
    "load.needs",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.person})
    MERGE (n:Need {uid: row.need})
    SET n.name = row.name
    MERGE (p)-[r:HAS_NEED]->(n)
    SET r.rank = row.rank,
        r.from = CASE WHEN row.from IS NULL THEN NULL ELSE date(row.from) END
    """,
    example={
        "rows": [
            {"person": "P-x", "need": "HI", "name": "Hearing Impairment", "rank": 1, "from": None}
        ]
    },
    writes=True,
)
MERGE_PERSON_NOTES = cypher(
    "load.person_notes",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.person})
    MERGE (n:Note {uid: row.uid})
    SET n.text = row.text, n.author = row.author, n.at = row.at, n.kind = row.kind,
        n.case = row.case
    MERGE (p)-[:HAS_NOTE]->(n)
    """,
    example={
        "rows": [
            {
                "uid": "n:1",
                "person": "P-x",
                "text": "t",
                "author": "a",
                "at": "2025-01-01T10:00",
                "kind": "case",
                "case": None,
            }
        ]
    },
    writes=True,
)
MERGE_ADDRESS_NOTES = cypher(
    "load.address_notes",
    """
    UNWIND $rows AS row
    MATCH (a:Address {uid: row.address})
    MERGE (n:Note {uid: row.uid})
    SET n.text = row.text, n.author = row.author, n.at = row.at, n.kind = row.kind
    MERGE (a)-[:HAS_NOTE]->(n)
    """,
    example={
        "rows": [
            {
                "uid": "n:2",
                "address": "1",
                "text": "Dog at address",
                "author": "a",
                "at": "2025-01-01",
                "kind": "safety",
            }
        ]
    },
    writes=True,
)
# Pairs linkage left for review (loaders.review): a new pair is pending; a pair already
# in the graph keeps its decision, and its people are linked again.
MERGE_REVIEW_PAIRS = cypher(
    "review.merge_pairs",
    """
    UNWIND $rows AS row
    MERGE (r:ReviewPair {uid: row.uid})
    ON CREATE SET r.status = $status, r.created_at = $created_at
    SET r.probability = row.probability, r.agreed = row.agreed, r.evidence = row.evidence,
        r.reason = row.reason, r.impact = row.impact,
        r.left_record = row.left_record, r.right_record = row.right_record
    WITH r, row
    OPTIONAL MATCH (r)-[old:CANDIDATE]->(:Person)
    DELETE old
    """,
    example={
        "rows": [
            {
                "uid": "R-1",
                "probability": 0.9,
                "agreed": "dob",
                "evidence": "same date of birth",
                "reason": None,
                "impact": 1,
                "left_record": "a",
                "right_record": "b",
            }
        ],
        "status": "pending",
        "created_at": "2026-11-02T10:00",
    },
    writes=True,
)
LINK_REVIEW_PAIRS = cypher(
    "review.link_pairs",
    """
    UNWIND $rows AS row
    MATCH (r:ReviewPair {uid: row.uid})
    MATCH (a:Person {uid: row.left})
    MATCH (b:Person {uid: row.right})
    MERGE (r)-[:CANDIDATE]->(a)
    MERGE (r)-[:CANDIDATE]->(b)
    """,
    example={"rows": [{"uid": "R-1", "left": "P-a", "right": "P-b"}]},
    writes=True,
)
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
UNLINKED_SOURCE_RECORDS = cypher(
    "load.unlinked_source_records",
    "MATCH (s:SourceRecord) WHERE NOT (s)-[:DESCRIBES]->(:Person) RETURN s.uid AS uid",
)


def write_graph(
    store: GraphStore,
    rows: GraphRows,
    *,
    loaded_at: str,
    stage: Callable[[str, int], Callable[[int], None]],
    known_records: set[str] | None = None,
    seconds: dict[str, float] | None = None,
    bulk: bool = True,
    bulk_rows: dict[str, int] | None = None,
    facts: Future[GraphRows] | None = None,
    ahead: Future[RecordsAhead | None] | None = None,
) -> dict[str, int]:
    """Write in dependency order; ``stage(name, total)`` returns a progress callback.

    ``known_records``: source record uids the graph holds with the person they describe
    (read at the start of this load); only those need MERGE. After a load that stopped
    while writing in bulk, the records in the graph that describe nobody are added to
    them here: that load may have created records it never linked, which the caller
    cannot see.
    ``seconds``: filled with the time each step took (the write profile in the report).
    ``bulk``: let rows that can only create take the engine's bulk insertion where it
    has one (:mod:`loaders.bulk_steps`); the graph is the same either way.
    ``bulk_rows``: filled with how many of each step's rows took that path.
    ``facts``: the rest of the rows are still being built. The services, schools, staff,
    addresses so far, people and their source records are written from ``rows``
    meanwhile; the other steps wait for the finished rows (a failed build stops the
    write there). A load runs this on a second thread, so the engine writes people
    while the builder works out the facts.
    ``ahead``: the load began bulk insertion itself and created its new source records'
    nodes while linking (:mod:`loaders.ahead`; done before this starts, or failed);
    they are linked here, and ``known_records`` is not needed (None inside: the engine
    has no bulk insertion)."""
    counts: dict[str, int] = {}
    begun = ahead.result() if ahead is not None else None
    if begun is not None:
        stopped, writer = begun.stopped, begun.writer
    else:
        stopped = store.bulk_load_running()  # an earlier load stopped while writing in bulk
        writer = store.bulk_writer() if bulk or stopped else None
        if writer is not None:
            # begin() first completes a stopped load's dates: MERGE finds dated rows by
            # date. A load told not to write in bulk still ends with finish(), which
            # removes the stopped load's marker only once this load has linked its records.
            writer.begin(steps.shapes(steps.ALL))
    nodes = None
    if begun is not None:
        nodes = begun.nodes
        counts.update(begun.counts)
    elif writer is not None and bulk:
        nodes = steps.NewNodes(writer, track=steps.ENDS)
    run = Steps(store, nodes, stage, counts, seconds, bulk_rows)
    known, new, created = _split_records(store, rows, begun, known_records, stopped)
    records = {"loaded_at": loaded_at}
    # the reference data, before people as it always came: the nodes' order in the graph
    # is the same (a load writing in bulk wrote it while linking: loaders.ahead)
    written = begun.addresses if begun is not None else write_reference(run, rows)
    run([
        ("people", MERGE_PEOPLE, rows.people, {}, steps.PEOPLE),
        ("source records", MERGE_SOURCE_RECORDS, known, records, None),
        ("new source records", CREATE_SOURCE_RECORDS, new, records, steps.SOURCE_RECORDS),
    ], all_new=new)  # fmt: skip
    run.links("new source records", steps.SOURCE_RECORDS.edges[0].shape, created)
    del known, new, created
    if facts is not None:
        rows = facts.result()  # the build's own error if it failed
    # the reference addresses' rows stay as they were written (Builder._address)
    later = [a for a in rows.addresses if a["uid"] not in written]
    del written
    dated = [r for r in rows.lives_at if r["from"]]
    pairs = {(r["person"], r["address"]) for r in dated}
    undated: list[dict] = []  # a pair with a dated row too: its MERGE finds that one
    alone: list[dict] = []
    for r in rows.lives_at:
        if not r["from"]:
            (undated if (r["person"], r["address"]) in pairs else alone).append(r)
    pairs_new = {"status": "pending", "created_at": loaded_at}  # a pair's, when first seen
    run([
        ("addresses", MERGE_AREAS_AND_ADDRESSES, later, {}, steps.ADDRESSES),
        ("residences", MERGE_LIVES_AT, dated, {}, steps.RESIDENCES),
        ("undated residences", MERGE_LIVES_AT_UNDATED, undated, {}, None),
        ("undated residences", MERGE_LIVES_AT_UNDATED, alone, {}, steps.UNDATED_RESIDENCES),
        ("parents", MERGE_PARENT_OF, rows.parent_of, {}, steps.PARENTS),
        ("families", MERGE_FAMILIES, rows.families, {}, steps.FAMILIES),
        ("family members", MERGE_MEMBER_OF, rows.member_of, {}, steps.MEMBERS),
        ("school rolls", MERGE_ATTENDS, rows.attends, {}, steps.SCHOOL_ROLLS),
        ("attendance", MERGE_ATTENDANCE, rows.attendance, {}, steps.ATTENDANCE),
        ("exclusions", MERGE_EXCLUSIONS, rows.exclusions, {}, steps.EXCLUSIONS),
        ("offers", MERGE_OFFERS, rows.offers, {}, steps.OFFERS),
        ("cases", MERGE_CASES, rows.cases, {}, steps.CASES),
        ("allocations", MERGE_WORKS_ON, rows.works_on, {}, None),
        ("needs", MERGE_NEEDS, rows.needs, {}, None),
        ("case notes", MERGE_PERSON_NOTES, rows.notes, {}, steps.CASE_NOTES),
        ("safety notes", MERGE_ADDRESS_NOTES, rows.address_notes, {}, None),
        ("review pairs", MERGE_REVIEW_PAIRS, rows.review_pairs, pairs_new, steps.REVIEW_PAIRS),
        ("review pairs' people", LINK_REVIEW_PAIRS, rows.review_links, {}, steps.CANDIDATES),
        *write_returns.plan(rows.returns),
    ])  # fmt: skip
    if writer is not None:
        with timed(seconds, "dates of bulk-written rows"):
            writer.finish()
    # A load's own residences come as one history a person, at most one of them open
    # (Builder), so only someone in the graph before it can be left with two open: when
    # nobody is (a first load), the walk over every residence (4.6 s at county scale)
    # would find nothing. After a load that stopped part way, it walks all the same.
    people = (r["person"] for r in rows.lives_at)
    if stopped or nodes is None or not nodes.earlier("Person").isdisjoint(people):
        with timed(seconds, "superseded residences closed"):
            store.write(CLOSE_SUPERSEDED_RESIDENCES)
    with timed(seconds, "derived facts"):
        store.write(DERIVE_CASE_WORKERS)
        store.write(DERIVE_OPEN_SERVICES)
    return counts


def write_reference(run: Steps, rows: GraphRows) -> set[str]:
    """Services, schools, staff and teams, and the gazetteer's addresses (what
    ``Builder.reference`` made, before any person is known); the uids of the addresses."""
    services = [{"uid": k, "name": v} for k, v in SERVICE_NAMES.items()]
    addresses = list(rows.addresses)  # the builder replaces the list once it has finished
    run([
        ("services", MERGE_SERVICES, services, {}, None),
        ("schools", MERGE_SCHOOLS, rows.schools, {}, None),
        ("staff and teams", MERGE_STAFF, rows.staff, {}, None),
        ("addresses", MERGE_AREAS_AND_ADDRESSES, addresses, {}, steps.ADDRESSES),
    ])  # fmt: skip
    return {a["uid"] for a in addresses}


def _split_records(
    store: GraphStore,
    rows: GraphRows,
    begun: RecordsAhead | None,
    known_records: set[str] | None,
    stopped: bool,
) -> tuple[list[dict], list[dict], list[dict]]:
    """The load's source records as (for MERGE, new, created ahead: to link only)."""
    created: list[dict] = []  # records whose nodes were created ahead: links to write
    if begun is not None:
        known, new = [], []
        for r in rows.source_records:
            (known if r["uid"] in begun.merge else created).append(r)
        created = steps.fold(created, itemgetter("uid"), ())  # as loaders.ahead made them
        if len(created) != begun.created:  # the builder's records are linkage's
            raise RuntimeError(
                f"{begun.created} source records were created ahead, {len(created)} to link"
            )
    elif known_records is None:  # not told: merge everything (always safe)
        known, new = rows.source_records, []
    else:
        if stopped:
            # it may have stopped between creating records and linking them: those
            # records describe nobody, so the caller's assignments do not name them
            found = store.read(UNLINKED_SOURCE_RECORDS, max_rows=1_000_000_000).rows
            known_records = known_records | {r["uid"] for r in found}
        # a uid listed twice (identical rows in two files) goes through MERGE, in order
        times = Counter(r["uid"] for r in rows.source_records)
        fresh = {u for u, n in times.items() if n == 1 and u not in known_records}
        known = [r for r in rows.source_records if r["uid"] not in fresh]
        new = [r for r in rows.source_records if r["uid"] in fresh]
    # A uid listed twice (identical rows in two files) is one record: the later row's
    # file and place win, as successive MERGEs would leave them. Folded here, as FalkorDB
    # lets the first of two rows in one batch win when they create the node (the later
    # when it is there already), so a first load and a reload would differ.
    known = steps.fold(known, itemgetter("uid"), ())
    return known, new, created


@contextmanager
def timed(seconds: dict[str, float] | None, name: str) -> Iterator[None]:
    """Add the block's time to ``seconds[name]``, the load report's write profile (a
    step may come in parts); nothing when ``seconds`` is None or the block fails."""
    started = time.perf_counter()
    yield
    if seconds is not None:
        seconds[name] = round(seconds.get(name, 0) + time.perf_counter() - started, 2)


Step = tuple[str, str, list[dict], dict, BulkStep | None]


@dataclass
class Steps:
    """Runs write steps in order: rows that can only create go by bulk insertion (when
    ``nodes`` is given), the rest through the step's statement."""

    store: GraphStore
    nodes: steps.NewNodes | None
    stage: Callable[[str, int], Callable[[int], None]]
    counts: dict[str, int]
    seconds: dict[str, float] | None
    bulk_rows: dict[str, int] | None

    def __call__(self, plan: list[Step], *, all_new: list[dict] | None = None) -> None:
        """``all_new``: a batch whose rows each create a new node (see ``steps.split``)."""
        for name, statement, batch, params, shape in plan:
            if not batch:
                continue
            tick = self.stage(name, len(batch))
            with timed(self.seconds, name):
                rest = batch
                if self.nodes is not None and shape is not None:
                    fresh_only = batch is all_new  # each uid once, none in the graph
                    fast, rest = steps.split(shape, batch, self.nodes, all_new=fresh_only)
                    steps.write_new(
                        shape, fast, self.nodes, constants=params, progress=tick, all_new=fresh_only
                    )
                    if self.bulk_rows is not None and fast:
                        self.bulk_rows[name] = self.bulk_rows.get(name, 0) + len(fast)
                if rest:
                    self.store.write_rows(statement, rest, params=params, progress=tick)
            self.counts[name] = self.counts.get(name, 0) + len(batch)  # a step may come in parts

    def links(self, name: str, shape: EdgeShape, batch: list[dict]) -> None:
        """Relationships from nodes the load created before this write (loaders.ahead),
        in the order it created them, all by bulk insertion."""
        if not batch:
            return
        assert self.nodes is not None, "nodes created ahead come with a bulk writer"
        tick = self.stage(name, len(batch))
        with timed(self.seconds, name):
            self.nodes.writer.create_edges(shape, batch)
            tick(len(batch))
        if self.bulk_rows is not None:
            self.bulk_rows[name] = self.bulk_rows.get(name, 0) + len(batch)
        self.counts[name] = self.counts.get(name, 0) + len(batch)
