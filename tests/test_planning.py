"""Early identification and forward planning against the synthetic county's truth:
risk of NEET, transitions, the needs forecast and alerts.

Expected answers come from tests/truth.py (pandas over truth/*.csv); a graph person is
mapped to the true person most of its source records describe.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
import yaml

from planning.risk import RISK_FILE, RiskConfigError, load_risk_config
from queries.runner import ParamValidationError, run_saved
from tests import truth as t
from tests.conftest import AS_OF
from tests.test_loaders import _truth_labels


@pytest.fixture(scope="module")
def true_person(loaded_county) -> dict[str, str]:
    labels = _truth_labels(loaded_county.root)
    votes: dict[str, Counter] = defaultdict(Counter)
    for f, r, w, puid in loaded_county.result.assignments:
        votes[puid][labels[(f, r, w)]] += 1
    return {puid: c.most_common(1)[0][0] for puid, c in votes.items()}


# -- risk of NEET ----------------------------------------------------------------------


def test_risk_scores_and_factors_match_truth(loaded_county, true_person):
    config = yaml.safe_load(RISK_FILE.read_text())
    expected = t.roni(loaded_county.root, config, AS_OF).set_index("person_id")
    rows = run_saved(
        loaded_county.store, "risk_of_neet", {"as_of": AS_OF.isoformat(), "band": "all"}
    ).rows
    found = {true_person[r["child_uid"]]: r for r in rows}
    assert len(expected) >= 50 and len(found) >= 50
    # the same children in the list, allowing for the extracts' injected mess
    missing, extra = set(expected.index) - set(found), set(found) - set(expected.index)
    assert len(missing | extra) <= len(expected) // 20, (missing, extra)
    both = set(expected.index) & set(found)
    same_factors = {p for p in both if set(found[p]["factors"]) == expected.at[p, "factors"]}
    assert len(same_factors) >= 0.9 * len(both), [
        (p, sorted(found[p]["factors"]), sorted(expected.at[p, "factors"]))
        for p in sorted(both - same_factors)[:10]
    ]
    for p in same_factors:
        assert found[p]["score"] == expected.at[p, "score"]
        assert found[p]["band"] == expected.at[p, "band"]
        assert found[p]["year_group"] == expected.at[p, "year_group"]
    # every factor the county can show is exercised somewhere
    seen = Counter(f for r in rows for f in r["factors"])
    for factor in ("attendance_below_85", "attendance_below_90", "suspension", "ehc_plan",
                   "sen_support", "looked_after", "free_school_meals", "eal"):  # fmt: skip
        assert seen[factor] > 0, factor


def test_risk_filters_and_explanations(loaded_county):
    store = loaded_county.store
    everyone = run_saved(store, "risk_of_neet", {"as_of": AS_OF.isoformat(), "band": "all"}).rows
    high = run_saved(store, "risk_of_neet", {"as_of": AS_OF.isoformat(), "band": "high"}).rows
    year9 = run_saved(
        store, "risk_of_neet", {"as_of": AS_OF.isoformat(), "band": "all", "year_group": "9"}
    ).rows
    assert {r["child_uid"] for r in high} == {
        r["child_uid"] for r in everyone if r["band"] == "high"
    }
    assert year9 and all(r["year_group"] == 9 for r in year9)
    config = load_risk_config()
    for r in everyone:
        assert r["score"] == sum(config.factors[f].weight for f in r["factors"])
        words = config.explain(r["factors"])
        assert len(words) == len(r["factors"]) and all("(+" in w for w in words)
    with pytest.raises(ParamValidationError, match="no parameter 'config'"):
        run_saved(store, "risk_of_neet", {"config": {"weights": {}}})


def test_risk_config_errors_name_the_problem(tmp_path):
    bad = yaml.safe_load(RISK_FILE.read_text())
    bad["factors"]["shoe_size"] = {"weight": 1, "label": "x"}
    del bad["factors"]["eal"]
    path = tmp_path / "risk.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(RiskConfigError, match="unknown factor\\(s\\) shoe_size"):
        load_risk_config(path)
    bad["factors"].pop("shoe_size")
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(RiskConfigError, match="eal have no weight"):
        load_risk_config(path)
