"""The SSDA903 (children looked after) return: its CSV files and the same return as XML.

Column names, code sets and the ``dd/mm/yyyy`` dates follow the DfE's SSDA903
2024-25 file layout (see docs/returns.md for the sources). The XML form is written in
the expanded layout's shape: ``EXPSSDA903/CHILD`` with a ``HEADER`` and the child's
episodes, reviews, missing episodes and outcomes under it, element names as the CSV
columns.
"""

from __future__ import annotations

from synthetic.mess import Defect
from synthetic.returns.base import SEX_903, ReturnWriter, dmy
from synthetic.returns.history import PeriodOfCare
from synthetic.returns.xmlout import XmlOut
from synthetic.writer import Extract, RowTruth

SOURCE = "ssda903"
COLUMNS = {
    "header": ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"],
    "episodes": [
        "CHILD",
        "DECOM",
        "RNE",
        "LS",
        "CIN",
        "PLACE",
        "PLACE_PROVIDER",
        "DEC",
        "REC",
        "REASON_PLACE_CHANGE",
        "HOME_POST",
        "PL_POST",
        "URN",
    ],
    "uasc": ["CHILD", "SEX", "DOB", "DUC"],
    "missing": ["CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"],
    "reviews": ["CHILD", "DOB", "REVIEW", "REVIEW_CODE"],
    "oc2": [
        "CHILD",
        "DOB",
        "SDQ_SCORE",
        "SDQ_REASON",
        "CONVICTED",
        "HEALTH_CHECK",
        "IMMUNISATIONS",
        "TEETH_CHECK",
        "HEALTH_ASSESSMENT",
        "SUBSTANCE_MISUSE",
        "INTERVENTION_RECEIVED",
        "INTERVENTION_OFFERED",
    ],
    "oc3": ["CHILD", "DOB", "IN_TOUCH", "ACTIV", "ACCOM"],
    "ad1": [
        "CHILD",
        "DOB",
        "DATE_INT",
        "DATE_MATCH",
        "FOSTER_CARE",
        "NB_ADOPTR",
        "SEX_ADOPTR",
        "LS_ADOPTR",
    ],
    "placed_for_adoption": [
        "CHILD",
        "DOB",
        "DATE_PLACED",
        "DATE_PLACED_CEASED",
        "REASON_PLACED_CEASED",
    ],
    "previous_permanence": ["CHILD", "DOB", "PREV_PERM", "LA_PERM", "DATE_PERM"],
    "sw_episodes": ["CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"],
}
# the collection element holding several of a kind under each child, in the XML
XML_LISTS = {
    "episodes": ("EPISODES", "EPISODE"),
    "reviews": ("REVIEWS", "REVIEW"),
    "missing": ("MISSING_EPISODES", "MISSING_EPISODE"),
    "sw_episodes": ("SW_EPISODES", "SW_EPISODE"),
}
XML_SINGLE = {
    "uasc": "UASC",
    "oc2": "OC2",
    "oc3": "OC3",
    "ad1": "AD1",
    "placed_for_adoption": "PLACED_ADOPTION",
    "previous_permanence": "PREV_PERM",
}


