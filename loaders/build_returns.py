"""The statutory returns' facts as graph rows: social care's detail about a child.

Every fact's uid is its person's uid and its natural key (an episode's start date, a
review's kind and date), so the same fact read from two files - the SSDA903 as CSV and
as XML, or its episode and its placement from the Standard Safeguarding Dataset -
is one node, and a reload changes nothing. Rows with the same uid are folded, a value
one file gives filling a gap another leaves.

Episodes are gathered into periods of care: a period begins with an episode whose
reason is "started to be looked after" (or one that does not follow on from the
child's previous episode) and ends with an episode that ceased for a reason other
than a new episode (X1). Episodes of need, child protection plans and periods of care
are cases too (CIN, CP, CLA), so every other part of Jigsaw - flags, caseloads, the
services a child is known to - sees them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter

from graph.writes import fold
from loaders.reads import Reads, iso
from planning.codes import CATEGORY_NAMES, CIN_NEED_NAMES, DISABILITY_NAMES

# The field groups this module reads; a record with none of them is not looked at.
GROUPS = (
    "referral",
    "assessment",
    "s47",
    "cin_plan",
    "cp_plan",
    "review",
    "episode",
    "care",
    "missing",
    "uasc",
    "outcome",
    "adoption",
    "permanence",
    "disability",
    "allocation",
    "request",
)
RETURN_FIELDS_PREFIXES = tuple(f"{g}." for g in GROUPS)
NEW_EPISODE_STARTS_PERIOD = "S"
CONTINUES = "X1"  # the episode ceased because a new one began the same day
PLACEMENT_CHANGES = {"P", "B", "T", "U"}  # reasons for a new episode that move the child
# what a row giving one episode may say of its whole period of care (Annex A's List 8)
CARE = ("start", "end", "reason_end", "legal_status")
# each fact's properties read as the schema names them (the rest worked out here)
REFERRAL = Reads.of("Referral", "referral")
ASSESSMENT = Reads.of("Assessment", "assessment", own="kind referral")
SECTION47 = Reads.of("Section47", "s47", own="referral")
CIN_PLAN = Reads.of("CINPlan", "cin_plan", own="referral")
CP_PLAN = Reads.of("CPPlan", "cp_plan", own="referral")
EPISODE = Reads.of("Episode", "episode", own="placement_change")
OUTCOME = Reads.of("Outcome", "outcome", own="kind")
ADOPTION = Reads.of("Adoption", "adoption")


@dataclass
class ReturnRows:
    """What the returns write, as rows for the load's steps (one list per step)."""

    referrals: list[dict] = field(default_factory=list)
    assessments: list[dict] = field(default_factory=list)
    section47s: list[dict] = field(default_factory=list)
    cin_plans: list[dict] = field(default_factory=list)
    cp_plans: list[dict] = field(default_factory=list)
    periods_of_care: list[dict] = field(default_factory=list)
    episodes: list[dict] = field(default_factory=list)
    missing_episodes: list[dict] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)
    adoptions: list[dict] = field(default_factory=list)
    statuses: list[dict] = field(default_factory=list)  # UASC and previous permanence
    disabilities: list[dict] = field(default_factory=list)
    cases: list[dict] = field(default_factory=list)  # CIN, CP and CLA, as Builder._case rows
    allocations: list[dict] = field(default_factory=list)  # WORKS_ON, as Builder rows


def has_return_fields(fields: Iterable[str]) -> bool:
    return any(f.startswith(RETURN_FIELDS_PREFIXES) or f == "person.disabled" for f in fields)


def _fold(rows: list[dict]) -> list[dict]:
    """One row per uid, in first-seen order; a later row's values fill earlier gaps
    (and, where both give a value, the later wins, as successive loads would leave it)."""
    return fold(rows, itemgetter("uid"), tuple(dict.fromkeys(k for row in rows for k in row)))


