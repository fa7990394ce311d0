"""The same county a week later: what a council's nightly extracts hold seven days on.

A copy of a county's extracts in which about ``share`` of the rows (1% by default)
changed as a week changes them, each kind taking its part of that budget:

- **attendance** (45%): the current term's return again from some schools, a week's
  ten sessions more on every pupil's row (a few of them missed);
- **moves** (15%): households moving home: a change-of-address notification for each
  child, and the council tax account at the old home closed and one opened at the new;
- **case events** (20%): open social care and early help episodes closed, and new
  child-in-need episodes for children the social care system already knows;
- **new children** (10%): births registered with health visiting, each with a mother
  already in the county;
- **corrections** (10%): names a service had mistyped, put right.

Files nothing changed in are byte for byte the county's own. The truth goes along: the
rows added are labelled with the person they describe (a baby gets a new person id),
so linkage of the week's records can be measured as the first load's is. Every change
is listed in ``week_later.json``; ``manifest.json`` is the county's with the new day
and each file's new rows and hash.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import random
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from synthetic import identifiers as ids

DAYS = 7
SESSIONS_A_WEEK = 10
SHARES = {
    "attendance": 0.45,
    "moves": 0.15,
    "case events": 0.2,
    "new children": 0.1,
    "corrections": 0.1,
}
_WEEK_REF = re.compile(r"WL\d+")  # a week's new episode's reference
DATE_FORMATS = ("%d/%m/%Y", "%d-%b-%Y", "%Y-%m-%d", "%d/%m/%y")


@dataclass
class Table:
    """One CSV extract as read, written back in the same encoding and line endings."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    encoding: str
    bom: bool
    newline: str
    changed: bool = False
    original: int = 0  # rows as read

    def __post_init__(self) -> None:
        self.original = len(self.rows)
        self._before = [list(r) for r in self.rows]

    def rows_changed(self) -> int:
        """Rows added, and rows as read that now differ."""
        kept = sum(a != b for a, b in zip(self.rows, self._before, strict=False))
        return kept + len(self.rows) - self.original

    @classmethod
    def read(cls, path: Path) -> Table:
        raw = path.read_bytes()
        bom = raw.startswith(b"\xef\xbb\xbf")
        try:
            text, encoding = raw.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = raw.decode("cp1252"), "cp1252"
        newline = "\r\n" if "\r\n" in text[:10_000] else "\n"
        lines = list(csv.reader(io.StringIO(text, newline="")))
        return cls(path, lines[0], lines[1:], encoding, bom, newline)

    def col(self, name: str) -> int:
        return self.header.index(name)

    def append(self, values: dict[str, str]) -> int:
        """Add a row (columns not given are empty); returns its file row number."""
        self.rows.append([values.get(name, "") for name in self.header])
        self.changed = True
        return len(self.rows) + 1

    def write(self) -> None:
        out = io.StringIO()
        csv.writer(out, lineterminator=self.newline).writerows([self.header, *self.rows])
        data = out.getvalue().encode(self.encoding, errors="replace")
        self.path.write_bytes((b"\xef\xbb\xbf" if self.bom else b"") + data)


@dataclass
class Week:
    """The copy being changed: its tables, truth rows to add and the changes made."""

    out: Path
    as_of: dt.date
    rng: random.Random
    tables: dict[str, Table] = field(default_factory=dict)
    truth: list[list[str]] = field(default_factory=list)
    changes: dict[str, list[dict]] = field(default_factory=dict)
    next_person: int = 0

    def table(self, relpath: str) -> Table:
        if relpath not in self.tables:
            self.tables[relpath] = Table.read(self.out / relpath)
        return self.tables[relpath]

    def day(self) -> dt.date:
        """A day of the week just gone."""
        return self.as_of - dt.timedelta(days=self.rng.randint(0, DAYS - 1))

    def label(
        self, source: str, relpath: str, row: int, person: str, key: str = "", related: str = ""
    ) -> None:
        self.truth.append([source, relpath, str(row), person, "", key, related, ""])


