"""Schools and what happens at them: rolls, attendance, exclusions, meals, transport,
and next September's offers."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict

from synthetic import calendar as cal
from synthetic import rates
from synthetic.geography import STREET_STEMS
from synthetic.model import (
    AttendanceTerm,
    County,
    Enrolment,
    Exclusion,
    Offer,
    Person,
    School,
    Transport,
)
from synthetic.sampling import haversine_km, risk_weight, weighted_sample

SCHOOL_PHASES = {
    # phase: (children per school, low age, high age, establishment kinds)
    "Primary": (
        260,
        4,
        11,
        ("Community school", "Academy converter", "Voluntary aided school", "Academy sponsor led"),
    ),
    "Secondary": (
        950,
        11,
        18,
        ("Academy converter", "Academy sponsor led", "Community school", "Foundation school"),
    ),
    "Special": (9_000, 3, 19, ("Community special school", "Academy special converter")),
    "Alternative provision": (45_000, 11, 16, ("Pupil referral unit",)),
    "16 plus": (30_000, 16, 19, ("Further education",)),
    "Children's centre": (650, 0, 5, ("Children's centre",)),
}
SPECIAL_SCHOOL_NEEDS = {
    "SLD": 0.9,
    "PMLD": 1.0,
    "MSI": 0.7,
    "ASD": 0.45,
    "SEMH": 0.35,
    "HI": 0.25,
    "VI": 0.2,
    "PD": 0.3,
    "SLCN": 0.15,
    "MLD": 0.3,
}
ABSENCE_REASONS = ("PA", "VP", "VA", "DB", "BU", "DA", "TH", "DR")


class Education:
    def __init__(self, county: County, rng: random.Random, risk: dict[str, float]) -> None:
        self.county = county
        self.rng = rng
        self.risk = risk
        self.as_of = county.as_of
        self.now_year = cal.academic_year(county.as_of)
        self._nearest: dict[tuple[str, str], list[str]] = {}
        self.special_from: dict[str, dt.date] = {}  # child -> date placed in special school
        self.by_child: dict[str, list[Enrolment]] = defaultdict(list)
        self.absence_propensity: dict[str, float] = {}

    # -- schools -----------------------------------------------------------------

    def build_schools(self) -> None:
        rng = self.rng
        per_lsoa: Counter[str] = Counter()
        ages: Counter[str] = Counter()
        for child in self.county.children():
            uprn = child.address_on(self.as_of)
            if uprn and self.county.by_uprn[uprn].in_county:
                per_lsoa[self.county.by_uprn[uprn].lsoa] += 1
            age = child.age_on(self.as_of)
            ages["Children's centre" if age < 5 else "Primary" if age < 11 else "Secondary"] += 1
        lsoas = [x for x in self.county.lsoas if per_lsoa[x.code] > 0] or self.county.lsoas
        weights = [per_lsoa[x.code] + 0.5 for x in lsoas]
        total = sum(ages.values())
        urns: set[str] = set()
        estab = 2000
        for phase, (per_school, low, high, kinds) in SCHOOL_PHASES.items():
            base = ages.get(phase, total)
            count = max(1 if phase not in ("Primary", "Secondary") else 3, round(base / per_school))
            for _ in range(count):
                lsoa = rng.choices(lsoas, weights=weights)[0]
                while True:
                    urn = str(rng.randint(100_000, 149_999))
                    if urn not in urns:
                        urns.add(urn)
                        break
                estab += rng.randint(1, 7)
                name = self._school_name(phase, lsoa.town)
                school = School(
                    urn=urn,
                    name=name,
                    phase=phase,
                    kind=rng.choice(kinds),
                    postcode=f"{lsoa.district} {rng.randint(1, 9)}"
                    f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
                    f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
                    lat=round(lsoa.lat + rng.gauss(0, 0.003), 6),
                    lon=round(lsoa.lon + rng.gauss(0, 0.004), 6),
                    low_age=low,
                    high_age=high,
                    la_estab=f"{self.county.la_code}{estab:04d}",
                )
                self.county.add_school(school)

    def _school_name(self, phase: str, town: str) -> str:
        rng = self.rng
        stem = rng.choice(STREET_STEMS)
        if phase == "Primary":
            saint = rng.choice(("Mary", "John", "Peter", "Andrew", "Michael", "Anne"))
            lady = rng.choice(("Grace", "Peace", "Lourdes"))
            return rng.choice(
                (
                    f"{stem}field Primary School",
                    f"St {saint}'s CofE Primary School",
                    f"{town} {stem} Primary Academy",
                    f"{stem} Lane Infant and Junior School",
                    f"{stem}wood Primary School",
                    f"Our Lady of {lady} Catholic Primary School",
                )
            )
        if phase == "Secondary":
            kind = rng.choice(("Academy", "High School", "School", "Community College"))
            return rng.choice(
                (
                    f"{town} {kind}",
                    f"{stem} Park Academy",
                    f"The {stem}s School",
                    f"{stem}hill High School",
                    f"St {rng.choice(('Benedict', 'Thomas More', 'Helena'))}'s Catholic School",
                )
            )
        if phase == "Special":
            return rng.choice(
                (
                    f"{stem}dene School",
                    f"{stem} Lodge Special School",
                    f"{town} {stem} Academy (Special)",
                )
            )
        if phase == "Alternative provision":
            return f"{town} Learning Centre"
        if phase == "16 plus":
            return f"{town} College"
        return f"{town} {stem} Family Hub"

    def nearest(self, lsoa_code: str, phase: str, k: int = 3) -> list[str]:
        key = (lsoa_code, phase)
        found = self._nearest.get(key)
        if found is None:
            lsoa = self.county.by_lsoa[lsoa_code]
            ranked = sorted(
                (haversine_km(lsoa.lat, lsoa.lon, s.lat, s.lon), s.urn)
                for s in self.county.schools
                if s.phase == phase
            )
            found = [urn for _, urn in ranked[:k]]
            self._nearest[key] = found
        return found

    def _choose(self, uprn: str | None, phase: str) -> str | None:
        if uprn is None:
            return None
        address = self.county.by_uprn[uprn]
        if not address.in_county:
            return None
        options = self.nearest(address.lsoa, phase)
        if not options:
            return None
        weights = (0.72, 0.2, 0.08)[: len(options)]
        return self.rng.choices(options, weights=weights)[0]

    # -- rolls -----------------------------------------------------------------

    def enrol_everyone(self) -> None:
        """School histories for everyone of school age in the last two years."""
        for person in self.county.people:
            if person.dob > self.as_of or person.age_on(self.as_of) > 19:
                continue
            self._enrol(person)

    def _phase_for(self, person: Person, yg: int, day: dt.date) -> str:
        special = self.special_from.get(person.pid)
        if special is not None and special <= day and yg <= 13:
            return "Special"
        if yg <= 6:
            return "Primary"
        if yg <= 11:
            return "Secondary"
        return "Secondary" if self.rng.random() < 0.55 else "16 plus"

    def _enrol(self, person: Person) -> None:
        rng = self.rng
        cohort = cal.cohort(person.dob)
        if rng.random() < 0.006:  # electively home educated or missing education
            return
        stays_on = rng.random() < 0.8
        nursery = rng.random() < 0.35
        first = cohort + 5 - (1 if nursery else 0)
        current: Enrolment | None = None
        current_phase = ""
        for start_year in range(max(first, self.now_year - 2), self.now_year + 1):
            yg = start_year - cohort - 5
            if yg > 13 or (yg > 11 and not stays_on):
                break
            sept = dt.date(start_year, 9, 3)
            if sept > self.as_of:
                break
            phase = self._phase_for(person, yg, sept)
            home = person.address_on(sept)
            if current is not None and phase == current_phase and yg not in (7, 12):
                school = self.county.by_urn[current.urn]
                address = self.county.by_uprn[home] if home else None
                if (
                    address is None
                    or not address.in_county
                    or haversine_km(address.lat, address.lon, school.lat, school.lon) < 9
                ):
                    self._mid_year_moves(person, current, start_year)
                    current = self._current(person)
                    continue
            if current is not None and current.end is None:
                current.end = dt.date(start_year, 7, 22) if yg in (7, 12) else sept
            urn = self._choose(home, phase)
            if urn is None:
                current = None
                continue
            start = sept
            if current is None:
                # Already on this roll before our two-year window: since phase entry.
                entry = {"Primary": cohort + 5, "Secondary": cohort + 12}.get(phase)
                if entry is not None and entry < start_year:
                    start = dt.date(entry, 9, 3)
                    moved_in = [r.start for r in person.residences if r.start <= sept]
                    if moved_in:
                        start = max(start, max(moved_in))
            current = Enrolment(start=start, end=None, child=person.pid, urn=urn)
            current_phase = phase
            self._add(current)
            self._mid_year_moves(person, current, start_year)
            current = self._current(person)
        # Leavers: a roll ends in July after Year 11 or 13.
        last = self._current(person)
        if last is not None and last.end is None:
            final = cohort + 5 + (13 if stays_on else 11)
            leave = dt.date(final + 1, 7, 22)
            if leave <= self.as_of:
                last.end = leave

    def _current(self, person: Person) -> Enrolment | None:
        rolls = self.by_child.get(person.pid)
        return rolls[-1] if rolls else None

    def _add(self, enrolment: Enrolment) -> None:
        self.county.enrolments.append(enrolment)
        self.by_child[enrolment.child].append(enrolment)

    def _mid_year_moves(self, person: Person, enrolment: Enrolment, start_year: int) -> None:
        """A move far from school during the year means a new school mid-year."""
        year_end = dt.date(start_year + 1, 7, 22)
        for residence in person.residences:
            if not (enrolment.start < residence.start < min(year_end, self.as_of)):
                continue
            address = self.county.by_uprn[residence.uprn]
            school = self.county.by_urn[enrolment.urn]
            if not address.in_county:
                continue
            if haversine_km(address.lat, address.lon, school.lat, school.lon) < 9:
                continue
            switch = residence.start + dt.timedelta(days=self.rng.randint(5, 25))
            if switch >= self.as_of:
                return
            urn = self._choose(residence.uprn, school.phase)
            if urn is None or urn == enrolment.urn:
                continue
            enrolment.end = switch
            enrolment = Enrolment(start=switch, end=None, child=person.pid, urn=urn)
            self._add(enrolment)

    def enrolment_on(self, pid: str, day: dt.date) -> Enrolment | None:
        for enrolment in self.by_child.get(pid, ()):
            if enrolment.covers(day):
                return enrolment
        return None

    def pupils(self, low: int = 0, high: int = 11) -> list[Person]:
        """Children on a school roll on the reference date in year groups low..high."""
        out = []
        for person in self.county.people:
            if person.pid not in self.by_child:
                continue
            yg = cal.year_group(person.dob, self.now_year)
            if low <= yg <= high and self.enrolment_on(person.pid, self.as_of):
                out.append(person)
        return out

    # -- attendance and exclusions ----------------------------------------------

    def attendance(self, extra_risk: dict[str, float]) -> None:
        """Six terms of sessions per pupil; ~19% persistently absent this year."""
        rng = self.rng
        terms = cal.terms_until(self.as_of, 6)
        pupils = self.pupils(0, 11)
        # Rank pupils by propensity: the top share are persistently absent.
        keyed = sorted(
            pupils,
            key=lambda p: -(self.risk.get(p.pid, 0) + extra_risk.get(p.pid, 0) + rng.gauss(0, 1.1)),
        )
        # Pupils whose attendance is sliding (below) bring the share up to the target.
        n_pa = round((rates.PERSISTENT_ABSENCE.value - 0.025) * len(keyed))
        for rank, pupil in enumerate(keyed):
            if rank < n_pa:
                rate = min(0.9, 0.12 + rng.expovariate(1 / 0.07))
            else:
                rate = max(0.0, min(0.075, rng.gauss(0.038, 0.02)))
            self.absence_propensity[pupil.pid] = rate
        # Some pupils' attendance is sliding: fine a year ago, persistently absent now.
        below = keyed[n_pa:]
        falling = {
            p.pid for p in weighted_sample(below, [1.0] * len(below), round(0.03 * len(keyed)), rng)
        }
        for pupil in keyed:
            base = self.absence_propensity[pupil.pid]
            for index, (label, start, end, possible) in enumerate(terms):
                enrolment = self.enrolment_on(pupil.pid, start + dt.timedelta(days=10))
                if enrolment is None:
                    enrolment = self.enrolment_on(pupil.pid, end - dt.timedelta(days=1))
                if enrolment is None:
                    continue
                school = self.county.by_urn[enrolment.urn]
                if school.phase in ("Children's centre", "16 plus"):
                    continue
                rate = base
                if pupil.pid in falling:
                    # Absence grows term by term, reaching 10-25% in the latest term.
                    rate = base + (index / max(1, len(terms) - 1)) * rng.uniform(0.07, 0.2)
                rate = min(0.95, max(0.0, rate + rng.gauss(0, 0.01)))
                absent = round(possible * rate)
                unauthorised = round(absent * min(1.0, max(0.0, rng.gauss(0.35, 0.15))))
                self.county.attendance.append(
                    AttendanceTerm(
                        child=pupil.pid,
                        urn=enrolment.urn,
                        term=label,
                        start=start,
                        possible=possible,
                        authorised=absent - unauthorised,
                        unauthorised=unauthorised,
                    )
                )

    def exclusions(self) -> list[Person]:
        """Suspensions in the last 12 months (3% of pupils) and permanent exclusions."""
        rng = self.rng
        pupils = self.pupils(0, 11)
        now = self.now_year
        weights = [
            risk_weight(self.risk.get(p.pid, 0), 1.1)
            * (3.0 if cal.year_group(p.dob, now) >= 7 else 0.6)
            * (1.6 if p.sex == "M" else 1.0)
            for p in pupils
        ]
        suspended = weighted_sample(
            pupils, weights, round(rates.SUSPENDED_PUPILS.value * len(pupils)), rng
        )
        window_start = self.as_of - dt.timedelta(days=365)
        for pupil in suspended:
            for _ in range(rng.choices((1, 2, 3, 4), weights=(0.55, 0.25, 0.12, 0.08))[0]):
                day = window_start + dt.timedelta(days=rng.randint(0, 364))
                if day.weekday() >= 5 or day.month == 8:
                    day -= dt.timedelta(days=3)
                enrolment = self.enrolment_on(pupil.pid, day)
                if enrolment is None:
                    continue
                self.county.exclusions.append(
                    Exclusion(
                        child=pupil.pid,
                        urn=enrolment.urn,
                        date=day,
                        kind="SUSP",
                        sessions=rng.choice((1, 2, 2, 4, 6, 10)),
                        reason=rng.choice(ABSENCE_REASONS),
                    )
                )
        permanent = weighted_sample(
            suspended,
            [1.0] * len(suspended),
            max(1, round(rates.PERMANENT_EXCLUSION.value * len(pupils))),
            rng,
        )
        ap = [s for s in self.county.schools if s.phase == "Alternative provision"]
        for pupil in permanent:
            day = self.as_of - dt.timedelta(days=rng.randint(20, 300))
            enrolment = self.enrolment_on(pupil.pid, day)
            if enrolment is None:
                continue
            self.county.exclusions.append(
                Exclusion(
                    child=pupil.pid,
                    urn=enrolment.urn,
                    date=day,
                    kind="PERM",
                    sessions=0,
                    reason=rng.choice(ABSENCE_REASONS[:4]),
                )
            )
            # The roll ends; the child goes to alternative provision.
            after = [e for e in self.by_child[pupil.pid] if e.start > day]
            for e in after:
                self.county.enrolments.remove(e)
                self.by_child[pupil.pid].remove(e)
            enrolment.end = day + dt.timedelta(days=1)
            if ap:
                self._add(
                    Enrolment(
                        start=day + dt.timedelta(days=6),
                        end=None,
                        child=pupil.pid,
                        urn=rng.choice(ap).urn,
                    )
                )
        return suspended

    # -- characteristics ----------------------------------------------------------

    def free_school_meals(self) -> None:
        pupils = self.pupils(0, 13)
        weights = []
        for p in pupils:
            uprn = p.address_on(self.as_of)
            decile = self.county.imd_of(uprn) if uprn else None
            weights.append(
                risk_weight(self.risk.get(p.pid, 0), 0.6)
                * (4.0 if decile and decile <= 2 else 2.2 if decile and decile <= 4 else 1.0)
            )
        for p in weighted_sample(
            pupils, weights, round(rates.FREE_SCHOOL_MEALS.value * len(pupils)), self.rng
        ):
            p.fsm = True

    def young_carers(self, lone_parent: set[str]) -> None:
        kids = [p for p in self.county.children() if p.age_on(self.as_of) >= 5]
        weights = [
            (3.0 if p.pid in lone_parent else 1.0) * risk_weight(self.risk.get(p.pid, 0), 0.4)
            for p in kids
        ]
        for p in weighted_sample(
            kids, weights, round(rates.YOUNG_CARER.value * len(kids)), self.rng
        ):
            p.young_carer = True

    def transport(self, ehcp_children: dict[str, dt.date]) -> None:
        """SEND transport for a share of EHC plans; distance transport by the rules,
        for the farthest pupils, up to the documented share (a small county's few
        schools would otherwise make nearly everyone eligible)."""
        rng = self.rng
        for pid in sorted(ehcp_children):
            enrolment = self.enrolment_on(pid, self.as_of)
            if enrolment is None or rng.random() >= rates.SEND_TRANSPORT_SHARE_OF_EHCP.value:
                continue
            start = max(enrolment.start, ehcp_children[pid])
            self.county.transport.append(
                Transport(start=start, end=None, child=pid, urn=enrolment.urn, reason="SEN")
            )
        taken = {t.child for t in self.county.transport}
        candidates: list[tuple[float, Person, Enrolment]] = []
        for pupil in self.pupils(0, 11):
            if pupil.pid in taken:
                continue
            enrolment = self.enrolment_on(pupil.pid, self.as_of)
            uprn = pupil.address_on(self.as_of)
            if enrolment is None or uprn is None:
                continue
            home = self.county.by_uprn[uprn]
            school = self.county.by_urn[enrolment.urn]
            if not home.in_county or school.phase not in ("Primary", "Secondary"):
                continue
            miles = haversine_km(home.lat, home.lon, school.lat, school.lon) / 1.609
            limit = 2.0 if pupil.age_on(self.as_of) < 8 else 3.0
            # Road distance is ~1.3x straight line; only nearest-school pupils qualify.
            nearest = self.nearest(home.lsoa, school.phase, 1)
            if miles * 1.3 > limit and enrolment.urn in nearest:
                candidates.append((miles - limit, pupil, enrolment))
        cap = round(rates.DISTANCE_TRANSPORT.value * len(self.pupils(0, 11)))
        for _, pupil, enrolment in sorted(candidates, key=lambda c: (-c[0], c[1].pid))[:cap]:
            self.county.transport.append(
                Transport(
                    start=max(enrolment.start, self.as_of - dt.timedelta(days=700)),
                    end=None,
                    child=pupil.pid,
                    urn=enrolment.urn,
                    reason="Distance",
                )
            )

    def offers(self) -> None:
        """Places offered for next September: Reception, Year 7 and post-16."""
        september = cal.next_september(self.as_of)
        entry_year = september.year
        for person in self.county.children():
            yg_next = cal.year_group(person.dob, entry_year)
            entry = {0: "Reception", 7: "Year 7", 12: "Year 12"}.get(yg_next)
            if entry is None:
                continue
            uprn = person.address_on(self.as_of)
            if uprn is None or not self.county.by_uprn[uprn].in_county:
                continue
            special = self.special_from.get(person.pid)
            if special is not None:
                phase = "Special"
            else:
                phase = {"Reception": "Primary", "Year 7": "Secondary"}.get(entry) or (
                    "Secondary" if self.rng.random() < 0.55 else "16 plus"
                )
            current = self.enrolment_on(person.pid, self.as_of)
            if entry == "Year 12" and self.rng.random() < 0.1:
                continue  # no post-16 destination recorded (a NEET risk)
            if phase == "Secondary" and current and entry == "Year 12":
                urn = current.urn
            else:
                urn = self._choose(uprn, phase)
            if urn is None:
                continue
            self.county.offers.append(
                Offer(
                    child=person.pid,
                    entry_year=entry,
                    start=september,
                    urn=urn,
                    current_urn=current.urn if current else None,
                )
            )
