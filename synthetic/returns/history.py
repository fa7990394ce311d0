"""What the statutory returns record, as it truly happened: the detail behind each case.

The county's cases say who is in need, on a plan or looked after, and since when. The
returns say more: the referral and its source, the assessment and the factors found,
the section 47 enquiry and the conference, each placement of a period of care, each
time a child went missing, each review, and how care leavers are doing. This module
works that detail out from the county's own cases (its own random stream, so the
county's extracts are unchanged), and it is the ground truth the returns' files are
written from and the tests compare the graph with.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field

from synthetic.model import Case, County, Person

DAY = dt.timedelta(days=1)
REFERRAL_SOURCES = {
    "1A": 0.08,
    "2A": 0.18,
    "3A": 0.05,
    "3B": 0.06,
    "5A": 0.06,
    "6": 0.3,
    "8": 0.07,
    "9": 0.03,
    "1C": 0.03,
    "4": 0.04,
    "7": 0.05,
    "10": 0.05,
}
CATEGORY_CODES = {
    "Neglect": "NEG",
    "Emotional abuse": "EMO",
    "Physical abuse": "PHY",
    "Sexual abuse": "SAB",
    "Multiple": "MUL",
}
FACTORS_BY_CATEGORY = {"NEG": "16A", "EMO": "17A", "PHY": "18A", "SAB": "19A", "MUL": "16A"}
OTHER_FACTORS = ("1B", "2B", "3A", "3B", "4A", "4B", "5B", "6B", "10A", "11A", "14A", "15A")
PLACEMENT_CODES = {
    "Foster placement": ("U6", "U4"),
    "Residential children's home": ("K2",),
    "Placed with parents": ("P1",),
    "Kinship care": ("U3", "U1"),
}
MOVE_PLACEMENTS = ("U6", "U6", "U4", "K2", "U3", "H5")
CHANGE_REASONS = ("CARPL", "CLOSE", "ALLEG", "STAND", "APPRR", "CHILD", "LAREQ", "PLACE")
DISABILITY_OF_NEED = {
    "HI": "HEAR",
    "VI": "VIS",
    "MSI": "VIS",
    "ASD": "AUT",
    "PD": "MOB",
    "SLCN": "COMM",
    "MLD": "LD",
    "SLD": "LD",
    "PMLD": "LD",
    "SEMH": "BEH",
}
IN_TOUCH = {"YES": 0.85, "NO": 0.07, "REFU": 0.03, "NREQ": 0.05}
ACTIVITY = {"F2": 0.3, "P2": 0.1, "F1": 0.05, "G4": 0.25, "G5": 0.1, "G6": 0.2}
ACCOMMODATION = {"S2": 0.2, "T2": 0.15, "B2": 0.15, "H2": 0.1, "U2": 0.2, "K2": 0.1, "Y2": 0.1}


@dataclass
class Assessment:
    start: dt.date
    end: dt.date | None  # authorised; None while in progress
    factors: list[str]


@dataclass
class Section47:
    start: dt.date
    icpc_target: dt.date
    icpc_date: dt.date | None
    not_required: bool


@dataclass
class CPPlan:
    start: dt.date
    end: dt.date | None
    initial: str
    latest: str
    previous: int
    reviews: list[dt.date] = field(default_factory=list)


@dataclass
class Referral:
    """An episode of need: from referral to closure (a CIN census ``CINdetails``)."""

    child: str
    ref: str
    date: dt.date
    source: str
    need: str
    nfa: bool
    closed: dt.date | None
    closure_reason: str | None
    assessments: list[Assessment] = field(default_factory=list)
    s47: list[Section47] = field(default_factory=list)
    cin_plans: list[tuple[dt.date, dt.date | None]] = field(default_factory=list)
    cp_plans: list[CPPlan] = field(default_factory=list)


@dataclass
class Episode:
    """One episode of a period of care: a placement under a legal status."""

    start: dt.date
    end: dt.date | None
    reason_new: str
    legal_status: str
    need: str
    placement: str
    provider: str
    reason_end: str | None
    reason_change: str | None
    home_postcode: str
    placement_postcode: str
    urn: str | None


@dataclass
class Missing:
    kind: str  # M (missing) or A (away)
    start: dt.date
    end: dt.date | None


@dataclass
class PeriodOfCare:
    child: str
    case_id: str
    start: dt.date
    end: dt.date | None
    episodes: list[Episode] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    reviews: list[tuple[dt.date, str]] = field(default_factory=list)  # (date, PN code)
    uasc: bool = False
    uasc_ceased: dt.date | None = None
    previous_permanence: tuple[str, str, dt.date | None] = ("Z1", "", None)
    adoption_decided: dt.date | None = None
    adoption_matched: dt.date | None = None
    adopters: tuple[int, str, str] = (2, "MF", "L0")
    worker: str | None = None


@dataclass
class CareLeaver:
    child: str
    in_touch: str
    activity: str
    accommodation: str


@dataclass
class Outcomes:
    """OC2: a child looked after for a year or more."""

    child: str
    sdq: int | None
    convicted: bool
    health_check: bool
    immunisations: bool
    teeth: bool
    substance_misuse: bool


@dataclass
class Returns:
    """Everything the returns' files are written from, for one reporting year."""

    year_start: dt.date
    as_of: dt.date
    referrals: list[Referral] = field(default_factory=list)
    periods: list[PeriodOfCare] = field(default_factory=list)
    leavers: list[CareLeaver] = field(default_factory=list)
    outcomes: list[Outcomes] = field(default_factory=list)
    disabilities: dict[str, list[str]] = field(default_factory=dict)

    def children_in_need(self) -> list[str]:
        """Children with a referral in the year, in order of first referral."""
        return list(dict.fromkeys(r.child for r in self.referrals))

    def looked_after(self) -> list[str]:
        return list(dict.fromkeys(p.child for p in self.periods))


