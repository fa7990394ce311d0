"""Work out every pupil's risk of NEET factors once a load has finished, and keep them.

The list as at a load's day is then a read of kept values instead of passes over
every pupil's records (figures: benchmarks/README.md).
The factors come from the saved query itself, run for the load's day with every factor
weighing 1 and no score too low, so the kept answer and the worked-out answer are the
same query and cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from graph import risk_facts
from graph.store import GraphStore
from planning.risk import load_risk_config
from queries.library import get_query

QUERY_ID = "risk_of_neet"


def keep_after_load(store: GraphStore, as_of: dt.date) -> int:
    """Work out and keep the factors of every pupil in the cohort on ``as_of``."""
    query = get_query(QUERY_ID)
    config = load_risk_config()
    params = {
        "as_of": as_of.isoformat(),
        "band": "all",
        "config": config.detection_parameter(),
    }
    # one part per year group, read side by side where the engine can (FalkorDB's
    # threads); each pupil is in one part
    parts = [{**params, "year_group": str(year)} for year in config.year_groups]
    with ThreadPoolExecutor(min(len(parts), store.parallel_reads())) as pool:
        found = pool.map(lambda p: store.read(query.cypher, p, max_rows=100_000_000).rows, parts)
        rows = [row for part in found for row in part]
    kept = [
        {
            "uid": r["child_uid"],
            "factors": r["factors"],
            "year_group": r["year_group"],
            "school": r["school"],
            "school_urn": r["school_urn"],
            "area": r["area"],
            "attendance_pct": r["attendance_pct"],
        }
        for r in rows
    ]
    return risk_facts.save(
        store, kept, as_of=as_of.isoformat(), rules=config.detection_rules(query.cypher)
    )
