"""The returns' facts as graph rows, worked out from records written here: periods of
care from episodes, one fact from two files, cases for the rest of the app."""

from __future__ import annotations

import datetime as dt

from loaders.build_returns import ReturnFacts

D = dt.date


def _episode(start, end, rne, rec, place="U6", **more):
    return {
        "episode.start": start,
        "episode.end": end,
        "episode.reason_new": rne,
        "episode.reason_end": rec,
        "episode.placement_type": place,
        **more,
    }


def test_episodes_make_periods_of_care_and_count_the_moves():
    facts = ReturnFacts()
    for v in (
        _episode(D(2024, 1, 1), D(2024, 5, 1), "S", "X1", "U6"),
        _episode(D(2024, 5, 1), D(2024, 9, 1), "P", "X1", "K2"),
        _episode(D(2024, 9, 1), D(2024, 12, 1), "L", "X1", "K2", **{"episode.legal_status": "C1"}),
        _episode(D(2024, 12, 1), D(2025, 2, 1), "B", "E4A", "U4"),
        # a new period after going home
        _episode(D(2025, 6, 1), None, "S", None, "U6"),
    ):
        facts.add(v, "P-1", "ssda903_episodes")
    rows = facts.finish()
    first, second = rows.periods_of_care
    assert (first["start"], first["end"], first["reason_end"], first["moves"]) == (
        "2024-01-01",
        "2025-02-01",
        "E4A",
        2,
    )
    assert (second["start"], second["end"], second["moves"]) == ("2025-06-01", None, 0)
    assert [e["period_of_care"] for e in rows.episodes] == [first["uid"]] * 4 + [second["uid"]]
    assert [e["placement_change"] for e in rows.episodes] == [False, True, False, True, False]
    kinds = {(c["kind"], c["start"], c["status"]) for c in rows.cases}
    assert kinds == {("CLA", "2024-01-01", "closed"), ("CLA", "2025-06-01", "open")}


def test_one_fact_from_two_files_is_one_row_each_filling_the_others_gaps():
    facts = ReturnFacts()
    facts.add(_episode(D(2025, 1, 1), None, "S", None, "U6"), "P-1", "ssda903_episodes")
    # the same episode's placement, from another file: its postcode, no reason
    facts.add(
        {
            "episode.start": D(2025, 1, 1),
            "episode.placement_postcode": "NM1 1AA",
            "episode.ref": "E9",
        },
        "P-1",
        "ssd_cla_placement",
    )
    rows = facts.finish()
    (episode,) = rows.episodes
    assert episode["reason_new"] == "S" and episode["placement_postcode"] == "NM1 1AA"


def test_a_referral_holds_its_assessments_and_plans_and_is_a_case():
    facts = ReturnFacts()
    base = {"referral.date": D(2025, 3, 1)}
    facts.add(
        {**base, "referral.source": "6", "referral.need": "N1", "referral.nfa": False}, "P-1", "cin"
    )
    facts.add(
        {**base, "assessment.start": D(2025, 3, 2), "assessment.factors": "1C, 6B"}, "P-1", "cin"
    )
    facts.add(
        {
            **base,
            "cp_plan.start": D(2025, 4, 1),
            "cp_plan.initial_category": "NEG",
            "cp_plan.latest_category": "EMO",
        },
        "P-1",
        "cin",
    )
    facts.add(
        {"cp_plan.start": D(2025, 4, 1), "review.date": D(2025, 7, 1), "review.kind": "CP"},
        "P-1",
        "cin",
    )
    facts.add(
        {"referral.date": D(2025, 9, 9), "referral.nfa": True, "referral.source": "9"}, "P-2", "cin"
    )
    rows = facts.finish()
    referral = next(r for r in rows.referrals if r["person"] == "P-1")
    (assessment,) = rows.assessments
    assert assessment["referral"] == referral["uid"] and assessment["factors"] == "1C, 6B"
    (plan,) = rows.cp_plans
    (review,) = rows.reviews
    assert review["plan"] == plan["uid"] and review["kind"] == "CP"
    cases = sorted((c["person"], c["kind"], c["reason"]) for c in rows.cases)
    # a referral closed with no further action is no case of need
    assert cases == [("P-1", "CIN", "Abuse or neglect"), ("P-1", "CP", "Emotional abuse")]


def test_a_disability_yes_without_a_list_is_the_acts_own():
    facts = ReturnFacts()
    facts.add({"person.disabled": True}, "P-1", "annex")
    facts.add({"disability.code": "HEAR"}, "P-2", "cin")
    facts.add({"disability.code": "HEAR"}, "P-2", "ssd")
    facts.add({"person.disabled": False}, "P-3", "annex")
    rows = facts.finish()
    assert sorted((d["person"], d["uid"]) for d in rows.disabilities) == [
        ("P-1", "DDA"),
        ("P-2", "HEAR"),
    ]
