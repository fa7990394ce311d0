"""Facts a load derives from what it wrote, worked out again from the graph after it.

The loader is the only writer of cases, allocations and residences, so these cannot
drift: county-wide questions ("open cases nobody holds", "children known to three
services") then start from an index. Only what changed is ``SET``: on FalkorDB a
``SET`` costs as much when it changes nothing, and leaves the node slower to read
until the engine next starts from a snapshot. People and cases new in a load are
created with these already (``Builder.cases``), so a first load sets next to nothing.
"""

from __future__ import annotations

from graph.cypher import cypher, relationship_types

# "Tell us once": a newer move closes whatever residence was still open before it.
_CLOSE_SUPERSEDED = """
    WHERE r.to IS NULL
    WITH p, r ORDER BY r.from DESC
    WITH p, collect(r) AS open
    WHERE size(open) > 1
    WITH open[0] AS latest, open[1..] AS older
    UNWIND older AS o
    SET o.to = latest.from
    """
CLOSE_SUPERSEDED_RESIDENCES = cypher(
    "load.close_superseded_residences",
    "MATCH (p:Person)-[r:LIVES_AT]->(:Address)" + _CLOSE_SUPERSEDED,
    writes=True,
)
# The same of some people only: after every load nobody has two open residences, so a
# delta can leave someone with two only by writing a residence of theirs (a changed
# relationship of these types naming them, loaders.unchanged.Touched).
RESIDENCES_FOLLOW = relationship_types(CLOSE_SUPERSEDED_RESIDENCES)
CLOSE_SUPERSEDED_RESIDENCES_OF = cypher(
    "load.close_superseded_residences_of",
    "MATCH (p:Person) WHERE p.uid IN $people MATCH (p)-[r:LIVES_AT]->(:Address)"
    + _CLOSE_SUPERSEDED,
    example={"people": ["P-x"]},
    writes=True,
)
_CASE_WORKERS = """
    OPTIONAL MATCH (k)<-[w:WORKS_ON]-()
    WITH k, count(CASE WHEN w IS NOT NULL AND w.to IS NULL THEN 1 END) AS workers
    WHERE k.workers IS NULL OR k.workers <> workers
    SET k.workers = workers
    """
CASE_WORKERS = cypher("load.derive_case_workers", "MATCH (k:Case)" + _CASE_WORKERS, writes=True)
# Each case is walked once and picked by CASE (docs/cypher-portability.md).
# Lists compare as sets: the builder sorts them, a walk of the graph need not.
_OPEN_SERVICES = """
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
    """
OPEN_SERVICES = cypher(
    "load.derive_open_services",
    "MATCH (p:Person)-[:HAS_CASE]->(k:Case)" + _OPEN_SERVICES,
    writes=True,
)
# What every load runs, in order, after writing.
DERIVED = (CASE_WORKERS, OPEN_SERVICES)

# The same over what a delta touched only (loaders.unchanged.Touched): a case's workers
# follow from its WORKS_ON relationships, a person's open services from their cases
# (HAS_CASE, each case's status and kind, WITH_SERVICE). So the cases whose own rows
# changed or that a changed relationship of those types names, and the people whose own
# rows changed, named so, or owning such a case, are all whose derived facts can change.
WORKERS_FOLLOW = relationship_types(_CASE_WORKERS)  # a case's workers follow these
SERVICES_FOLLOW = relationship_types(OPEN_SERVICES)  # a person's open services, these
CASE_WORKERS_OF = cypher(
    "load.derive_case_workers_of",
    "MATCH (k:Case) WHERE k.uid IN $cases" + _CASE_WORKERS,
    example={"cases": ["C-x"]},
    writes=True,
)
OPEN_SERVICES_OF = cypher(
    "load.derive_open_services_of",
    "MATCH (p:Person) WHERE p.uid IN $people MATCH (p)-[:HAS_CASE]->(k:Case)" + _OPEN_SERVICES,
    example={"people": ["P-x"]},
    writes=True,
)
