"""Reading a synthetic county's ground truth with pandas, independently of Jigsaw.

Expected answers in tests are computed here from the truth files alone.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path

import pandas as pd

DATES = {
    "people": ["dob"],
    "parents": ["start", "end"],
    "memberships": ["start", "end"],
    "residences": ["start", "end"],
    "enrolments": ["start", "end"],
    "cases": ["start", "end"],
    "exclusions": ["date"],
    "needs": ["since"],
    "partnerships": ["start", "end"],
    "transport": ["start", "end"],
    "offers": ["start"],
}


@cache
def table(root: Path, name: str) -> pd.DataFrame:
    frame = pd.read_csv(root / "truth" / f"{name}.csv", dtype=str, keep_default_na=False)
    for column in DATES.get(name, []):
        frame[column] = pd.to_datetime(frame[column].replace("", None))
    return frame


def as_of(root: Path) -> dt.date:
    return dt.date.fromisoformat(json.loads((root / "manifest.json").read_text())["as_of"])


def manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def academic_year(day: dt.date) -> int:
    return day.year if day.month >= 9 else day.year - 1


def year_groups(root: Path) -> pd.Series:
    """Year group (0 = Reception) of every person this academic year, by person id."""
    people = table(root, "people").set_index("person_id")
    dob = people["dob"]
    cohort = dob.dt.year.where(dob.dt.month >= 9, dob.dt.year - 1)
    return academic_year(as_of(root)) - cohort - 5


def on_roll(root: Path, day: dt.date | None = None) -> set[str]:
    """People on a school roll (not a children's centre or college) on ``day``."""
    day = day or as_of(root)
    ts = pd.Timestamp(day)
    enr = table(root, "enrolments").merge(table(root, "schools")[["urn", "phase"]], on="urn")
    live = enr[
        (enr.start <= ts)
        & (enr.end.isna() | (enr.end > ts))
        & enr.phase.isin(["Primary", "Secondary", "Special", "Alternative provision"])
    ]
    return set(live.person_id)


def pupils(root: Path, low: int = 0, high: int = 11) -> set[str]:
    yg = year_groups(root)
    return on_roll(root) & set(yg[(yg >= low) & (yg <= high)].index)


def children(root: Path) -> set[str]:
    people = table(root, "people")
    return set(people[people.age.astype(int) < 18].person_id)


def open_cases(root: Path, *kinds: str) -> pd.DataFrame:
    cases = table(root, "cases")
    cases = cases[cases.status == "open"]
    return cases[cases.kind.isin(kinds)] if kinds else cases
