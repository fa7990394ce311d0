"""The county as its systems record it: one function per council system.

Every system has its own columns, date formats, codes, encoding and mistakes (see
``SOURCE_MESS``). Each row's truth - which real person it describes and what was
done to it - is recorded as the row is written.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from synthetic import calendar as cal
from synthetic import rates
from synthetic.mess import Defect, Mess, SourceMess
from synthetic.model import Case, County, Person
from synthetic.writer import Extract, RowTruth, TruthSink

# Defect rates per source (assumptions, see rates.MESS). Systems that families
# fill in or that record what people are called have more nicknames; systems keyed
# on one identifier rarely miss it; ASCII-only systems strip accents.
SOURCE_MESS: dict[str, SourceMess] = {
    "school_census": SourceMess(
        typo=0.002,
        swapped_day_month=0.001,
        invalid_check_digit=0.002,
        stale_address=0.03,
        duplicate_row=0.003,
        blank_required=0.0005,
    ),
    "attendance": SourceMess(
        typo=0.01,
        nickname=0.01,
        swapped_day_month=0.005,
        invalid_check_digit=0.003,
        missing_id=0.005,
        duplicate_row=0.005,
        impossible_date=0.0005,
    ),
    "exclusions": SourceMess(
        typo=0.01, nickname=0.03, invalid_check_digit=0.005, missing_id=0.02, duplicate_row=0.01
    ),
    "ehcp_register": SourceMess(
        typo=0.015,
        nickname=0.04,
        invalid_check_digit=0.005,
        missing_id=0.10,
        stale_address=0.05,
        duplicate_row=0.01,
        swapped_day_month=0.008,
        blank_required=0.003,
        impossible_date=0.002,
    ),
    "social_care": SourceMess(
        typo=0.02,
        nickname=0.05,
        ascii_only=True,
        swapped_day_month=0.01,
        invalid_check_digit=0.005,
        missing_id=0.15,
        stale_address=0.05,
        blank_required=0.005,
        future_date=0.001,
        upper_surname=True,
        names_swapped=0.003,
    ),
    "early_help": SourceMess(
        typo=0.02,
        nickname=0.10,
        swapped_day_month=0.01,
        stale_address=0.05,
        duplicate_row=0.01,
        blank_required=0.005,
        impossible_date=0.002,
        future_date=0.001,
    ),
    "health_visiting": SourceMess(
        typo=0.01,
        nickname=0.01,
        invalid_check_digit=0.003,
        missing_id=0.003,
        stale_address=0.04,
        duplicate_row=0.005,
    ),
    "childrens_centres": SourceMess(
        typo=0.03,
        nickname=0.05,
        missing_id=0.40,
        invalid_check_digit=0.01,
        swapped_day_month=0.01,
        duplicate_row=0.02,
        stale_address=0.05,
        blank_required=0.005,
    ),
    "youth_justice": SourceMess(
        typo=0.02,
        nickname=0.08,
        missing_id=0.7,
        invalid_check_digit=0.01,
        swapped_day_month=0.01,
        stale_address=0.08,
        duplicate_row=0.01,
    ),
    "council_tax": SourceMess(typo=0.01, duplicate_row=0.005, ascii_only=True),
    "transport": SourceMess(typo=0.01, nickname=0.02, swapped_day_month=0.005, duplicate_row=0.01),
    "young_carers": SourceMess(
        typo=0.02, nickname=0.06, stale_address=0.05, duplicate_row=0.01, blank_required=0.005
    ),
    "admissions": SourceMess(typo=0.005, swapped_day_month=0.003, duplicate_row=0.005),
    "reference": SourceMess(),
}

ETHNICITY_TEXT = {
    "WBRI": "White British",
    "WIRI": "White Irish",
    "WROM": "Gypsy/Roma",
    "WOTH": "Any other White background",
    "MWBC": "White and Black Caribbean",
    "MWBA": "White and Black African",
    "MWAS": "White and Asian",
    "MOTH": "Any other Mixed background",
    "AIND": "Indian",
    "APKN": "Pakistani",
    "ABAN": "Bangladeshi",
    "AOTH": "Any other Asian background",
    "BAFR": "Black African",
    "BCRB": "Black Caribbean",
    "CHNE": "Chinese",
    "OOTH": "Any other ethnic group",
}
SOCIAL_CARE_KIND = {"CIN": "CIN", "CP": "CPP", "CLA": "LAC", "CL": "CL"}
HEARING_TEXT = "Permanent hearing loss - audiology follow-up"
EARLY_NEED_TEXT = {
    "HI": HEARING_TEXT,
    "SLCN": "Speech and language delay",
    "PD": "Physical disability",
    "ASD": "Social communication difficulties (ASD pathway)",
    "SEMH": "Emotional wellbeing",
    "VI": "Visual impairment",
    "MSI": "Multi-sensory impairment",
    "OTH": "Other needs",
}


def census_day(as_of: dt.date) -> tuple[str, dt.date]:
    """The latest school census day on or before ``as_of``."""

    def thursday(year: int, month: int, nth: int) -> dt.date:
        first = dt.date(year, month, 1)
        offset = (3 - first.weekday()) % 7
        return first + dt.timedelta(days=offset + 7 * (nth - 1))

    candidates = []
    for year in (as_of.year - 1, as_of.year):
        candidates += [
            ("autumn", thursday(year, 10, 1)),
            ("spring", thursday(year, 1, 3)),
            ("summer", thursday(year, 5, 3)),
        ]
    term, day = max((c for c in candidates if c[1] <= as_of), key=lambda c: c[1])
    return f"{term}_{day.year}", day


class Writers:
    def __init__(
        self,
        county: County,
        rng: random.Random,
        root: Path,
        school_of: Callable[[str, dt.date], str | None],
    ) -> None:
        self.county = county
        self.rng = rng
        self.root = root
        self.mess = Mess(rng, county.as_of)
        self.sink = TruthSink()
        self.as_of = county.as_of
        self.school_of = school_of
        self.needs = defaultdict(list)
        for need in county.needs:
            self.needs[need.child].append(need)
        self.cases_by_child: dict[str, list[Case]] = defaultdict(list)
        for case in county.cases:
            self.cases_by_child[case.child].append(case)
        self.workers = {w.pid: w for w in county.professionals}
        self.teams = {t.tid: t for t in county.teams}
        self.parents_of: dict[str, list] = defaultdict(list)
        for link in county.parents:
            self.parents_of[link.child].append(link)
        self._la_ids = 100_000

    # -- shared pieces --------------------------------------------------------------

    def _home(
        self, person: Person, day: dt.date, mess: SourceMess, log: list[Defect]
    ) -> tuple[str, str, str]:
        """(uprn, line1, postcode) a system holds: sometimes the previous home."""
        uprn = person.address_on(day)
        if uprn is None and person.residences:
            uprn = person.residences[-1].uprn
        if uprn is None:
            return "", "", ""
        if self.rng.random() < mess.stale_address:
            earlier = [
                r.uprn
                for r in person.residences
                if r.end is not None and r.end <= day and r.uprn != uprn
            ]
            if earlier:
                old = earlier[-1]
                log.append(Defect("address", "stale_address", uprn, old))
                uprn = old
        address = self.county.by_uprn[uprn]
        return uprn, address.line1, address.postcode

    def _surname(self, person: Person, day: dt.date) -> str:
        return person.surname_on(day)

    def _names(
        self,
        person: Person,
        day: dt.date,
        mess: SourceMess,
        log: list[Defect],
        given_field: str = "forename",
        surname_field: str = "surname",
    ) -> tuple[str, str]:
        given = self.mess.given(person.given, given_field, mess, log)
        family = self.mess.surname(self._surname(person, day), surname_field, mess, log)
        if self.rng.random() < mess.names_swapped:
            log.append(Defect(given_field, "names_swapped", person.given, family))
            given, family = family, given
        given = self.mess.blank(given, given_field, mess, log) if given else given
        return given, family

    def _dob(
        self, person: Person, fmt: str, mess: SourceMess, log: list[Defect], field: str = "dob"
    ) -> str:
        return self.mess.date(person.dob, field, fmt, mess, log, is_birth=True)

    def la_id(self, person: Person) -> str:
        if person.la_child_id is None:
            self._la_ids += self.rng.randint(1, 9)
            person.la_child_id = str(self._la_ids)
        return person.la_child_id

    # -- reference data -----------------------------------------------------------

    def reference(self) -> None:
        rng = self.rng
        schools = Extract(
            "reference",
            "reference/schools.csv",
            [
                "URN",
                "LA (code)",
                "EstablishmentNumber",
                "EstablishmentName",
                "TypeOfEstablishment (name)",
                "PhaseOfEducation (name)",
                "Postcode",
                "Latitude",
                "Longitude",
                "StatutoryLowAge",
                "StatutoryHighAge",
            ],
            rng,
        )
        for s in sorted(self.county.schools, key=lambda s: s.urn):
            schools.add(
                {
                    "URN": s.urn,
                    "LA (code)": s.la_estab[:3],
                    "EstablishmentNumber": s.la_estab[3:],
                    "EstablishmentName": s.name,
                    "TypeOfEstablishment (name)": s.kind,
                    "PhaseOfEducation (name)": s.phase,
                    "Postcode": s.postcode,
                    "Latitude": s.lat,
                    "Longitude": s.lon,
                    "StatutoryLowAge": s.low_age,
                    "StatutoryHighAge": s.high_age,
                },
                RowTruth(None, entity=s.urn, key=s.urn),
            )
        schools.write(self.root, self.sink)
        gazetteer = Extract(
            "reference",
            "reference/gazetteer.csv",
            ["UPRN", "ADDRESS_LINE_1", "TOWN", "POSTCODE", "LSOA21CD", "LATITUDE", "LONGITUDE"],
            rng,
        )
        for a in sorted(self.county.addresses, key=lambda a: int(a.uprn)):
            if a.in_county:
                gazetteer.add(
                    {
                        "UPRN": a.uprn,
                        "ADDRESS_LINE_1": a.line1,
                        "TOWN": a.town,
                        "POSTCODE": a.postcode,
                        "LSOA21CD": a.lsoa,
                        "LATITUDE": a.lat,
                        "LONGITUDE": a.lon,
                    },
                    RowTruth(None, entity=a.uprn, key=a.uprn),
                )
        gazetteer.write(self.root, self.sink)
        lsoas = Extract(
            "reference",
            "reference/lsoa_imd.csv",
            ["LSOA21CD", "LSOA21NM", "IMD_DECILE", "LAT", "LON", "LAD"],
            rng,
        )
        for x in self.county.lsoas:
            lsoas.add(
                {
                    "LSOA21CD": x.code,
                    "LSOA21NM": x.name,
                    "IMD_DECILE": x.imd_decile,
                    "LAT": x.lat,
                    "LON": x.lon,
                    "LAD": "Northmere",
                },
                RowTruth(None, entity=x.code, key=x.code),
            )
        lsoas.write(self.root, self.sink)
        staff = Extract(
            "reference",
            "reference/staff.csv",
            ["Staff ID", "Name", "Job Title", "Team ID", "Team", "Service", "Email", "Phone"],
            rng,
        )
        for w in self.county.professionals:
            staff.add(
                {
                    "Staff ID": w.pid,
                    "Name": w.name,
                    "Job Title": w.role,
                    "Team ID": w.team,
                    "Team": self.teams[w.team].name,
                    "Service": w.service,
                    "Email": w.email,
                    "Phone": w.phone,
                },
                RowTruth(None, entity=w.pid, key=w.pid),
            )
        staff.write(self.root, self.sink)

    # -- education ---------------------------------------------------------------------

    def school_census(self, education: object) -> None:
        label, day = census_day(self.as_of)
        mess = SOURCE_MESS["school_census"]
        extract = Extract(
            "school_census",
            f"school_census/census_{label}.csv",
            [
                "UPN",
                "LegalSurname",
                "Forename",
                "MiddleNames",
                "DOB",
                "Sex",
                "Ethnicity",
                "FirstLanguage",
                "FSMeligible",
                "SENprovision",
                "PrimarySENtype",
                "SecondarySENtype",
                "NCyearActual",
                "EntryDate",
                "URN",
                "UPRN",
                "AddressLine1",
                "Postcode",
                "YoungCarer",
                "ULN",
            ],
            self.rng,
            duplicate_rate=mess.duplicate_row,
        )
        year = cal.academic_year(day)
        rows = []
        for enrolment in self.county.enrolments:
            if not enrolment.covers(day):
                continue
            school = self.county.by_urn[enrolment.urn]
            if school.phase in ("Children's centre", "16 plus"):
                continue
            person = self.county.by_person[enrolment.child]
            rows.append((school.urn, person.upn or "", person, enrolment))
        for urn, _, person, enrolment in sorted(rows, key=lambda r: (r[0], r[1], r[2].pid)):
            log: list[Defect] = []
            given, family = self._names(person, day, mess, log, "Forename", "LegalSurname")
            sen = [
                c
                for c in self.cases_by_child[person.pid]
                if c.kind in ("EHCP", "SEN support") and c.covers(day)
            ]
            provision = "E" if any(c.kind == "EHCP" for c in sen) else "K" if sen else "N"
            needs = sorted(
                (n for n in self.needs[person.pid] if n.since <= day), key=lambda n: n.rank
            )
            uprn, line1, postcode = self._home(person, day, mess, log)
            yg = cal.year_group(person.dob, year)
            extract.add(
                {
                    "UPN": self.mess.identifier(person.upn, "UPN", mess, log, missing=0.0),
                    "LegalSurname": family,
                    "Forename": given,
                    "MiddleNames": person.middle,
                    "DOB": self._dob(person, "%Y-%m-%d", mess, log, "DOB"),
                    "Sex": person.sex,
                    "Ethnicity": person.ethnicity,
                    "FirstLanguage": person.language,
                    "FSMeligible": person.fsm,
                    "SENprovision": provision,
                    "PrimarySENtype": needs[0].code if provision != "N" and needs else "",
                    "SecondarySENtype": needs[1].code
                    if provision != "N" and len(needs) > 1
                    else "",
                    "NCyearActual": cal.year_group_label(yg),
                    "EntryDate": enrolment.start.isoformat(),
                    "URN": urn,
                    "UPRN": uprn,
                    "AddressLine1": line1,
                    "Postcode": postcode,
                    "YoungCarer": person.young_carer,
                    "ULN": person.uln if person.uln and yg >= 10 else "",
                },
                RowTruth(person.pid, entity=urn, key=person.upn or "", defects=log),
            )
        extract.write(self.root, self.sink)

    def attendance(self) -> None:
        mess = SOURCE_MESS["attendance"]
        by_file: dict[tuple[str, str], list] = defaultdict(list)
        for term in self.county.attendance:
            by_file[(term.urn, term.term.split(" ")[0])].append(term)
        for (urn, year), terms in sorted(by_file.items()):
            extract = Extract(
                "attendance",
                f"attendance/{urn}_{year}.csv",
                [
                    "Pupil UPN",
                    "Legal Surname",
                    "Forename",
                    "D.O.B",
                    "Term",
                    "Possible Sessions",
                    "Attended Sessions",
                    "Authorised Absences",
                    "Unauthorised Absences",
                ],
                self.rng,
                duplicate_rate=mess.duplicate_row,
            )
            for term in sorted(terms, key=lambda t: (t.child, t.start)):
                person = self.county.by_person[term.child]
                log: list[Defect] = []
                given, family = self._names(
                    person, term.start, mess, log, "Forename", "Legal Surname"
                )
                extract.add(
                    {
                        "Pupil UPN": self.mess.identifier(person.upn, "Pupil UPN", mess, log),
                        "Legal Surname": family,
                        "Forename": given,
                        "D.O.B": self._dob(person, "%d/%m/%Y", mess, log, "D.O.B"),
                        "Term": term.term.split(" ")[1],
                        "Possible Sessions": term.possible,
                        "Attended Sessions": term.possible - term.absent,
                        "Authorised Absences": term.authorised,
                        "Unauthorised Absences": term.unauthorised,
                    },
                    RowTruth(
                        person.pid, entity=f"{urn}|{term.term}", key=person.upn or "", defects=log
                    ),
                )
            extract.write(self.root, self.sink)

    def exclusions(self) -> None:
        mess = SOURCE_MESS["exclusions"]
        extract = Extract(
            "exclusions",
            "exclusions/suspensions_and_exclusions.csv",
            [
                "UPN",
                "Pupil Name",
                "DOB",
                "School URN",
                "Start Date",
                "Category",
                "Sessions",
                "Reason",
            ],
            self.rng,
            duplicate_rate=mess.duplicate_row,
        )
        for ex in sorted(self.county.exclusions, key=lambda e: (e.date, e.child)):
            person = self.county.by_person[ex.child]
            log: list[Defect] = []
            given, family = self._names(person, ex.date, mess, log, "Pupil Name", "Pupil Name")
            extract.add(
                {
                    "UPN": self.mess.identifier(person.upn, "UPN", mess, log),
                    "Pupil Name": f"{given} {family}".strip(),
                    "DOB": self._dob(person, "%d/%m/%Y", mess, log, "DOB"),
                    "School URN": ex.urn,
                    "Start Date": ex.date.strftime("%d/%m/%Y"),
                    "Category": ex.kind,
                    "Sessions": ex.sessions,
                    "Reason": ex.reason,
                },
                RowTruth(
                    person.pid,
                    entity=f"{ex.urn}|{ex.date.isoformat()}|{ex.kind}",
                    key=person.upn or "",
                    defects=log,
                ),
            )
        extract.write(self.root, self.sink)

    def ehcp_register(self) -> None:
        mess = SOURCE_MESS["ehcp_register"]
        extract = Extract(
            "ehcp_register",
            "send/ehcp_register.xlsx",
            [
                "EHCP Ref",
                "Child Name",
                "DOB",
                "Gender",
                "UPN",
                "NHS No",
                "Home Postcode",
                "Plan Status",
                "Date Issued",
                "Date Ceased",
                "Primary Need",
                "Secondary Need",
                "Caseworker",
                "Placement",
                "Placement URN",
                "Transport",
            ],
            self.rng,
            duplicate_rate=mess.duplicate_row,
            title=f"Northmere SEND Service - EHCP register (exported {self.as_of:%d/%m/%Y})",
            sheet="EHCP Register",
        )
        transport = {t.child for t in self.county.transport if t.reason == "SEN"}
        plans = sorted((c for c in self.county.cases if c.kind == "EHCP"), key=lambda c: c.case_id)
        for case in plans:
            person = self.county.by_person[case.child]
            log: list[Defect] = []
            day = case.end or self.as_of
            given, family = self._names(person, day, mess, log, "Child Name", "Child Name")
            needs = sorted(self.needs[person.pid], key=lambda n: n.rank)
            primary = rates.NEED_NAMES.get(case.reason, case.reason)
            secondary = next((rates.NEED_NAMES[n.code] for n in needs if n.rank == 2), "")
            _, _, postcode = self._home(person, day, mess, log)
            urn = self.school_of(person.pid, day) or ""
            placement = self.county.by_urn[urn].name if urn else ""
            worker = self.workers.get(case.worker or "")
            extract.add(
                {
                    "EHCP Ref": f"EHC{case.case_id[4:]}",
                    "Child Name": f"{family.upper()}, {given}" if given else family.upper(),
                    "DOB": _excel_date(self._dob(person, "%d/%m/%Y", mess, log, "DOB")),
                    "Gender": "Female" if person.sex == "F" else "Male",
                    "UPN": self.mess.identifier(person.upn, "UPN", mess, log),
                    "NHS No": self.mess.identifier(person.nhs, "NHS No", mess, log, missing=0.3),
                    "Home Postcode": postcode,
                    "Plan Status": "Ceased" if case.end else "Issued",
                    "Date Issued": case.start,
                    "Date Ceased": case.end or "",
                    "Primary Need": primary,
                    "Secondary Need": secondary,
                    "Caseworker": worker.name if worker else "",
                    "Placement": placement,
                    "Placement URN": urn,
                    "Transport": "Yes" if person.pid in transport and not case.end else "No",
                },
                RowTruth(
                    person.pid, entity=case.case_id, key=f"EHC{case.case_id[4:]}", defects=log
                ),
            )
        extract.write(self.root, self.sink)

    # -- social care ---------------------------------------------------------------

    def social_care(self) -> None:
        mess = SOURCE_MESS["social_care"]
        rng = self.rng
        sc_cases = sorted(
            (c for c in self.county.cases if c.service == "Children's social care"),
            key=lambda c: (c.start, c.case_id),
        )
        subjects: dict[str, Person] = {}
        related: dict[str, list[tuple[str, str, dt.date, dt.date | None]]] = defaultdict(list)
        for case in sc_cases:
            child = self.county.by_person[case.child]
            subjects[child.pid] = child
            for link in self.parents_of[child.pid]:
                if link.end is not None and link.end < case.start:
                    continue
                parent = self.county.by_person[link.parent]
                subjects.setdefault(parent.pid, parent)
                relation = _relationship(link.kind, parent.sex)
                entry = (parent.pid, relation, link.start, link.end)
                if entry not in related[child.pid]:
                    related[child.pid].append(entry)
        # Some people were registered twice: a second PERSON_ID, a slightly different record.
        duplicates = {pid for pid in sorted(subjects) if rng.random() < 0.015}
        second_ids: dict[str, str] = {}
        persons = Extract(
            "social_care",
            "social_care/persons.csv",
            [
                "PERSON_ID",
                "FORENAME",
                "SURNAME",
                "DOB",
                "GENDER",
                "ETHNICITY",
                "NHS_NUMBER",
                "UPN",
                "ADDRESS",
                "POSTCODE",
                "ADDRESS_START",
            ],
            rng,
            encoding="cp1252",
        )
        order = sorted(subjects.values(), key=lambda p: (self.la_id(p), p.pid))
        for person in order:
            for copy in (0, 1) if person.pid in duplicates else (0,):
                log: list[Defect] = []
                if copy:
                    self._la_ids += rng.randint(1, 9)
                    record_id = str(self._la_ids)
                    second_ids[person.pid] = record_id
                    log.append(
                        Defect(
                            "PERSON_ID",
                            "duplicate_person_record",
                            person.la_child_id or "",
                            record_id,
                        )
                    )
                else:
                    record_id = self.la_id(person)
                given, family = self._names(person, self.as_of, mess, log, "FORENAME", "SURNAME")
                uprn, line1, postcode = self._home(person, self.as_of, mess, log)
                moved_in = next((r.start for r in person.residences if r.uprn == uprn), None)
                gender = {"F": "2", "M": "1"}[person.sex]
                persons.add(
                    {
                        "PERSON_ID": record_id,
                        "FORENAME": given,
                        "SURNAME": family,
                        "DOB": self._dob(person, "%Y-%m-%d 00:00:00", mess, log, "DOB"),
                        "GENDER": gender,
                        "ETHNICITY": ETHNICITY_TEXT[person.ethnicity],
                        "NHS_NUMBER": self.mess.identifier(
                            person.nhs,
                            "NHS_NUMBER",
                            mess,
                            log,
                            missing=0.5 if copy else mess.missing_id,
                        ),
                        "UPN": self.mess.identifier(person.upn, "UPN", mess, log, missing=0.6),
                        "ADDRESS": line1,
                        "POSTCODE": postcode,
                        "ADDRESS_START": moved_in.strftime("%d/%m/%Y") if moved_in else "",
                    },
                    RowTruth(person.pid, key=record_id, defects=log),
                )
        persons.write(self.root, self.sink)

        episodes = Extract(
            "social_care",
            "social_care/episodes.csv",
            [
                "EPISODE_ID",
                "PERSON_ID",
                "EPISODE_TYPE",
                "START_DATE",
                "END_DATE",
                "REASON",
                "WORKER_ID",
                "TEAM",
                "PLACEMENT_TYPE",
                "PLACEMENT_LA",
            ],
            rng,
            encoding="cp1252",
        )
        for case in sc_cases:
            child = self.county.by_person[case.child]
            record_id = self.la_id(child)
            if child.pid in second_ids and rng.random() < 0.5:
                record_id = second_ids[child.pid]
            worker = self.workers.get(case.worker or "")
            episodes.add(
                {
                    "EPISODE_ID": case.case_id[1:],
                    "PERSON_ID": record_id,
                    "EPISODE_TYPE": SOCIAL_CARE_KIND[case.kind],
                    "START_DATE": case.start.strftime("%d-%b-%Y"),
                    "END_DATE": case.end.strftime("%d-%b-%Y") if case.end else "",
                    "REASON": case.reason if case.kind != "CLA" else "",
                    "WORKER_ID": worker.pid if worker else "",
                    "TEAM": self.teams[worker.team].name if worker else "",
                    "PLACEMENT_TYPE": case.reason if case.kind == "CLA" else "",
                    "PLACEMENT_LA": case.placement_la or "",
                },
                RowTruth(child.pid, entity=case.case_id, key=case.case_id[1:]),
            )
        episodes.write(self.root, self.sink)

        relationships = Extract(
            "social_care",
            "social_care/relationships.csv",
            ["PERSON_ID", "RELATED_PERSON_ID", "RELATIONSHIP", "START_DATE", "END_DATE"],
            rng,
            encoding="cp1252",
        )
        for child_pid in sorted(related):
            child = self.county.by_person[child_pid]
            for parent_pid, relation, start, end in related[child_pid]:
                parent = self.county.by_person[parent_pid]
                relationships.add(
                    {
                        "PERSON_ID": self.la_id(child),
                        "RELATED_PERSON_ID": self.la_id(parent),
                        "RELATIONSHIP": relation,
                        "START_DATE": start.strftime("%d-%b-%Y"),
                        "END_DATE": end.strftime("%d-%b-%Y") if end else "",
                    },
                    RowTruth(
                        child.pid,
                        entity=f"{parent_pid}>{child_pid}",
                        related=f"{relation}:{parent_pid}",
                    ),
                )
        relationships.write(self.root, self.sink)

        warnings = Extract(
            "social_care",
            "social_care/address_warnings.csv",
            [
                "WARNING_ID",
                "UPRN",
                "ADDRESS",
                "POSTCODE",
                "WARNING",
                "RECORDED_BY",
                "RECORDED_DATE",
            ],
            rng,
            encoding="cp1252",
        )
        for note in (n for n in self.county.notes if n.kind == "safety"):
            address = self.county.by_uprn[note.about]
            warnings.add(
                {
                    "WARNING_ID": note.note_id,
                    "UPRN": address.uprn,
                    "ADDRESS": address.line1,
                    "POSTCODE": address.postcode,
                    "WARNING": note.text,
                    "RECORDED_BY": note.author,
                    "RECORDED_DATE": note.at.strftime("%d/%m/%Y"),
                },
                RowTruth(None, entity=address.uprn, key=note.note_id),
            )
        warnings.write(self.root, self.sink)

        notes = Extract(
            "social_care",
            "social_care/case_notes.csv",
            ["NOTE_ID", "PERSON_ID", "EPISODE_ID", "AUTHOR", "NOTE_DATE", "NOTE_TEXT"],
            rng,
            encoding="cp1252",
        )
        sc_ids = {c.case_id for c in sc_cases}
        for note in self.county.notes:
            if note.kind != "case" or note.case_id not in sc_ids:
                continue
            child = self.county.by_person[note.about]
            notes.add(
                {
                    "NOTE_ID": note.note_id,
                    "PERSON_ID": self.la_id(child),
                    "EPISODE_ID": (note.case_id or "")[1:],
                    "AUTHOR": note.author,
                    "NOTE_DATE": note.at.strftime("%d/%m/%Y %H:%M"),
                    "NOTE_TEXT": _cp1252(note.text),
                },
                RowTruth(child.pid, entity=note.note_id, key=note.note_id),
            )
        notes.write(self.root, self.sink)

    # -- early help, health, youth justice ------------------------------------------

    def early_help(self) -> None:
        mess = SOURCE_MESS["early_help"]
        extract = Extract(
            "early_help",
            "early_help/eh_families.csv",
            [
                "Family Ref",
                "Member Name",
                "Date of Birth",
                "Gender",
                "Relationship",
                "Address Line 1",
                "Postcode",
                "Episode Start",
                "Episode End",
                "Lead Practitioner",
                "Primary Reason",
            ],
            self.rng,
            duplicate_rate=mess.duplicate_row,
            encoding="utf-8-sig",
        )
        episodes: dict[tuple[str, dt.date], list[Case]] = defaultdict(list)
        for case in self.county.cases:
            if case.kind == "EH":
                episodes[(case.family or case.child, case.start)].append(case)
        for (family, start), cases in sorted(episodes.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            members: list[tuple[Person, str, Case | None]] = [
                (self.county.by_person[c.child], "Child", c) for c in cases
            ]
            seen = {m[0].pid for m in members}
            for case in cases:
                for link in self.parents_of[case.child]:
                    if link.kind not in ("birth", "step") or not link.covers(start):
                        continue
                    parent = self.county.by_person[link.parent]
                    if parent.pid in seen or parent.address_on(start) != self.county.by_person[
                        case.child
                    ].address_on(start):
                        continue
                    seen.add(parent.pid)
                    role = {
                        "birth": "Mother" if parent.sex == "F" else "Father",
                        "step": "Stepmother" if parent.sex == "F" else "Stepfather",
                    }
                    members.append((parent, role[link.kind], None))
            lead = self.workers.get(cases[0].worker or "")
            for person, role, case in members:
                log: list[Defect] = []
                given, family_name = self._names(
                    person, start, mess, log, "Member Name", "Member Name"
                )
                _, line1, postcode = self._home(person, start, mess, log)
                extract.add(
                    {
                        "Family Ref": f"EH-{family[1:]}",
                        "Member Name": f"{given} {family_name}",
                        "Date of Birth": self._dob(person, "%d/%m/%y", mess, log, "Date of Birth"),
                        "Gender": "Female" if person.sex == "F" else "Male",
                        "Relationship": role,
                        "Address Line 1": line1,
                        "Postcode": postcode,
                        "Episode Start": start.strftime("%d/%m/%Y"),
                        "Episode End": cases[0].end.strftime("%d/%m/%Y") if cases[0].end else "",
                        "Lead Practitioner": lead.name if lead else "",
                        "Primary Reason": cases[0].reason,
                    },
                    RowTruth(
                        person.pid,
                        entity=case.case_id if case else "",
                        key=f"EH-{family[1:]}",
                        defects=log,
                    ),
                )
        extract.write(self.root, self.sink)

    def health_visiting(self) -> None:
        mess = SOURCE_MESS["health_visiting"]
        extract = Extract(
            "health_visiting",
            "health/hv_caseload.csv",
            [
                "NHS Number",
                "Child Forename",
                "Child Surname",
                "DOB",
                "Sex",
                "Parent/Carer Name",
                "Parent/Carer NHS Number",
                "Address",
                "Postcode",
                "Health Visitor",
                "HV Team",
                "Newborn Hearing Screen",
                "Identified Needs",
            ],
            self.rng,
            duplicate_rate=mess.duplicate_row,
        )
        cases = sorted((c for c in self.county.cases if c.kind == "HV"), key=lambda c: c.child)
        for case in cases:
            child = self.county.by_person[case.child]
            log: list[Defect] = []
            given, family = self._names(
                child, self.as_of, mess, log, "Child Forename", "Child Surname"
            )
            mother = next(
                (
                    self.county.by_person[link.parent]
                    for link in self.parents_of[child.pid]
                    if link.kind in ("birth", "foster", "guardian")
                    and self.county.by_person[link.parent].sex == "F"
                    and link.covers(self.as_of)
                ),
                None,
            )
            _, line1, postcode = self._home(child, self.as_of, mess, log)
            worker = self.workers.get(case.worker or "")
            needs = [n for n in self.needs[child.pid] if n.since <= self.as_of]
            extract.add(
                {
                    "NHS Number": _spaced(self.mess.identifier(child.nhs, "NHS Number", mess, log)),
                    "Child Forename": given,
                    "Child Surname": family,
                    "DOB": self._dob(child, "%d/%m/%Y", mess, log, "DOB"),
                    "Sex": "Female" if child.sex == "F" else "Male",
                    "Parent/Carer Name": (
                        f"{mother.given} {mother.surname_on(self.as_of)}" if mother else ""
                    ),
                    "Parent/Carer NHS Number": _spaced(mother.nhs or "") if mother else "",
                    "Address": line1,
                    "Postcode": postcode,
                    "Health Visitor": worker.name if worker else "",
                    "HV Team": self.teams[worker.team].name if worker else "",
                    "Newborn Hearing Screen": "Refer"
                    if any(n.code == "HI" for n in needs)
                    else "Clear response",
                    "Identified Needs": "; ".join(
                        EARLY_NEED_TEXT.get(n.code, n.code)
                        for n in sorted(needs, key=lambda n: n.rank)
                    ),
                },
                RowTruth(
                    child.pid,
                    entity=case.case_id,
                    key=child.nhs or "",
                    related=f"mother:{mother.pid}" if mother else "",
                    defects=log,
                ),
            )
        extract.write(self.root, self.sink)

    def childrens_centres(self) -> None:
        mess = SOURCE_MESS["childrens_centres"]
        extract = Extract(
            "childrens_centres",
            "health/childrens_centre_registrations.csv",
            [
                "Reg ID",
                "Child First Name",
                "Child Last Name",
                "Child DOB",
                "NHS No",
                "Centre",
                "Registered",
                "Parent First Name",
                "Parent Last Name",
                "Postcode",
                "Additional Needs",
            ],
            self.rng,
            duplicate_rate=mess.duplicate_row,
        )
        count = 0
        for enrolment in sorted(self.county.enrolments, key=lambda e: (e.start, e.child)):
            centre = self.county.by_urn[enrolment.urn]
            if centre.phase != "Children's centre":
                continue
            child = self.county.by_person[enrolment.child]
            log: list[Defect] = []
            given, family = self._names(
                child, enrolment.start, mess, log, "Child First Name", "Child Last Name"
            )
            mother = next(
                (
                    self.county.by_person[link.parent]
                    for link in self.parents_of[child.pid]
                    if link.kind == "birth" and self.county.by_person[link.parent].sex == "F"
                ),
                None,
            )
            _, _, postcode = self._home(child, enrolment.start, mess, log)
            needs = [
                EARLY_NEED_TEXT.get(n.code, n.code)
                for n in self.needs[child.pid]
                if n.since <= self.as_of
            ]
            count += 1
            extract.add(
                {
                    "Reg ID": f"CC{count:06d}",
                    "Child First Name": given,
                    "Child Last Name": family,
                    "Child DOB": self._dob(child, "%Y-%m-%d", mess, log, "Child DOB"),
                    "NHS No": self.mess.identifier(child.nhs, "NHS No", mess, log),
                    "Centre": centre.name,
                    "Registered": enrolment.start.strftime("%Y-%m-%d"),
                    "Parent First Name": mother.given if mother else "",
                    "Parent Last Name": mother.surname_on(enrolment.start) if mother else "",
                    "Postcode": postcode,
                    "Additional Needs": "Yes - " + "; ".join(needs) if needs else "No",
                },
                RowTruth(
                    child.pid,
                    entity=centre.urn,
                    key=f"CC{count:06d}",
                    related=f"mother:{mother.pid}" if mother else "",
                    defects=log,
                ),
            )
        extract.write(self.root, self.sink)

    def youth_justice(self) -> None:
        mess = SOURCE_MESS["youth_justice"]
        extract = Extract(
            "youth_justice",
            "youth_justice/yjs_cases.csv",
            [
                "YJ Ref",
                "Full Name",
                "DOB",
                "Gender",
                "Ethnicity",
                "Address",
                "Postcode",
                "Outcome",
                "Order Start",
                "Order End",
                "Case Manager",
                "UPN",
            ],
            self.rng,
            duplicate_rate=mess.duplicate_row,
        )
        for case in sorted(
            (c for c in self.county.cases if c.kind == "YJ"), key=lambda c: c.case_id
        ):
            person = self.county.by_person[case.child]
            log: list[Defect] = []
            given, family = self._names(person, case.start, mess, log, "Full Name", "Full Name")
            _, line1, postcode = self._home(person, case.start, mess, log)
            worker = self.workers.get(case.worker or "")
            extract.add(
                {
                    "YJ Ref": f"YJ/{case.case_id[1:]}",
                    "Full Name": f"{given} {family}",
                    "DOB": self._dob(person, "%d.%m.%Y", mess, log, "DOB"),
                    "Gender": "F" if person.sex == "F" else "M",
                    "Ethnicity": ETHNICITY_TEXT[person.ethnicity],
                    "Address": line1,
                    "Postcode": postcode,
                    "Outcome": case.reason,
                    "Order Start": case.start.strftime("%d.%m.%Y"),
                    "Order End": case.end.strftime("%d.%m.%Y") if case.end else "",
                    "Case Manager": worker.name if worker else "",
                    "UPN": self.mess.identifier(person.upn, "UPN", mess, log),
                },
                RowTruth(
                    person.pid, entity=case.case_id, key=f"YJ/{case.case_id[1:]}", defects=log
                ),
            )
        extract.write(self.root, self.sink)

    # -- adults, transport, carers, admissions --------------------------------------

    def council_tax(self) -> None:
        mess = SOURCE_MESS["council_tax"]
        extract = Extract(
            "council_tax",
            "council_tax/ctax_accounts.csv",
            [
                "Account Ref",
                "Liable Party",
                "UPRN",
                "Property Address",
                "Postcode",
                "Liability Start",
                "Liability End",
                "Single Person Discount",
            ],
            self.rng,
            duplicate_rate=mess.duplicate_row,
        )
        since = self.as_of - dt.timedelta(days=round(8 * 365.25))
        rows = []
        occupants: dict[str, list] = defaultdict(list)
        for person in self.county.people:
            if person.age_on(self.as_of) < 18:
                continue
            for r in person.residences:
                if (r.end is None or r.end > since) and person.age_on(r.start) >= 18:
                    occupants[r.uprn].append((r, person))
        for uprn in sorted(occupants, key=int):
            address = self.county.by_uprn[uprn]
            if not address.in_county:
                continue
            for r, person in sorted(occupants[uprn], key=lambda x: (x[0].start, x[1].pid)):
                others = [
                    p
                    for rr, p in occupants[uprn]
                    if p is not person
                    and rr.start < (r.end or self.as_of)
                    and (rr.end is None or rr.end > r.start)
                ]
                # One liable party per household: the first adult (by start) is liable.
                if any(
                    rr.start < r.start and (rr.end is None or rr.end > r.start)
                    for rr, p in occupants[uprn]
                    if p is not person
                ):
                    continue
                rows.append((r, person, address, not others))
        for index, (r, person, address, alone) in enumerate(rows):
            log: list[Defect] = []
            given, family = self._names(person, r.start, mess, log, "Liable Party", "Liable Party")
            title = (
                "Mrs"
                if person.sex == "F" and person.family_names
                else ("Ms" if person.sex == "F" else "Mr")
            )
            extract.add(
                {
                    "Account Ref": f"CT{400_000_000 + index * 7:09d}",
                    "Liable Party": f"{title} {given} {family}",
                    "UPRN": address.uprn,
                    "Property Address": address.line1,
                    "Postcode": address.postcode,
                    "Liability Start": max(r.start, since).strftime("%d/%m/%Y"),
                    "Liability End": r.end.strftime("%d/%m/%Y") if r.end else "",
                    "Single Person Discount": "Y" if alone else "N",
                },
                RowTruth(
                    person.pid,
                    entity=address.uprn,
                    key=f"CT{400_000_000 + index * 7:09d}",
                    defects=log,
                ),
            )
        extract.write(self.root, self.sink)

    def transport(self) -> None:
        mess = SOURCE_MESS["transport"]
        extract = Extract(
            "transport",
            "transport/hst_eligibility.csv",
            [
                "Pupil Surname",
                "Pupil Forename",
                "DOB",
                "School URN",
                "Eligibility",
                "Start Date",
                "Pick Up Postcode",
            ],
            self.rng,
            duplicate_rate=mess.duplicate_row,
        )
        for t in sorted(self.county.transport, key=lambda t: (t.urn, t.child)):
            person = self.county.by_person[t.child]
            log: list[Defect] = []
            given, family = self._names(
                person, t.start, mess, log, "Pupil Forename", "Pupil Surname"
            )
            _, _, postcode = self._home(person, self.as_of, mess, log)
            extract.add(
                {
                    "Pupil Surname": family,
                    "Pupil Forename": given,
                    "DOB": self._dob(person, "%d/%m/%Y", mess, log, "DOB"),
                    "School URN": t.urn,
                    "Eligibility": t.reason,
                    "Start Date": t.start.strftime("%d/%m/%Y"),
                    "Pick Up Postcode": postcode,
                },
                RowTruth(person.pid, entity=t.urn, defects=log),
            )
        extract.write(self.root, self.sink)

    def young_carers(self) -> None:
        mess = SOURCE_MESS["young_carers"]
        extract = Extract(
            "young_carers",
            "young_carers/young_carers_register.csv",
            ["Name", "DOB", "Postcode", "School URN", "Caring For", "Referral Date"],
            self.rng,
            duplicate_rate=mess.duplicate_row,
        )
        carers = sorted((p for p in self.county.people if p.young_carer), key=lambda p: p.pid)
        for person in carers:
            log: list[Defect] = []
            given, family = self._names(person, self.as_of, mess, log, "Name", "Name")
            _, _, postcode = self._home(person, self.as_of, mess, log)
            referral = self.as_of - dt.timedelta(days=self.rng.randint(30, 1400))
            extract.add(
                {
                    "Name": f"{given} {family}".strip(),
                    "DOB": self._dob(person, "%d/%m/%Y", mess, log, "DOB"),
                    "Postcode": postcode,
                    "School URN": self.school_of(person.pid, self.as_of) or "",
                    "Caring For": self.rng.choice(("Mother", "Father", "Sibling", "Grandparent")),
                    "Referral Date": max(
                        referral, person.dob + dt.timedelta(days=5 * 365)
                    ).strftime("%d/%m/%Y"),
                },
                RowTruth(person.pid, defects=log),
            )
        extract.write(self.root, self.sink)

    def admissions(self) -> None:
        mess = SOURCE_MESS["admissions"]
        year = cal.next_september(self.as_of).year
        extract = Extract(
            "admissions",
            f"admissions/offers_{year}.csv",
            [
                "Applicant Forename",
                "Applicant Surname",
                "DOB",
                "Home Postcode",
                "Current School URN",
                "Entry Point",
                "Offered School URN",
                "Offer Date",
            ],
            self.rng,
            duplicate_rate=mess.duplicate_row,
        )
        offer_day = min(self.as_of, dt.date(year, 4, 16))
        for offer in sorted(self.county.offers, key=lambda o: (o.entry_year, o.urn, o.child)):
            person = self.county.by_person[offer.child]
            log: list[Defect] = []
            given, family = self._names(
                person, self.as_of, mess, log, "Applicant Forename", "Applicant Surname"
            )
            _, _, postcode = self._home(person, self.as_of, mess, log)
            extract.add(
                {
                    "Applicant Forename": given,
                    "Applicant Surname": family,
                    "DOB": self._dob(person, "%d/%m/%Y", mess, log, "DOB"),
                    "Home Postcode": postcode,
                    "Current School URN": offer.current_urn or "",
                    "Entry Point": offer.entry_year,
                    "Offered School URN": offer.urn,
                    "Offer Date": offer_day.strftime("%d/%m/%Y"),
                },
                RowTruth(person.pid, entity=offer.urn, defects=log),
            )
        extract.write(self.root, self.sink)


def _relationship(kind: str, sex: str) -> str:
    female = sex == "F"
    return {
        "birth": "Mother" if female else "Father",
        "step": "Step-mother" if female else "Step-father",
        "foster": "Foster carer",
        "guardian": "Special guardian",
        "adoptive": "Adoptive mother" if female else "Adoptive father",
    }[kind]


def _spaced(nhs: str) -> str:
    """NHS numbers as clinicians write them: 943 476 5919."""
    if len(nhs) == 10 and nhs.isdigit():
        return f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
    return nhs


def _excel_date(text: str) -> object:
    """A real date cell when the text is a valid date, else the text as typed."""
    try:
        return dt.datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        return text


def _cp1252(text: str) -> str:
    return text.encode("cp1252", errors="replace").decode("cp1252")
