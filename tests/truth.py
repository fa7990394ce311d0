"""Reading a synthetic county's ground truth with pandas, independently of Jigsaw.

Expected answers in tests are computed here from the truth files alone.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path

import pandas as pd

# the directories under returns/ the synthetic county writes its statutory returns to
RETURN_DIRECTORIES = (
    "ssda903",
    "ssda903_xml",
    "cin_census",
    "annex_a",
    "annex_a_csc",
    "sen2",
    "school_census",
    "ssd",
)
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


def roni(root: Path, config: dict, day: dt.date | None = None) -> pd.DataFrame:
    """Risk of NEET scores from the truth files: person_id, year_group, score, band,
    factors (a frozenset of factor keys), following the factor definitions in
    planning/risk.yaml's comments and the issue, written here a second time with pandas."""
    day = day or as_of(root)
    ts = pd.Timestamp(day)
    since = ts - pd.Timedelta(days=config["window_days"])
    yg = year_groups(root)
    pupils_now = on_roll(root, day)
    cohort = [p for p in pupils_now if int(yg.get(p, -99)) in config["year_groups"]]
    people = table(root, "people").set_index("person_id")
    att = table(root, "attendance")
    att = att.assign(term_start=pd.to_datetime(att.term_start))
    att = att[(att.term_start > since) & (att.term_start <= ts)]
    att = (
        att.assign(
            absent=att.authorised.astype(int) + att.unauthorised.astype(int),
            possible=att.possible.astype(int),
        )
        .groupby("person_id")[["absent", "possible"]]
        .sum()
    )
    exc = table(root, "exclusions")
    exc = exc[(exc.date > since) & (exc.date <= ts)]
    cases = table(root, "cases")
    open_cases = cases[(cases.status == "open") & (cases.start <= ts)]
    yj_since = ts - pd.Timedelta(days=config["youth_justice_window_days"])
    yj = cases[
        (cases.kind == "YJ") & (cases.start <= ts) & (cases.end.isna() | (cases.end > yj_since))
    ]
    kinds = open_cases.groupby("person_id").kind.apply(set).to_dict()
    yj_people = set(yj.person_id)
    schools = table(root, "schools").set_index("urn")
    enr = table(root, "enrolments")
    live = enr[(enr.start <= ts) & (enr.end.isna() | (enr.end > ts))]
    ap = set(live[live.urn.map(schools.phase) == "Alternative provision"].person_id)
    parents = set(table(root, "parents").parent_id)
    addresses = table(root, "addresses").set_index("uprn")
    res = table(root, "residences")
    res = res.assign(decile=pd.to_numeric(res.uprn.map(addresses.imd_decile), errors="coerce"))
    deprived = config["deprived_decile"]
    moved = set()
    for pid, group in res.groupby("person_id"):
        for _, new in group[
            (group.start > since) & (group.start <= ts) & (group.decile <= deprived)
        ].iterrows():
            before = group[
                group.end.notna()
                & (group.end <= new.start)
                & (group.end + pd.Timedelta(days=92) > new.start)
                & (group.decile > deprived)
            ]
            if len(before):
                moved.add(pid)
    changed = set()
    for pid, group in enr.groupby("person_id"):
        joins = group[
            (group.start > since) & (group.start <= ts) & ~group.start.dt.month.isin([8, 9])
        ]
        for _, j in joins.iterrows():
            if (group.start < j.start).any():
                changed.add(pid)
    weights = {k: v["weight"] for k, v in config["factors"].items()}
    rows = []
    for pid in cohort:
        f = set()
        if pid in att.index and att.at[pid, "possible"] > 0:
            rate = 1 - att.at[pid, "absent"] / att.at[pid, "possible"]
            if rate < config["attendance"]["severe"]:
                f.add("attendance_below_85")
            elif rate < config["attendance"]["low"]:
                f.add("attendance_below_90")
        mine = exc[exc.person_id == pid]
        if (mine.kind == "PERM").any():
            f.add("permanent_exclusion")
        elif len(mine):
            f.add("suspension")
        k = kinds.get(pid, set())
        if "EHCP" in k:
            f.add("ehc_plan")
        elif "SEN support" in k:
            f.add("sen_support")
        if "CLA" in k:
            f.add("looked_after")
        person = people.loc[pid]
        for column, factor in (
            ("young_carer", "young_carer"),
            ("fsm", "free_school_meals"),
            ("eal", "eal"),
        ):
            if person[column] == "1":
                f.add(factor)
        if pid in yj_people:
            f.add("youth_justice")
        if pid in ap:
            f.add("alternative_provision")
        if pid in parents:
            f.add("teenage_parent")
        if pid in moved:
            f.add("moved_into_deprived_area")
        if pid in changed:
            f.add("school_change_mid_year")
        f = {x for x in f if weights[x] > 0}
        score = sum(weights[x] for x in f)
        if score < config["bands"]["low"]:
            continue
        band = (
            "high"
            if score >= config["bands"]["high"]
            else "medium"
            if score >= config["bands"]["medium"]
            else "low"
        )
        rows.append(
            {
                "person_id": pid,
                "year_group": int(yg[pid]),
                "score": score,
                "band": band,
                "factors": frozenset(f),
            }
        )
    return pd.DataFrame(rows, columns=["person_id", "year_group", "score", "band", "factors"])


