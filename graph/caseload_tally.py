"""The caseload map's county-wide counts, kept once a load has finished.

The map's view of every team counts cases per home, per worker and waiting for a
worker; read from the records that walks every case to its child's home (seconds at
county scale). A load counts them once and keeps them as ``CaseloadCell`` nodes, one
per case status, kind and service (and one per status for every kind and service
together, so the view as it opens sums nothing): the view reads the cells its filters
choose. The cells are the whole tally or absent: kept after a load (in the live graph,
and in the analysts' copy from the copy's own records), forgotten before a load writes
and when a review merge moves anyone's cases; while there are none the map counts from
the records (:mod:`graph.views`).

A cell's homes and workers are each one JSON text of rows: a county's tens of thousands
of homes read as one value, where parallel lists made the engine's reply the slowest
part of the map (and a list cannot hold a home's unknown coordinates).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graph.cypher import cypher
from graph.store import COUNTY_WIDE_READ_TIMEOUT_MS, GraphStore

# every (child, case, service), as the map counts them, by case, status, kind and
# service; each read also of some cases only (``_OF``: a delta's touched cases)
_OF = "UNWIND $cases AS uid MATCH (c:Case {uid: uid}) "
_SOME = {"cases": ["C-x"]}
# A case's home with each of its services is one row once collected (a case and a
# service are one node each), so a case's part counts it once as it stands, with no
# second aggregation over every case's row.
_HOMES = """
    WITH DISTINCT child, c, s
    OPTIONAL MATCH (child)-[l:LIVES_AT]->(a:Address)
    WITH c, s, collect(CASE WHEN l.to IS NULL THEN a END)[0] AS home
    RETURN c.status AS status, c.kind AS kind, s.uid AS service,
           home.lat AS lat, home.lon AS lon, home.postcode_district AS district,
    """
_HOMES_BY_CASE = _HOMES + "c.uid AS case, 1 AS cases"
HOMES = cypher(
    "caseload_tally.homes",
    "MATCH (child:Person)-[:HAS_CASE]->(c:Case)-[:WITH_SERVICE]->(s:Service)" + _HOMES_BY_CASE,
)
HOMES_OF = cypher(
    "caseload_tally.homes_of",
    _OF + "MATCH (child:Person)-[:HAS_CASE]->(c)-[:WITH_SERVICE]->(s:Service)" + _HOMES_BY_CASE,
    example=_SOME,
)
# cases with no current worker (a worker whose allocation has no end): the derived
# ``workers`` (loaders.derive, run before the tally), so that no allocation is walked
_WAITING = """
    MATCH (c)-[:WITH_SERVICE]->(s:Service)
    MATCH (child:Person)-[:HAS_CASE]->(c)
    RETURN c.uid AS case, c.status AS status, c.kind AS kind, s.uid AS service,
           count(*) AS cases
    """
WAITING = cypher("caseload_tally.waiting", "MATCH (c:Case) WHERE c.workers = 0" + _WAITING)
WAITING_OF = cypher(
    "caseload_tally.waiting_of", _OF + "WHERE c.workers = 0" + _WAITING, example=_SOME
)
_WORKERS = """
    WHERE w.to IS NULL
    OPTIONAL MATCH (pro)-[:IN_TEAM]->(t:Team)
    RETURN c.uid AS case, c.status AS status, c.kind AS kind, s.uid AS service,
           pro.uid AS professional_uid, pro.name AS professional,
           t.uid AS team_uid, t.name AS team, count(*) AS cases
    """
WORKERS = cypher(
    "caseload_tally.workers",
    "MATCH (pro:Professional)-[w:WORKS_ON]->(c:Case)-[:WITH_SERVICE]->(s:Service)" + _WORKERS,
)
WORKERS_OF = cypher(
    "caseload_tally.workers_of",
    _OF + "MATCH (pro:Professional)-[w:WORKS_ON]->(c)-[:WITH_SERVICE]->(s:Service)" + _WORKERS,
    example=_SOME,
)
# the same reads of every case counted by cell, where no case's part is kept
_BY_CASE = "c.uid AS case, "
HOMES_BY_CELL = cypher(
    "caseload_tally.homes_by_cell",
    "MATCH (child:Person)-[:HAS_CASE]->(c:Case)-[:WITH_SERVICE]->(s:Service)"
    + _HOMES
    + "count(*) AS cases",
)
WAITING_BY_CELL = cypher(
    "caseload_tally.waiting_by_cell",
    "MATCH (c:Case) WHERE c.workers = 0" + _WAITING.replace(_BY_CASE, ""),
)
WORKERS_BY_CELL = cypher(
    "caseload_tally.workers_by_cell",
    "MATCH (pro:Professional)-[w:WORKS_ON]->(c:Case)-[:WITH_SERVICE]->(s:Service)"
    + _WORKERS.replace(_BY_CASE, ""),
)
# The cases of some people (HAS_CASE), of some professionals (WORKS_ON, ended or not)
# and of some teams' members; and which of some cases are still in the graph: for a
# delta to find the cases whose part it changed.
CASES_OF_PEOPLE = cypher(
    "caseload_tally.cases_of_people",
    "UNWIND $uids AS uid MATCH (:Person {uid: uid})-[:HAS_CASE]->(c:Case) "
    "RETURN DISTINCT c.uid AS uid",
    example={"uids": ["P-x"]},
)
CASES_OF_PROFESSIONALS = cypher(
    "caseload_tally.cases_of_professionals",
    "UNWIND $uids AS uid MATCH (:Professional {uid: uid})-[:WORKS_ON]->(c:Case) "
    "RETURN DISTINCT c.uid AS uid",
    example={"uids": ["W-x"]},
)
CASES_OF_TEAMS = cypher(
    "caseload_tally.cases_of_teams",
    "UNWIND $uids AS uid MATCH (:Team {uid: uid})<-[:IN_TEAM]-(:Professional)"
    "-[:WORKS_ON]->(c:Case) RETURN DISTINCT c.uid AS uid",
    example={"uids": ["T-x"]},
)
CASES_STILL = cypher(
    "caseload_tally.cases_still",
    "UNWIND $uids AS uid MATCH (c:Case {uid: uid}) RETURN c.uid AS uid",
    example={"uids": ["C-x"]},
)
KEEP = cypher(
    "caseload_tally.keep",
    """
    UNWIND $cells AS cell
    CREATE (t:CaseloadCell {uid: cell.uid})
    SET t.whole = cell.whole, t.status = cell.status, t.kind = cell.kind,
        t.service = cell.service, t.homes = cell.homes, t.waiting = cell.waiting,
        t.workers = cell.workers
    """,
    example={
        "cells": [
            {
                "uid": "x",
                "whole": True,
                "status": "open",
                "kind": None,
                "service": None,
                "homes": "[]",
                "waiting": 0,
                "workers": "[]",
            }
        ]
    },
    writes=True,
)
FORGET = cypher("caseload_tally.forget", "MATCH (t:CaseloadCell) DELETE t", writes=True)
# The cells a view's filters choose: of every kind and service together (``whole``)
# when it chooses them all, else each kind and service's own; every cell's waiting
# count, since which kinds need a worker is the caller's to say.
READ = cypher(
    "caseload_tally.read",
    """
    MATCH (t:CaseloadCell)
    WHERE $status = 'any' OR t.status = $status
    WITH t, NOT t.whole AND ($kind = 'any' OR t.kind = $kind)
              AND ($service = 'any' OR t.service = $service) AS own
    RETURN t.whole AS whole, t.kind AS kind, t.service AS service, t.waiting AS waiting,
           CASE WHEN ($kind = 'any' AND $service = 'any' AND t.whole)
                     OR (NOT ($kind = 'any' AND $service = 'any') AND own)
                THEN t.homes END AS homes,
           CASE WHEN own THEN t.workers END AS workers
    """,
    example={"status": "open", "kind": "any", "service": "any"},
)
Cell = tuple[str | None, str | None, str | None]  # (status, kind, service uid)


@dataclass(frozen=True)
class Chosen:
    """What a view's filters choose of the tally: cases per home (lat, lon, cases),
    per worker (professional uid and name, team uid and name, kind, service uid, cases)
    and waiting for a worker, by (kind, service uid)."""

    homes: list[dict[str, Any]]
    workers: list[dict[str, Any]]
    waiting: Counter[tuple[str | None, str | None]]


# One case's part of the tally: its rows, each ["home", status, kind, service, lat,
# lon, cases, postcode district], ["waiting", status, kind, service, cases] or
# ["worker", status, kind, service, professional uid, name, team uid, name, cases]
# (the district: for the analysts' copy, whose homes are their districts' centres).
Part = list[list[Any]]


def parts(store: GraphStore, cases: list[str] | None = None) -> dict[str, Part]:
    """Every case's part (of ``cases`` only, when given), by case uid."""
    out: dict[str, Part] = {}
    if cases is None:
        found = _read(store, (HOMES, WAITING, WORKERS))
    else:
        found = _read(store, (HOMES_OF, WAITING_OF, WORKERS_OF), {"cases": cases})
    for case, row in found:
        out.setdefault(case, []).append(row)
    return out


