"""Work out every pupil's risk of NEET factors once a load has finished, and keep them.

The list as at a load's day is then a read of kept values instead of passes over
every pupil's records (figures: benchmarks/README.md).
The factors come from the saved query itself, run for the load's day with every factor
weighing 1 and no score too low, so the kept answer and the worked-out answer are the
same query and cannot drift apart. Every other day of the load's academic year and
the one before is kept too, as each pupil's answer from each day it changes on
(loaders.risk_spans, which mirrors the query: a test holds the two equal).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from graph import risk_facts
from graph.store import GraphStore
from loaders.risk_spans import born_between, kept_years
from planning.calendar import academic_year
from planning.risk import load_risk_config
from queries.library import get_query

QUERY_ID = "risk_of_neet"
YEARS_KEPT = 2  # academic years kept for every day: the load's and the one before


def keep_after_load(store: GraphStore, as_of: dt.date) -> int:
    """Work out and keep the factors of every pupil in the cohort on ``as_of``, and on
    every day of its academic year and the one before."""
    query = get_query(QUERY_ID)
    config = load_risk_config()
    params = {
        "as_of": as_of.isoformat(),
        "band": "all",
        "config": config.detection_parameter(),
    }
    years = [academic_year(as_of) - back for back in reversed(range(YEARS_KEPT))]
    born_from, born_to = born_between(years)
    # one part per year group, read side by side where the engine can (FalkorDB's
    # threads); each pupil is in one part; the children of the kept years' cohorts
    # are read beside them, one birth year a part
    parts = [{**params, "year_group": str(year)} for year in config.year_groups]
    births = [
        (max(born_from, dt.date(y, 9, 1)), min(born_to, dt.date(y + 1, 9, 1)))
        for y in range(born_from.year, born_to.year)
    ]
    with ThreadPoolExecutor(min(len(parts), store.parallel_reads())) as pool:
        found = pool.map(lambda p: store.read(query.cypher, p, max_rows=100_000_000).rows, parts)
        children = pool.map(lambda b: risk_facts.pupils(store, *b), births)
        spans = [s for part in children for s in kept_years(part, years, config)]
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
        store,
        kept,
        as_of=as_of.isoformat(),
        rules=config.detection_rules(query.cypher),
        years=spans,
        academic_years=years,
    )
