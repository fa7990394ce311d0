"""The linkage harness (benchmarks.linkage) runs on a tiny county, from its extracts and
again from the inputs it captured, with the same links and figures (no timing checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.stages import AS_OF

ROOT = Path(__file__).resolve().parent.parent


def _harness(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.linkage", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert any(line.startswith("link() ") for line in lines), done.stdout
    return json.loads(lines[-1])


def test_linkage_harness_reads_captures_and_measures(tmp_path):
    from synthetic.generate import generate

    county = tmp_path / "county"
    generate(300, 3, county, as_of=AS_OF)
    capture = tmp_path / "inputs.pickle"
    read = _harness(str(county), "--capture", str(capture))
    assert capture.exists()
    again = _harness(str(county), "--capture", str(capture), "--no-rules")
    for key in ("records", "people", "partition", "deterministic_links", "quality"):
        assert read[key] == again[key], key
    assert set(read["quality"]) == {"everyone", "children", "adults"}
    models = [entry["model"] for entry in read["scored"]]
    assert models[0] == "people" and "adults" in models
    people = read["scored"][0]
    assert sum(pairs for _, pairs in people["pairs_by_rule"]) >= people["pairs_kept"]
    assert "pairs_by_rule" not in again["scored"][0]


def test_the_adults_rounds_table_adds_up_to_the_run(small_county):
    """``--per-round``: one row a round, in order, whose links, pairs, people and
    frames' CPU are the run's adults' totals, and whose last row's quality is the run's
    own."""
    from benchmarks.linkage import PARTS, read_inputs, round_table, run

    figures = run(
        read_inputs(small_county),
        small_county / "truth" / "source_rows.csv",
        rules=False,
        per_round=True,
    )
    rounds = figures["rounds"]
    adults = [entry for entry in figures["scored"] if entry["model"] != "people"]
    assert [r["round"] for r in rounds] == list(range(1, len(adults) + 1))
    assert sum(r["links"] for r in rounds) == figures["relational_links"] > 0
    assert [r["pairs_kept"] for r in rounds] == [entry["pairs_kept"] for entry in adults]
    assert [r["people"] for r in rounds] == [entry["rows"] for entry in adults]
    assert rounds[-1]["adults_if_last"] == figures["quality"]["adults"]
    assert len(round_table(rounds)) == 2 + len(rounds)
    # each round's CPU by part is what the run's parts gained in it: the adults' frames
    # are built only in rounds, so theirs add up to the run's (each rounded)
    frames = PARTS["adults_frame"]
    assert all(set(r["cpu_by_part"]) <= set(PARTS.values()) for r in rounds)
    assert all(frames in r["cpu_by_part"] for r in rounds)
    within = sum(r["cpu_by_part"][frames] for r in rounds)
    assert abs(within - figures["cpu_by_part"][frames]) <= 0.05 + 0.005 * len(rounds)


def _pairs_by_truth(labels: dict[str, str], cluster_of: dict[str, str]) -> tuple[int, int]:
    """The adults' record pairs of one true person in two people (missed), and of two
    true people in one person (wrong), counted pair by pair."""
    from itertools import combinations

    missed = wrong = 0
    for a, b in combinations(sorted(labels), 2):
        one_true, one_found = labels[a] == labels[b], cluster_of[a] == cluster_of[b]
        missed += one_true and not one_found
        wrong += one_found and not one_true
    return missed, wrong


def test_the_missed_and_wrong_pairs_add_up_to_the_truth(small_county):
    """``--missed``: the shapes' pairs are every true pair left apart, and the joins'
    false pairs every false pair made, each counted pair by pair from the truth; the
    joins' pairs, true and false, every pair made one (identical records' too)."""
    from collections import Counter

    import loaders.linkage as linkage
    from benchmarks.linkage import _adult_labels, missed, read_inputs, wrong_by_join

    inputs = read_inputs(small_county)
    labels = _adult_labels(inputs, small_county / "truth" / "source_rows.csv")
    assert labels
    joins: dict[str, Counter] = {"false": Counter(), "true": Counter()}
    with wrong_by_join(linkage, labels, joins):
        result = linkage.link(inputs.found, context=inputs.context, evidence=False)
    expected_missed, expected_wrong = _pairs_by_truth(labels, result.cluster_of)
    counted = missed(inputs, result.cluster_of, labels, result.review)
    assert counted["missed_pairs"] == expected_missed > 0
    assert sum(n for _, n in counted["by_shape"]) == expected_missed
    assert sum(joins["false"].values()) == expected_wrong > 0
    people = Counter(result.cluster_of[rid] for rid in labels if rid in result.cluster_of)
    made_one = sum(n * (n - 1) // 2 for n in people.values())
    assert sum(joins["false"].values()) + sum(joins["true"].values()) == made_one
    assert joins["true"]["identical records or a reviewer"] > 0
    assert any(step.startswith("adults 1: ") for step in joins["true"])


def test_missed_pairs_are_shaped_by_what_the_two_people_hold():
    """Two records of one true person in two people: one a council tax account without
    a birth date at one address, the other a parent named on a row, dated, at another
    address, under another family name, naming a child whose father (someone else) is
    at the account's address; neither in the review queue."""
    from benchmarks.linkage import Inputs, missed
    from loaders.linkage import Context, Identity
    from loaders.linkage.inputs import Edge, Tenure

    found = [
        Identity("ct1", "Jane", "Smith"),
        Identity("hv1", "Jane", "Brown", dob="1990-01-01"),
        Identity("kid", "Amy", "Brown", dob="2015-01-01"),
        Identity("dad", "John", "Brown"),
    ]
    context = Context(
        edges=[Edge("hv1", "kid", "birth", graph=True), Edge("dad", "kid", "father", False)],
        homes={
            "ct1": (Tenure("A", "2019-01-01", "2020-01-01"),),
            "hv1": (Tenure("B"),),
            "dad": (Tenure("A"),),
        },
    )
    where = [
        ("council_tax/ctax.csv", 2, "person", "ct1"),
        ("health/hv.csv", 2, "parent", "hv1"),
        ("health/hv.csv", 2, "person", "kid"),
        ("early_help/eh.csv", 3, "person", "dad"),
    ]
    inputs = Inputs(found, context, where)
    cluster_of = {"ct1": "ct1", "hv1": "hv1", "kid": "kid", "dad": "dad"}
    counted = missed(inputs, cluster_of, {"ct1": "P1", "hv1": "P1", "dad": "P2"})
    assert counted["missed_pairs"] == counted["missed_people_pairs"] == 1
    shape = "one undated | other surname | no shared address | no shared child | not to review"
    assert counted["by_shape"] == [(shape, 1)]
    assert counted["by_sources"] == [("council_tax  ~  health/parent", 1)]
    assert counted["co_parent_reach"] == 1
    assert dict(counted["by_feature"])["a council tax account alone on one side"] == 1
    away = {"ct1": "P1", "hv1": "P1", "dad": "P2"}
    context.homes["dad"] = (Tenure("C"),)  # the father elsewhere, under another name
    found[3].given = "Jim"
    assert missed(inputs, cluster_of, away)["co_parent_reach"] == 0


