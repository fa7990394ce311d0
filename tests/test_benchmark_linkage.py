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
    again = _harness(str(county), "--capture", str(capture), "--no-rules", "--m-from-truth")
    for key in ("records", "people", "partition", "deterministic_links", "quality"):
        assert read[key] == again[key], key
    assert set(read["quality"]) == {"everyone", "children", "adults"}
    models = [entry["model"] for entry in read["scored"]]
    assert models[0] == "people" and "adults" in models
    people = read["scored"][0]
    assert sum(pairs for _, pairs in people["pairs_by_rule"]) >= people["pairs_kept"]
    assert "pairs_by_rule" not in again["scored"][0]
    # each household level's share of the first round's pairs of one person (its m by
    # the truth): every level in order, the pairs each counted once
    from loaders.linkage.relational import HOUSEHOLD

    (_, _, pairs, _), (_, _, null, _), *levels = again["household_m"]
    assert [label for label, *_ in levels] == [level.label for level in HOUSEHOLD.levels]
    assert pairs > 0 and null + sum(n for _, _, n, _ in levels) == pairs
    assert abs(sum(share for *_, share in levels) - 1) < 1e-3
