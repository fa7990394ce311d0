"""The benchmark harness keeps working: a tiny run of every stage (no timing checks)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_smoke_run(tmp_path):
    out = tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--scale", "250", "--repeats", "3", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table = out.read_text()
    for figure in (
        "generate | time",
        "load | peak memory",
        "linkage | precision / recall",
        "single view (all reads)",
        "family network, 2 hops",
        "search by name (typo)",
        "saved query young_carers",
    ):
        assert figure in table, figure