class Ssda903(ReturnWriter):
    """Rows per file first (one list of (values, truth) per file), then CSV and XML."""

    def write(self) -> None:
        rows = self._rows()
        for name, columns in COLUMNS.items():
            extract = Extract(
                SOURCE,
                f"returns/ssda903/{name}.csv",
                columns,
                self.rng,
                duplicate_rate=self.mess_rates.duplicate_row,
            )
            for values, truth in rows[name]:
                extract.add(values, truth)
            extract.write(self.root, self.sink)
        self._xml(rows)

    def _rows(self) -> dict[str, list[tuple[dict, RowTruth]]]:
        rows: dict[str, list[tuple[dict, RowTruth]]] = {name: [] for name in COLUMNS}
        h = self.history
        periods: dict[str, list[PeriodOfCare]] = {}
        for period in h.periods:
            periods.setdefault(period.child, []).append(period)
        leavers = {c.child: c for c in h.leavers}
        outcomes = {o.child: o for o in h.outcomes}
        for pid in sorted({*periods, *leavers}, key=self.la_id):
            person = self.person(pid)
            child = self.la_id(pid)
            dob = dmy(person.dob)
            log: list[Defect] = []
            if pid in leavers or not self.hit(0.01):  # a few have no header row
                rows["header"].append(
                    (
                        {
                            "CHILD": child,
                            "SEX": SEX_903[person.sex],
                            "DOB": dob,
                            "ETHNIC": person.ethnicity,
                            "UPN": self.upn(person, "UPN", log),
                            "MOTHER": "0"
                            if person.sex == "F" and person.age_on(h.as_of) >= 12
                            else "",
                            "MC_DOB": "",
                        },
                        RowTruth(pid, entity="header", key=child, defects=log),
                    )
                )
            for period in periods.get(pid, []):
                self._period(rows, pid, child, dob, period)
            if pid in outcomes:
                o = outcomes[pid]
                yes = {True: "1", False: "0"}
                rows["oc2"].append(
                    (
                        {
                            "CHILD": child,
                            "DOB": dob,
                            "SDQ_SCORE": "" if o.sdq is None else str(o.sdq),
                            "SDQ_REASON": "" if o.sdq is not None else "SDQ1",
                            "CONVICTED": yes[o.convicted],
                            "HEALTH_CHECK": yes[o.health_check],
                            "IMMUNISATIONS": yes[o.immunisations],
                            "TEETH_CHECK": yes[o.teeth],
                            "HEALTH_ASSESSMENT": yes[o.health_check],
                            "SUBSTANCE_MISUSE": yes[o.substance_misuse],
                            "INTERVENTION_RECEIVED": yes[o.substance_misuse],
                            "INTERVENTION_OFFERED": yes[o.substance_misuse],
                        },
                        RowTruth(pid, entity="oc2", key=child),
                    )
                )
            if pid in leavers:
                c = leavers[pid]
                rows["oc3"].append(
                    (
                        {
                            "CHILD": child,
                            "DOB": dob,
                            "IN_TOUCH": c.in_touch,
                            "ACTIV": c.activity,
                            "ACCOM": c.accommodation,
                        },
                        RowTruth(pid, entity="oc3", key=child),
                    )
                )
        return rows

    def _period(self, rows: dict, pid: str, child: str, dob: str, period: PeriodOfCare) -> None:
        h = self.history
        for e in period.episodes:
            if e.end is not None and e.end < h.year_start:
                continue  # the return holds the episodes open in its year
            log: list[Defect] = []
            decom = dmy(e.start)
            if self.hit(0.003):
                log.append(Defect("DECOM", "blank_required", decom, ""))
                decom = ""
            place = e.placement
            if self.hit(0.005):
                log.append(Defect("PLACE", "invalid_code", place, "U9"))
                place = "U9"
            rows["episodes"].append(
                (
                    {
                        "CHILD": child,
                        "DECOM": decom,
                        "RNE": e.reason_new,
                        "LS": e.legal_status,
                        "CIN": e.need,
                        "PLACE": place,
                        "PLACE_PROVIDER": e.provider,
                        "DEC": dmy(e.end),
                        "REC": e.reason_end or "",
                        "REASON_PLACE_CHANGE": e.reason_change or "",
                        "HOME_POST": self.postcode(e.home_postcode, "HOME_POST", log),
                        "PL_POST": self.postcode(e.placement_postcode, "PL_POST", log),
                        "URN": e.urn or "",
                    },
                    RowTruth(pid, entity=f"episode:{e.start.isoformat()}", key=child, defects=log),
                )
            )
        for m in period.missing:
            if m.start < h.year_start:
                continue
            rows["missing"].append(
                (
                    {
                        "CHILD": child,
                        "DOB": dob,
                        "MISSING": m.kind,
                        "MIS_START": dmy(m.start),
                        "MIS_END": dmy(m.end),
                    },
                    RowTruth(pid, entity=f"missing:{m.start.isoformat()}", key=child),
                )
            )
        for day, code in period.reviews:
            if day < h.year_start:
                continue
            rows["reviews"].append(
                (
                    {"CHILD": child, "DOB": dob, "REVIEW": dmy(day), "REVIEW_CODE": code},
                    RowTruth(pid, entity=f"review:{day.isoformat()}", key=child),
                )
            )
        person = self.person(pid)
        if period.uasc:
            rows["uasc"].append(
                (
                    {
                        "CHILD": child,
                        "SEX": SEX_903[person.sex],
                        "DOB": dob,
                        "DUC": dmy(period.uasc_ceased),
                    },
                    RowTruth(pid, entity="uasc", key=child),
                )
            )
        kind, la, day = period.previous_permanence
        rows["previous_permanence"].append(
            (
                {
                    "CHILD": child,
                    "DOB": dob,
                    "PREV_PERM": kind,
                    "LA_PERM": la,
                    "DATE_PERM": dmy(day),
                },
                RowTruth(pid, entity="previous_permanence", key=child),
            )
        )
        if period.adoption_decided:
            rows["placed_for_adoption"].append(
                (
                    {
                        "CHILD": child,
                        "DOB": dob,
                        "DATE_PLACED": dmy(period.adoption_decided),
                        "DATE_PLACED_CEASED": "",
                        "REASON_PLACED_CEASED": "",
                    },
                    RowTruth(pid, entity="placed_for_adoption", key=child),
                )
            )
        if period.adoption_matched:
            number, sex, status = period.adopters
            rows["ad1"].append(
                (
                    {
                        "CHILD": child,
                        "DOB": dob,
                        "DATE_INT": dmy(period.adoption_decided),
                        "DATE_MATCH": dmy(period.adoption_matched),
                        "FOSTER_CARE": "0",
                        "NB_ADOPTR": str(number),
                        "SEX_ADOPTR": sex,
                        "LS_ADOPTR": status,
                    },
                    RowTruth(pid, entity="ad1", key=child),
                )
            )
        if period.worker:
            rows["sw_episodes"].append(
                (
                    {
                        "CHILD": child,
                        "DOB": dob,
                        "SW_ID": period.worker,
                        "SW_DECOM": dmy(max(period.start, h.year_start)),
                        "SW_DEC": "",
                        "SW_REASON": "",
                    },
                    RowTruth(pid, entity="sw_episode", key=child),
                )
            )

    def _xml(self, rows: dict[str, list[tuple[dict, RowTruth]]]) -> None:
        """The same rows as one XML file, a CHILD element for each child."""
        relpath = f"returns/ssda903_xml/SSDA903_{self.history.as_of.year}.xml"
        source = f"{SOURCE}_xml"
        by_child: dict[str, dict[str, list[tuple[dict, RowTruth]]]] = {}
        for name, items in rows.items():
            for values, truth in items:
                by_child.setdefault(values["CHILD"], {}).setdefault(name, []).append(
                    (values, truth)
                )
        out = XmlOut()
        out.open("EXPSSDA903")
        count = 0
        for child in sorted(by_child):
            kinds = by_child[child]
            if "header" not in kinds:  # the XML always has the child's header
                pid = next(t.person for items in kinds.values() for _, t in items)
                assert pid is not None
                person = self.person(pid)
                kinds["header"] = [
                    (
                        {
                            "CHILD": child,
                            "SEX": SEX_903[person.sex],
                            "DOB": dmy(person.dob),
                            "ETHNIC": person.ethnicity,
                            "UPN": person.upn or "UN2",
                            "MOTHER": "",
                            "MC_DOB": "",
                        },
                        RowTruth(pid, entity="header", key=child),
                    )
                ]
            out.open("CHILD")
            for name in ("header", *XML_SINGLE):
                for values, truth in kinds.get(name, []):
                    line = self._element(
                        out, "HEADER" if name == "header" else XML_SINGLE[name], values
                    )
                    self.xml_row(source, relpath, line, truth)
                    count += 1
            for name, (collection, tag) in XML_LISTS.items():
                if kinds.get(name):
                    out.open(collection)
                    for values, truth in kinds[name]:
                        line = self._element(out, tag, values)
                        self.xml_row(source, relpath, line, truth)
                        count += 1
                    out.close(collection)
            out.close("CHILD")
        out.close("EXPSSDA903")
        self.finish_xml(out, relpath, count)

    @staticmethod
    def _element(out: XmlOut, tag: str, values: dict) -> int:
        """The child's id only in its HEADER; each other element inherits it."""
        line = out.open(tag)
        for name, value in values.items():
            if name == "CHILD":
                if tag == "HEADER":
                    out.leaf("CHILDID", value)
            else:
                out.leaf(name, value)
        out.close(tag)
        return line
