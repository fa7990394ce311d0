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

from benchmarks.budgets import COUNTY, budget_of, numbers, verdict

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
    parser.add_argument(
        "--stages",
        default="generate,load,queries",
        help="generate, load, queries (every query and page) or pages (the app's pages alone)",
    )
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument(
        "--profile",
        choices=["misses", "all", "none"],
        default=None,
        help="print the engine's profile of saved queries: those that missed their "
        "budget (the default at county scale), all, or none (the default below it)",
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--county",
        type=Path,
        default=None,
        help="extracts generated earlier at this scale (skips generation; kept afterwards)",
    )
    parser.add_argument(
        "--engine",
        type=Path,
        default=None,
        help="keep the loaded graph (and the load's report) in this directory, or, "
        "without the load stage, time one loaded there earlier",
    )
    args = parser.parse_args()
    children = SCALES.get(args.scale) or int(args.scale)
    at_county = children >= COUNTY
    profile = args.profile or ("misses" if at_county else "none")
    profiles: dict[tuple[str, str], list] = {}  # (engine, query label) -> profile rows
    stages = args.stages.split(",")
    work = Path(tempfile.mkdtemp(prefix="jigsaw-bench-"))
    county, engine = work / "county", args.engine or work / "engine"
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
            # the load's report, for the Data page
            loads = str((args.engine or work) / f"loads-{name}")
            if "load" in stages:
                figures, wall, rss = run_stage("load", str(county), where, loads)
                _load_lines(figures_by, name, figures, wall, rss)
            if "queries" in stages or "pages" in stages:  # pages: the app's pages alone
                figures, _wall, _rss = run_stage(
                    "queries" if "queries" in stages else "pages",
                    where,
                    str(args.repeats),
                    profile,
                    loads,
                )
                profiles |= {(name, label): rows for label, rows in figures["profiles"].items()}
                for label, p in figures["percentiles"].items():
                    if p.get("n"):
                        _put(
                            figures_by,
                            "queries",
                            f"{label} p50 / p95 / p99",
                            name,
                            f"{p['p50']} / {p['p95']} / {p['p99']} ms",
                        )
    except SystemExit as exc:  # a failed stage: keep what the others measured, then fail
        failed = str(exc)
        _put(figures_by, "failed", failed, "embedded", "see the output above")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [f"# Benchmark: {children:,} children ({dt.date.today()})", ""]
    lines += _table(figures_by, engines, judged=at_county)
    for (name, label), rows in profiles.items():
        lines += ["", *_profile_lines(name, label, rows)]
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
    _put(table, "load", "total time", engine, f"{took:.1f} s")
    _put(
        table,
        "load",
        "stage process, with engine start, linkage scoring and shutdown",
        engine,
        f"{wall:.1f} s",
    )
    if "snapshot_seconds" in figures:  # after the load, before `jigsaw load` returns
        _put(
            table,
            "load",
            "then saving the graph for its next start",
            engine,
            f"{figures['snapshot_seconds']:.1f} s",
        )
    _put(table, "load", "rows per second", engine, f"{figures['rows'] / took:,.0f}")
    _put(table, "load", "peak memory", engine, f"{rss:,.0f} MB")
    if figures.get("engine_peak_mb"):
        _put(
            table,
            "load",
            "engine server peak memory (its own process)",
            engine,
            f"{figures['engine_peak_mb']:,} MB",
        )
    for name, secs in figures["seconds"].items():
        _put(table, "load", name, engine, f"{secs:.1f} s")
    cpu = figures.get("cpu_seconds") or {}
    if cpu:  # what a busy machine does not change, unlike the wall times above
        process, readers, server = (sum(by[i] for by in cpu.values()) for i in range(3))
        _put(
            table,
            "load",
            "CPU: the load's process + its readers + the engine",
            engine,
            f"{process:,.1f} + {readers:,.1f} + {server:,.1f} s",
        )
        for name, (p, r, e) in cpu.items():
            _put(table, "load", f"CPU of {name}", engine, f"{p:,.1f} + {r:,.1f} + {e:,.1f} s")
    for name, mb in figures.get("peak_mb", {}).items():  # which stage raised the peak
        _put(table, "load", f"peak memory by end of {name}", engine, f"{mb:,} MB")
    steps = sorted(figures.get("write_seconds", {}).items(), key=lambda kv: -kv[1])
    for name, secs in steps[:8]:  # where the write time goes
        _put(table, "load", f"write step: {name}", engine, f"{secs:.1f} s")
    _put(
        table,
        "linkage",
        "precision / recall",
        engine,
        f"{figures['precision']} / {figures['recall']}",
    )
    for group, (precision, recall, *shares) in figures.get("groups", {}).items():
        _put(table, "linkage", f"{group}: precision / recall", engine, f"{precision} / {recall}")
        if shares:  # people split into several / merged with someone else
            _put(
                table,
                "linkage",
                f"{group}: share split / share merged",
                engine,
                f"{shares[0]:.1%} / {shares[1]:.1%}",
            )
    prevented = figures.get("prevented") or {}
    _put(
        table,
        "linkage",
        "links a rule prevented (each left for review)",
        engine,
        ", ".join(f"{n:,} {rule}" for rule, n in prevented.items()) or "none",
    )
    refused = figures.get("refused_relationships") or {}
    _put(
        table,
        "linkage",
        "relationship rows quarantined for a rule",
        engine,
        ", ".join(f"{n:,} {rule}" for rule, n in refused.items()) or "none",
    )
    if "rule_breaks" in figures:
        _put(
            table,
            "linkage",
            "parent links in the graph breaking a rule",
            engine,
            f"{sum(figures['rule_breaks'].values()):,}",
        )
    link = max(figures["seconds"].get("link", 1), 0.01)
    _put(table, "linkage", "records per second", engine, f"{figures['rows'] / link:,.0f}")
    _put(
        table,
        "linkage",
        "share of the load's time",
        engine,
        f"{100 * figures['seconds'].get('link', 0) / max(took, 0.01):.0f}%",
    )


