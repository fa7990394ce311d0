"""What must not leak, and who may see whom, from a synthetic county's truth files alone.

The privacy tests scan every value a query returns for the county's real names,
identifiers, full dates of birth and note texts; which people a caseload role may see is
worked out here from the truth's cases, workers, teams and parents, never from Jigsaw.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from graph import schema
from tests import truth as t

WORD = re.compile(r"[^\W\d_]+")
# how many PARENT_OF steps a saved query may walk from the child it is about (family_network)
FAMILY_STEPS = 3


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def _dates(frame: pd.DataFrame, columns: Iterable[str]) -> set[dt.date]:
    out: set[dt.date] = set()
    for column in columns:
        values = pd.to_datetime(frame[column].replace("", None), errors="coerce").dropna()
        out |= {v.date() for v in values}
    return out


@dataclass
class Secrets:
    """Values that identify someone, gathered from the truth of some set of people."""

    full_names: set[str] = field(default_factory=set)  # normalised: letters only, lower
    name_words: set[str] = field(default_factory=set)  # a value that is just a name
    identifiers: set[str] = field(default_factory=set)  # normalised
    dobs: set[dt.date] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)  # normalised note texts, address lines

    def minus(self, other: Secrets) -> Secrets:
        return Secrets(
            self.full_names - other.full_names,
            self.name_words - other.name_words,
            self.identifiers - other.identifiers,
            self.dobs - other.dobs,
            self.texts - other.texts,
        )


class County:
    """The truth of one synthetic county, read with pandas."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.people = t.table(root, "people").set_index("person_id", drop=False)
        self.parents = t.table(root, "parents")
        self.cases = t.table(root, "cases")
        self.pros = t.table(root, "professionals").set_index("professional_id", drop=False)
        self.notes = t.table(root, "notes")
        self.addresses = t.table(root, "addresses")
        self.residences = t.table(root, "residences")
        self.public = self._public_words()
        self.event_dates = self._event_dates()

    def _public_words(self) -> set[str]:
        """Words that name places, schools, teams, services and categories: a name that
        is also one of them says nothing on its own."""
        words: set[str] = set()
        tables = {
            "schools": ["name"],
            "teams": ["name", "service"],
            "addresses": ["town", "local_authority"],
            "cases": ["reason", "placement_la", "service", "kind"],
            "professionals": ["role", "service"],
            "people": ["sex", "ethnicity", "language"],  # codes: TUR is Turkish
        }
        for name, columns in tables.items():
            frame = t.table(self.root, name)
            for column in columns:
                for value in frame[column].dropna():
                    words |= {_norm(w) for w in WORD.findall(str(value))}
        # field names a query may list (db.propertyKeys(), keys(n)): 'date' is not a Date
        for path in (self.root / "truth").glob("*.csv"):
            header = path.open(encoding="utf-8").readline()
            words |= {_norm(w) for w in WORD.findall(header.replace("_", " "))}
            words |= {_norm(w) for w in header.strip().split(",")}
        return words | {_norm(p) for p in schema.PROPERTY_KEYS} | {_norm(x) for x in schema.LABELS}

    def _event_dates(self) -> set[dt.date]:
        """Every dated event the county records other than births: a date a query rightly
        returns (a case opened, a move) may be someone's birthday as well."""
        out: set[dt.date] = {t.as_of(self.root)}
        for name, columns in t.DATES.items():
            if name != "people":
                out |= _dates(t.table(self.root, name), columns)
        out |= _dates(t.table(self.root, "attendance"), ["term_start"])
        out |= _dates(self.notes, ["at"])
        return out

    # -- who -------------------------------------------------------------------------

    def caseload(self, professional: str | None, teams: Iterable[str] = ()) -> set[str]:
        """Children with an open case held by the professional or their teams' members."""
        team_members = set(self.pros[self.pros.team_id.isin(list(teams))].professional_id)
        workers = team_members | ({professional} if professional else set())
        open_cases = self.cases[(self.cases.status == "open") & self.cases.worker_id.isin(workers)]
        return set(open_cases.person_id)

    def family(self, people: set[str], steps: int = FAMILY_STEPS) -> set[str]:
        """Everyone within ``steps`` parent links of these people, either way."""
        links: dict[str, set[str]] = {}
        for parent, child in zip(self.parents.parent_id, self.parents.child_id, strict=True):
            links.setdefault(parent, set()).add(child)
            links.setdefault(child, set()).add(parent)
        reached, edge = set(people), set(people)
        for _ in range(steps):
            edge = {n for p in edge for n in links.get(p, ())} - reached
            reached |= edge
        return reached

    def everyone(self) -> set[str]:
        return set(self.people.person_id)

    # -- what ------------------------------------------------------------------------

    def secrets(self, people: set[str]) -> Secrets:
        """The names, identifiers, dates of birth, notes, home addresses, case references
        and source keys of these people."""
        s = Secrets()
        who = self.people.loc[sorted(people & set(self.people.index))]
        for _, p in who.iterrows():
            names = [p.given_name, p.middle_names, p.birth_surname, p.surname]
            words = {_norm(w) for n in names for w in WORD.findall(n or "")}
            s.name_words |= {w for w in words if len(w) >= 3} - self.public
            for family in {p.birth_surname, p.surname} - {""}:
                s.full_names.add(_norm(f"{p.given_name}{family}"))
            s.identifiers |= {
                _norm(v) for v in (p.upn, p.nhs_number, p.uln, p.la_child_id) if len(v) >= 6
            }
            if not pd.isna(p.dob):
                s.dobs.add(p.dob.date())
        s.dobs -= self.event_dates
        s.dobs = {d for d in s.dobs if d.day != 1}  # the first of a month is a month
        homes = set(self.residences[self.residences.person_id.isin(list(people))].uprn)
        s.identifiers |= {_norm(u) for u in homes}
        lived = self.addresses[self.addresses.uprn.isin(list(homes))]
        s.texts |= {_norm(v) for v in lived.line1 if len(_norm(v)) >= 8}
        s.identifiers |= {_norm(v) for v in lived.postcode}
        notes = self.notes[self.notes.about.isin(list(people | homes))]
        s.texts |= {_norm(v) for v in notes.text if len(_norm(v)) >= 12}
        cases = self.cases[self.cases.person_id.isin(list(people))]
        s.identifiers |= {_norm(v) for v in cases.case_id}
        rows = t.table(self.root, "source_rows")
        keys = rows[rows.person_id.isin(list(people))].source_key
        s.identifiers |= {
            _norm(part) for key in keys for part in str(key).split("|") if len(_norm(part)) >= 10
        }
        return s

    def worker_secrets(self) -> Secrets:
        s = Secrets()
        for _, w in self.pros.iterrows():
            s.full_names.add(_norm(w["name"]))
            s.identifiers |= {_norm(w.email), _norm(w.phone), _norm(w.professional_id)}
        return s


