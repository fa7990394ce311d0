"""Keep transitions' three cohorts once a load has finished, so the page reads them.

The children who start Reception, Year 7 and Year 12 next September (as at the load's
day) are read once with every school spell, their home, offer, needs and open case
kinds (graph.planning.COHORT_SPELLS) and kept, one node an entry point; the page then
picks each child's school on its day from the spells instead of walking the cohort
(about 17,000 children a birth year at county), and takes the school each child is
expected at (their offer, else the nearest of the next phase: ``ahead``) as the load
worked it out, rather than searching every school for each child. Any day whose next
September is the load day's reads them; another is worked out from the records. A
test holds the two equal on the load's day and others.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from graph import planning as reads
from graph.store import GraphStore
from planning.transitions import ENTRY_YEAR_GROUP, ahead_of_day, cohort_dates


def keep_after_load(store: GraphStore, as_of: dt.date) -> int:
    """Read and keep every entry point's cohort as at ``as_of`` (any kept before
    replaced), read side by side where the engine can; the children kept."""

    def read(entry_point: str) -> list[dict]:
        born_from, born_before = cohort_dates(entry_point, as_of)
        return reads.cohort_spells(
            store, born_from=born_from, born_before=born_before, entry_point=entry_point
        )

    reads.forget_cohorts(store)
    schools = reads.schools(store)
    kept = 0
    with ThreadPoolExecutor(min(len(ENTRY_YEAR_GROUP), store.parallel_reads())) as pool:
        for entry_point, rows in zip(
            ENTRY_YEAR_GROUP, pool.map(read, ENTRY_YEAR_GROUP), strict=True
        ):
            for row, expected in zip(rows, ahead_of_day(rows, entry_point, schools), strict=True):
                row["ahead"] = expected
            reads.keep_cohort(store, entry_point, *cohort_dates(entry_point, as_of), rows)
            kept += len(rows)
    return kept
