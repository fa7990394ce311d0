"""A week later: the county's extracts again, with a few changes that matter to open
cases, so the demo (and anyone trying Jigsaw) sees alerts raised by a second load.

The changes are what councils really receive between loads: a change-of-address
notification for a child with SEND, an updated attendance return for the current term
with more sessions missed, and a new child-in-need episode for a brother or sister of a
child already on a caseload. Children on the busiest workers' caseloads are picked
first, so the demo accounts (which stand for those workers) have alerts to read.
Every change is listed in ``follow_up.json`` beside the extracts.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import shutil
from pathlib import Path

import pandas as pd

SOCIAL_CARE = ("CIN", "CP", "CLA")
SEND = ("EHCP", "SEN support")


def _table(root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(root / "truth" / f"{name}.csv", dtype=str, keep_default_na=False)


def write_follow_up(county: Path, out: Path, *, seed: int = 1, per_kind: int = 4) -> dict:
    """Copy ``county``'s extracts to ``out`` and change them as a week would."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(county, out, ignore=shutil.ignore_patterns("truth", "manifest.json"))
    rng = random.Random(seed)
    as_of = dt.date.fromisoformat(json.loads((county / "manifest.json").read_text())["as_of"])
    cases = _table(county, "cases")
    allocated = cases[(cases.status == "open") & (cases.worker_id != "")]
    busy = allocated.worker_id.value_counts()
    roles = _table(county, "professionals").set_index("professional_id").role
    # the busiest worker in each role first (the demo accounts stand for them), then by load
    per_role = pd.DataFrame({"load": busy, "role": busy.index.map(roles)})
    top = set(
        per_role.reset_index()
        .sort_values(["load", "worker_id"], ascending=[False, True])
        .groupby("role")
        .head(1)
        .worker_id
    )
    weight = {w: n + (1_000_000 if w in top else 0) for w, n in busy.items()}
    rank = (
        allocated.assign(load=allocated.worker_id.map(weight))
        .groupby("person_id")["load"]
        .max()
        .reset_index()
        .sort_values(["load", "person_id"], ascending=[False, True])
    )
    ordered = list(rank.person_id)
    people = _table(county, "people").set_index("person_id")
    changes = {
        "moves": _moves(county, out, ordered, allocated, people, as_of, rng, per_kind),
        "attendance": _attendance(county, out, ordered, people, per_kind),
        "siblings": _siblings(county, out, ordered, cases, people, as_of, per_kind),
    }
    (out / "follow_up.json").write_text(json.dumps(changes, indent=1))
    return changes


def _moves(
    county: Path,
    out: Path,
    ordered: list[str],
    allocated: pd.DataFrame,
    people: pd.DataFrame,
    as_of: dt.date,
    rng: random.Random,
    per_kind: int,
) -> list[dict]:
    send = set(allocated[allocated.kind.isin(SEND)].person_id)
    addresses = _table(county, "addresses")
    in_county = addresses[addresses.in_county == "1"].reset_index(drop=True)
    current = _table(county, "residences")
    current = current[current.end == ""].set_index("person_id").uprn.to_dict()
    rows, done = [], []
    for pid in ordered:
        if pid not in send or pid not in current or not people.at[pid, "upn"]:
            continue
        new = in_county.iloc[rng.randrange(len(in_county))]
        if new.uprn == current[pid]:
            continue
        moved = as_of - dt.timedelta(days=rng.randint(1, 6))
        p = people.loc[pid]
        rows.append(
            [
                p.upn,
                p.nhs_number,
                p.given_name,
                p.surname,
                p.dob,
                new.uprn,
                new.line1,
                new.postcode,
                moved.isoformat(),
            ]
        )
        done.append({"person_id": pid, "uprn": new.uprn, "moved": moved.isoformat()})
        if len(done) == per_kind:
            break
    folder = out / "change_of_address"
    folder.mkdir(exist_ok=True)
    with (folder / "notifications.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "UPN",
                "NHS Number",
                "Forename",
                "Surname",
                "Date of Birth",
                "UPRN",
                "Address",
                "Postcode",
                "Date Moved",
            ]
        )
        writer.writerows(rows)
    return done