def _table(figures_by: dict, engines: list[str], *, judged: bool = False) -> list[str]:
    """One value column per engine; with Neo4j, a ratio column (Neo4j / embedded, on the
    first number: p50 for percentiles); then the figure's budget, with each engine's
    verdict when ``judged`` (the budgets are set at county scale, so only there)."""
    head = (
        ["Stage", "Figure"]
        + (["Value"] if len(engines) == 1 else ["Embedded", "Neo4j", "Neo4j / embedded"])
        + ["Budget (county scale)"]
    )
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for (stage, figure), values in figures_by.items():
        cells = [values.get(name, "") for name in engines]
        if len(engines) > 1:
            x, y = (numbers(v)[:1] for v in cells)
            cells.append(f"{y[0] / x[0]:.2f}" if x and x[0] and y else "")
        rows.append(
            "| "
            + " | ".join(
                [stage, figure, *cells, _budget_cell(stage, figure, values, engines, judged)]
            )
            + " |"
        )
    return rows


def _budget_cell(stage: str, figure: str, values: dict, engines: list[str], judged: bool) -> str:
    budget = budget_of(stage, figure)
    if budget is None:
        return ""
    if not judged:
        return budget.text
    said = [(name, verdict(budget, values.get(name, ""))) for name in engines]
    said = [(name, v) for name, v in said if v]
    if len(engines) == 1:
        return f"{budget.text}: **{said[0][1]}**" if said else budget.text
    return f"{budget.text}: " + ", ".join(f"{name} **{v}**" for name, v in said)


def _profile_lines(engine: str, label: str, rows: list) -> list[str]:
    """A saved query's profile: its slowest operators, then the whole plan."""
    timed = any(r[3] is not None for r in rows)
    key = 3 if timed else 4  # Neo4j without per-operator times: its db hits
    total = sum(r[key] or 0 for r in rows) or 1
    unit = "own time, ms" if timed else "db hits"
    lines = [
        f"### Where the time goes: {label} ({engine})",
        "",
        f"The engine's profile of one more run; slowest operators first ({unit}):",
        "",
        f"| Operator | Rows | {unit} | Share |",
        "| --- | --- | --- | --- |",
    ]
    for r in sorted(rows, key=lambda r: -(r[key] or 0))[:10]:
        operator, spent = r[1].replace("|", "\\|"), r[key] or 0
        lines.append(f"| {operator} | {r[2]:,} | {spent:,.1f} | {spent / total:.0%} |")
    lines += ["", "The whole plan (rows, then own time or db hits):", "", "```"]
    lines += [f"{'  ' * r[0]}{r[1]} | {r[2]:,} | {r[key] or 0:,.1f}" for r in rows]
    return [*lines, "```"]


if __name__ == "__main__":
    main()
