"""Every pupil's risk of NEET answers as a load worked them out, kept beside its load
reports for the next load, so that a delta works out again only the pupils it touched.

A pupil's answers depend only on their own records and the nodes those name (a school,
a home, a case), not on the day: the ``RiskYear`` rows of every kept academic year, and
in the load's own academic year the answer from each day it may change on, whether or
not it has factors (the load's day's factors on each pupil are read from it, so a
later day of that year needs no records). Trusted as :class:`loaders.people_kept.Known`
is: only while the graph carries the counts and version stamp it was kept with (a
review merge, which forgets a person's kept answers, stamps the graph), and removed as
it is taken, so a load that stops part way leaves none.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graph import risk_facts
from loaders import kept, risk_spans
from loaders.risk_spans import Answer, Pupil, cohort_year_group, day_number
from planning.risk import RiskConfig

KEPT_FILE = "risk-answers.json"
VERSION = 2  # 2: with the day the factors on each pupil were kept as at

# One pupil's part: [their RiskYear rows, their timeline in the load's academic year]
# (None: not in the list's year groups then): [year group, area, starts (yyyymmdd),
# answers (each [school, school urn, attendance, factors] or None: off every roll)].
Part = list[Any]
# what works a pupil's answers out: the walk reading their records, the spans, the parts
code_fingerprint = kept.fingerprinter(risk_facts, risk_spans, __name__)


def worked_out(pupil: Pupil, years: list[int], config: RiskConfig) -> Part | None:
    """``pupil``'s part: their ``RiskYear`` of each of ``years`` and their timeline in
    the last of them; None when they have neither (nothing of theirs is written)."""
    ay = years[-1]
    group = cohort_year_group(pupil.dob, ay)
    days = pupil.timeline(ay, config) if group in config.year_groups else None
    spans = []
    for year in years:
        span = pupil.year(year, config, days if year == ay else None)
        if span is not None:
            spans.append(span)
    timeline = None
    if days is not None and any(a is not None for a in days[1]):
        starts = [day_number(d) for d in days[0]]
        timeline = [group, pupil.area, starts, [_answer(a) for a in days[1]]]
    if not spans and timeline is None:
        return None
    return [spans, timeline]


def _answer(answer: Answer | None) -> list[Any] | None:
    if answer is None:
        return None
    return [answer.school, answer.school_urn, answer.attendance_pct, list(answer.factors)]


def day_row(uid: str, part: Part, day: dt.date) -> dict[str, Any] | None:
    """The pupil's answer as at ``day`` (a day of the timeline's academic year) as
    graph.risk_facts.SAVE takes it, or None when they are on no roll then."""
    timeline = part[1]
    if timeline is None:
        return None
    group, area, starts, answers = timeline
    at = bisect_right(starts, day_number(day)) - 1
    answer = answers[at] if at >= 0 else None
    if answer is None:
        return None
    school, urn, attendance, factors = answer
    return {
        "uid": uid,
        "factors": factors,
        "year_group": group,
        "school": school,
        "school_urn": urn,
        "area": area,
        "attendance_pct": attendance,
    }


@dataclass
class RiskKept(kept.Kept):
    """The answers a load kept: for the academic ``years`` (the last its own), under
    the detection ``rules``, each pupil's :data:`Part` by uid; ``as_of``, the load's day (ISO
    text), which the factors it kept on each pupil are as at."""

    VERSION = VERSION
    fingerprint = staticmethod(code_fingerprint)
    years: list[int]
    rules: str
    pupils: dict[str, Part] = field(default_factory=dict)
    as_of: str = ""

    def add(self, found: Iterable[Pupil], config: RiskConfig) -> None:
        """Each of ``found`` worked out for :attr:`years` (those with no part: none)."""
        for pupil in found:
            part = worked_out(pupil, self.years, config)
            if part is not None:
                self.pupils[pupil.uid] = part

    def spans(self) -> Iterator[dict[str, Any]]:
        """Every ``RiskYear`` row (graph.risk_facts.SAVE_YEARS's)."""
        for spans, _ in self.pupils.values():
            yield from spans

    def day(self, day: dt.date) -> Iterator[dict[str, Any]]:
        """Every pupil's answer as at ``day`` (graph.risk_facts.SAVE's rows)."""
        for uid, part in self.pupils.items():
            row = day_row(uid, part, day)
            if row is not None:
                yield row
