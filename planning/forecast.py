"""Needs forecast for budgets: children with each SEN primary need, with an EHC plan
and with school transport, by term and area for the next one to three years.

Method (today's population aged forward, no randomness, so the same graph always gives
the same forecast):

- every child known today moves up a year group each September and keeps their area
  (the postcode district of their current address; no migration is modelled);
- a child counts while in Reception to Year 13 (``FIRST_YEAR``..``LAST_YEAR``);
- a child who has a category today keeps it (exits from SEN are not modelled, which
  errs on the side of budgeting for support);
- a child who does not have it yet gains it with the chance that the county's
  prevalence rises between their year group now and their year group then:
  ``max(0, prev[then] - prev[now]) / (1 - prev[now])``, where ``prev[g]`` is the share
  of today's children in year group ``g`` with that category. This is how
  identification of needs grows with age (few needs are known before school).

Counts are expected numbers of children (fractions kept to one decimal place).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from graph import planning as reads
from graph.store import GraphStore
from planning.calendar import TERM_START, academic_year, term_start
from planning.codes import NEED_NAMES

FIRST_YEAR, LAST_YEAR = 0, 13  # Reception .. Year 13


Cell = tuple[int, str, frozenset[str]]  # birth cohort (its academic year), area, categories
Alike = tuple[int, str, frozenset[str]]  # year group, area, categories
TALLY_YEARS_BACK = 3  # a kept tally also serves days this many years before its load's


def categories(kinds: Iterable[str], primary_need: str | None) -> frozenset[str]:
    out = {k for k in kinds if k in ("EHCP", "Transport")}
    if primary_need:
        out.add(f"need:{primary_need}")
    return frozenset(out)


def oldest_birthday(today: dt.date) -> dt.date:
    """Everyone born after this day is counted: Year 13 and younger on ``today``."""
    return dt.date(academic_year(today) - 5 - LAST_YEAR - 1, 8, 31)


def cell_of(row: dict[str, Any]) -> Cell | None:
    """The cell a child of :func:`graph.planning.children_and_needs` counts in (None:
    no birth date, not counted)."""
    if row["dob"] is None:
        return None
    cats = categories(row["kinds"], row["primary_need"])
    return (academic_year(row["dob"]), row["area"] or "unknown", cats)


def tally_of_records(store: GraphStore, born_after: dt.date) -> Counter[Cell]:
    """Everyone born after ``born_after``, counted by birth cohort, area and categories
    (the children alike count the same in the forecast), from the records."""
    cells = (cell_of(row) for row in reads.children_and_needs(store, born_after))
    return Counter(cell for cell in cells if cell is not None)


def kept_born_after(today: dt.date) -> dt.date:
    """Who a load's kept tally counts: born after this day (reaching
    :data:`TALLY_YEARS_BACK` years further back than ``today`` needs)."""
    return oldest_birthday(today.replace(year=today.year - TALLY_YEARS_BACK, day=1))


def keep_tally(store: GraphStore, born_after: dt.date, counted: Counter[Cell]) -> int:
    """Keep ``counted`` (everyone born after ``born_after``) on the graph; the cells kept."""
    cells = sorted(counted, key=lambda c: (c[0], c[1], sorted(c[2])))
    reads.keep_needs_tally(
        store,
        reads.NeedsTally(
            born_after,
            [(cohort, area, "|".join(sorted(cats))) for cohort, area, cats in cells],
            [counted[c] for c in cells],
        ),
    )
    return len(cells)


def tally(store: GraphStore, today: dt.date) -> Counter[Cell]:
    """The children counted for a forecast from ``today``: from the tally the last load
    kept when it reaches back far enough, else from the records."""
    oldest = oldest_birthday(today)
    kept = reads.kept_needs_tally(store)
    if kept is None or kept.born_after > oldest:
        return tally_of_records(store, oldest)
    first = academic_year(oldest + dt.timedelta(days=1))  # born after ``oldest``
    out: Counter[Cell] = Counter()
    for (cohort, area, cats), count in zip(kept.cells, kept.children, strict=True):
        if cohort >= first:
            out[(cohort, area, frozenset(cats.split("|")) - {""})] += count
    return out


def prevalence(children: Counter[Alike]) -> dict[str, dict[int, float]]:
    """Share of today's children in each year group with each category, from children
    counted by (year group, area, categories)."""
    size: dict[int, int] = defaultdict(int)
    have: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for (group, _area, cats), count in children.items():
        size[group] += count
        for cat in cats:
            have[cat][group] += count
    return {cat: {g: have[cat].get(g, 0) / n for g, n in size.items() if n} for cat in sorted(have)}


def terms_ahead(today: dt.date, years: int) -> list[tuple[str, int]]:
    """The next ``years`` x 3 terms after today as (label, academic year)."""
    out = []
    ay = academic_year(today)
    for offset in range(0, years + 1):
        for name in TERM_START:
            start = term_start(ay + offset, name)
            if start > today and len(out) < years * 3:
                out.append((f"{ay + offset}-{str(ay + offset + 1)[2:]} {name}", ay + offset))
    return out


def forecast(children: Counter[Alike], today: dt.date, years: int = 3) -> list[dict[str, Any]]:
    """Rows of term, academic year, area, category, expected children, from today's
    children counted by (year group, area, categories)."""
    if not 1 <= years <= 3:
        raise ValueError("the forecast looks one to three years ahead")
    prev = prevalence(children)
    now = academic_year(today)
    # per year group and area: how many children, and how many already in each category
    size: dict[tuple[int, str], int] = defaultdict(int)
    have: dict[tuple[int, str, str], int] = defaultdict(int)
    for (group, area, cats), count in children.items():
        size[(group, area)] += count
        for cat in cats:
            have[(group, area, cat)] += count
    out: list[dict[str, Any]] = []
    for term, ay in terms_ahead(today, years):
        step = ay - now
        totals: dict[tuple[str, str], float] = defaultdict(float)
        for (group, area), count in size.items():
            then = group + step
            if not FIRST_YEAR <= then <= LAST_YEAR:
                continue
            for cat, by_year in prev.items():
                kept = have.get((group, area, cat), 0)
                if kept:  # those who have it keep it
                    totals[(area, cat)] += kept
                p_now, p_then = by_year.get(group, 0.0), by_year.get(then, 0.0)
                if count > kept and p_then > p_now and p_now < 1:  # the rest may gain it
                    totals[(area, cat)] += (count - kept) * (p_then - p_now) / (1 - p_now)
        for (area, cat), value in sorted(totals.items()):
            out.append(
                {
                    "term": term,
                    "academic_year": f"{ay}-{str(ay + 1)[2:]}",
                    "area": area,
                    "category": label(cat),
                    "children": round(value, 1),
                }
            )
    return out


def label(category: str) -> str:
    if category.startswith("need:"):
        code = category[5:]
        return f"SEN need {code} ({NEED_NAMES.get(code, code)})"
    return {"EHCP": "EHC plan", "Transport": "School transport"}.get(category, category)


def needs_forecast(store: GraphStore, today: dt.date, years: int = 3) -> list[dict[str, Any]]:
    children: Counter[Alike] = Counter()
    for (cohort, area, cats), count in tally(store, today).items():
        children[(academic_year(today) - cohort - 5, area, cats)] += count
    return forecast(children, today, years)
