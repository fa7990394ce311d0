"""Work out every pupil's risk of NEET factors once a load has finished, and keep them.

The list as at a load's day is then a read of kept values instead of passes over
every pupil's records (figures: benchmarks/README.md).
Every day of the load's academic year and the one before is kept, as each pupil's
answer from each day it changes on, and the load's own day as factors on each pupil
(for the analysts' copy, which holds no years), all worked out in Python from one read
of the cohorts' records (loaders.risk_spans, which mirrors the saved query's worked-out
part: tests hold the two equal on the load's day and many others).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from graph import risk_facts
from graph.store import GraphStore
from loaders.risk_spans import born_between, kept_day, kept_years, pupils
from planning.calendar import academic_year
from planning.risk import RiskConfig, load_risk_config
from queries.library import get_query

QUERY_ID = "risk_of_neet"
YEARS_KEPT = 2  # academic years kept for every day at least: the load's and the one before


def keep_after_load(store: GraphStore, as_of: dt.date) -> int:
    """Work out and keep the factors of every pupil in the cohort on ``as_of``, and on
    every day of its academic year and of every one before it a child could be on the
    list in (at least the one before)."""
    query = get_query(QUERY_ID)
    config = load_risk_config()
    # every academic year a child could be on the list in, up to the load's (at least
    # the one before it too): a day before them has an empty list, a day after is
    # worked out from the records
    last = academic_year(as_of)
    years = list(range(min(last - YEARS_KEPT + 1, first_year(store, config)), last + 1))
    born_from, born_to = born_between(years)
    # the children of the kept years' cohorts, one birth year a part, read side by side
    # where the engine can (FalkorDB's threads); the load's day is one of the kept
    # years', so its answers come from the same read
    births = [
        (max(born_from, dt.date(y, 9, 1)), min(born_to, dt.date(y + 1, 9, 1)))
        for y in range(born_from.year, born_to.year)
    ]
    spans: list[dict] = []
    kept: list[dict] = []
    with ThreadPoolExecutor(min(len(births), store.parallel_reads())) as pool:
        for part in pool.map(lambda b: pupils(risk_facts.pupils(store, *b)), births):
            spans.extend(kept_years(part, years, config))
            kept.extend(kept_day(part, as_of, config))
    return risk_facts.save(
        store,
        kept,
        as_of=as_of.isoformat(),
        rules=config.detection_rules(query.cypher),
        years=spans,
        academic_years=years,
    )


def first_year(store: GraphStore, config: RiskConfig) -> int:
    """The first academic year (by the year it began in) a child could be on the list
    in: one is old enough for its youngest year group, and one is on a school roll."""
    born, on_roll = risk_facts.first_dates(store)
    if born is None or on_roll is None:
        return 10_000  # nobody on any roll: no year before the load's needs keeping
    return max(academic_year(born) + 5 + min(config.year_groups), academic_year(on_roll))
