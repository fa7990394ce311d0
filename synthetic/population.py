"""Families over time: partnerships, births, separations, new partners, moves.

Each family starts with a mother and a partnership; children arrive over the years;
some partnerships end and new partners arrive (step-parents), some with children of
their own together (half-siblings through the mother); some fathers start a second
family elsewhere (half-siblings through the father, in another household). A
household moves home every few years, mostly to a similar area, sometimes not.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from loaders.progress import Progress
from synthetic import rates
from synthetic.geography import Geography
from synthetic.identifiers import nhs_number as make_nhs_number
from synthetic.model import (
    County,
    Membership,
    ParentLink,
    Partnership,
    Person,
    Residence,
)
from synthetic.names import NameMaker

YEAR = 365.25


def days(years: float) -> dt.timedelta:
    return dt.timedelta(days=round(years * YEAR))


@dataclass
class Household:
    hid: str
    decile_hint: int
    moves: list[tuple[dt.date, str]] = field(default_factory=list)  # (from, uprn)

    def timeline(self, until: dt.date) -> list[tuple[dt.date, dt.date | None, str]]:
        spans = []
        for i, (start, uprn) in enumerate(self.moves):
            end = self.moves[i + 1][0] if i + 1 < len(self.moves) else None
            if start < until:
                spans.append((start, end if end and end <= until else None, uprn))
        return spans


class PopulationBuilder:
    def __init__(
        self, county: County, geo: Geography, names: NameMaker, rng: random.Random
    ) -> None:
        self.county = county
        self.geo = geo
        self.names = names
        self.rng = rng
        self.as_of = county.as_of
        self._people = 0
        self._households = 0
        self._nhs_used: set[str] = set()
        self.households: dict[str, Household] = {}
        self.under_18 = 0
        self._open_stay: dict[str, Membership] = {}

    # -- people ----------------------------------------------------------------

    def _nhs(self) -> str:
        while True:
            body = f"{self.rng.randint(400_000_000, 799_999_999)}"
            number = make_nhs_number(body)
            if number and number not in self._nhs_used:
                self._nhs_used.add(number)
                return number

    def person(
        self,
        *,
        sex: str,
        dob: dt.date,
        family: str,
        ethnicity: str,
        locale: str,
        language: str | None = None,
    ) -> Person:
        self._people += 1
        person = Person(
            pid=f"P{self._people:07d}",
            given=self.names.given(locale, sex),
            middle=self.names.middle(locale, sex),
            family=family,
            sex=sex,
            dob=dob,
            ethnicity=ethnicity,
            language=language or self.names.language_for(ethnicity),
            locale=locale,
            nhs=self._nhs(),
        )
        if dob <= self.as_of and person.age_on(self.as_of) < 18:
            self.under_18 += 1
        return self.county.add_person(person)

    def _adult(
        self, sex: str, born_around: dt.date, ethnicity: str, locale: str, family: str | None = None
    ) -> Person:
        dob = born_around + days(self.rng.gauss(0, 2.5))
        surname = family or self.names.surname(locale, sex)
        return self.person(sex=sex, dob=dob, family=surname, ethnicity=ethnicity, locale=locale)

    # -- households and homes ------------------------------------------------------

    def _household(
        self, start: dt.date, decile_hint: int | None = None, uprn: str | None = None
    ) -> Household:
        self._households += 1
        if uprn is None:
            lsoa = self.geo.random_lsoa(decile_hint)
            uprn = self.geo.new_home(lsoa).uprn
        household = Household(f"F{self._households:06d}", self.county.imd_of(uprn) or 5)
        household.moves.append((start, uprn))
        self.households[household.hid] = household
        return household

    def _simulate_moves(
        self,
        household: Household,
        start: dt.date,
        end: dt.date,
        forced: list[dt.date] | None = None,
    ) -> None:
        """Year-by-year chance of moving home, plus moves forced by events (a split)."""
        pending = sorted(forced or [])
        day = start + days(self.rng.uniform(0.2, 1.0))
        while day < end or pending:
            if pending and (pending[0] <= day or day >= end):
                when = pending.pop(0)
                if household.moves[-1][0] < when < end:
                    self._move(household, when)
                continue
            decile = self.county.imd_of(household.moves[-1][1]) or 5
            rate = rates.MOVE_PER_YEAR.value * (1.45 if decile <= 3 else 1.0)
            if self.rng.random() < rate:
                self._move(household, day)
            day += days(self.rng.uniform(0.8, 1.2))

    def _move(self, household: Household, day: dt.date) -> None:
        current = household.moves[-1][1]
        decile = self.county.imd_of(current) or 5
        home = self.geo.new_home(self.geo.random_lsoa(decile))
        if home.uprn == current:
            return
        self.geo.vacate(current)
        household.moves.append((day, home.uprn))

    def _live_in(
        self, person: Person, household: Household, start: dt.date, end: dt.date | None, role: str
    ) -> None:
        """Membership of a household, and its homes for the time spent in it."""
        membership = Membership(
            start=start, end=end, person=person.pid, family=household.hid, role=role
        )
        self.county.memberships.append(membership)
        if end is None:
            self._open_stay[person.pid] = membership
        person.household = household.hid
        horizon = end or self.as_of + dt.timedelta(days=1)
        for h_start, h_end, uprn in household.timeline(horizon):
            seg_start = max(start, h_start)
            seg_end = h_end if end is None else (min(end, h_end) if h_end else end)
            if seg_end is not None and seg_end <= seg_start:
                continue
            if seg_start > self.as_of:
                continue
            person.residences.append(Residence(start=seg_start, end=seg_end, uprn=uprn))

    def _end_stay(self, person: Person, day: dt.date) -> None:
        """Close a person's open household membership and home at ``day``."""
        open_stay = self._open_stay.pop(person.pid, None)
        if open_stay is not None and open_stay.start < day:
            open_stay.end = day
        person.residences = [r for r in person.residences if r.start < day]
        for r in person.residences:
            if r.end is None or r.end > day:
                r.end = day

    def _own_home(self, person: Person, start: dt.date, decile_hint: int) -> None:
        """Someone leaves a household for a home of their own (a household of one)."""
        own = self._household(start, decile_hint)
        self._simulate_moves(own, start, self.as_of)
        self._live_in(person, own, start, None, "adult")

    # -- families --------------------------------------------------------------------

    def build(self, n_children: int, progress: Progress) -> None:
        """Families until the county has ``n_children`` under-18s."""
        while self.under_18 < n_children:
            before = min(self.under_18, n_children)
            self.family()
            progress.advance(min(self.under_18, n_children) - before)

    def family(self, father: Person | None = None, start: dt.date | None = None) -> None:
        """One mother's household: partnerships, children, splits, new partners, moves."""
        rng = self.rng
        ethnicity = rng.choices(
            list(rates.ETHNICITY_MIX), weights=list(rates.ETHNICITY_MIX.values())
        )[0]
        if father is not None and rng.random() < 0.8:
            ethnicity = father.ethnicity
        locale = self.names.locale_for(ethnicity)
        if start is None:
            # First child's birth anywhere in the last 24 years (so some are now adults).
            first_birth = self.as_of - days(rng.uniform(-0.5, 24))
        else:
            first_birth = start + days(rng.uniform(0.8, 3))
        if first_birth > self.as_of + days(0.75):
            return
        mother_age = min(44.0, max(16.5, rng.gauss(29, 5.5)))
        mother = self._adult("F", first_birth - days(mother_age), ethnicity, locale)
        if father is None:
            father = self._adult("M", mother.dob - days(rng.gauss(2.5, 2)), ethnicity, locale)
        together = first_birth - days(rng.uniform(0.5, 4))
        if start is not None:
            together = max(together, start + days(0.1))
            self._end_stay(father, together)
        married = rng.random() < 0.55
        if married:
            mother.family_names.append((together + days(rng.uniform(0, 2)), father.family))
        household = self._household(together)
        children: list[Person] = []
        stints: list[tuple[Person, dt.date, dt.date | None]] = []
        forced_moves: list[dt.date] = []
        second_families: list[tuple[Person, dt.date]] = []
        step_links: list[ParentLink] = []

        last_birth = self._births(mother, father, first_birth, children, locale, ethnicity, married)
        partner: Person | None = father
        partner_start = together
        separations = 0
        while partner is not None:
            if rng.random() >= (0.38 if separations == 0 else 0.3):
                break
            split = max(last_birth, partner_start) + days(rng.uniform(0.3, 6))
            if split >= self.as_of:
                break
            stints.append((partner, partner_start, split))
            separations += 1
            if rng.random() < 0.25:
                forced_moves.append(split + days(rng.uniform(0.05, 0.5)))
            if partner.sex == "M" and rng.random() < 0.3:
                second_families.append((partner, split))
            new_start = split + days(rng.uniform(0.4, 3))
            if rng.random() > 0.6 or separations > 2 or new_start >= self.as_of:
                partner = None
                break
            partner_eth = (
                ethnicity if rng.random() < 0.85 else rng.choice(list(rates.ETHNICITY_MIX))
            )
            new_partner = self._adult(
                "M",
                mother.dob - days(rng.gauss(2, 3)),
                partner_eth,
                self.names.locale_for(partner_eth),
            )
            for child in children:
                if child.age_on(new_start) < 18:
                    link = ParentLink(
                        start=new_start,
                        end=None,
                        parent=new_partner.pid,
                        child=child.pid,
                        kind="step",
                    )
                    self.county.parents.append(link)
                    step_links.append(link)
                    if rng.random() < rates.MESS["surname_change"] * 0.4:
                        child.family_names.append(
                            (new_start + days(rng.uniform(0.5, 3)), new_partner.family)
                        )
            partner, partner_start = new_partner, new_start
            if rng.random() < 0.55:
                remarried = rng.random() < 0.4
                if remarried:
                    mother.family_names.append(
                        (new_start + days(rng.uniform(0.5, 3)), new_partner.family)
                    )
                last_birth = self._births(
                    mother,
                    new_partner,
                    new_start + days(rng.uniform(0.8, 3)),
                    children,
                    locale,
                    ethnicity,
                    remarried,
                )
            else:
                last_birth = new_start
        if partner is not None:
            stints.append((partner, partner_start, None))

        for who, begin, end in stints:
            self.county.partnerships.append(
                Partnership(start=begin, end=end, a=mother.pid, b=who.pid)
            )
            if end is not None:
                for link in step_links:
                    if link.parent == who.pid:
                        link.end = end
        self._simulate_moves(household, together, self.as_of, forced_moves)
        self._live_in(mother, household, together, None, "mother")
        for index, (who, begin, end) in enumerate(stints):
            self._live_in(who, household, begin, end, "father" if index == 0 else "partner")
            if end is not None:
                self._own_home(who, end, household.decile_hint)
        for child in children:
            leaves = None
            if child.age_on(self.as_of) >= 19 and rng.random() < 0.7:
                leaves = child.dob + days(rng.uniform(18.2, 21))
                if leaves > self.as_of:
                    leaves = None
            self._live_in(child, household, child.dob, leaves, "child")
            if leaves is not None:
                self._own_home(child, leaves, household.decile_hint)
        for ex, split in second_families:
            self.family(father=ex, start=split)

    def _births(
        self,
        mother: Person,
        father: Person,
        first: dt.date,
        children: list[Person],
        locale: str,
        ethnicity: str,
        married: bool,
    ) -> dt.date:
        """The children of one partnership; returns the last birth date."""
        rng = self.rng
        count = rng.choices((1, 2, 3, 4), weights=(0.36, 0.4, 0.17, 0.07))[0]
        birth = first
        last = first
        for _ in range(count):
            if birth > self.as_of or mother.age_on(birth) > 45:
                break
            sex = "F" if rng.random() < 0.488 else "M"
            surname = father.family if (married or rng.random() < 0.6) else mother.family
            if (
                not married
                and surname != mother.family
                and rng.random() < rates.MESS["hyphenated_surname"] * 0.3
            ):
                surname = f"{mother.family}-{father.family}"
            child_eth = ethnicity
            if father.ethnicity != mother.ethnicity:
                child_eth = {
                    "WBRI": "MOTH",
                    "BCRB": "MWBC",
                    "BAFR": "MWBA",
                    "AIND": "MWAS",
                    "APKN": "MWAS",
                }.get(father.ethnicity, "MOTH")
            child = self.person(
                sex=sex, dob=birth, family=surname, ethnicity=child_eth, locale=locale
            )
            for parent in (mother, father):
                self.county.parents.append(
                    ParentLink(
                        start=birth, end=None, parent=parent.pid, child=child.pid, kind="birth"
                    )
                )
            children.append(child)
            last = birth
            birth = birth + days(rng.uniform(1.2, 4.5))
        return last