class ReturnFacts:
    """Collects the returns' facts record by record, then works out what needs all of a
    child's records (periods of care from their episodes) in :meth:`finish`."""

    def __init__(self, source_of_service: str = "social-care") -> None:
        self.rows = ReturnRows()
        self.service = source_of_service
        self._episodes: dict[str, list[dict]] = defaultdict(list)  # person -> episodes
        self._disabled: set[str] = set()  # people a list says are disabled, naming none

    def add(self, v: dict, puid: str, source: str) -> None:
        """The facts one record holds about person ``puid``."""
        rows = self.rows
        referral = self._referral(v, puid, source)
        if v.get("assessment.start"):
            kind = v.get("assessment.kind") or "social care"
            rows.assessments.append(
                {
                    "uid": f"{puid}:assessment:{kind}:{iso(v['assessment.start'])}",
                    "person": puid,
                    "kind": kind,
                    "referral": referral,
                    **ASSESSMENT(v),
                }
            )
        if v.get("s47.start"):
            rows.section47s.append(
                {
                    "uid": f"{puid}:s47:{iso(v['s47.start'])}",
                    "person": puid,
                    "referral": referral,
                    **SECTION47(v),
                }
            )
        if v.get("cin_plan.start"):
            rows.cin_plans.append(
                {
                    "uid": f"{puid}:cin_plan:{iso(v['cin_plan.start'])}",
                    "person": puid,
                    "referral": referral,
                    **CIN_PLAN(v),
                }
            )
        plan = self._cp_plan(v, puid, referral)
        if v.get("review.date"):
            kind = v.get("review.kind") or "CLA"
            ref = v.get("cp_plan.ref")  # a review naming its plan by reference
            rows.reviews.append(
                {
                    "uid": f"{puid}:review:{kind}:{iso(v['review.date'])}",
                    "person": puid,
                    "kind": kind,
                    "date": iso(v["review.date"]),
                    "participation": v.get("review.participation"),
                    "plan": plan or (f"{puid}:cp_plan-ref:{ref}" if ref else None),
                }
            )
        if v.get("episode.start"):
            self._episodes[puid].append(self._episode(v, puid))
        if v.get("missing.start"):
            kind = v.get("missing.kind") or "MISSING"
            rows.missing_episodes.append(
                {
                    "uid": f"{puid}:missing:{kind}:{iso(v['missing.start'])}",
                    "person": puid,
                    "kind": kind,
                    "start": iso(v["missing.start"]),
                    "end": iso(v.get("missing.end")),
                }
            )
        self._outcome(v, puid)
        self._adoption(v, puid)
        self._statuses(v, puid)
        self._disability(v, puid)
        if v.get("allocation.worker_id"):
            rows.allocations.append(
                {
                    "worker": str(v["allocation.worker_id"]),
                    "person": puid,
                    "from": iso(v.get("allocation.from")),
                    "to": iso(v.get("allocation.to")),
                }
            )

    # -- one record's facts ---------------------------------------------------------

    def _referral(self, v: dict, puid: str, source: str) -> str | None:
        """The uid of the referral (episode of need) the record is about, if any; a
        referral with its own fields is written."""
        date = v.get("referral.date")
        ref = v.get("referral.ref")
        if not date and not ref:
            return None
        uid = f"{puid}:referral:{iso(date)}" if date else f"{puid}:referral-ref:{ref}"
        if date and (
            v.get("referral.source")
            or v.get("referral.need")
            or v.get("referral.closed")
            or v.get("referral.nfa") is not None
            or ref
        ):
            self.rows.referrals.append({"uid": uid, "person": puid, **REFERRAL(v)})
        return uid

    def _cp_plan(self, v: dict, puid: str, referral: str | None) -> str | None:
        start = v.get("cp_plan.start")
        if not start:
            return None
        uid = f"{puid}:cp_plan:{iso(start)}"
        if v.get("review.date") and not (
            v.get("cp_plan.initial_category") or v.get("cp_plan.latest_category")
        ):
            return uid  # a review naming its plan: the plan comes from its own row
        self.rows.cp_plans.append({"uid": uid, "person": puid, "referral": referral, **CP_PLAN(v)})
        return uid

    @staticmethod
    def _episode(v: dict, puid: str) -> dict:
        row = {"uid": f"{puid}:episode:{iso(v['episode.start'])}", "person": puid, **EPISODE(v)}
        for k in CARE:  # what it says of its period, if anything (ReturnFacts._periods)
            x = v.get(f"care.{k}")
            if x is not None:
                row[f"care_{k}"] = x.isoformat() if isinstance(x, dt.date) else x
        return row

    def _outcome(self, v: dict, puid: str) -> None:
        kind = v.get("outcome.kind")
        if not kind:
            return
        self.rows.outcomes.append(
            {
                "uid": f"{puid}:outcome:{kind}:{iso(v.get('outcome.date')) or ''}",
                "person": puid,
                "kind": kind,
                **OUTCOME(v),
            }
        )

    def _adoption(self, v: dict, puid: str) -> None:
        decided = v.get("adoption.decided")
        if not decided:
            return
        self.rows.adoptions.append(
            {"uid": f"{puid}:adoption:{iso(decided)}", "person": puid, **ADOPTION(v)}
        )

    def _statuses(self, v: dict, puid: str) -> None:
        """A child's standing over a period: UASC, previous permanence."""
        if v.get("uasc.status") or v.get("uasc.ceased") or v.get("uasc.since"):
            self.rows.statuses.append(
                {
                    "uid": f"{puid}:status:UASC",
                    "person": puid,
                    "kind": "UASC",
                    "status": v.get("uasc.status") or "UASC",
                    "to": iso(v.get("uasc.ceased")),
                    "la": None,
                    "from": iso(v.get("uasc.since")),
                }
            )
        if v.get("permanence.kind"):
            kind = v["permanence.kind"]
            self.rows.statuses.append(
                {
                    "uid": f"{puid}:status:permanence:{kind}",
                    "person": puid,
                    "kind": "previous permanence",
                    "status": kind,
                    "from": iso(v.get("permanence.date")),
                    "to": None,
                    "la": v.get("permanence.la"),
                }
            )

    def _disability(self, v: dict, puid: str) -> None:
        code = v.get("disability.code")
        if code:
            self.rows.disabilities.append(
                {"person": puid, "uid": code, "name": DISABILITY_NAMES.get(code, code)}
            )
        elif v.get("person.disabled") is True:
            self._disabled.add(puid)

    # -- what needs all of a child's records --------------------------------------------

    def finish(self) -> ReturnRows:
        rows = self.rows
        for puid, episodes in self._episodes.items():
            self._periods(puid, _fold(sorted(episodes, key=lambda e: e["start"])))
        rows.referrals = _fold(rows.referrals)
        for name in (
            "assessments",
            "section47s",
            "cin_plans",
            "cp_plans",
            "reviews",
            "missing_episodes",
            "outcomes",
            "adoptions",
            "statuses",
        ):
            setattr(rows, name, _fold(getattr(rows, name)))
        # a fact naming its referral or plan by the system's reference: the same node
        named = {
            f"{r['person']}:referral-ref:{r['ref']}": r["uid"]
            for r in rows.referrals
            if r.get("ref")
        }
        named |= {
            f"{p['person']}:cp_plan-ref:{p['ref']}": p["uid"] for p in rows.cp_plans if p.get("ref")
        }
        for name, key in (
            ("assessments", "referral"),
            ("section47s", "referral"),
            ("cin_plans", "referral"),
            ("cp_plans", "referral"),
            ("reviews", "plan"),
        ):
            for row in getattr(rows, name):
                if row.get(key) in named:
                    row[key] = named[row[key]]
        rows.disabilities = self._disabilities()
        self._cases()
        return rows

    def _disabilities(self) -> list[dict]:
        """Each person's disabilities once; NONE only for someone with no other, and a
        yes with no list ("does the child have a disability?") is the Act's own (DDA)
        for someone no list names a disability for."""
        codes: dict[str, dict[str, dict]] = defaultdict(dict)
        for d in self.rows.disabilities:
            codes[d["person"]][d["uid"]] = d
        for puid in self._disabled:
            if not set(codes[puid]) - {"NONE"}:
                codes[puid] = {
                    "DDA": {"person": puid, "uid": "DDA", "name": DISABILITY_NAMES["DDA"]}
                }
        out = []
        for mine in codes.values():
            if len(mine) > 1:
                mine.pop("NONE", None)
            out += mine.values()
        return out

    def _periods(self, puid: str, episodes: list[dict]) -> None:
        """Consecutive episodes are one period of care, each episode's ``period`` its uid."""
        period: dict | None = None
        previous: dict | None = None
        for e in episodes:
            care = {k: e.pop(f"care_{k}") for k in CARE if f"care_{k}" in e}
            follows = (
                previous is not None
                and previous.get("reason_end") in (CONTINUES, None)
                and previous.get("end") in (e["start"], None)
            )
            if period is None or e.get("reason_new") == NEW_EPISODE_STARTS_PERIOD or not follows:
                start = care.get("start") or e["start"]
                period = {
                    "uid": f"{puid}:care:{start}",
                    "person": puid,
                    "start": start,
                    "end": None,
                    "reason_end": None,
                    "moves": 0,
                    "placement_type": None,
                    "legal_status": None,
                    "placement_la": None,
                }
                self.rows.periods_of_care.append(period)
            elif e.get("reason_new") in PLACEMENT_CHANGES:
                period["moves"] += 1
            e["period_of_care"] = period["uid"]
            e["placement_change"] = e.get("reason_new") in PLACEMENT_CHANGES
            period["end"] = e["end"] if e.get("reason_end") not in (CONTINUES, None) else None
            period["reason_end"] = e.get("reason_end") if period["end"] else None
            if care.get("end"):  # the period's end, given with one of its episodes
                period["end"], period["reason_end"] = care["end"], care.get("reason_end")
            for name in ("placement_type", "legal_status", "placement_la"):
                period[name] = e.get(name) or care.get(name) or period[name]
            self.rows.episodes.append(e)
            previous = e

    def _cases(self) -> None:
        """Episodes of need, child protection plans and periods of care as cases."""
        rows = self.rows
        for r in rows.referrals:
            if r.get("nfa") is True or not r.get("date"):
                continue
            need = CIN_NEED_NAMES.get(r.get("need") or "", r.get("need"))
            rows.cases.append(_case(r["person"], "CIN", r["date"], r.get("closed"), need))
        for p in rows.cp_plans:
            category = p.get("latest_category") or p.get("initial_category") or ""
            reason = CATEGORY_NAMES.get(category, category) or None
            rows.cases.append(_case(p["person"], "CP", p["start"], p.get("end"), reason))
        for p in rows.periods_of_care:
            placement = {k: p.get(k) for k in ("placement_type", "placement_la")}
            reason = p.get("placement_type")
            rows.cases.append(
                _case(p["person"], "CLA", p["start"], p.get("end"), reason, placement)
            )
        for a in rows.allocations:  # to the case the child had then, CLA first
            a["case"] = self._case_on(a["person"], a.get("from"))

    def _case_on(self, puid: str, day: str | None) -> str | None:
        if not hasattr(self, "_by_person"):
            self._by_person: dict[str, list[dict]] = defaultdict(list)
            for c in self.rows.cases:
                self._by_person[c["person"]].append(c)
        order = {"CLA": 0, "CP": 1, "CIN": 2}
        mine = sorted(self._by_person.get(puid, []), key=lambda c: (order[c["kind"]], c["start"]))
        for c in mine:
            if day is None or ((c["start"] or "") <= day and (not c["end"] or day < c["end"])):
                return c["uid"]
        return mine[0]["uid"] if mine else None


def _case(
    puid: str,
    kind: str,
    start: str | None,
    end: str | None,
    reason: str | None,
    placement: dict | None = None,
) -> dict:
    """A return's case (CIN, CP, CLA), of the child's social care; ``placement``: its
    placement's type and local authority (a period of care's)."""
    props = {"start": start, "end": end, "reason": reason, "placement_la": None}
    props |= placement or {"placement_type": None}
    return case_row(f"{puid}:{kind}:{start}", puid, kind, "social-care", props)


def case_row(uid: str, puid: str, kind: str, service: str, props: dict, out: bool = False) -> dict:
    """A case's row, the builder's and the returns' alike: ``props`` its dates, reason
    and placement (those ``Case`` declares), ``out`` whether it is placed out of area;
    open while it has no end."""
    status = "closed" if props["end"] else "open"
    row = {"uid": uid, "person": puid, **props, "kind": kind, "status": status}
    return {**row, "placement_out_of_area": out, "service": service}
