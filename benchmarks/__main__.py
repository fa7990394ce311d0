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
    parser.add_argument(
        "--county",
        type=Path,
        default=None,
        help="extracts generated earlier at this scale (skips generation; kept afterwards)",
    )
    args = parser.parse_args()
    children = SCALES.get(args.scale) or int(args.scale)
    stages = args.stages.split(",")
    work = Path(tempfile.mkdtemp(prefix="jigsaw-bench-"))
    county, engine = work / "county", work / "engine"
    engines = ["embedded"] + (["neo4j"] if os.environ.get("NEO4J_URI") else [])
    figures_by: dict[tuple[str, str], dict[str, str]] = {}  # (stage, figure) -> engine -> value
    failed: str | None = None
    try:
        if args.county is not None:
            county = args.county
        elif "generate" in stages or "load" in stages:
            figures, wall, rss = run_stage("generate", str(children), str(county))
            _put(figures_by, "generate", "time", "embedded", f"{wall:.1f} s")
            _put(figures_by, "generate", "peak memory", "embedded", f"{rss:,.0f} MB")
            _put(figures_by, "generate", "rows written", "embedded", f"{figures['rows']:,}")
        for name in engines:
            where = str(engine) if name == "embedded" else "neo4j"
            if "load" in stages:
                figures, wall, rss = run_stage("load", str(county), where)
                _load_lines(figures_by, name, figures, wall, rss)
            if "queries" in stages:
                figures, _wall, _rss = run_stage("queries", where, str(args.repeats))
                for label, p in figures.items():
                    if p.get("n"):
                        _put(figures_by, "queries", f"{label} p50 / p95 / p99", name,
                             f"{p['p50']} / {p['p95']} / {p['p99']} ms")  # fmt: skip
    except SystemExit as exc:  # a failed stage: keep what the others measured, then fail
        failed = str(exc)
        _put(figures_by, "failed", failed, "embedded", "see the output above")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [f"# Benchmark: {children:,} children ({dt.date.today()})", ""]
    lines += _table(figures_by, engines)
    table = "\n".join(lines) + "\n"
    print(table)
    out = args.out or HERE / f"results-{args.scale}.md"
    out.write_text(table)
    print(f"written to {out}")
    if failed:
        raise SystemExit(failed)


def _put(table: dict, stage: str, figure: str, engine: str, value: str) -> None:
    table.setdefault((stage, figure), {})[engine] = value


def _load_lines(table: dict, engine: str, figures: dict, wall: float, rss: float) -> None:
    # the budget is the load's (read to alerts, as `jigsaw load` runs it); the stage's
    # process also starts the engine, scores linkage against the truth and shuts down
    took = figures.get("load_seconds", wall)
    _put(table, "load", "total time (budget 300 s at county scale)", engine, f"{took:.1f} s")
    _put(table, "load", "stage process, with engine start, linkage scoring and shutdown",
         engine, f"{wall:.1f} s")  # fmt: skip
    if "snapshot_seconds" in figures:  # after the load, before `jigsaw load` returns
        _put(table, "load", "then saving the graph for its next start", engine,
             f"{figures['snapshot_seconds']:.1f} s")  # fmt: skip
    _put(table, "load", "rows per second", engine, f"{figures['rows'] / took:,.0f}")
    _put(table, "load", "peak memory (budget 8 GB)", engine, f"{rss:,.0f} MB")
    if figures.get("engine_peak_mb"):
        _put(table, "load", "engine server peak memory (its own process)", engine,
             f"{figures['engine_peak_mb']:,} MB")  # fmt: skip
    for name, secs in figures["seconds"].items():
        _put(table, "load", name, engine, f"{secs:.1f} s")
    for name, mb in figures.get("peak_mb", {}).items():  # which stage raised the peak
        _put(table, "load", f"peak memory by end of {name}", engine, f"{mb:,} MB")
    steps = sorted(figures.get("write_seconds", {}).items(), key=lambda kv: -kv[1])
    for name, secs in steps[:8]:  # where the write time goes
        _put(table, "load", f"write step: {name}", engine, f"{secs:.1f} s")
    _put(table, "linkage", "precision / recall", engine,
         f"{figures['precision']} / {figures['recall']}")  # fmt: skip
    link = max(figures["seconds"].get("link", 1), 0.01)
    _put(table, "linkage", "records per second", engine, f"{figures['rows'] / link:,.0f}")


def _first_number(value: str) -> float | None:
    try:
        return float(value.split(" ")[0].replace(",", ""))
    except (ValueError, IndexError):
        return None


def _table(figures_by: dict, engines: list[str]) -> list[str]:
    """One value column per engine; with Neo4j, a ratio column (Neo4j / embedded, on the
    first number: p50 for percentiles)."""
    if len(engines) == 1:
        rows = ["| Stage | Figure | Value |", "| --- | --- | --- |"]
        rows += [f"| {s} | {f} | {v.get('embedded', '')} |" for (s, f), v in figures_by.items()]
        return rows
    rows = ["| Stage | Figure | Embedded | Neo4j | Neo4j / embedded |",
            "| --- | --- | --- | --- | --- |"]  # fmt: skip
    for (stage, figure), values in figures_by.items():
        a, b = values.get("embedded", ""), values.get("neo4j", "")
        x, y = _first_number(a), _first_number(b)
        ratio = f"{y / x:.2f}" if x and y is not None else ""
        rows.append(f"| {stage} | {figure} | {a} | {b} | {ratio} |")
    return rows


if __name__ == "__main__":
    main()
