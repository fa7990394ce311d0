"""Social care, early help, youth justice, health visiting and education welfare;
the teams and professionals who hold the cases; case notes and visit safety notes.

Social care and early help are chosen a family at a time (child protection plans and
care proceedings usually cover a sibling group), weighted towards families at higher
risk, until the open counts reach their targets.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import ClassVar

from faker import Faker

from synthetic import rates
from synthetic.geography import Geography
from synthetic.model import (
    Case,
    County,
    Note,
    ParentLink,
    Person,
    Professional,
    Team,
)
from synthetic.population import PopulationBuilder, days
from synthetic.sampling import risk_weight, weighted_sample

CP_CATEGORIES = {
    "Neglect": 0.5,
    "Emotional abuse": 0.38,
    "Physical abuse": 0.07,
    "Sexual abuse": 0.04,
    "Multiple": 0.01,
}
CIN_NEEDS = {
    "N1 Abuse or neglect": 0.57,
    "N2 Child's disability": 0.1,
    "N3 Parental illness/disability": 0.04,
    "N4 Family in acute stress": 0.08,
    "N5 Family dysfunction": 0.13,
    "N6 Socially unacceptable behaviour": 0.03,
    "N8 Absent parenting": 0.04,
    "N9 Cases other than children in need": 0.01,
}
PLACEMENTS = {
    "Foster placement": 0.71,
    "Residential children's home": 0.16,
    "Placed with parents": 0.07,
    "Kinship care": 0.06,
}
EH_REASONS = (
    "Parenting support",
    "School attendance",
    "Domestic abuse",
    "Child's behaviour",
    "Parental mental health",
    "Housing",
    "Financial difficulties",
    "Substance misuse",
)
YJ_ORDERS = {
    "Referral Order": 0.35,
    "Youth Rehabilitation Order": 0.2,
    "Youth Conditional Caution": 0.2,
    "Turnaround programme": 0.15,
    "Detention and Training Order": 0.05,
    "Youth Caution": 0.05,
}
CASE_NOTES = (
    "Home visit completed. {child} seen alone and spoke about school.",
    "Telephone call with mother; agreed actions reviewed.",
    "Core group meeting held; plan updated.",
    "School reports improved attendance this half term.",
    "Visit attempted, no answer. Card left; will try again this week.",
    "Joint visit with health visitor. Home conditions adequate.",
    "Strategy discussion with police; no further action agreed.",
    "{child} attended session and engaged well.",
    "Referral made to CAMHS following concerns about low mood.",
    "Review meeting: family engaging, plan to step down considered.",
)
SAFETY_NOTES = (
    "Dog at address - ask for it to be secured before entering.",
    "Two large dogs at address. Do not enter until dogs are shut away.",
    "Access via side gate; front door is not used.",
    "Lone working risk: visit in pairs.",
    "Parking is difficult: use the car park behind the shops.",
    "Adult male at address has been hostile to professionals - joint visits only.",
    "Flat on 4th floor; lift often out of order.",
    "Household has asked for visits to be pre-arranged by phone.",
    "Smoking in the home - ventilate where possible; notify if pregnant.",
)


def pick(table: dict[str, float], rng: random.Random) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


class Care:
    def __init__(
        self,
        county: County,
        rng: random.Random,
        risk: dict[str, float],
        builder: PopulationBuilder,
        geo: Geography,
        seed: int,
    ) -> None:
        self.county = county
        self.rng = rng
        self.risk = risk
        self.builder = builder
        self.geo = geo
        self.as_of = county.as_of
        self.fake = Faker("en_GB")
        self.fake.seed_instance(seed * 7 + 3)
        self._cases = 0
        self._in_social_care: set[str] = set()
        self.households = self._households()

    def _households(self) -> dict[str, list[Person]]:
        """Children under 18 by the household they live in on the reference date."""
        homes: dict[str, list[Person]] = defaultdict(list)
        open_by_person = {}
        for m in self.county.memberships:
            if m.end is None and m.start <= self.as_of:
                open_by_person[m.person] = m.family
        for child in self.county.children():
            hid = open_by_person.get(child.pid)
            if hid:
                homes[hid].append(child)
        return dict(sorted(homes.items()))

    def _case(
        self,
        child: Person,
        kind: str,
        service: str,
        start: dt.date,
        end: dt.date | None,
        reason: str = "",
        family: str | None = None,
        placement_la: str | None = None,
    ) -> Case:
        self._cases += 1
        case = Case(
            start=max(start, child.dob),
            end=end,
            case_id=f"C{self._cases:07d}",
            child=child.pid,
            kind=kind,
            service=service,
            reason=reason,
            family=family,
            placement_la=placement_la,
        )
        self.county.cases.append(case)
        return case

    def _family_risk(self, hid: str) -> float:
        kids = self.households[hid]
        return sum(self.risk.get(k.pid, 0) for k in kids) / len(kids)

    def _choose_families(
        self, target_children: int, strength: float, exclude: set[str], share: float
    ) -> list[tuple[str, list[Person]]]:
        """Families, riskiest most likely, until ``target_children`` children are in."""
        hids = [h for h in self.households if h not in exclude]
        # Riskier families first, with enough noise that risk is a tendency, not a rule.
        keys = {h: self._family_risk(h) * strength + self.rng.gauss(0, 1.0) for h in hids}
        order = sorted(hids, key=lambda h: -keys[h])
        chosen, total = [], 0
        for hid in order:
            if total >= target_children:
                break
            kids = [k for k in self.households[hid] if self.rng.random() < share]
            kids = [k for k in kids if k.pid not in self._in_social_care]
            if not kids:
                continue
            chosen.append((hid, kids))
            total += len(kids)
        return chosen

    def social_care(self) -> None:
        rng = self.rng
        children = self.county.children()
        n = len(children)
        used: set[str] = set()
        # Looked after.
        for hid, kids in self._choose_families(round(rates.LOOKED_AFTER.value * n), 1.6, used, 0.8):
            used.add(hid)
            start = self.as_of - days(rng.uniform(0.05, 6))
            for child in kids:
                self._looked_after(child, start, hid)
        # Child protection plans.
        for hid, kids in self._choose_families(
            round(rates.CHILD_PROTECTION.value * n), 1.5, used, 0.9
        ):
            used.add(hid)
            start = self.as_of - days(rng.uniform(0.02, 1.4))
            category = pick(CP_CATEGORIES, rng)
            for child in kids:
                self._case(child, "CP", "Children's social care", start, None, category, hid)
                self._in_social_care.add(child.pid)
        # Children in need (other than CP and CLA).
        cin_target = round(
            (rates.CHILDREN_IN_NEED.value - rates.CHILD_PROTECTION.value - rates.LOOKED_AFTER.value)
            * n
        )
        for hid, kids in self._choose_families(cin_target, 1.2, used, 0.85):
            used.add(hid)
            start = self.as_of - days(rng.uniform(0.02, 2))
            reason = pick(CIN_NEEDS, rng)
            for child in kids:
                self._case(child, "CIN", "Children's social care", start, None, reason, hid)
                self._in_social_care.add(child.pid)
        # Closed episodes in the last six years.
        for hid, kids in self._choose_families(round(0.06 * n), 1.0, set(), 0.85):
            start = self.as_of - days(rng.uniform(0.6, 6))
            end = start + days(rng.uniform(0.2, 1.2))
            if end >= self.as_of:
                continue
            kind = "CP" if rng.random() < 0.15 else "CIN"
            reason = pick(CP_CATEGORIES if kind == "CP" else CIN_NEEDS, rng)
            for child in kids:
                self._case(child, kind, "Children's social care", start, end, reason, hid)
        self._care_leavers()

    def _looked_after(self, child: Person, start: dt.date, hid: str) -> None:
        rng = self.rng
        placement = pick(PLACEMENTS, rng)
        out_of_area = placement != "Placed with parents" and (
            rng.random() < rates.CLA_OUT_OF_AREA.value
        )
        start = max(start, child.dob + dt.timedelta(days=2))
        la = None
        if placement != "Placed with parents":
            home = (
                self.geo.out_of_county_home()
                if out_of_area
                else self.geo.new_home(self.geo.random_lsoa(6))
            )
            la = home.local_authority
            self.builder._end_stay(child, start)
            carer_household = self.builder._household(start, uprn=home.uprn)
            if placement in ("Foster placement", "Kinship care"):
                carer = self.builder._adult(
                    "F", child.dob - days(rng.uniform(30, 50)), "WBRI", "en_GB"
                )
                self.builder._live_in(carer, carer_household, start, None, "carer")
                self.county.parents.append(
                    ParentLink(
                        start=start,
                        end=None,
                        parent=carer.pid,
                        child=child.pid,
                        kind="foster" if placement == "Foster placement" else "guardian",
                    )
                )
            self.builder._live_in(child, carer_household, start, None, "looked after child")
        self._case(
            child,
            "CLA",
            "Children's social care",
            start,
            None,
            placement,
            hid,
            placement_la=la or "Northmere",
        )
        self._in_social_care.add(child.pid)

    def _care_leavers(self) -> None:
        rng = self.rng
        young_adults = [
            p
            for p in self.county.people
            if 18 <= p.age_on(self.as_of) <= 21 and p.dob <= self.as_of
        ]
        leavers = weighted_sample(
            young_adults,
            [risk_weight(self.risk.get(p.pid, 0), 1.5) for p in young_adults],
            round(0.005 * len(young_adults)),
            rng,
        )
        for person in leavers:
            eighteen = (
                person.dob.replace(year=person.dob.year + 18)
                if not (person.dob.month == 2 and person.dob.day == 29)
                else dt.date(person.dob.year + 18, 3, 1)
            )
            entered = person.dob + days(rng.uniform(8, 16.5))
            self._case(
                person,
                "CLA",
                "Children's social care",
                entered,
                eighteen,
                pick(PLACEMENTS, rng),
                placement_la="Northmere",
            )
            self._case(
                person, "CL", "Children's social care", eighteen, None, "Care leaver support"
            )

    def early_help(self) -> None:
        rng = self.rng
        n = len(self.county.children())
        # _choose_families skips children already open to social care.
        for hid, kids in self._choose_families(round(rates.EARLY_HELP.value * n), 0.9, set(), 0.9):
            start = self.as_of - days(rng.uniform(0.02, 1.0))
            reason = rng.choice(EH_REASONS)
            for child in kids:
                self._case(child, "EH", "Early help", start, None, reason, hid)
        for hid, kids in self._choose_families(round(0.05 * n), 0.7, set(), 0.9):
            start = self.as_of - days(rng.uniform(1, 5))
            end = start + days(rng.uniform(0.25, 1))
            if end < self.as_of:
                for child in kids:
                    self._case(child, "EH", "Early help", start, end, rng.choice(EH_REASONS), hid)

    def youth_justice(self) -> None:
        rng = self.rng
        teens = [p for p in self.county.children() if 10 <= p.age_on(self.as_of) <= 17]
        weights = [
            risk_weight(self.risk.get(p.pid, 0), 1.3)
            * (4 if p.sex == "M" else 1)
            * (p.age_on(self.as_of) - 8)
            for p in teens
        ]
        chosen = weighted_sample(
            teens, weights, round(rates.YOUTH_JUSTICE_10_17.value * len(teens)) * 3, rng
        )
        for index, child in enumerate(chosen):
            order = pick(YJ_ORDERS, rng)
            if index % 3 == 0:
                start = self.as_of - days(rng.uniform(0.02, 1))
                end = None
            else:
                start = self.as_of - days(rng.uniform(1, 4))
                end = start + days(rng.uniform(0.2, 1))
                if start < child.dob + days(10) or end >= self.as_of:
                    continue
            self._case(child, "YJ", "Youth justice", start, end, order)

    def health_visiting(self) -> None:
        for child in self.county.children():
            if child.age_on(self.as_of) < 5:
                self._case(
                    child,
                    "HV",
                    "Health visiting",
                    child.dob + dt.timedelta(days=10),
                    None,
                    "Universal",
                )

    def education_welfare(self, absence: dict[str, float]) -> None:
        for pid in sorted(absence):
            if absence[pid] >= 0.3 and self.rng.random() < 0.6:
                child = self.county.by_person[pid]
                self._case(
                    child,
                    "EWO",
                    "Education welfare",
                    self.as_of - days(self.rng.uniform(0.05, 0.8)),
                    None,
                    "Persistent absence",
                )

    # -- workforce ----------------------------------------------------------------

    TEAM_SPECS: ClassVar[dict[str, tuple[str, str, int, str]]] = {
        # kind: (service, role, caseload, team names by area or fixed)
        "CIN": ("Children's social care", "Social Worker", 16, "Children in Need Team"),
        "CP": ("Children's social care", "Social Worker", 16, "Children in Need Team"),
        "CLA": ("Children's social care", "Social Worker", 15, "Children in Care Team"),
        "CL": ("Children's social care", "Personal Adviser", 20, "Leaving Care Team"),
        "EHCP": ("SEND", "SEND Caseworker", 150, "SEND Casework Team"),
        "EH": ("Early help", "Early Help Worker", 30, "Early Help Team"),
        "YJ": ("Youth justice", "Youth Justice Worker", 12, "Youth Justice Service"),
        "HV": ("Health visiting", "Health Visitor", 300, "Health Visiting Team"),
        "EWO": ("Education welfare", "Education Welfare Officer", 40, "Education Welfare Service"),
    }
    AREAS = ("North", "South", "East", "West")

    def _area(self, case: Case) -> str:
        child = self.county.by_person[case.child]
        uprn = child.address_on(min(self.as_of, case.end or self.as_of)) or (
            child.residences[-1].uprn if child.residences else None
        )
        if uprn is None:
            return "North"
        address = self.county.by_uprn[uprn]
        if not address.in_county:
            return "North"
        lsoa = self.county.by_lsoa[address.lsoa]
        return (
            ("North" if lsoa.lat > 51.8 else "South")
            if lsoa.lon < 0.65
            else ("East" if lsoa.lat > 51.75 else "West")
        )

    def workforce(self) -> None:
        rng = self.rng
        by_team: dict[str, list[Case]] = defaultdict(list)
        for case in self.county.cases:
            spec = self.TEAM_SPECS.get(case.kind)
            if spec is None:
                continue
            area = self._area(case) if case.kind not in ("YJ", "EWO", "CL") else ""
            by_team[f"{spec[3]}{' ' + area if area else ''}|{case.kind}"].append(case)
        teams: dict[str, Team] = {}
        members: dict[str, list[Professional]] = {}
        team_cases: dict[str, list[Case]] = defaultdict(list)
        for key in sorted(by_team):
            name, kind = key.split("|")
            team_cases[name].extend(by_team[key])
        emails: set[str] = set()
        for name in sorted(team_cases):
            cases = team_cases[name]
            kind = cases[0].kind
            service, role, caseload, _ = self.TEAM_SPECS[kind]
            tid = f"T{len(teams) + 1:03d}"
            team = Team(tid, name, service)
            teams[name] = team
            self.county.teams.append(team)
            open_cases = sum(1 for c in cases if c.end is None)
            staff = []
            for _ in range(max(1, -(-open_cases // caseload))):
                first, last = self.fake.first_name(), self.fake.last_name()
                domain = "nhs.net" if service == "Health visiting" else "northmere.gov.uk"
                email = f"{first}.{last}@{domain}".lower().replace(" ", "").replace("'", "")
                while email in emails:
                    email = email.replace("@", f"{rng.randint(2, 9)}@", 1)
                emails.add(email)
                pro = Professional(
                    pid=f"W{len(self.county.professionals) + 1:05d}",
                    name=f"{first} {last}",
                    role=role if rng.random() > 0.15 else f"Senior {role}",
                    team=tid,
                    service=service,
                    email=email,
                    phone=f"01632 {rng.randint(960_000, 960_999)}",
                )
                self.county.professionals.append(pro)
                staff.append(pro)
            members[name] = staff
            # Siblings share a worker; a few open cases wait for allocation.
            by_family: dict[str, Professional | None] = {}
            for case in cases:
                key = f"{case.family}|{case.kind}" if case.family else case.case_id
                if key not in by_family:
                    unallocated = case.end is None and rng.random() < (
                        0.03 if case.kind not in ("HV", "EHCP") else 0.01
                    )
                    by_family[key] = None if unallocated else rng.choice(staff)
                worker = by_family[key]
                case.worker = worker.pid if worker else None

    # -- notes --------------------------------------------------------------------

    def notes(self) -> None:
        rng = self.rng
        workers = {w.pid: w for w in self.county.professionals}
        count = 0
        families: dict[str, set[str]] = defaultdict(set)
        for case in self.county.cases:
            if case.kind in ("HV", "SEN support") or case.worker is None:
                continue
            if case.end is None and case.family:
                families[case.family].add(case.child)
            child = self.county.by_person[case.child]
            for _ in range(rng.choices((0, 1, 2, 3), weights=(0.35, 0.3, 0.2, 0.15))[0]):
                end = case.end or self.as_of
                span = max(1, (end - case.start).days)
                day = case.start + dt.timedelta(days=rng.randint(0, span - 1))
                at = dt.datetime.combine(day, dt.time(rng.randint(8, 18), rng.randint(0, 59)))
                count += 1
                self.county.notes.append(
                    Note(
                        note_id=f"N{count:07d}",
                        about=case.child,
                        case_id=case.case_id,
                        author=workers[case.worker].name,
                        at=at,
                        kind="case",
                        text=rng.choice(CASE_NOTES).format(child=child.given),
                    )
                )
        homes = set()
        for hid in sorted(families):
            kids = [self.county.by_person[p] for p in sorted(families[hid])]
            uprn = kids[0].address_on(self.as_of)
            if uprn and rng.random() < 0.12:
                homes.add(uprn)
        for address in self.county.addresses:
            if address.in_county and rng.random() < 0.003:
                homes.add(address.uprn)
        for uprn in sorted(homes):
            for _ in range(rng.choice((1, 1, 1, 2))):
                count += 1
                day = self.as_of - dt.timedelta(days=rng.randint(5, 900))
                self.county.notes.append(
                    Note(
                        note_id=f"N{count:07d}",
                        about=uprn,
                        case_id=None,
                        author=rng.choice(self.county.professionals).name
                        if self.county.professionals
                        else "Duty worker",
                        at=dt.datetime.combine(day, dt.time(rng.randint(8, 18), 0)),
                        kind="safety",
                        text=rng.choice(SAFETY_NOTES),
                    )
                )
