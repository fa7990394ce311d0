"""The English school year: year groups, terms and session counts."""

from __future__ import annotations

import datetime as dt

TERMS = ("Autumn", "Spring", "Summer")
# (first day month/day, last day month/day, possible sessions in a full term)
TERM_SHAPE = {
    "Autumn": ((9, 3), (12, 19), 140),
    "Spring": ((1, 6), (3, 31), 122),
    "Summer": ((4, 15), (7, 22), 128),
}


def academic_year(day: dt.date) -> int:
    """The calendar year in which the school year containing ``day`` began."""
    return day.year if day.month >= 9 else day.year - 1


def academic_label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def cohort(dob: dt.date) -> int:
    """Children born 1 Sep Y to 31 Aug Y+1 share cohort Y (Reception in Sep Y+5)."""
    return dob.year if dob.month >= 9 else dob.year - 1


def year_group(dob: dt.date, start_year: int) -> int:
    """0 = Reception, 1..13 = Year 1..13, -1/-2 = nursery, below that: not yet."""
    return start_year - cohort(dob) - 5


def year_group_label(n: int) -> str:
    if n == 0:
        return "R"
    if n == -1:
        return "N2"
    if n == -2:
        return "N1"
    return str(n)


def term_dates(start_year: int, term: str) -> tuple[dt.date, dt.date, int]:
    (m1, d1), (m2, d2), sessions = TERM_SHAPE[term]
    year = start_year if term == "Autumn" else start_year + 1
    return dt.date(year, m1, d1), dt.date(year, m2, d2), sessions


def terms_until(as_of: dt.date, count: int) -> list[tuple[str, dt.date, dt.date, int]]:
    """The last ``count`` terms that have started by ``as_of`` (oldest first), with
    the sessions possible so far (a term under way counts only its elapsed part)."""
    out: list[tuple[str, dt.date, dt.date, int]] = []
    year = academic_year(as_of) + 1
    while len(out) < count and year > as_of.year - 5:
        for term in reversed(TERMS):
            start, end, sessions = term_dates(year, term)
            if start > as_of:
                continue
            if end > as_of:
                elapsed = (as_of - start).days / max(1, (end - start).days)
                sessions = max(2, round(sessions * elapsed / 2) * 2)
                end = as_of
            out.append((f"{academic_label(year)} {term}", start, end, sessions))
            if len(out) == count:
                break
        year -= 1
    return list(reversed(out))


def next_september(as_of: dt.date) -> dt.date:
    year = as_of.year if as_of < dt.date(as_of.year, 9, 1) else as_of.year + 1
    return dt.date(year, 9, 1)
