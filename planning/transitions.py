"""Transitions ahead: who starts Reception, Year 7 or Year 12 next September, where they
are expected to go, and what they will need there on day one.

Where a child holds an offer, that is the school. Before offers are made, the expected
school is the child's own sixth form for Year 12 if it has one, else the nearest school
of the right phase to the child's home (straight-line distance). Home-to-school
transport eligibility is estimated from the statutory walking distances (2 miles under
8, 3 miles from 8) over that straight line, or kept where the child has school
transport now (SEN transport continues case by case); the statutory test measures
the shortest safe walking route and adds extended rights for low-income families,
which are not modelled here, so the column says "likely".
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import Any, Literal, NamedTuple

from graph import planning as reads
from graph.store import GraphStore
from planning.calendar import next_september
from planning.codes import NEED_NAMES

EntryPoint = Literal["Reception", "Year 7", "Year 12"]
ENTRY_YEAR_GROUP: dict[str, int] = {"Reception": 0, "Year 7": 7, "Year 12": 12}
NEXT_PHASES: dict[str, tuple[str, ...]] = {
    "Reception": ("Primary",),
    "Year 7": ("Secondary",),
    "Year 12": ("16 plus",),
}
WALKING_MILES_UNDER_8 = 2.0
WALKING_MILES_FROM_8 = 3.0


class Transition(NamedTuple):
    """One child moving school next September (a named tuple: a county's cohort is
    about 17,000 of them a page, made in a third of a frozen dataclass's time)."""

    child_uid: str
    child_name: str
    dob: dt.date | None
    area: str | None
    current_setting: str | None
    expected_school: str | None
    expected_urn: str | None
    basis: str  # offer | stays on | nearest <phase> | unknown
    ehc_plan: bool
    sen_support: bool
    needs: tuple[str, ...]
    transport_now: bool
    transport_likely: bool
    miles: float | None
    known_from: str

    def as_row(self) -> dict[str, Any]:
        return {
            "expected_school": self.expected_school or "not known",
            "basis": self.basis,
            "child_uid": self.child_uid,
            "child_name": self.child_name,
            "dob": self.dob,
            "area": self.area,
            "current_setting": self.current_setting,
            "ehc_plan": self.ehc_plan,
            "sen_support": self.sen_support,
            "needs": _needs_text(self.needs),
            "transport_now": self.transport_now,
            "transport_likely": self.transport_likely,
            "miles_to_school": self.miles,
            "known_from": self.known_from,
        }


@functools.cache
def _needs_text(needs: tuple[str, ...]) -> str:
    """Needs by code and name (few combinations: made once each)."""
    return ", ".join(f"{n} ({NEED_NAMES.get(n, n)})" for n in needs)


def cohort_dates(entry_point: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """Birth dates of the children who enter ``entry_point`` next September."""
    start = next_september(today).year
    cohort = start - 5 - ENTRY_YEAR_GROUP[entry_point]
    return dt.date(cohort, 9, 1), dt.date(cohort + 1, 9, 1)


def miles_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in miles (haversine)."""
    r = 3958.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def transitions(store: GraphStore, entry_point: str, today: dt.date) -> list[Transition]:
    if entry_point not in ENTRY_YEAR_GROUP:
        raise ValueError(f"entry point must be one of {', '.join(ENTRY_YEAR_GROUP)}")
    rows = cohort(store, entry_point, today)
    schools = reads.schools(store)
    by_urn = {s["urn"]: s for s in schools}
    candidates = [s for s in schools if s["phase"] in NEXT_PHASES[entry_point]]
    age_at_start = 4 + ENTRY_YEAR_GROUP[entry_point]
    walking = WALKING_MILES_UNDER_8 if age_at_start < 8 else WALKING_MILES_FROM_8
    out = []
    for row in rows:
        # the load worked out the school expected whatever the day's (ahead_of_day), so
        # only a sixth form stayed on depends on the day
        kept = row.get("ahead")
        if kept is None or _stays_on(row, entry_point):
            kept = ahead(row, entry_point, candidates, by_urn)
        urn, basis, miles = kept
        school = by_urn.get(urn) if urn else None
        kinds = row["kinds"]
        transport_now = "Transport" in kinds
        out.append(
            Transition(  # by position (Transition's fields' order): a county's cohort a page
                row["child_uid"],
                row["child_name"],
                row["dob"],
                row["area"],
                row["setting"],
                school["name"] if school else row["offer_school"],
                urn,
                basis,
                "EHCP" in kinds,
                "SEN support" in kinds,
                tuple(row["needs"]),
                transport_now,
                transport_now or (miles is not None and miles > walking),
                miles,
                row["known_from"] or "",
            )
        )
    return out


def ahead(
    row: dict[str, Any],
    entry_point: str,
    candidates: list[dict[str, Any]],
    by_urn: dict[str, dict[str, Any]],
) -> tuple[str | None, str, float | None]:
    """The expected school's urn, why, and the straight-line miles to it from home."""
    urn, basis = _expected(row, entry_point, candidates)
    school = by_urn.get(urn) if urn else None
    miles = None
    if school and row["lat"] is not None and school["lat"] is not None:
        miles = round(miles_between(row["lat"], row["lon"], school["lat"], school["lon"]), 1)
    return urn, basis, miles


def ahead_of_day(
    rows: list[dict[str, Any]], entry_point: str, schools: list[dict[str, Any]]
) -> list[tuple[str | None, str, float | None]]:
    """For a load to keep beside each child of a cohort (COHORT_SPELLS' rows): the
    school expected whatever their school on the day (:func:`ahead` with no setting: the
    offer, else the nearest of the next phase), which the page takes unless the day's
    school is a sixth form they stay on at."""
    by_urn = {s["urn"]: s for s in schools}
    candidates = [s for s in schools if s["phase"] in NEXT_PHASES[entry_point]]
    no_setting = {"setting_phase": None, "setting_high_age": None, "setting_urn": None}
    return [ahead(row | no_setting, entry_point, candidates, by_urn) for row in rows]


def cohort(store: GraphStore, entry_point: str, today: dt.date) -> list[dict[str, Any]]:
    """The children who enter ``entry_point`` next September, each with their school on
    ``today`` (graph.planning.COHORT's rows), by name: from the cohort the last load
    kept when it is this one, else from the records."""
    born_from, born_before = cohort_dates(entry_point, today)
    kept = reads.kept_cohort(store, entry_point)
    if kept is not None and (kept.born_from, kept.born_before) == (born_from, born_before):
        rows = kept.on_day(today)
    else:
        rows = reads.cohort(
            store,
            born_from=born_from,
            born_before=born_before,
            today=today,
            entry_point=entry_point,
        )
    rows.sort(key=lambda r: (r["child_name"] is None, r["child_name"] or "", r["child_uid"]))
    return rows


def _expected(
    row: dict[str, Any], entry_point: str, candidates: list[dict[str, Any]]
) -> tuple[str | None, str]:
    if row["offer_urn"]:
        return row["offer_urn"], "offer"
    if _stays_on(row, entry_point):
        return row["setting_urn"], "stays on (sixth form)"
    if row["lat"] is None or not candidates:
        return None, "unknown (no home address)"
    nearest = min(
        candidates, key=lambda s: miles_between(row["lat"], row["lon"], s["lat"], s["lon"])
    )
    return nearest["urn"], f"nearest {nearest['phase'].lower()} (no offer yet)"


def _stays_on(row: dict[str, Any], entry_point: str) -> bool:
    """Starting Year 12 without an offer, at a secondary school with a sixth form."""
    return (
        entry_point == "Year 12"
        and not row["offer_urn"]
        and row["setting_phase"] == "Secondary"
        and (row["setting_high_age"] or 0) >= 18
    )