def values(value: object) -> Iterator[object]:
    """Every leaf of a result value: strings, numbers, dates, in lists and maps."""
    if isinstance(value, dict):
        for item in value.values():
            yield from values(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from values(item)
    else:
        yield value


def leaks(rows: Iterable[dict], secrets: Secrets) -> list[str]:
    """What in these rows is one of the secrets (empty: nothing leaked)."""
    found: list[str] = []
    # a short identifier (an LA id of six digits) is looked for as a whole word only: a
    # pseudonym's hex digits hold many six-digit runs by chance; a long one anywhere
    long_ids = {i for i in secrets.identifiers if len(i) >= 10}
    short_ids = secrets.identifiers - long_ids
    searches = [("identifier", _Search(long_ids)), ("text", _Search(secrets.texts))]
    for row in rows:
        for value in values(row):
            if isinstance(value, dt.datetime):
                value = value.date()
            if isinstance(value, dt.date):
                if value in secrets.dobs:
                    found.append(f"date of birth {value}")
                continue
            if not isinstance(value, str):
                continue
            text = _norm(value)
            if text in secrets.name_words:
                found.append(f"name {value!r}")
            words = {_norm(w) for w in re.split(r"[^0-9A-Za-z]+", value)}
            found += [f"identifier {w!r} in {value!r}" for w in words & short_ids]
            # a full name as whole words, spaced or run together ('Karen Harris' is not
            # in 'Karen Harrison')
            tokens = [_norm(w) for w in WORD.findall(value)]
            found += [
                f"name in {value!r}"
                for n in range(1, 4)
                for i in range(len(tokens) - n + 1)
                if "".join(tokens[i : i + n]) in secrets.full_names
            ]
            found += [f"date of birth in {value!r}" for d in _iso_dates(value) if d in secrets.dobs]
            found += [f"{what} in {value!r}" for what, search in searches if search.within(text)]
    return found


class _Search:
    """Whether a text holds any of many strings: each substring of each wanted length
    looked up in a set."""

    def __init__(self, wanted: set[str]) -> None:
        self.wanted = {w for w in wanted if w}
        self.lengths = sorted({len(w) for w in self.wanted})

    def within(self, text: str) -> bool:
        return any(
            text[i : i + k] in self.wanted
            for k in self.lengths
            if k <= len(text)
            for i in range(len(text) - k + 1)
        )


def _iso_dates(text: str) -> Iterator[dt.date]:
    for y, m, d in re.findall(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
        try:
            yield dt.date(int(y), int(m), int(d))
        except ValueError:
            continue
    for d, m, y in re.findall(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):
        try:
            yield dt.date(int(y), int(m), int(d))
        except ValueError:
            continue
