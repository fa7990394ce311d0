"""``python -m benchmarks.pseudonymised_copy --children 20000``: the analysts' copy.

Generates a synthetic county (or reuses ``--county``), loads it into a fresh embedded
engine, then writes the pseudonymised copy again on its own, ``--repeats`` times afresh
and ``--repeats`` times as the difference from the copy before it (nothing changed), and
prints what it holds and how long each took. With ``--week-later DIR`` (the county a week
on: ``jigsaw generate --week-later-of``) it loads that too, whose copy is a difference,
and writes the difference from the first week's copy once more on its own. The loads
write the copy too (their reports' "pseudonymised copy" time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

from graph.access.projection import Written, write_copy
from graph.engines.falkordb import FalkorDBStore
from loaders.load import run_load
from synthetic.generate import generate

AS_OF = dt.date(2026, 11, 2)


def _timed(store: FalkorDBStore, *, incremental: bool) -> tuple[float, Written]:
    started = time.perf_counter()
    written = write_copy(store, incremental=incremental)
    return round(time.perf_counter() - started, 1), written


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pseudonymised_copy")
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--county", type=Path, default=None, help="extracts to reuse")
    parser.add_argument("--week-later", type=Path, default=None, help="the county a week on")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jigsaw-copy-") as tmp:
        county = args.county or Path(tmp) / "county"
        if args.county is None:
            generate(args.children, 7, county, as_of=AS_OF)
        store = FalkorDBStore(
            graph_name="bench", directory=Path(tmp) / "graph", timeout_ms=60_000, max_rows=5_000
        )
        try:
            report = run_load(store, county, as_of=AS_OF).report
            figures: dict = {
                "children": args.children,
                "load_s": round(sum(report.seconds.values()), 1),
                "copy_in_load_s": report.seconds.get("pseudonymised copy"),
                "afresh_s": [],
                "difference_unchanged_s": [],
            }
            for incremental, key in ((False, "afresh_s"), (True, "difference_unchanged_s")):
                for _ in range(args.repeats):
                    seconds, written = _timed(store, incremental=incremental)
                    figures[key].append(seconds)
            figures["nodes"], figures["relationships"] = written.nodes, written.relationships
            if args.week_later is not None:
                later = run_load(store, args.week_later, as_of=AS_OF + dt.timedelta(days=7))
                figures["second_load_s"] = round(sum(later.report.seconds.values()), 1)
                figures["copy_in_second_load_s"] = later.report.seconds.get("pseudonymised copy")
                seconds, written = _timed(store, incremental=True)
                figures["week_difference_s"], figures["week_changed"] = seconds, written.changed
        finally:
            store.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