def _attendance(
    county: Path, out: Path, ordered: list[str], people: pd.DataFrame, per_kind: int
) -> list[dict]:
    """The current term's return again, with more sessions missed (below 85%)."""
    att = _table(county, "attendance")
    att = att.assign(
        rate=1
        - (att.authorised.astype(int) + att.unauthorised.astype(int))
        / att.possible.astype(int).clip(lower=1)
    )
    starts = sorted(att.term_start.unique())
    if len(starts) < 2:
        return []
    now = att[att.term_start == starts[-1]]
    before = att[att.term_start == starts[-2]].groupby("person_id").rate.min()
    term = now.term.iloc[0]
    done = []
    for pid in ordered:
        mine = now[now.person_id == pid]
        upn = people.at[pid, "upn"] if pid in people.index else ""
        if len(mine) != 1 or not upn or before.get(pid, 0) < 0.92 or mine.rate.iloc[0] < 0.92:
            continue  # a fall from at or above 90% both terms, so the change is news
        row = mine.iloc[0]
        if int(row.possible) < 20:
            continue
        ay, season = term.split(" ")
        sheet = out / "attendance" / f"{row.urn}_{ay}.csv"
        if not sheet.exists() or not _rewrite(sheet, upn, season, int(row.possible)):
            continue
        done.append({"person_id": pid, "term": term, "urn": row.urn})
        if len(done) == per_kind:
            break
    return done


def _rewrite(sheet: Path, upn: str, season: str, possible: int) -> bool:
    with sheet.open(newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    header = table[0]
    cols = {name: i for i, name in enumerate(header)}
    changed = False
    for line in table[1:]:
        if line[cols["Pupil UPN"]] == upn and line[cols["Term"]] == season:
            absent = round(possible * 0.2)
            line[cols["Authorised Absences"]] = str(absent // 2)
            line[cols["Unauthorised Absences"]] = str(absent - absent // 2)
            if "Attended Sessions" in cols:
                line[cols["Attended Sessions"]] = str(possible - absent)
            changed = True
    if changed:
        with sheet.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows(table)
    return changed


def _siblings(
    county: Path,
    out: Path,
    ordered: list[str],
    cases: pd.DataFrame,
    people: pd.DataFrame,
    as_of: dt.date,
    per_kind: int,
) -> list[dict]:
    """A new child-in-need episode for a sibling (shared parent) not open to social care."""
    parents = _table(county, "parents")
    of_child = parents.groupby("child_id").parent_id.apply(set).to_dict()
    children_of = parents.groupby("parent_id").child_id.apply(set).to_dict()
    open_sc = set(cases[(cases.status == "open") & cases.kind.isin(SOCIAL_CARE)].person_id)
    episodes = out / "social_care" / "episodes.csv"
    done: list[dict] = []
    seen: set[str] = set()
    start = (as_of - dt.timedelta(days=3)).strftime("%d-%b-%Y")
    with episodes.open("a", newline="", encoding="cp1252") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for pid in ordered:
            sibs = {s for p in of_child.get(pid, ()) for s in children_of.get(p, ())} - {pid}
            for sib in sorted(sibs - open_sc - seen):
                la_id = people.at[sib, "la_child_id"] if sib in people.index else ""
                if not la_id or people.at[sib, "is_child"] != "1":
                    continue
                seen.add(sib)
                ref = f"FU{len(done) + 1:05d}"
                writer.writerow(
                    [ref, la_id, "CIN", start, "", "N1 Abuse or neglect", "", "", "", ""]
                )
                done.append({"person_id": sib, "sibling_of": pid, "episode": ref})
                break
            if len(done) == per_kind:
                break
    return done