def write_week_later(
    county: Path, out: Path, *, seed: int = 1, share: float = 0.01
) -> dict[str, object]:
    """Copy ``county`` to ``out`` as it would be a week later, about ``share`` of its
    rows changed; returns what changed (also in ``week_later.json``)."""
    if not 0 < share <= 0.2:
        raise ValueError("a week changes between 0 and 20% of the rows")
    manifest = json.loads((county / "manifest.json").read_text())
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(county, out)
    as_of = dt.date.fromisoformat(manifest["as_of"]) + dt.timedelta(days=DAYS)
    week = Week(out, as_of, random.Random(seed))
    truth = _Truth(county)
    total = sum(info["rows"] for info in manifest["extracts"].values())
    for kind, change in CHANGES.items():
        week.changes[kind] = change(week, truth, round(total * share * SHARES[kind]))
    changed = _rows(week)
    for table in week.tables.values():
        if table.changed:
            table.write()
    with (out / "truth" / "source_rows.csv").open("a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(week.truth)
    _manifest(out, manifest, week, seed, share)
    summary = {kind: len(done) for kind, done in week.changes.items()}
    (out / "week_later.json").write_text(
        json.dumps(
            {
                "as_of": as_of.isoformat(),
                "share": share,
                "rows_changed": changed,
                "changes": summary,
                "detail": week.changes,
            },
            indent=1,
        )
    )
    return {"as_of": as_of.isoformat(), "rows_changed": changed, "rows": total, **summary}


class _Truth:
    """The county's truth tables, read when a change first needs one."""

    def __init__(self, county: Path) -> None:
        self.root = county / "truth"
        self._cache: dict[str, list[dict[str, str]]] = {}
        self._people: dict[str, dict[int, str]] = {}

    def person_of(self, relpath: str) -> dict[int, str]:
        """Row number -> the person the truth says one file's row describes (the truth
        file read once a file, not once a change: it has a row a source row)."""
        found = self._people.get(relpath)
        if found is None:
            with (self.root / "source_rows.csv").open(newline="", encoding="utf-8") as fh:
                found = {
                    int(r["row"]): r["person_id"]
                    for r in csv.DictReader(fh)
                    if r["file"] == relpath
                }
            self._people[relpath] = found
        return found

    def __getitem__(self, name: str) -> list[dict[str, str]]:
        if name not in self._cache:
            with (self.root / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
                self._cache[name] = list(csv.DictReader(fh))
        return self._cache[name]


def _attendance(week: Week, truth: _Truth, budget: int) -> list[dict]:
    """The current term's return again from schools taken in turn, a week more on it."""
    year = week.as_of.year if week.as_of.month >= 9 else week.as_of.year - 1
    files = sorted((week.out / "attendance").glob(f"*_{year}-{str(year + 1)[2:]}.csv"))
    week.rng.shuffle(files)
    done: list[dict] = []
    rows = 0
    for path in files:
        if rows >= budget:
            break
        table = week.table(f"attendance/{path.name}")
        terms = [r[table.col("Term")] for r in table.rows]
        if not terms:
            continue
        term = terms[-1]  # the term under way: the latest a school's return holds
        if done and rows + terms.count(term) > budget * 1.2:
            continue  # a school whose return would overshoot the week's share
        cols = {n: table.col(n) for n in table.header}
        for row in table.rows:
            if row[cols["Term"]] != term:
                continue
            missed = sum(week.rng.random() < 0.07 for _ in range(SESSIONS_A_WEEK))
            row[cols["Possible Sessions"]] = str(int(row[cols["Possible Sessions"]]) + 10)
            unauthorised = sum(week.rng.random() < 0.3 for _ in range(missed))
            for name, more in (
                ("Authorised Absences", missed - unauthorised),
                ("Unauthorised Absences", unauthorised),
                ("Attended Sessions", SESSIONS_A_WEEK - missed),
            ):
                if name in cols:
                    row[cols[name]] = str(int(row[cols[name]] or 0) + more)
            rows += 1
        table.changed = True
        done.append({"file": f"attendance/{path.name}", "term": term})
    return done


def _moves(week: Week, truth: _Truth, budget: int) -> list[dict]:
    """Households moving home: a notification for each child with an identifier, and
    the council tax account at the old home closed and a new one opened."""
    people = {p["person_id"]: p for p in truth["people"]}
    addresses = [a for a in truth["addresses"] if a.get("in_county") == "1"]
    homes: dict[str, list[str]] = {}
    for r in truth["residences"]:
        if not r["end"]:
            homes.setdefault(r["uprn"], []).append(r["person_id"])
    ctax = week.table("council_tax/ctax_accounts.csv")
    accounts, account_row = {}, {}
    for number, r in enumerate(ctax.rows, start=2):
        if not r[ctax.col("Liability End")]:
            accounts[r[ctax.col("UPRN")]], account_row[r[ctax.col("UPRN")]] = r, number
    notices = _notifications(week)
    movable = sorted(uprn for uprn in homes if uprn in accounts)
    week.rng.shuffle(movable)
    done: list[dict] = []
    rows = 0
    for old in movable:
        if rows >= budget:
            break
        new = week.rng.choice(addresses)
        if new["uprn"] in homes or new["uprn"] == old:
            continue
        moved = week.day()
        account = accounts[old]
        fmt = _format_of(account[ctax.col("Liability Start")])
        account[ctax.col("Liability End")] = moved.strftime(fmt)
        number = ctax.append(
            {
                "Account Ref": f"CT{week.rng.randint(500_000_000, 999_999_999)}",
                "Liable Party": account[ctax.col("Liable Party")],
                "UPRN": new["uprn"],
                "Property Address": new["line1"],
                "Postcode": new["postcode"],
                "Liability Start": moved.strftime(fmt),
                "Single Person Discount": "N",
            }
        )
        payer = truth.person_of("council_tax/ctax_accounts.csv").get(account_row[old], "")
        week.label("council_tax", "council_tax/ctax_accounts.csv", number, payer, new["uprn"])
        rows += 2
        for pid in homes[old]:
            p = people[pid]
            if p["is_child"] != "1" or not (p["upn"] or p["nhs_number"]):
                continue
            row = notices.append(
                {
                    "UPN": p["upn"],
                    "NHS Number": p["nhs_number"],
                    "Forename": p["given_name"],
                    "Surname": p["surname"],
                    "Date of Birth": p["dob"],
                    "UPRN": new["uprn"],
                    "Address": new["line1"],
                    "Postcode": new["postcode"],
                    "Date Moved": moved.isoformat(),
                }
            )
            week.label("change_of_address", "change_of_address/notifications.csv", row, pid)
            rows += 1
        done.append(
            {"from": old, "to": new["uprn"], "moved": moved.isoformat(), "people": homes[old]}
        )
    return done


def _notifications(week: Week) -> Table:
    path = week.out / "change_of_address" / "notifications.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "UPN,NHS Number,Forename,Surname,Date of Birth,UPRN,Address,Postcode,Date Moved\n",
            encoding="utf-8",
        )
    return week.table("change_of_address/notifications.csv")


def _case_events(week: Week, truth: _Truth, budget: int) -> list[dict]:
    """Open episodes closed (social care and early help), and new child-in-need
    episodes for children social care already knows."""
    done: list[dict] = []
    episodes = week.table("social_care/episodes.csv")
    end, start = episodes.col("END_DATE"), episodes.col("START_DATE")
    open_rows = [r for r in episodes.rows if not r[end]]
    early = week.table("early_help/eh_families.csv")
    eh_end = early.col("Episode End")
    members: dict[str, list[list[str]]] = {}
    for r in early.rows:
        members.setdefault(r[early.col("Family Ref")], []).append(r)
    eh_open = sorted(ref for ref, rows in members.items() if not rows[0][eh_end])
    week.rng.shuffle(open_rows)
    week.rng.shuffle(eh_open)
    closing, opening = budget // 3, budget - 2 * (budget // 3)
    for row in open_rows[:closing]:
        row[end] = week.day().strftime(_format_of(row[start]))
        episodes.changed = True
        done.append({"closed": row[episodes.col("EPISODE_ID")]})
    shut = 0
    for ref in eh_open:
        if shut >= closing:
            break
        closed = week.day()
        for row in members[ref]:
            row[eh_end] = closed.strftime(_format_of(row[early.col("Episode Start")]))
            shut += 1
            early.changed = True
        done.append({"closed": ref})
    by_local = {p["la_child_id"]: p for p in truth["people"] if p["la_child_id"]}
    persons = week.table("social_care/persons.csv")
    known = sorted({r[persons.col("PERSON_ID")] for r in persons.rows} & set(by_local))
    busy = {r[episodes.col("PERSON_ID")] for r in open_rows}
    candidates = [k for k in known if k not in busy and by_local[k]["is_child"] == "1"]
    week.rng.shuffle(candidates)
    fmt = _format_of(episodes.rows[0][start]) if episodes.rows else "%d-%b-%Y"
    # numbered after the file's highest reference of this form, so a week after a week
    # gives no reference twice (two children's rows of one reference are one case)
    ref_at = episodes.col("EPISODE_ID")
    refs = (r[ref_at] for r in episodes.rows)
    last = max((int(ref[2:]) for ref in refs if _WEEK_REF.fullmatch(ref)), default=0)
    for n, local in enumerate(candidates[:opening], start=last + 1):
        ref = f"WL{n:06d}"
        number = episodes.append(
            {
                "EPISODE_ID": ref,
                "PERSON_ID": local,
                "EPISODE_TYPE": "CIN",
                "START_DATE": week.day().strftime(fmt),
                "REASON": "N1 Abuse or neglect",
            }
        )
        week.label(
            "social_care", "social_care/episodes.csv", number, by_local[local]["person_id"], ref
        )
        done.append({"opened": ref, "person_id": by_local[local]["person_id"]})
    return done


def _new_children(week: Week, truth: _Truth, budget: int) -> list[dict]:
    """Babies born this week, registered with health visiting: each mother is a woman of
    the county with an NHS number, and the baby lives at her home."""
    hv = week.table("health/hv_caseload.csv")
    if not hv.rows:
        return []
    home = {r["person_id"]: r["uprn"] for r in truth["residences"] if not r["end"]}
    where = {a["uprn"]: a for a in truth["addresses"]}
    mothers = [
        p
        for p in truth["people"]
        if p["sex"] == "F"
        and p["is_child"] == "0"
        and p["nhs_number"]
        and 20 <= int(p["age"] or 0) <= 42
        and p["person_id"] in home
    ]
    week.rng.shuffle(mothers)
    names = [r[hv.col("Child Forename")] for r in hv.rows]
    visitors = [(r[hv.col("Health Visitor")], r[hv.col("HV Team")]) for r in hv.rows]
    fmt = _format_of(hv.rows[0][hv.col("DOB")])
    used = {r[hv.col("NHS Number")].replace(" ", "") for r in hv.rows}
    done: list[dict] = []
    for mother in mothers[:budget]:
        number = _new_nhs_number(week.rng, used)
        sex = week.rng.choice(["Male", "Female"])
        address = where.get(home[mother["person_id"]], {})
        visitor, team = week.rng.choice(visitors)
        born = week.day()
        row = hv.append(
            {
                "NHS Number": f"{number[:3]} {number[3:6]} {number[6:]}",
                "Child Forename": week.rng.choice(names),
                "Child Surname": mother["surname"],
                "DOB": born.strftime(fmt),
                "Sex": sex,
                "Parent/Carer Name": f"{mother['given_name']} {mother['surname']}",
                "Parent/Carer NHS Number": " ".join(
                    (mother["nhs_number"][:3], mother["nhs_number"][3:6], mother["nhs_number"][6:])
                ),
                "Address": address.get("line1", ""),
                "Postcode": address.get("postcode", ""),
                "Health Visitor": visitor,
                "HV Team": team,
                "Newborn Hearing Screen": "Clear response",
            }
        )
        week.next_person += 1
        baby = f"W{week.next_person:07d}"
        week.label(
            "health_visiting",
            "health/hv_caseload.csv",
            row,
            baby,
            number,
            f"mother:{mother['person_id']}",
        )
        done.append({"person_id": baby, "mother": mother["person_id"], "born": born.isoformat()})
    return done


def _new_nhs_number(rng: random.Random, used: set[str]) -> str:
    while True:
        number = ids.nhs_number(f"{rng.randint(400_000_000, 499_999_999)}")
        if number and number not in used:
            used.add(number)
            return number


def _corrections(week: Week, truth: _Truth, budget: int) -> list[dict]:
    """Mistyped names put right, in the CSV extracts the truth says they were mistyped in."""
    typos = [
        d
        for d in truth["defects"]
        if d["defect"] == "typo"
        and d["file"].endswith(".csv")
        and not d["file"].startswith("attendance/")
    ]
    week.rng.shuffle(typos)
    done: list[dict] = []
    for d in typos[:budget]:
        table = week.table(d["file"])
        if d["field"] not in table.header:
            continue
        row = table.rows[int(d["row"]) - 2]
        column = table.col(d["field"])
        if row[column] != d["written_value"]:
            continue
        row[column] = d["true_value"]
        table.changed = True
        done.append({"file": d["file"], "row": int(d["row"]), "field": d["field"]})
    return done


CHANGES: dict[str, Callable[[Week, _Truth, int], list[dict]]] = {
    "attendance": _attendance,
    "moves": _moves,
    "case events": _case_events,
    "new children": _new_children,
    "corrections": _corrections,
}


def _format_of(value: str) -> str:
    """The date format a column's value is written in (the first that reads it)."""
    for fmt in DATE_FORMATS:
        try:
            dt.datetime.strptime(value, fmt)
            return fmt
        except ValueError:
            continue
    return "%d/%m/%Y"


def _rows(week: Week) -> int:
    """Rows added or changed, counted against the files as they were read."""
    return sum(t.rows_changed() for t in week.tables.values())


def _manifest(out: Path, manifest: dict, week: Week, seed: int, share: float) -> None:
    extracts = dict(manifest["extracts"])
    for relpath, table in week.tables.items():
        if table.changed:
            digest = hashlib.sha256(table.path.read_bytes()).hexdigest()
            extracts[relpath] = {"rows": len(table.rows), "sha256": digest}
    manifest = {
        **manifest,
        "as_of": week.as_of.isoformat(),
        "extracts": dict(sorted(extracts.items())),
        "week_later_of": {"seed": seed, "share": share},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
