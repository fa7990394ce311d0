"""``python -m benchmarks.delta --children 20000``: what a night's delta holds and costs.

Generates a synthetic county (or reuses ``--county``) and the same county a week later
(``synthetic.week_later``, about 1% of rows changed), then measures in one process:
reading and validating every file of the first week and recording what was taken in
(``loaders.intake``: its size and the time to save it); planning the second week
against that record (hashing every file); reading and validating every file of the
second week against reading only the files the plan reads. With ``--load`` it also
loads the first week into a fresh embedded engine, then the second week over it as a
delta linking every record again (as before people were kept), as a delta linking
only new or changed records, and then in full: each load's stages, the rows it wrote
and those it left as the graph held them. Prints the figures as one JSON line after each step.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from graph.engines.falkordb import FalkorDBStore
from loaders.intake import INTAKE_FILE, READINGS, Reading, mapped_extracts
from loaders.load import run_load
from loaders.mapping import load_mappings
from synthetic.generate import generate
from synthetic.week_later import write_week_later

AS_OF = dt.date(2026, 11, 2)
WEEK_LATER = AS_OF + dt.timedelta(days=7)


def timed[T](figures: dict, name: str, fn: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = fn()
    figures[name] = round(time.perf_counter() - started, 2)
    return result


def delta_then_full(tmp: Path, county: Path, week: Path, figures: dict) -> None:
    """The first week loaded into a fresh embedded engine; then the week later over a
    copy of it (the engine's own copy, with a copy of the load reports) as a delta that
    links every record again (``relink=True``, as every delta did before people were
    kept); then over the first week as a delta that links only the new or changed
    records; then again in full (``full=True``: every record linked again, the models
    trained again). Each load's time and stages. The full reload finds the week already
    loaded, as a nightly reload finds 99% of its rows."""
    store = FalkorDBStore(
        graph_name="bench", directory=tmp / "graph", timeout_ms=60_000, max_rows=5_000
    )
    loads = tmp / "loads"
    try:
        load(store, "week1", county, AS_OF, loads, figures)
        store._graph.copy("bench_relink")  # the engine's own copy
        again = FalkorDBStore(
            graph_name="bench_relink", directory=tmp / "graph", timeout_ms=60_000, max_rows=5_000
        )
        try:
            shutil.copytree(loads, tmp / "loads_relink", ignore=shutil.ignore_patterns("*.lock"))
            load(again, "week2_delta_relink", week, WEEK_LATER, tmp / "loads_relink", figures,
                 relink=True)  # fmt: skip
            again.drop_all()
        finally:
            again.close()
        load(store, "week2_delta", week, WEEK_LATER, loads, figures)
        load(store, "week2_full", week, WEEK_LATER, loads, figures, full=True)
    finally:
        store.close()


def load(
    store: FalkorDBStore, name: str, root: Path, day: dt.date, loads: Path, figures: dict,
    **options: bool,
) -> None:  # fmt: skip
    """One load of ``root`` into ``store``, its figures under ``name``."""
    started = time.perf_counter()
    report = run_load(store, root, as_of=day, loads_dir=loads, **options).report
    figures[f"{name}_s"] = round(time.perf_counter() - started, 1)
    figures[f"{name}_stages_s"] = report.seconds
    figures[f"{name}_peak_mb"] = max(report.peak_mb.values())
    figures[f"{name}_rows_written"] = sum(report.written.values())
    figures[f"{name}_rows_unchanged"] = sum(report.rows_unchanged.values())
    figures[f"{name}_wrote_every_row"] = report.wrote_every_row
    figures[f"{name}_records_linked"] = report.records_linked
    figures[f"{name}_identity_records"] = report.identity_records
    figures[f"{name}_people"] = report.people
    show(figures)


def show(figures: dict) -> None:
    """The figures so far, one JSON line (a run stopped part way keeps what it had)."""
    print(json.dumps(figures), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.delta")
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--county", type=Path, default=None, help="extracts to reuse")
    parser.add_argument("--load", action="store_true", help="also time delta and full loads")
    args = parser.parse_args()
    figures: dict = {"children": args.children}
    with tempfile.TemporaryDirectory(prefix="jigsaw-delta-") as tmp:
        county = args.county or Path(tmp) / "county"
        if args.county is None:
            generate(args.children, 7, county, as_of=AS_OF)
        week = Path(tmp) / "week"
        write_week_later(county, week, seed=1)
        summary = json.loads((week / "week_later.json").read_text())
        figures["rows_changed"] = summary["rows_changed"]
        sources = load_mappings(None)
        loads = Path(tmp) / "intake"
        first = mapped_extracts(county, sources)
        reading = Reading(loads, AS_OF)
        timed(figures, "read_all_week1_s", lambda: list(reading.outcomes(first)))
        timed(figures, "intake_save_s", reading.save)
        figures["intake_bytes"] = (loads / INTAKE_FILE).stat().st_size
        figures["readings_bytes"] = sum(p.stat().st_size for p in (loads / READINGS).iterdir())
        figures["intake_rows"] = sum(len(f.rows) for f in reading.after.files.values())
        second = mapped_extracts(week, sources)
        full = Reading(Path(tmp) / "none", WEEK_LATER)
        timed(figures, "read_all_week2_s", lambda: list(full.outcomes(second)))
        delta = Reading(loads, WEEK_LATER)
        timed(figures, "read_delta_s", lambda: list(delta.outcomes(second)))
        figures["files_skipped"] = len(delta.plan.skipped)
        figures["files_read"] = len(delta.plan.read)
        counts = delta.tally().values()
        figures["rows_added"] = sum(c.added for c in counts)
        figures["rows_changed_found"] = sum(c.changed for c in counts)
        figures["rows_removed"] = sum(c.removed for c in counts)
        figures["rows_of_files_read"] = sum(c.unchanged + c.added + c.changed for c in counts)
        show(figures)
        if args.load:
            delta_then_full(Path(tmp), county, week, figures)
    show(figures)


if __name__ == "__main__":
    main()