def _read(
    store: GraphStore, reads: tuple[str, str, str], params: Mapping[str, Any] | None = None
) -> Iterator[tuple[str | None, list[Any]]]:
    """Each row of the three reads (homes, waiting, workers) as a part's row, with its
    case (None from the reads by cell)."""
    for what, query in zip(("home", "waiting", "worker"), reads, strict=True):
        for r in _wide(store, query, params):
            key = [r["status"], r["kind"], r["service"]]
            if what == "home":
                yield r.get("case"), [what, *key, r["lat"], r["lon"], r["cases"], r["district"]]
                continue
            if what == "worker":
                key += [r["professional_uid"], r["professional"], r["team_uid"], r["team"]]
            yield r.get("case"), [what, *key, r["cases"]]


def count(kept: Iterable[Part]) -> dict[Cell, dict[str, Any]]:
    """The cases' parts counted by cell: each cell's homes {(lat, lon): cases}, workers
    {(professional uid, name, team uid, name): cases} and waiting cases."""
    cells: dict[Cell, dict[str, Any]] = {}
    for part in kept:
        for what, status, kind, service, *rest in part:
            cell = cells.get((status, kind, service))
            if cell is None:  # made once a cell: a Counter made a row was half the count
                cell = {"homes": Counter(), "workers": Counter(), "waiting": 0}
                cells[(status, kind, service)] = cell
            if what == "home":
                lat, lon, n = rest[:3]
                cell["homes"][(lat, lon)] += n
                continue
            *key, n = rest
            if what == "waiting":
                cell["waiting"] += n
            else:
                cell["workers"][tuple(key)] += n
    return cells


