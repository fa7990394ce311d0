"""Work out every pupil's risk of NEET factors once a load has finished, and keep them.

The list as at a load's day is then a read of kept values instead of passes over
every pupil's records (figures: benchmarks/README.md).
Every day of the load's academic year and the one before is kept, as each pupil's
answer from each day it changes on, and the load's own day as factors on each pupil
(for the analysts' copy, which holds no years), all worked out in Python from one read
of the cohorts' records (loaders.risk_spans, which mirrors the saved query's worked-out
part: tests hold the two equal on the load's day and many others).

A pupil's answers do not depend on the day, only on their records, so a delta load
(:class:`Delta`) reads and works out again only the pupils it touched and takes the
others' from what the last load kept (loaders.risk_kept), while the kept academic years
and the detection rules are the last load's; the load's day's factors are read from
each pupil's answers in its academic year. The graph's ``RiskYear`` nodes, hidden while
the load ran (graph.risk_facts), are then forgotten and written again for the touched
pupils and those no longer children only; of the factors on each pupil (the day and
rules they are as at kept once, on the ``RiskDay`` node), only those that moved since
the last load's day are written, so a pupil whose answer is the same is not touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graph import risk_facts
from graph.store import GraphStore
from loaders import kept
from loaders.risk_kept import RiskKept
from loaders.risk_spans import EDGES, born_between, pupils
from planning.calendar import academic_year
from planning.risk import RiskConfig, load_risk_config
from queries.library import get_query

if TYPE_CHECKING:
    from loaders.unchanged import Touched

QUERY_ID = "risk_of_neet"
YEARS_KEPT = 2  # academic years kept for every day at least: the load's and the one before


@dataclass
class Delta(kept.Delta[RiskKept]):
    """A delta load's part in working the answers out; ``written``, once they are: how
    many pupils' kept factors were written or cleared (the others' had not moved; None:
    every pupil's). ``wrote``, where asked for (a set given): those pupils' uids, every
    one whose kept factors the graph changed, for the analysts' copy."""

    written: int | None = None
    wrote: set[str] | None = None


def touched_pupils(store: GraphStore, touched: Touched) -> set[str]:
    """The children whose answers a delta's changes may move (``touched``: what it
    wrote): their own node's rows, a relationship of a type the answer follows
    (loaders.risk_spans.EDGES) naming them, or a school, home or case of theirs whose
    own rows changed (its name and phase, area and deprivation, kind, status, dates)."""
    people = touched.own("Person") | touched.named_by("Person", EDGES)
    for label in risk_facts.PUPILS_AT:
        people |= risk_facts.pupils_at(store, label, touched.own(label))
    return people


def keep_after_load(store: GraphStore, as_of: dt.date, delta: Delta | None = None) -> int:
    """Work out and keep the factors of every pupil in the cohort on ``as_of``, and on
    every day of its academic year and of every one before it a child could be on the
    list in (at least the one before); on a ``delta``, only the touched pupils' are
    worked out where the last load's can be kept (``delta.why`` says when not), and only
    the factors that moved since the last load's day are written. The pupils whose
    factors were kept; ``delta.after``: every answer, for the next load."""
    query = get_query(QUERY_ID)
    config = load_risk_config()
    rules = config.detection_rules(query.cypher)
    # every academic year a child could be on the list in, up to the load's (at least
    # the one before it too): a day before them has an empty list, a day after is
    # worked out from the records
    last = academic_year(as_of)
    years = list(range(min(last - YEARS_KEPT + 1, first_year(store, config)), last + 1))
    kept = RiskKept(years, rules, as_of=as_of.isoformat())
    if delta is not None:
        delta.why = _why_everyone(delta, years, rules)
    forget: list[str] | None = None  # the pupils whose RiskYear nodes go (None: all)
    cleared: list[str] | None = None  # the pupils whose kept factors go (None: all)
    if delta is not None and not delta.why and delta.kept is not None:
        assert delta.touched is not None
        before = delta.kept
        gone = _keep_untouched(store, delta, before, kept)
        delta.worked_out = _work_out_touched(store, sorted(delta.touched), years, config, kept)
        # the graph holds the last load's RiskYear nodes (its counts are those kept): the
        # untouched pupils' stay as they are, the touched and gone pupils' are written again
        forget = [uid for uid in before.pupils if uid in delta.touched or uid in gone]
        spans = [s for uid in delta.touched if uid in kept.pupils for s in kept.pupils[uid][0]]
        # of each pupil's factors, only those that moved since the last load's day
        now = list(kept.day(as_of))
        if before.as_of:
            rows, cleared = differ(before.day(dt.date.fromisoformat(before.as_of)), now)
            delta.written = len(rows) + len(cleared)
        else:  # which day the graph's are as at is not known: every pupil's
            rows = now
    else:
        _work_out_all(store, years, config, kept)
        spans = list(kept.spans())
        rows = now = list(kept.day(as_of))
    if delta is not None:
        delta.kept, delta.after = None, kept  # the last load's taken over: let go
        if delta.wrote is not None:  # every pupil's kept factors go first: whose they were
            delta.wrote.update(risk_facts.kept_on(store) if cleared is None else cleared)
            delta.wrote.update(row["uid"] for row in rows)
    risk_facts.save(
        store,
        rows,
        as_of=as_of.isoformat(),
        rules=rules,
        years=spans,
        academic_years=years,
        forget=forget,
        cleared=cleared,
    )
    return len(now)