def transition_cohort(root: Path, entry_year_group: int, day: dt.date | None = None) -> set[str]:
    """People entering ``entry_year_group`` next September, known to at least one extract."""
    day = day or as_of(root)
    start = day.year if day.month < 9 else day.year + 1
    cohort = start - 5 - entry_year_group
    people = table(root, "people")
    born = people[
        (people.dob >= pd.Timestamp(cohort, 9, 1)) & (people.dob < pd.Timestamp(cohort + 1, 9, 1))
    ]
    known = set(table(root, "source_rows").person_id)
    return set(born.person_id) & known


def forecast(root: Path, years: int, day: dt.date | None = None) -> pd.DataFrame:
    """The needs forecast from the truth, written a second time with pandas following the
    method in planning/forecast.py's docstring: term, category, children (county-wide)."""
    day = day or as_of(root)
    ts = pd.Timestamp(day)
    ay = day.year if day.month >= 9 else day.year - 1
    people = table(root, "people")
    known = set(table(root, "source_rows").person_id)
    people = people[people.person_id.isin(known) & people.dob.notna()].copy()
    cohort = people.dob.dt.year.where(people.dob.dt.month >= 9, people.dob.dt.year - 1)
    people["yg"] = ay - cohort - 5
    people = people[people.yg >= -6]  # the graph's read starts at birth; older are adults
    people = people[people.yg <= 13]
    cases = table(root, "cases")
    open_cases = cases[(cases.status == "open") & (cases.start <= ts)]
    ehcp = set(open_cases[open_cases.kind == "EHCP"].person_id)
    # SEN support is reported only by the school census, as at census day
    census = pd.Timestamp(census_day(day))
    support = cases[
        (cases.kind == "SEN support")
        & (cases.start <= census)
        & (cases.end.isna() | (cases.end > census))
    ]
    send = ehcp | set(support.person_id)
    transport = table(root, "transport")
    on_transport = set(transport[(transport.start <= ts) & transport.end.isna()].person_id)
    needs = table(root, "needs")
    primary = needs[(needs["rank"] == "1") & needs.person_id.isin(send)].set_index("person_id").code

    def cats(pid: str) -> set[str]:
        out = set()
        if pid in ehcp:
            out.add("EHC plan")
        if pid in on_transport:
            out.add("School transport")
        if pid in primary.index:
            out.add(f"need:{primary[pid]}")
        return out

    people["cats"] = people.person_id.map(cats)
    every = sorted({c for s in people.cats for c in s})
    prev = {
        c: people.groupby("yg").cats.apply(lambda s, c=c: sum(c in x for x in s) / len(s)).to_dict()
        for c in every
    }
    rows = []
    terms = []
    for offset in range(years + 1):
        for name, month in (("Autumn", 9), ("Spring", 1), ("Summer", 4)):
            year = ay + offset + (1 if month < 9 else 0)
            if dt.date(year, month, 1) > day and len(terms) < years * 3:
                terms.append((f"{ay + offset}-{str(ay + offset + 1)[2:]} {name}", offset))
    groups = people.assign(key=people.cats.map(frozenset)).groupby(["yg", "key"]).size()
    for term, step in terms:
        for c in every:
            total = 0.0
            for (yg, key), n in groups.items():
                then = yg + step
                if not 0 <= then <= 13:
                    continue
                if c in key:
                    total += n
                    continue
                now_p, then_p = prev[c].get(yg, 0.0), prev[c].get(then, 0.0)
                if then_p > now_p:
                    total += n * (then_p - now_p) / (1 - now_p)
            rows.append({"term": term, "category": c, "children": total})
    return pd.DataFrame(rows)


def census_day(day: dt.date) -> dt.date:
    """The latest school census day on or before ``day`` (DfE: the first Thursday of
    October, the third Thursday of January and of May)."""

    def thursday(year: int, month: int, nth: int) -> dt.date:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(3 - first.weekday()) % 7 + 7 * (nth - 1))

    days = [
        thursday(y, m, n) for y in (day.year - 1, day.year) for m, n in ((10, 1), (1, 3), (5, 3))
    ]
    return max(d for d in days if d <= day)


def source_row_labels(root: Path) -> dict[tuple[str, int, str], str]:
    """(file, row, role) -> the true person of every identity on a source row."""
    rows = table(root, "source_rows")
    labels: dict[tuple[str, int, str], str] = {}
    for r in rows.itertuples():
        if r.person_id:
            labels[(r.file, int(r.row), "person")] = r.person_id
        if r.related and ":" in r.related:
            labels[(r.file, int(r.row), "parent")] = r.related.split(":", 1)[1]
    return labels
