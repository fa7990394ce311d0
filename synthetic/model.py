"""The true county: what really is, before any system records it (badly).

Everything the extracts say is derived from these records, and the ground-truth
files are these records written out, so tests can compare what Jigsaw concludes
with what is true without asking Jigsaw.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class Lsoa:
    code: str
    name: str
    town: str
    lat: float
    lon: float
    imd_decile: int
    district: str  # postcode district, e.g. "CM7"


@dataclass
class Address:
    uprn: str
    line1: str
    town: str
    postcode: str
    lsoa: str
    lat: float
    lon: float
    local_authority: str = "Northmere"
    in_county: bool = True


@dataclass
class School:
    urn: str
    name: str
    phase: str  # Nursery, Primary, Secondary, All-through, Special, AP, 16 plus, Children's centre
    kind: str  # establishment type, e.g. "Community school", "Academy converter"
    postcode: str
    lat: float
    lon: float
    low_age: int
    high_age: int
    la_estab: str


@dataclass
class Span:
    """Something true over a period; ``end`` None means still true."""

    start: dt.date
    end: dt.date | None

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass
class Residence(Span):
    uprn: str = ""


@dataclass
class Person:
    pid: str
    given: str
    middle: str
    family: str
    sex: str  # F or M
    dob: dt.date
    ethnicity: str
    language: str  # first language code (ENG, POL, ...)
    locale: str
    upn: str | None = None
    nhs: str | None = None
    uln: str | None = None
    la_child_id: str | None = None
    dod: dt.date | None = None
    fsm: bool = False
    young_carer: bool = False
    household: str = ""
    residences: list[Residence] = field(default_factory=list)
    family_names: list[tuple[dt.date, str]] = field(default_factory=list)

    def address_on(self, day: dt.date) -> str | None:
        for r in self.residences:
            if r.covers(day):
                return r.uprn
        return None

    def age_on(self, day: dt.date) -> int:
        years = day.year - self.dob.year
        return years - ((day.month, day.day) < (self.dob.month, self.dob.day))

    def surname_on(self, day: dt.date) -> str:
        """Surname as of a date (children may take a step-parent's name later)."""
        name = self.family
        for since, new in self.family_names:
            if since <= day:
                name = new
        return name


@dataclass
class ParentLink(Span):
    parent: str = ""
    child: str = ""
    kind: str = "birth"  # birth, step, adoptive, foster, guardian


@dataclass
class Membership(Span):
    person: str = ""
    family: str = ""
    role: str = "child"  # child, mother, father, step-parent, carer


@dataclass
class Partnership(Span):
    a: str = ""
    b: str = ""


@dataclass
class Enrolment(Span):
    child: str = ""
    urn: str = ""


@dataclass
class AttendanceTerm:
    child: str
    urn: str
    term: str  # e.g. "2025-26 Autumn"
    start: dt.date
    possible: int
    authorised: int
    unauthorised: int

    @property
    def absent(self) -> int:
        return self.authorised + self.unauthorised


@dataclass
class Exclusion:
    child: str
    urn: str
    date: dt.date
    kind: str  # SUSP or PERM
    sessions: int
    reason: str


@dataclass
class Case(Span):
    case_id: str = ""
    child: str = ""
    kind: str = ""  # CIN, CP, CLA, CL, EHCP, SEN support, EH, YJ, HV, EWO, EY need
    service: str = ""  # social care, SEND, early help, youth justice, health visiting, ...
    worker: str | None = None
    reason: str = ""
    placement_la: str | None = None
    family: str | None = None

    @property
    def status(self) -> str:
        return "open" if self.end is None else "closed"


@dataclass
class Need:
    child: str
    code: str
    rank: int
    since: dt.date


@dataclass
class Professional:
    pid: str
    name: str
    role: str
    team: str
    service: str
    email: str
    phone: str


@dataclass
class Team:
    tid: str
    name: str
    service: str


@dataclass
class Note:
    note_id: str
    about: str  # person id or uprn
    case_id: str | None
    author: str
    at: dt.datetime
    kind: str  # case or safety
    text: str


@dataclass
class Transport(Span):
    child: str = ""
    urn: str = ""
    reason: str = ""  # SEN or Distance


@dataclass
class Offer:
    child: str
    entry_year: str  # "Reception" or "Year 7"
    start: dt.date
    urn: str
    current_urn: str | None


@dataclass
class County:
    """Everything true about the county on ``as_of``, and its history."""

    as_of: dt.date
    seed: int
    la_code: str
    lsoas: list[Lsoa] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    schools: list[School] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    parents: list[ParentLink] = field(default_factory=list)
    partnerships: list[Partnership] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    enrolments: list[Enrolment] = field(default_factory=list)
    attendance: list[AttendanceTerm] = field(default_factory=list)
    exclusions: list[Exclusion] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    needs: list[Need] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    professionals: list[Professional] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    transport: list[Transport] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    by_person: dict[str, Person] = field(default_factory=dict, repr=False)
    by_uprn: dict[str, Address] = field(default_factory=dict, repr=False)
    by_lsoa: dict[str, Lsoa] = field(default_factory=dict, repr=False)
    by_urn: dict[str, School] = field(default_factory=dict, repr=False)

    def add_person(self, person: Person) -> Person:
        self.people.append(person)
        self.by_person[person.pid] = person
        return person

    def add_address(self, address: Address) -> Address:
        self.addresses.append(address)
        self.by_uprn[address.uprn] = address
        return address

    def add_lsoa(self, lsoa: Lsoa) -> None:
        self.lsoas.append(lsoa)
        self.by_lsoa[lsoa.code] = lsoa

    def add_school(self, school: School) -> None:
        self.schools.append(school)
        self.by_urn[school.urn] = school

    def imd_of(self, uprn: str) -> int | None:
        address = self.by_uprn[uprn]
        return self.by_lsoa[address.lsoa].imd_decile if address.in_county else None

    def children(self) -> list[Person]:
        """People aged under 18 on the reference date (and alive)."""
        return [
            p
            for p in self.people
            if p.dob <= self.as_of and p.age_on(self.as_of) < 18 and p.dod is None
        ]