def test_council_tax_namesakes_are_counted_by_the_truth():
    """Three council tax accounts of one name in three people: two of one true person one
    after the other, and a third (another person) at the same time as the first; the
    pairs never at two addresses at once are counted, one person or two, by the truth."""
    from benchmarks.linkage import Inputs, missed
    from loaders.linkage import Context, Identity
    from loaders.linkage.inputs import Tenure

    found = [Identity(rid, "Jacob", "Buckley", sex="M") for rid in ("a", "b", "c")]
    context = Context(
        homes={
            "a": (Tenure("A", "2019-01-01", "2021-01-01"),),
            "b": (Tenure("B", "2023-01-01", ""),),
            "c": (Tenure("C", "2020-01-01", "2022-06-01"),),
        }
    )
    where = [("council_tax/ctax.csv", row, "person", rid) for row, rid in enumerate("abc", 2)]
    inputs = Inputs(found, context, where)
    counted = missed(inputs, {r: r for r in "abc"}, {"a": "P1", "b": "P1", "c": "P2"})
    # a-b one after the other (one person); b-c one after the other (two); a-c at once
    assert counted["accounts_by_name"] == {"one person": 1, "two people": 1}


def test_level_shares_count_the_truths_pairs_the_blocking_reaches():
    """``--m-from-truth``: a level's count is of pairs of one true person (not of pairs
    the model would link), among those a blocking rule reaches, each at the first level
    it meets; a comparison's null pairs are not counted for it; the model's m is beside."""
    import pyarrow as pa

    from benchmarks.linkage import level_shares
    from loaders.linkage.model import Comparison, Level, Model

    def rules() -> list:
        from splink.blocking_rule_library import CustomRule

        return [CustomRule("l.block = r.block")]

    colour = Comparison(
        "colour",
        ("colour",),
        "colour_l IS NULL OR colour_r IS NULL",
        (Level("same colour", 0.7, 0.1, sql="colour_l = colour_r"), Level("different", 0.3, 0.9)),
    )
    model = Model("toy", (colour,), rules, list, list, ("colour",))
    frame = pa.table(
        {
            "unique_id": ["a1", "a2", "a3", "b1", "b2", "c1", "c2", "d1"],
            "block": ["x", "x", "x", "y", "y", "z", "w", "y"],
            "colour": ["red", "red", "blue", "green", None, "red", "red", "green"],
        }
    )
    # true people: a (three records), b (two), c (two, never blocked together), d
    truth = ["A", "A", "A", "B", "B", "C", "C", None]
    shares = level_shares(model, frame, truth)
    # reached: a1-a2 (same), a1-a3, a2-a3 (different), b1-b2 (null colour); d1 is in
    # block y with b1 (same colour) but has no true person
    assert shares["pairs"] == 4
    [(name, compared, levels)] = shares["comparisons"]
    assert name == "colour" and compared == 3
    assert levels == [("same colour", 0.7, 1), ("different", 0.3, 2)]


def test_m_from_truth_counts_the_first_rounds_pairs_of_one_person(small_county):
    """``--m-from-truth`` on a run: the first adults' round's frame, its people labelled
    by the truth, each comparison's levels counting its compared pairs once, with the
    model's m beside; the run's people the same as without it."""
    from benchmarks.linkage import read_inputs, run
    from loaders.linkage.relational import ADULTS

    inputs = read_inputs(small_county)
    truth = small_county / "truth" / "source_rows.csv"
    plain = run(inputs, truth, rules=False)
    figures = run(inputs, truth, rules=False, m_from_truth=True)
    assert figures["partition"] == plain["partition"]
    shares = figures["m_from_truth"]
    assert shares["pairs"] > 0
    declared = {c.name: [(lv.label, lv.m) for lv in c.levels] for c in ADULTS.comparisons}
    for name, compared, levels in shares["comparisons"]:
        assert [(label, m) for label, m, _ in levels] == declared[name]
        assert sum(n for _, _, n in levels) == compared <= shares["pairs"]