def _pick(table: dict[str, float], rng: random.Random) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _years(person: Person, day: dt.date) -> int:
    return person.age_on(day)


class History:
    """Works the returns' detail out from the county's cases."""

    def __init__(self, county: County, seed: int) -> None:
        self.county = county
        self.rng = random.Random(seed * 7919 + 17)
        self.as_of = county.as_of
        self.year_start = self.as_of - dt.timedelta(days=365)
        self.returns = Returns(self.year_start, self.as_of)
        self._refs = 0
        self.addresses = [a for a in county.addresses if a.postcode]

    def build(self) -> Returns:
        cases = sorted(
            (c for c in self.county.cases if c.service == "Children's social care"),
            key=lambda c: (c.start, c.case_id),
        )
        for case in cases:
            if case.kind in ("CIN", "CP") and self._in_year(case):
                self.returns.referrals.append(self._referral(case))
            elif case.kind == "CLA" and self._in_year(case):
                self.returns.periods.append(self._period(case))
            elif case.kind == "CL" and case.end is None:
                self.returns.leavers.append(self._leaver(case))
        self._no_further_action()
        self._outcomes()
        self._disabilities()
        return self.returns

    def _in_year(self, case: Case) -> bool:
        return case.start <= self.as_of and (case.end is None or case.end >= self.year_start)

    def _ref(self) -> str:
        self._refs += 1
        return f"R{self._refs:07d}"

    # -- children in need ---------------------------------------------------------

    def _referral(self, case: Case) -> Referral:
        rng = self.rng
        child = self.county.by_person[case.child]
        if case.kind == "CP":
            date = max(child.dob, case.start - rng.randint(14, 60) * DAY)
            need = "N1"
        else:
            date = case.start
            need = case.reason.split(" ")[0] if case.reason.startswith("N") else "N0"
        referral = Referral(
            child=case.child,
            ref=self._ref(),
            date=date,
            source=_pick(REFERRAL_SOURCES, rng),
            need=need,
            nfa=False,
            closed=case.end,
            closure_reason=("RC7" if rng.random() < 0.85 else "RC5") if case.end else None,
        )
        start = date + rng.randint(0, 3) * DAY
        end = start + rng.randint(10, 45) * DAY
        category = CATEGORY_CODES.get(case.reason, "")
        factors = [FACTORS_BY_CATEGORY[category]] if category else []
        factors += rng.sample(OTHER_FACTORS, rng.randint(1, 3))
        referral.assessments.append(
            Assessment(start, end if end <= self.as_of else None, sorted(set(factors)))
        )
        if case.kind == "CP":
            s47 = date + rng.randint(1, 5) * DAY
            referral.s47.append(Section47(s47, s47 + 15 * DAY, case.start, False))
            latest = category if rng.random() < 0.9 else rng.choice(list(FACTORS_BY_CATEGORY))
            plan = CPPlan(case.start, case.end, category, latest, 0 if rng.random() < 0.8 else 1)
            review = case.start + 91 * DAY
            while review <= min(case.end or self.as_of, self.as_of):
                plan.reviews.append(review)
                review += 182 * DAY
            referral.cp_plans.append(plan)
        elif end <= self.as_of and (case.end is None or end < case.end):
            referral.cin_plans.append((end, case.end))
        return referral

    def _no_further_action(self) -> None:
        """Referrals closed with no further action: about one child in a hundred."""
        rng = self.rng
        known = {r.child for r in self.returns.referrals} | {p.child for p in self.returns.periods}
        for child in self.county.children():
            if child.pid in known or rng.random() >= 0.01:
                continue
            date = self.year_start + rng.randint(0, 360) * DAY
            if date <= child.dob:
                continue
            self.returns.referrals.append(
                Referral(
                    child.pid,
                    self._ref(),
                    date,
                    _pick(REFERRAL_SOURCES, rng),
                    "N0",
                    True,
                    date,
                    "RC8",
                )
            )

    # -- looked after ---------------------------------------------------------------

    def _postcode_on(self, person: Person, day: dt.date) -> str:
        uprn = person.address_on(day) or (person.residences[0].uprn if person.residences else None)
        return self.county.by_uprn[uprn].postcode if uprn else ""

    def _period(self, case: Case) -> PeriodOfCare:
        rng = self.rng
        child = self.county.by_person[case.child]
        period = PeriodOfCare(case.child, case.case_id, case.start, case.end, worker=case.worker)
        home = self._postcode_on(child, case.start - DAY)
        codes = PLACEMENT_CODES.get(case.reason, ("U6",))
        place = rng.choice(codes)
        legal = "V2" if rng.random() < 0.3 else "C2"
        need = "N1" if rng.random() < 0.6 else rng.choice(("N2", "N4", "N5", "N8"))
        first_home = self._postcode_on(child, case.start) if place != "P1" else home
        starts = [(case.start, "S", place, legal, first_home, None)]
        last = min(case.end or self.as_of, self.as_of)
        # legal status changes: an interim order becomes a care order
        if legal == "C2" and rng.random() < 0.4:
            day = case.start + rng.randint(60, 200) * DAY
            if day < last:
                starts.append((day, "L", None, "C1", None, None))
        # placement moves: most stay put; a few move often, some of them lately
        moves = rng.choices((0, 1, 2, 3), weights=(0.55, 0.25, 0.12, 0.08))[0]
        if place != "P1":
            span = (last - case.start).days
            for _ in range(moves):
                if span > 30:
                    day = case.start + rng.randint(20, span - 1) * DAY
                    starts.append((day, "P", None, None, None, rng.choice(CHANGE_REASONS)))
            if span > 120 and rng.random() < 0.1:  # an unsettled year: three moves in it
                recent = max(case.start + 10 * DAY, last - 330 * DAY)
                window = (last - recent).days
                for day in sorted(rng.sample(range(1, window), 3)):
                    when = recent + day * DAY
                    starts.append((when, "P", None, None, None, rng.choice(CHANGE_REASONS)))
        starts = sorted({s[0]: s for s in starts}.values())
        place_now, legal_now, where = place, legal, first_home
        for i, (day, rne, new_place, new_legal, postcode, reason) in enumerate(starts):
            if rne == "P":
                place_now = rng.choice(MOVE_PLACEMENTS)
                where = rng.choice(self.addresses).postcode
            legal_now = new_legal or legal_now
            place_now = new_place or place_now
            where = postcode or where
            end = starts[i + 1][0] if i + 1 < len(starts) else case.end
            reason_end = (
                "X1"
                if i + 1 < len(starts)
                else (("E17" if _years(child, case.end) >= 18 else "E4A") if case.end else None)
            )
            provider = (
                "PR0"
                if place_now == "P1"
                else ("PR4" if place_now in ("K2", "H5") else rng.choice(("PR1", "PR1", "PR4")))
            )
            urn = None if place_now == "P1" else f"SC{rng.randint(100000, 999999)}"
            period.episodes.append(
                Episode(
                    day,
                    end,
                    rne,
                    legal_now,
                    need,
                    place_now,
                    provider,
                    reason_end,
                    reason,
                    home,
                    where,
                    urn,
                )
            )
        self._missing(child, period, last)
        self._reviews(child, period, last)
        self._status(child, period)
        return period

    def _missing(self, child: Person, period: PeriodOfCare, last: dt.date) -> None:
        rng = self.rng
        if _years(child, last) < 10 or rng.random() > 0.35:
            return
        span = (last - period.start).days
        if span < 5:
            return
        for _ in range(rng.randint(1, 4)):
            start = period.start + rng.randint(1, span - 1) * DAY
            if rng.random() < 0.4:  # recent: within the last three months
                start = max(period.start + DAY, last - rng.randint(1, 85) * DAY)
            end = start + rng.randint(0, 5) * DAY
            period.missing.append(
                Missing("M" if rng.random() < 0.75 else "A", start, end if end <= last else None)
            )
        period.missing.sort(key=lambda m: m.start)

    def _reviews(self, child: Person, period: PeriodOfCare, last: dt.date) -> None:
        day = period.start + 20 * DAY
        gap = 70
        while day <= last:
            code = (
                "PN0" if _years(child, day) < 4 else self.rng.choice(("PN1", "PN1", "PN2", "PN3"))
            )
            period.reviews.append((day, code))
            day += gap * DAY
            gap = 182

    def _status(self, child: Person, period: PeriodOfCare) -> None:
        rng = self.rng
        age = _years(child, period.start)
        first = period.episodes[0]
        if age >= 14 and first.placement != "P1" and rng.random() < 0.08:
            period.uasc = True
            eighteen = (
                child.dob.replace(year=child.dob.year + 18)
                if not (child.dob.month == 2 and child.dob.day == 29)
                else dt.date(child.dob.year + 18, 3, 1)
            )
            period.uasc_ceased = eighteen if eighteen <= self.as_of else None
        if rng.random() < 0.03:
            day = period.start - rng.randint(200, 2000) * DAY
            period.previous_permanence = ("P2", "919", day if day > child.dob else None)
        if age < 4 and (self.as_of - period.start).days > 200 and rng.random() < 0.35:
            decided = period.start + rng.randint(120, 200) * DAY
            if decided <= self.as_of:
                period.adoption_decided = decided
                matched = decided + rng.randint(60, 200) * DAY
                if matched <= self.as_of and rng.random() < 0.6:
                    period.adoption_matched = matched
                    period.adopters = rng.choice(
                        ((2, "MF", "L0"), (1, "F1", "L2"), (2, "FF", "L11"))
                    )

    def _leaver(self, case: Case) -> CareLeaver:
        rng = self.rng
        return CareLeaver(
            case.child, _pick(IN_TOUCH, rng), _pick(ACTIVITY, rng), _pick(ACCOMMODATION, rng)
        )

    def _outcomes(self) -> None:
        rng = self.rng
        for period in self.returns.periods:
            if period.end is not None or (self.as_of - period.start).days < 365:
                continue
            child = self.county.by_person[period.child]
            age = _years(child, self.as_of)
            self.returns.outcomes.append(
                Outcomes(
                    period.child,
                    rng.randint(4, 30) if 4 <= age <= 16 else None,
                    age >= 10 and rng.random() < 0.05,
                    rng.random() < 0.9,
                    rng.random() < 0.85,
                    rng.random() < 0.8,
                    age >= 11 and rng.random() < 0.04,
                )
            )

    def _disabilities(self) -> None:
        needs: dict[str, list[str]] = defaultdict(list)
        for need in self.county.needs:
            code = DISABILITY_OF_NEED.get(need.code)
            if code and code not in needs[need.child]:
                needs[need.child].append(code)
        for pid in self.returns.children_in_need():
            self.returns.disabilities[pid] = needs.get(pid) or ["NONE"]
