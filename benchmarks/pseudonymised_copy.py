"""``python -m benchmarks.pseudonymised_copy --children 20000``: the analysts' copy.

Generates a synthetic county (or reuses ``--county``), loads it into a fresh embedded
engine, then writes the pseudonymised copy again on its own, ``--repeats`` times, and
prints what it holds and how long it took, with the rate per node and relationship.
The load itself writes the copy too (its report's "pseudonymised copy" time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

from graph.access.projection import write_copy
from graph.engines.falkordb import FalkorDBStore
from loaders.load import run_load
from synthetic.generate import generate

AS_OF = dt.date(2026, 11, 2)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pseudonymised_copy")
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--county", type=Path, default=None, help="extracts to reuse")
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
            figures = {
                "children": args.children,
                "load_s": round(sum(report.seconds.values()), 1),
                "copy_in_load_s": report.seconds.get("pseudonymised copy"),
                "copies_s": [],
            }
            for _ in range(args.repeats):
                started = time.perf_counter()
                written = write_copy(store)
                figures["copies_s"].append(round(time.perf_counter() - started, 1))
            figures["nodes"], figures["relationships"] = written.nodes, written.relationships
            best = min(figures["copies_s"])
            figures["items_per_s"] = round((written.nodes + written.relationships) / best)
        finally:
            store.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