def keep(store: GraphStore, kept: Iterable[Part] | None = None) -> int:
    """Count the cases' parts (``kept``, else the graph's cases, read by cell: the
    analysts' copy keeps no parts) and keep the tally on the graph (any kept before
    replaced); the cells kept."""
    if kept is None:  # the graph's cases counted by cell (fewer rows than by case)
        kept = [[row for _, row in _read(store, (HOMES_BY_CELL, WAITING_BY_CELL, WORKERS_BY_CELL))]]
    cells = count(kept)
    wholes: dict[str | None, Counter] = {}
    for (status, _kind, _service), counted in cells.items():
        wholes.setdefault(status, Counter()).update(counted["homes"])
    rows = [
        _row((status, kind, service), False, c["homes"], c["workers"], c["waiting"])
        for (status, kind, service), c in cells.items()
    ] + [_row((status, None, None), True, homes, Counter(), 0) for status, homes in wholes.items()]
    store.write(FORGET)
    store.write(KEEP, {"cells": sorted(rows, key=lambda r: r["uid"])})
    return len(rows)


def cases_of(store: GraphStore, query: str, uids: set[str]) -> set[str]:
    """The cases a read of :data:`CASES_OF_PEOPLE`'s kind finds for ``uids`` (also
    :data:`CASES_STILL`: which of ``uids`` are cases still)."""
    if not uids:
        return set()
    return {r["uid"] for r in _wide(store, query, {"uids": sorted(uids)})}


def forget(store: GraphStore) -> None:
    store.write(FORGET)


def chosen(store: GraphStore, filters: Mapping[str, str]) -> Chosen | None:
    """What the filters (status, kind, service: a value or 'any') choose of the tally
    the last load kept, or None while there is none."""
    rows = store.read(READ, dict(filters), max_rows=1_000_000).rows
    if not rows:
        return None
    homes: Counter = Counter()
    workers: list[dict[str, Any]] = []
    waiting: Counter = Counter()
    for r in rows:
        if not r["whole"]:
            waiting[(r["kind"], r["service"])] += r["waiting"]
        for lat, lon, n in json.loads(r["homes"] or "[]"):
            homes[(lat, lon)] += n
        for *who, n in json.loads(r["workers"] or "[]"):
            workers.append(
                dict(zip(WORKER, (*who, r["kind"], r["service"]), strict=True)) | {"cases": n}
            )
    return Chosen(
        [{"lat": lat, "lon": lon, "cases": n} for (lat, lon), n in homes.items()],
        workers,
        waiting,
    )


WORKER = ("professional_uid", "professional", "team_uid", "team", "kind", "service_uid")


def _row(cell: Cell, whole: bool, homes: Counter, workers: Counter, waiting: int) -> dict[str, Any]:
    status, kind, service = cell
    return {
        "uid": json.dumps([whole, *cell]),
        "whole": whole,
        "status": status,
        "kind": kind,
        "service": service,
        "homes": _json([[lat, lon, n] for (lat, lon), n in homes.items()]),
        "waiting": waiting,
        "workers": _json([[*who, n] for who, n in workers.items()]),
    }


def _wide(
    store: GraphStore, query: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    return store.read(
        query, params, max_rows=100_000_000, timeout_ms=COUNTY_WIDE_READ_TIMEOUT_MS
    ).rows


def _json(rows: list[list[Any]]) -> str:
    """Rows as one text, in an order of their own (the same records give the same
    tally whatever order the graph gave them in)."""
    return json.dumps(sorted(rows, key=repr), separators=(",", ":"))
