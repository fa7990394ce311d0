"""``python -m benchmarks --scale demo``: generate, load and query, with figures.

Prints a table and writes it to ``benchmarks/results-<scale>.md``. No assertions: the
budgets from the issue are printed beside the figures, misses included.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCALES = {"tiny": 300, "demo": 3_000, "10k": 10_000, "100k": 100_000, "county": 300_000}
HERE = Path(__file__).resolve().parent


def run_stage(*args: str) -> tuple[dict, float, float]:
    """(figures, wall seconds, peak RSS in MB) of one stage in its own process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.stages", *args],
        stdout=subprocess.PIPE,
        cwd=HERE.parent,
        text=True,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"stage {args[0]} failed (status {status})")
    return json.loads(out.strip().splitlines()[-1]), wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument(
        "--scale", default="demo", help=f"{', '.join(SCALES)} or a number of children"
    )
    parser.add_argument("--stages", default="generate,load,queries")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    children = SCALES.get(args.scale) or int(args.scale)
    stages = args.stages.split(",")
    work = Path(tempfile.mkdtemp(prefix="jigsaw-bench-"))
    county, engine = work / "county", work / "engine"
    lines = [
        f"# Benchmark: {children:,} children ({dt.date.today()})",
        "",
        "| Stage | Figure | Value |",
        "| --- | --- | --- |",
    ]
    try:
        if "generate" in stages or "load" in stages:
            figures, wall, rss = run_stage("generate", str(children), str(county))
            lines += [
                f"| generate | time | {wall:.1f} s |",
                f"| generate | peak memory | {rss:,.0f} MB |",
                f"| generate | rows written | {figures['rows']:,} |",
            ]
        if "load" in stages:
            figures, wall, rss = run_stage("load", str(county), str(engine))
            lines += [
                f"| load | total time (budget 300 s at county scale) | {wall:.1f} s |",
                f"| load | rows per second | {figures['rows'] / wall:,.0f} |",
                f"| load | peak memory (budget 8 GB) | {rss:,.0f} MB |",
            ]
            lines += [
                f"| load | {name} | {secs:.1f} s |" for name, secs in figures["seconds"].items()
            ]
            lines += [
                f"| linkage | precision / recall | {figures['precision']} / {figures['recall']} |",
                f"| linkage | records per second | "
                f"{figures['rows'] / max(figures['seconds'].get('link', 1), 0.01):,.0f} |",
            ]
        if "queries" in stages:
            figures, _wall, _rss = run_stage("queries", str(engine), str(args.repeats))
            for name, p in figures.items():
                if p.get("n"):
                    lines.append(
                        f"| queries | {name} p50 / p95 / p99 | {p['p50']} / "
                        f"{p['p95']} / {p['p99']} ms |"
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = "\n".join(lines) + "\n"
    print(table)
    out = args.out or HERE / f"results-{args.scale}.md"
    out.write_text(table)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
