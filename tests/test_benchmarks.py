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


def test_side_by_side_table_gives_neo4j_over_embedded_ratios():
    from benchmarks.__main__ import _put, _table

    figures: dict = {}
    _put(figures, "load", "total time", "embedded", "10.0 s")
    _put(figures, "load", "total time", "neo4j", "25.0 s")
    _put(figures, "queries", "search p50 / p95 / p99", "embedded", "2.0 / 3.0 / 4.0 ms")
    _put(figures, "queries", "search p50 / p95 / p99", "neo4j", "1,000.0 / 2.0 / 3.0 ms")
    rows = _table(figures, ["embedded", "neo4j"])
    assert rows[0] == "| Stage | Figure | Embedded | Neo4j | Neo4j / embedded |"
    assert rows[2] == "| load | total time | 10.0 s | 25.0 s | 2.50 |"
    assert rows[3].endswith("| 500.00 |")
    assert _table(figures, ["embedded"])[2] == "| load | total time | 10.0 s |"
