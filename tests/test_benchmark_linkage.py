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
    """``--per-round``: one row a round, in order, whose links, pairs and people are the
    run's adults' totals, and whose last row's quality is the run's own."""
    from benchmarks.linkage import read_inputs, round_table, run

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
