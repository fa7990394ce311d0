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
from dataclasses import dataclass
from typing import Any

from graph import planning as reads
from graph.store import GraphStore
from planning.transitions import NEED_NAMES

FIRST_YEAR, LAST_YEAR = 0, 13  # Reception .. Year 13
TERMS = (("Autumn", 9), ("Spring", 1), ("Summer", 4))  # term, month it starts


@dataclass(frozen=True)
class Child:
    year_group: int  # this academic year (0 = Reception; negative before school)
    area: str
    categories: frozenset[str]  # e.g. {"EHCP", "Transport", "need:HI"}


def academic_year(day: dt.date) -> int:
    return day.year if day.month >= 9 else day.year - 1


def year_group(dob: dt.date, today: dt.date) -> int:
    cohort = dob.year if dob.month >= 9 else dob.year - 1
    return academic_year(today) - cohort - 5


def categories(kinds: Iterable[str], primary_need: str | None) -> frozenset[str]:
    out = {k for k in kinds if k in ("EHCP", "Transport")}
    if primary_need:
        out.add(f"need:{primary_need}")
    return frozenset(out)


def children_today(store: GraphStore, today: dt.date) -> list[Child]:
    oldest = dt.date(academic_year(today) - 5 - LAST_YEAR - 1, 8, 31)
    out = []
    for row in reads.children_and_needs(store, oldest):
        if row["dob"] is None:
            continue
        out.append(
            Child(
                year_group=year_group(row["dob"], today),
                area=row["area"] or "unknown",
                categories=categories(row["kinds"], row["primary_need"]),
            )
        )
    return out


def prevalence(children: list[Child]) -> dict[str, dict[int, float]]:
    """Share of today's children in each year group with each category."""
    size: dict[int, int] = defaultdict(int)
    have: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for c in children:
        size[c.year_group] += 1
        for cat in c.categories:
            have[cat][c.year_group] += 1
    return {cat: {g: have[cat].get(g, 0) / n for g, n in size.items() if n} for cat in sorted(have)}


def terms_ahead(today: dt.date, years: int) -> list[tuple[str, int]]:
    """The next ``years`` x 3 terms after today as (label, academic year)."""
    out = []
    ay = academic_year(today)
    for offset in range(0, years + 1):
        for name, month in TERMS:
            year = ay + offset + (1 if month < 9 else 0)
            start = dt.date(year, month, 1)
            if start > today and len(out) < years * 3:
                out.append((f"{ay + offset}-{str(ay + offset + 1)[2:]} {name}", ay + offset))
    return out


def forecast(children: list[Child], today: dt.date, years: int = 3) -> list[dict[str, Any]]:
    """Rows of term, academic year, area, category, expected children."""
    if not 1 <= years <= 3:
        raise ValueError("the forecast looks one to three years ahead")
    prev = prevalence(children)
    now = academic_year(today)
    # children alike in year group, area and categories count the same: add them up once
    alike = Counter((c.year_group, c.area, c.categories) for c in children)
    out: list[dict[str, Any]] = []
    for term, ay in terms_ahead(today, years):
        step = ay - now
        totals: dict[tuple[str, str], float] = defaultdict(float)
        for (group, area, cats), count in alike.items():
            then = group + step
            if not FIRST_YEAR <= then <= LAST_YEAR:
                continue
            for cat, by_year in prev.items():
                if cat in cats:
                    totals[(area, cat)] += count
                    continue
                p_now, p_then = by_year.get(group, 0.0), by_year.get(then, 0.0)
                if p_then > p_now and p_now < 1:
                    totals[(area, cat)] += count * (p_then - p_now) / (1 - p_now)
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
    return forecast(children_today(store, today), today, years)
