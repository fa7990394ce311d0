"""The SEND returns: the area SEND inspection's Annex A workbook and the SEN2 return.

Annex A (List 1: children and young people with an EHC plan; List 2: SEN support) has
no names, only the SEND service's own id, UPN, ULN, date of birth, gender and
ethnicity, with the column headings of the inspection's template as public
validators read them. SEN2 is XML: ``Message/Persons/Person`` with the person's
``Requests``, the EHC needs ``Assessment``, the ``NamedPlan`` and the active plan's
placement and needs (see docs/returns.md for the sources).
"""

from __future__ import annotations

import datetime as dt

from synthetic.extracts import census_day
from synthetic.mess import Defect
from synthetic.model import Case, Person
from synthetic.returns.base import ReturnWriter
from synthetic.returns.xmlout import XmlOut
from synthetic.writer import Extract, RowTruth, save_workbook

LIST_1 = [
    "Unique ID",
    "UPN",
    "ULN",
    "Date of birth",
    "Gender",
    "Ethnicity",
    "Date initial EHC plan issued",
    "Date updated EHC plan issued",
    "Date EHC plan last reviewed",
    "SEN primary need",
    "Main education establishment – URN",
    "Main education establishment – phase",
    "Subsidiary education establishment – phase (dual registration)",
    "Elective home education",
    "Suspensions",
    "Permanent exclusions",
    "Absence",
    "Pupil Premium",
    "Known to children's social care?",
    "Which children's social care team?",
    "Does the child or young person have a disability?",
]
LIST_2 = [c for c in LIST_1 if "EHC plan" not in c and c != "Elective home education"]
DISABLING = {"HI", "VI", "MSI", "PD", "PMLD", "SLD"}
SOCIAL_CARE = ("CIN", "CP", "CLA")


class AnnexASend(ReturnWriter):
    """One workbook, a sheet per list; each sheet a separate extract (a mapping each)."""

    def write(self) -> None:
        day = self.county.as_of
        relpath = f"returns/annex_a/Annex_A_SEND_{day.year}.xlsx"
        sheets = []
        for sheet, kind, columns in (("List 1", "EHCP", LIST_1), ("List 2", "SEN support", LIST_2)):
            extract = Extract(
                "annex_a_send",
                relpath,
                columns,
                self.rng,
                sheet=sheet,
                duplicate_rate=self.mess_rates.duplicate_row,
            )
            cases = sorted(
                (c for c in self.county.cases if c.kind == kind and c.covers(day)),
                key=lambda c: c.case_id,
            )
            for case in cases:
                self._row(extract, case, day)
            sheets.append(extract)
        write_workbook(self, relpath, sheets)

    def _row(self, extract: Extract, case: Case, day: dt.date) -> None:
        person = self.person(case.child)
        log: list[Defect] = []
        w = self.writers
        needs = sorted((n for n in w.needs[person.pid] if n.since <= day), key=lambda n: n.rank)
        urn = w.school_of(person.pid, day) or ""
        school = self.county.by_urn.get(urn)
        social = any(c.kind in SOCIAL_CARE and c.covers(day) for c in w.cases_by_child[person.pid])
        values = {
            "Unique ID": f"SEN{case.case_id[1:]}",
            "UPN": self.mess.identifier(person.upn, "UPN", self.mess_rates, log),
            "ULN": person.uln or "",
            "Date of birth": person.dob,
            "Gender": "Female" if person.sex == "F" else "Male",
            "Ethnicity": person.ethnicity,
            "SEN primary need": needs[0].code if needs else "",
            "Main education establishment – URN": urn,
            "Main education establishment – phase": school.phase if school else "",
            "Subsidiary education establishment – phase (dual registration)": "",
            "Suspensions": "0",
            "Permanent exclusions": "0",
            "Absence": "",
            "Pupil Premium": "Yes" if person.fsm else "No",
            "Known to children's social care?": "Yes" if social else "No",
            "Which children's social care team?": "",
            "Does the child or young person have a disability?": (
                "Yes" if any(n.code in DISABLING for n in needs) else "No"
            ),
        }
        if case.kind == "EHCP":
            reviewed = case.start + dt.timedelta(days=365)
            while reviewed + dt.timedelta(days=365) <= day:
                reviewed += dt.timedelta(days=365)
            values |= {
                "Date initial EHC plan issued": case.start,
                "Date updated EHC plan issued": "",
                "Date EHC plan last reviewed": reviewed if reviewed <= day else "",
                "Elective home education": "No",
            }
        extract.add(
            values,
            RowTruth(
                person.pid,
                entity=f"{case.kind}:{case.case_id}",
                key=values["Unique ID"],
                defects=log,
            ),
        )