def differ(
    was: Iterable[dict[str, Any]], now: Iterable[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of ``now`` not in ``was`` as they are, and the pupils of ``was`` not in
    ``now``."""
    kept = {row["uid"]: row for row in was}
    rows = [row for row in now if kept.pop(row["uid"], None) != row]
    return rows, sorted(kept)


def _work_out_all(store: GraphStore, years: list[int], config: RiskConfig, kept: RiskKept) -> None:
    """Every pupil of the kept years' cohorts, into ``kept``."""
    born_from, born_to = born_between(years)
    # the children of the kept years' cohorts, one birth year a part, read side by side
    # where the engine can (FalkorDB's threads)
    births = [
        (max(born_from, dt.date(y, 9, 1)), min(born_to, dt.date(y + 1, 9, 1)))
        for y in range(born_from.year, born_to.year)
    ]
    with ThreadPoolExecutor(min(len(births), store.parallel_reads())) as pool:
        for part in pool.map(lambda b: pupils(risk_facts.pupils(store, *b)), births):
            kept.add(part, config)


def _keep_untouched(store: GraphStore, delta: Delta, before: RiskKept, kept: RiskKept) -> set[str]:
    """The untouched pupils' answers as the last load kept them, while they are still
    children in the graph (:meth:`Delta.still_there`); those who are not."""
    assert delta.touched is not None
    untouched = [uid for uid in before.pupils if uid not in delta.touched]
    still = delta.still_there(untouched, lambda uids: risk_facts.children(store, uids))
    kept.pupils.update((uid, before.pupils[uid]) for uid in still)
    return set(untouched).difference(still)


def _work_out_touched(
    store: GraphStore, uids: list[str], years: list[int], config: RiskConfig, kept: RiskKept
) -> int:
    """The touched pupils of the kept years' cohorts, worked out into ``kept``; how many."""
    born_from, born_to = born_between(years)
    found = pupils(risk_facts.pupils_of(store, uids, born_from, born_to))
    kept.add(found, config)
    return len(found)


def _why_everyone(delta: Delta, years: list[int], rules: str) -> str:
    """Why a delta works out every pupil's answers again ("": it need not)."""

    def other_years(before: RiskKept) -> str:
        if before.years == years:
            return ""
        return f"the kept academic years change ({before.years} -> {years})"

    def other_rules(before: RiskKept) -> str:
        return "" if before.rules == rules else "the detection rules changed"

    return kept.why_everyone(delta, "answers", other_years, other_rules)


def first_year(store: GraphStore, config: RiskConfig) -> int:
    """The first academic year (by the year it began in) a child could be on the list
    in: one is old enough for its youngest year group, and one is on a school roll."""
    born, on_roll = risk_facts.first_dates(store)
    if born is None or on_roll is None:
        return 10_000  # nobody on any roll: no year before the load's needs keeping
    return max(academic_year(born) + 5 + min(config.year_groups), academic_year(on_roll))
