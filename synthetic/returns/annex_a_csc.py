"""Annex A of the inspection of local authority children's services: one workbook, a
sheet per list (List 1 contacts ... List 10 adoption), with the template's column
headings as public validators read them (see docs/returns.md for the source).

Every list names the child by the case system's id, with gender, ethnicity and date of
birth, and no names. Drop-down cells are written as the template writes them, some with
their label ("a) Male", "N1 - Abuse or neglect", "C2: FCO", "a) Neglect"), some as the
bare code. The lists cover the county's return year; List 2 (early help assessments) is
written with its header only: the county's early help is in its own extract.
"""

from __future__ import annotations

from synthetic.care import CIN_NEEDS
from synthetic.mess import Defect
from synthetic.returns.base import ReturnWriter
from synthetic.returns.history import PeriodOfCare, Referral
from synthetic.returns.send import write_workbook
from synthetic.writer import Extract, RowTruth

SOURCE = "annex_a_csc"
CHILD = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)"]
DISABILITY = "Does the Child have a Disability"
ALLOCATED = ["Allocated Team", "Allocated Worker"]
UASC_RECENT = "Unaccompanied Asylum Seeking Child (UASC) within the Last 12 Months (Y/N)"
UASC_EVER = "Unaccompanied Asylum Seeking Child (UASC), or formerly UASC if 18 or over (Y/N)"
LISTS: dict[str, list[str]] = {
    "List 1": [*CHILD, "Date of Contact", "Contact Source"],
    "List 2": [
        *CHILD,
        "Assessment start date",
        "Assessment completion date",
        "Organisation completing assessment",
    ],
    "List 3": [
        *CHILD,
        "Date of referral",
        "Referral Source",
        "Referral NFA?",
        "Number of Referrals in Last 12 Months",
        *ALLOCATED,
    ],
    "List 4": [
        *CHILD,
        DISABILITY,
        "Continuous Assessment Start Date",
        "Child Seen During Continuous Assessment",
        "Continuous Assessment Date of Authorisation",
        "Was the child assessed as requiring LA children's social care support?",
        *ALLOCATED,
    ],
    "List 5": [
        *CHILD,
        DISABILITY,
        "Strategy discussion initiating Section 47 Enquiry Start Date",
        "Was an Initial Child Protection Conference deemed unnecessary?",
        "Date of Initial Child Protection Conference",
        "Did the Initial Child Protection Conference Result in a Child Protection Plan",
        "Number of Section 47 Enquiries in the last 12 months",
        "Number of ICPCs in the last 12 months",
        *ALLOCATED,
    ],
    "List 6": [
        *CHILD,
        DISABILITY,
        "CIN Start Date",
        "Primary Need Code",
        "Date Child Was Last Seen",
        "CIN Closure Date",
        "Reason for Closure",
        "Case Status",
        *ALLOCATED,
    ],
    "List 7": [
        *CHILD,
        DISABILITY,
        "Child Protection Plan Start Date",
        "Initial Category of Abuse",
        "Latest Category of Abuse",
        "Date of the Last Statutory Visit",
        "Was the Child Seen Alone?",
        "Date of latest review conference",
        "Child Protection Plan End Date",
        "Subject to Emergency Protection Order or Protected Under Police Powers in Last "
        "Six Months (Y/N)",
        "Number of Previous Child Protection Plans",
        *ALLOCATED,
    ],
    "List 8": [
        *CHILD,
        UASC_RECENT,
        DISABILITY,
        "Date Started to be Looked After",
        "Child's Category of Need",
        "Is this a second or subsequent period of being a Looked After Child within the "
        "last 12 months (Y/N)",
        "Start date of current legal status",
        "Child's Legal Status",
        "Date of Latest Statutory Review",
        "Date of Last Social Work Visit",
        "What is the permanence plan for this child?",
        "Date of Last IRO Visit / Contact to the Child",
        "Date of Last Health Assessment",
        "Date of Last Dental Check",
        "Number of Placements in the Last 12 months",
        "Date Ceased to be Looked After",
        "Reason Ceased to be Looked After",
        "Start Date of Most Recent Placement",
        "Placement Type",
        "Placement Provider",
        "Placement postcode",
        "URN of Placement",
        "Placement Location",
        "LA of Placement",
        "Number of Episodes the Child has been 'Missing' from their Placement in the last "
        "12 months",
        "Number of Episodes the Child has been 'Absent' from their Placement in the last 12 months",
        *ALLOCATED,
    ],
    "List 9": [
        *CHILD,
        UASC_EVER,
        DISABILITY,
        *ALLOCATED,
        "Allocated Personal Advisor",
        "Eligibility Category",
        "Latest Pathway Plan Review Date",
        "LA in Touch",
        "Latest Date of Contact",
        "Type of Accommodation",
        "Suitability of Accommodation",
        "Activity Status",
    ],
    "List 10": [
        "Child Unique ID",
        "Family identifier",
        "Gender",
        "Ethnicity",
        "Date of Birth",
        "Age of Child (Years)",
        DISABILITY,
        "Date the Child Entered Care",
        "Date of Decision that Child Should be Placed for Adoption",
        "Date of Placement Order",
        "Date of Matching Child and Prospective Adopters",
        "Date Placed for Adoption",
        "Date of Adoption Order",
        "Date of Decision that Child Should No Longer be Placed for Adoption",
        "Reason Why Child No Longer Placed for Adoption",
        "Date the child was placed for fostering in FFA or concurrent planning placement",
    ],
}
# the need codes' labels as the template's drop-down writes them ("N1 - Abuse or neglect")
NEEDS = {"N0": "Not stated", **dict(k.split(" ", 1) for k in CIN_NEEDS)}
CATEGORIES = {
    "NEG": "a) Neglect",
    "PHY": "b) Physical abuse",
    "SAB": "c) Sexual abuse",
    "EMO": "d) Emotional abuse",
    "MUL": "e) Multiple/not recommended",
}
LEGAL = {
    "C1": "C1: ICO",
    "C2": "C2: FCO",
    "E1": "E1: Placement order",
    "V2": "V2: Single period under S20",
}
PLACEMENT_STARTS = {"S", "P", "T", "B", "U"}  # a new episode that starts a placement
TITLE = "Annex A: children's social care"