def write_workbook(writer: ReturnWriter, relpath: str, sheets: list[Extract]) -> None:
    """Several extracts as the sheets of one workbook, byte-identically for a seed, with
    each sheet's rows' truth (a sheet's first data row is 2, or 4 below a title)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for extract in sheets:
        ws = book.create_sheet(extract.sheet)
        if extract.title:  # a title and a blank row above the header, as templates have
            ws.append([extract.title])
            ws.append([])
        ws.append(extract.columns)
        rows = extract._with_duplicates()
        for values, _, _ in rows:
            ws.append(values)
        first = 4 if extract.title else 2
        extract.record_truth(writer.sink, f"{relpath}#{extract.sheet}", rows, first)
        for column in ws.iter_cols(min_row=2):
            for cell in column:
                if isinstance(cell.value, dt.date):
                    cell.number_format = "DD/MM/YYYY"
    save_workbook(book, writer.root / relpath)


class Sen2(ReturnWriter):
    """Every EHC plan open in the year, with the request and assessment before it."""

    def write(self) -> None:
        h = self.history
        relpath = f"returns/sen2/SEN2_{h.as_of.year}.xml"
        out = XmlOut()
        self.open_message(out, "SEN2")
        out.open("Persons")
        plans = sorted(
            (
                c
                for c in self.county.cases
                if c.kind == "EHCP"
                and c.start <= h.as_of
                and (c.end is None or c.end >= h.year_start)
            ),
            key=lambda c: c.case_id,
        )
        count = 0
        for case in plans:
            count += self._person(out, relpath, case)
        out.close("Persons")
        out.close("Message")
        self.finish_xml(out, relpath, count)

    def _person(self, out: XmlOut, relpath: str, case: Case) -> int:
        person: Person = self.person(case.child)
        log: list[Defect] = []
        w = self.writers
        day = min(case.end or self.county.as_of, self.county.as_of)
        given, family = w._names(person, day, self.mess_rates, log, "Forename", "Surname")
        _, _, postcode = w._home(person, day, self.mess_rates, log)
        line = out.open("Person")
        out.leaf("Surname", family)
        out.leaf("Forename", given)
        out.leaf("PersonBirthDate", person.dob)
        out.leaf("Sex", person.sex)
        out.leaf("Ethnicity", person.ethnicity)
        out.leaf("PostCode", postcode)
        out.leaf("UPN", self.mess.identifier(person.upn, "UPN", self.mess_rates, log))
        out.leaf("UniqueLearnerNumber", person.uln)
        self.xml_truth(
            "sen2", relpath, line, person.pid, entity="person", key=person.upn or "", defects=log
        )
        rows = 1
        received = case.start - dt.timedelta(weeks=20)
        request = out.open("Requests")
        self.xml_truth("sen2", relpath, request, person.pid, entity=f"request:{case.case_id}")
        rows += 1
        out.leaf("ReceivedDate", received)
        out.leaf("RequestOutcomeDate", received + dt.timedelta(weeks=6))
        out.leaf("RequestOutcome", "A")
        assessment = out.open("Assessment")
        self.xml_truth("sen2", relpath, assessment, person.pid, entity=f"ehc:{case.case_id}")
        rows += 1
        out.leaf("AssessmentOutcome", "Y")
        out.leaf("AssessmentOutcomeDate", case.start)
        plan = out.open("NamedPlan")
        self.xml_truth("sen2", relpath, plan, person.pid, entity=f"plan:{case.case_id}")
        rows += 1
        out.leaf("StartDate", case.start)
        out.leaf("CeaseDate", case.end)
        out.leaf("CeaseReason", "3" if case.end else "")
        out.close("NamedPlan")
        out.close("Assessment")
        if case.end is None:
            out.open("ActivePlans")
            urn = w.school_of(person.pid, day)
            if urn:
                placement = out.open("PlacementDetail")
                self.xml_truth("sen2", relpath, placement, person.pid, entity=f"placement:{urn}")
                rows += 1
                out.leaf("URN", urn)
                out.leaf(
                    "EntryDate",
                    next(
                        (
                            e.start
                            for e in self.county.enrolments
                            if e.child == person.pid and e.urn == urn
                        ),
                        None,
                    ),
                )
                out.leaf("PlacementRank", 1)
                out.close("PlacementDetail")
            for need in sorted(w.needs[person.pid], key=lambda n: n.rank):
                number = out.open("SENneed")
                self.xml_truth("sen2", relpath, number, person.pid, entity=f"need:{need.code}")
                rows += 1
                out.leaf("SENtype", need.code)
                out.leaf("SENtypeRank", need.rank)
                out.close("SENneed")
            out.close("ActivePlans")
        out.close("Requests")
        out.close("Person")
        return rows


class SchoolCensus(ReturnWriter):
    """The school census pupil extract the council holds, in the CBDS's own names."""

    COLUMNS = (
        "LAEstab",
        "URN",
        "UPN",
        "FormerUPN",
        "Surname",
        "Forename",
        "MiddleNames",
        "PreferredSurname",
        "DOB",
        "Sex",
        "Ethnicity",
        "Language",
        "FSMeligible",
        "EnrolStatus",
        "EntryDate",
        "NCyearActual",
        "SENprovision",
        "SENtype",
        "UniqueLearnerNumber",
        "UniquePropertyReferenceNumber",
        "PAON",
        "Street",
        "Town",
        "PostCode",
    )

    def write(self) -> None:
        label, day = census_day(self.county.as_of)
        w = self.writers
        extract = Extract(
            "school_census_cbds",
            f"returns/school_census/School_Census_{label}_pupils.csv",
            list(self.COLUMNS),
            self.rng,
            duplicate_rate=self.mess_rates.duplicate_row,
        )
        rows = []
        for enrolment in self.county.enrolments:
            if not enrolment.covers(day):
                continue
            school = self.county.by_urn[enrolment.urn]
            if school.phase in ("Children's centre", "16 plus", "Nursery"):
                continue
            rows.append((school, self.person(enrolment.child), enrolment))
        from synthetic import calendar as cal

        year = cal.academic_year(day)
        for school, person, enrolment in sorted(rows, key=lambda r: (r[0].urn, r[1].pid)):
            log: list[Defect] = []
            given, family = w._names(person, day, self.mess_rates, log, "Forename", "Surname")
            sen = [
                c
                for c in w.cases_by_child[person.pid]
                if c.kind in ("EHCP", "SEN support") and c.covers(day)
            ]
            provision = "E" if any(c.kind == "EHCP" for c in sen) else "K" if sen else "N"
            needs = sorted((n for n in w.needs[person.pid] if n.since <= day), key=lambda n: n.rank)
            uprn, line1, postcode = w._home(person, day, self.mess_rates, log)
            number, _, street = line1.partition(" ")
            extract.add(
                {
                    "LAEstab": school.la_estab,
                    "URN": school.urn,
                    "UPN": self.mess.identifier(
                        person.upn, "UPN", self.mess_rates, log, missing=0.0
                    ),
                    "FormerUPN": "",
                    "Surname": family,
                    "Forename": given,
                    "MiddleNames": person.middle,
                    "PreferredSurname": "",
                    "DOB": person.dob.isoformat(),
                    "Sex": person.sex,
                    "Ethnicity": person.ethnicity,
                    "Language": person.language,
                    "FSMeligible": "1" if person.fsm else "0",
                    "EnrolStatus": "C",
                    "EntryDate": enrolment.start.isoformat(),
                    "NCyearActual": cal.year_group_label(cal.year_group(person.dob, year)),
                    "SENprovision": provision,
                    "SENtype": needs[0].code if provision != "N" and needs else "",
                    "UniqueLearnerNumber": person.uln or "",
                    "UniquePropertyReferenceNumber": uprn,
                    "PAON": number,
                    "Street": street,
                    "Town": "",
                    "PostCode": postcode,
                },
                RowTruth(person.pid, entity=school.urn, key=person.upn or "", defects=log),
            )
        extract.write(self.root, self.sink)
