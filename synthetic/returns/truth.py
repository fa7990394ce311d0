"""The returns' detail as ground truth: one CSV per kind of fact, keyed by true person.

Tests compute what the graph should hold from these files alone (pandas), never
through the loaders.
"""

from __future__ import annotations

from pathlib import Path

from synthetic.extracts import Writers
from synthetic.model import County
from synthetic.returns.history import Returns
from synthetic.truth import _d, _write


def write_returns_truth(county: County, writers: Writers, h: Returns, root: Path) -> None:
    la = {
        pid: writers.la_id(county.by_person[pid])
        for pid in {*h.children_in_need(), *h.looked_after()}
    }
    _write(
        root / "referrals.csv",
        [
            "person_id",
            "la_child_id",
            "ref",
            "date",
            "source",
            "need",
            "nfa",
            "closed",
            "closure_reason",
        ],
        (
            [
                r.child,
                la[r.child],
                r.ref,
                _d(r.date),
                r.source,
                r.need,
                int(r.nfa),
                _d(r.closed),
                r.closure_reason,
            ]
            for r in h.referrals
        ),
    )
    _write(
        root / "assessments.csv",
        ["person_id", "referral_date", "start", "end", "factors"],
        (
            [r.child, _d(r.date), _d(a.start), _d(a.end), " ".join(a.factors)]
            for r in h.referrals
            for a in r.assessments
        ),
    )
    _write(
        root / "section47.csv",
        ["person_id", "referral_date", "start", "icpc_date"],
        ([r.child, _d(r.date), _d(s.start), _d(s.icpc_date)] for r in h.referrals for s in r.s47),
    )
    _write(
        root / "cin_plans.csv",
        ["person_id", "referral_date", "start", "end"],
        ([r.child, _d(r.date), _d(s), _d(e)] for r in h.referrals for s, e in r.cin_plans),
    )
    _write(
        root / "cp_plans.csv",
        [
            "person_id",
            "referral_date",
            "start",
            "end",
            "initial_category",
            "latest_category",
            "reviews",
        ],
        (
            [r.child, _d(r.date), _d(p.start), _d(p.end), p.initial, p.latest, len(p.reviews)]
            for r in h.referrals
            for p in r.cp_plans
        ),
    )
    _write(
        root / "periods_of_care.csv",
        [
            "person_id",
            "la_child_id",
            "case_id",
            "start",
            "end",
            "uasc",
            "uasc_ceased",
            "adoption_decided",
            "adoption_matched",
        ],
        (
            [
                p.child,
                la[p.child],
                p.case_id,
                _d(p.start),
                _d(p.end),
                int(p.uasc),
                _d(p.uasc_ceased),
                _d(p.adoption_decided),
                _d(p.adoption_matched),
            ]
            for p in h.periods
        ),
    )
    _write(
        root / "episodes.csv",
        [
            "person_id",
            "period_start",
            "start",
            "end",
            "reason_new",
            "legal_status",
            "placement",
            "provider",
            "reason_end",
            "home_postcode",
            "placement_postcode",
            "in_return",
        ],
        (
            [
                p.child,
                _d(p.start),
                _d(e.start),
                _d(e.end),
                e.reason_new,
                e.legal_status,
                e.placement,
                e.provider,
                e.reason_end or "",
                e.home_postcode,
                e.placement_postcode,
                int(e.end is None or e.end >= h.year_start),
            ]
            for p in h.periods
            for e in p.episodes
        ),
    )
    _write(
        root / "missing.csv",
        ["person_id", "kind", "start", "end", "in_return"],
        (
            [p.child, m.kind, _d(m.start), _d(m.end), int(m.start >= h.year_start)]
            for p in h.periods
            for m in p.missing
        ),
    )
    _write(
        root / "cla_reviews.csv",
        ["person_id", "date", "participation", "in_return"],
        (
            [p.child, _d(d), code, int(d >= h.year_start)]
            for p in h.periods
            for d, code in p.reviews
        ),
    )
    _write(
        root / "care_leavers.csv",
        ["person_id", "in_touch", "activity", "accommodation"],
        ([c.child, c.in_touch, c.activity, c.accommodation] for c in h.leavers),
    )
    _write(
        root / "disabilities.csv",
        ["person_id", "code"],
        ([pid, code] for pid, codes in sorted(h.disabilities.items()) for code in codes),
    )
    _write(root / "year.csv", ["year_start", "as_of"], [[_d(h.year_start), _d(h.as_of)]])
