"""The children in need census: one XML file, ``Message/Children/Child``.

Element names and code sets follow the CIN census 2024-25 specification as public
validators read it (see docs/returns.md): ``ChildIdentifiers`` (``LAchildID``,
``UPN``, ``PersonBirthDate``, ``Sex``), ``ChildCharacteristics`` with its
``Disabilities``, and one ``CINdetails`` per episode of need holding its
``Assessments``, ``CINPlanDates``, ``Section47`` and ``ChildProtectionPlans``.
"""

from __future__ import annotations

from synthetic.mess import Defect
from synthetic.returns.base import ReturnWriter
from synthetic.returns.history import Referral
from synthetic.returns.xmlout import XmlOut

SOURCE = "cin_census"


class CinCensus(ReturnWriter):
    def write(self) -> None:
        h = self.history
        relpath = f"returns/cin_census/CIN_Census_{h.as_of.year}.xml"
        out = XmlOut()
        self.open_message(out, "CIN")
        out.open("Children")
        referrals: dict[str, list[Referral]] = {}
        for r in h.referrals:
            referrals.setdefault(r.child, []).append(r)
        count = 0
        for pid in sorted(referrals, key=self.la_id):
            count += self._child(out, relpath, pid, referrals[pid])
        out.close("Children")
        out.close("Message")
        self.finish_xml(out, relpath, count)

    def _child(self, out: XmlOut, relpath: str, pid: str, referrals: list[Referral]) -> int:
        person = self.person(pid)
        log: list[Defect] = []
        rows = 0
        line = out.open("Child")
        out.open("ChildIdentifiers")
        la_id = self.la_id(pid)
        if self.hit(0.002):  # a child sent without the id every row of it hangs on
            log.append(Defect("LAchildID", "blank_required", la_id, ""))
            la_id = ""
        out.leaf("LAchildID", la_id)
        upn = self.mess.identifier(person.upn, "UPN", self.mess_rates, log, missing=0.0)
        out.leaf("UPN", upn)
        if not upn:
            out.leaf("UPNunknown", "UN1" if person.age_on(self.county.as_of) < 5 else "UN2")
        out.leaf("PersonBirthDate", person.dob)
        out.leaf("Sex", person.sex)
        out.close("ChildIdentifiers")
        out.open("ChildCharacteristics")
        out.leaf("Ethnicity", person.ethnicity)
        out.open("Disabilities")
        disability_lines = [out.leaf("Disability", code) for code in self.history.disabilities[pid]]
        out.close("Disabilities")
        out.close("ChildCharacteristics")
        self.xml_truth(SOURCE, relpath, line, pid, entity="child", key=la_id, defects=log)
        rows += 1
        for number, code in zip(disability_lines, self.history.disabilities[pid], strict=True):
            self.xml_truth(SOURCE, relpath, number, pid, entity=f"disability:{code}", key=la_id)
            rows += 1
        for r in referrals:
            rows += self._details(out, relpath, pid, la_id, r)
        out.close("Child")
        return rows

    def _details(self, out: XmlOut, relpath: str, pid: str, la_id: str, r: Referral) -> int:
        def truth(line: int, entity: str) -> None:
            self.xml_truth(SOURCE, relpath, line, pid, entity=entity, key=la_id)

        rows = 1
        line = out.open("CINdetails")
        truth(line, f"referral:{r.date.isoformat()}")
        out.leaf("CINreferralDate", r.date)
        out.leaf("ReferralSource", r.source)
        out.leaf("PrimaryNeedCode", r.need)
        out.leaf("CINclosureDate", r.closed)
        out.leaf("ReasonForClosure", r.closure_reason)
        for a in r.assessments:
            rows += 1
            truth(out.open("Assessments"), f"assessment:{a.start.isoformat()}")
            out.leaf("AssessmentActualStartDate", a.start)
            out.leaf("AssessmentAuthorisationDate", a.end)
            out.open("FactorsIdentifiedAtAssessment")
            for code in a.factors:
                out.leaf("AssessmentFactors", code)
            out.close("FactorsIdentifiedAtAssessment")
            out.close("Assessments")
        for start, end in r.cin_plans:
            rows += 1
            truth(out.open("CINPlanDates"), f"cin_plan:{start.isoformat()}")
            out.leaf("CINPlanStartDate", start)
            out.leaf("CINPlanEndDate", end)
            out.close("CINPlanDates")
        for s in r.s47:
            rows += 1
            truth(out.open("Section47"), f"s47:{s.start.isoformat()}")
            out.leaf("S47ActualStartDate", s.start)
            out.leaf("InitialCPCtarget", s.icpc_target)
            out.leaf("DateOfInitialCPC", s.icpc_date)
            out.leaf("ICPCnotRequired", "true" if s.not_required else "false")
            out.close("Section47")
        out.leaf("ReferralNFA", "true" if r.nfa else "false")
        for p in r.cp_plans:
            rows += 1
            truth(out.open("ChildProtectionPlans"), f"cp_plan:{p.start.isoformat()}")
            out.leaf("CPPstartDate", p.start)
            out.leaf("CPPendDate", p.end)
            out.leaf("InitialCategoryOfAbuse", p.initial)
            out.leaf("LatestCategoryOfAbuse", p.latest)
            out.leaf("NumberOfPreviousCPP", p.previous)
            if p.reviews:
                out.open("Reviews")
                for day in p.reviews:
                    rows += 1
                    truth(out.leaf("CPPreviewDate", day), f"cp_review:{day.isoformat()}")
                out.close("Reviews")
            out.close("ChildProtectionPlans")
        out.close("CINdetails")
        return rows