class AnnexACsc(ReturnWriter):
    def write(self) -> None:
        h = self.history
        relpath = f"returns/annex_a_csc/Annex_A_CSC_{h.as_of.year}.xlsx"
        sheets = {
            name: Extract(
                SOURCE,
                relpath,
                columns,
                self.rng,
                sheet=name,
                duplicate_rate=self.mess_rates.duplicate_row,
                title=TITLE if name == "List 8" else None,
            )
            for name, columns in LISTS.items()
        }
        for r in sorted(h.referrals, key=lambda r: (self.la_id(r.child), r.date)):
            self._referral(sheets, r)
        for p in sorted(h.periods, key=lambda p: (self.la_id(p.child), p.start)):
            self._looked_after(sheets, p)
        for c in sorted(h.leavers, key=lambda c: self.la_id(c.child)):
            values = {
                UASC_EVER: "N",
                "LA in Touch": c.in_touch,
                "Latest Date of Contact": "",
                "Type of Accommodation": c.accommodation[:1],
                "Suitability of Accommodation": "a) Suitable"
                if c.accommodation.endswith("1")
                else "b) Unsuitable",
                "Activity Status": c.activity,
            }
            self._add(sheets["List 9"], c.child, values, "care_leaver")
        write_workbook(self, relpath, list(sheets.values()))

    def _add(self, extract: Extract, pid: str, values: dict, entity: str) -> None:
        person = self.person(pid)
        log: list[Defect] = []
        la_id = self.la_id(pid)
        if self.hit(self.mess_rates.missing_id):  # a row with no id: nothing to link it by
            log.append(Defect("Child Unique ID", "missing_id", la_id, ""))
            la_id = ""
        values = {
            "Child Unique ID": la_id,
            "Gender": "a) Male" if person.sex == "M" else "b) Female",
            "Ethnicity": person.ethnicity,
            "Date of Birth": person.dob,
            "Age of Child (Years)": person.age_on(self.history.as_of),
            **values,
        }
        if DISABILITY in extract.columns:
            codes = self.history.disabilities.get(pid)
            values[DISABILITY] = (
                "c) Unknown" if codes is None else "b) No" if codes == ["NONE"] else "a) Yes"
            )
        extract.add(values, RowTruth(pid, entity=entity, key=la_id, defects=log))

    def _referral(self, sheets: dict[str, Extract], r: Referral) -> None:
        h = self.history
        if r.date >= h.year_start:
            self._add(
                sheets["List 1"],
                r.child,
                {"Date of Contact": r.date, "Contact Source": r.source},
                f"contact:{r.date.isoformat()}",
            )
            self._add(
                sheets["List 3"],
                r.child,
                {
                    "Date of referral": r.date,
                    "Referral Source": r.source,
                    "Referral NFA?": "a) Yes" if r.nfa else "b) No",
                },
                f"referral:{r.date.isoformat()}",
            )
        for a in r.assessments:
            if a.start >= h.year_start:
                self._add(
                    sheets["List 4"],
                    r.child,
                    {
                        "Continuous Assessment Start Date": a.start,
                        "Continuous Assessment Date of Authorisation": a.end or "",
                    },
                    f"assessment:{a.start.isoformat()}",
                )
        for s in r.s47:
            if s.start >= h.year_start:
                self._add(
                    sheets["List 5"],
                    r.child,
                    {
                        "Strategy discussion initiating Section 47 Enquiry Start Date": s.start,
                        "Was an Initial Child Protection Conference deemed unnecessary?": "a) Yes"
                        if s.not_required
                        else "b) No",
                        "Date of Initial Child Protection Conference": s.icpc_date or "",
                    },
                    f"s47:{s.start.isoformat()}",
                )
        if not r.nfa:
            self._add(
                sheets["List 6"],
                r.child,
                {
                    "CIN Start Date": r.date,
                    "Primary Need Code": f"{r.need} - {NEEDS[r.need]}",
                    "CIN Closure Date": r.closed or "",
                    "Reason for Closure": r.closure_reason or "",
                },
                f"referral:{r.date.isoformat()}",
            )
        for p in r.cp_plans:
            self._add(
                sheets["List 7"],
                r.child,
                {
                    "Child Protection Plan Start Date": p.start,
                    "Initial Category of Abuse": CATEGORIES[p.initial],
                    "Latest Category of Abuse": p.latest,
                    "Date of latest review conference": max(p.reviews) if p.reviews else "",
                    "Child Protection Plan End Date": p.end or "",
                    "Number of Previous Child Protection Plans": p.previous,
                },
                f"cp_plan:{p.start.isoformat()}",
            )

    def _looked_after(self, sheets: dict[str, Extract], p: PeriodOfCare) -> None:
        h = self.history
        started = [e for e in p.episodes if e.start <= h.as_of]
        placed = [e for e in started if e.reason_new in PLACEMENT_STARTS][-1]
        now = started[-1]
        reviews = [day for day, _ in p.reviews if day <= h.as_of]
        ended = p.end is not None and p.end <= h.as_of
        moves = sum(1 for e in started if e.reason_new != "L" and e.start > h.year_start)
        self._add(
            sheets["List 8"],
            p.child,
            {
                UASC_RECENT: "Y" if p.uasc else "N",
                "Date Started to be Looked After": p.start,
                "Child's Category of Need": placed.need,
                "Start date of current legal status": _since(started),
                "Child's Legal Status": LEGAL.get(now.legal_status, now.legal_status),
                "Date of Latest Statutory Review": max(reviews) if reviews else "",
                "Number of Placements in the Last 12 months": moves,
                "Date Ceased to be Looked After": p.end if ended else "",
                "Reason Ceased to be Looked After": now.reason_end if ended else "",
                "Start Date of Most Recent Placement": placed.start,
                "Placement Type": placed.placement,
                "Placement Provider": placed.provider,
                "Placement postcode": placed.placement_postcode,
                "URN of Placement": placed.urn or "",
                "Number of Episodes the Child has been 'Missing' from their Placement in the last "
                "12 months": sum(1 for m in p.missing if m.kind == "M" and m.start > h.year_start),
                "Number of Episodes the Child has been 'Absent' from their Placement in the last "
                "12 months": sum(1 for m in p.missing if m.kind == "A" and m.start > h.year_start),
            },
            f"episode:{placed.start.isoformat()}",
        )
        if p.adoption_decided is not None:
            self._add(
                sheets["List 10"],
                p.child,
                {
                    "Date the Child Entered Care": p.start,
                    "Date of Decision that Child Should be Placed for Adoption": p.adoption_decided,
                    "Date of Matching Child and Prospective Adopters": p.adoption_matched or "",
                },
                f"adoption:{p.adoption_decided.isoformat()}",
            )


def _since(episodes: list) -> object:
    """When the latest episode's legal status began: the first of the episodes at the
    end of the period that share it."""
    since = episodes[-1]
    for e in reversed(episodes):
        if e.legal_status != since.legal_status:
            break
        since = e
    return since.start
