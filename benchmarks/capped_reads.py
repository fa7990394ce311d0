"""What sending every read with its row cap inside costs: each saved query's time on the
embedded engine sent as it is and sent capped (``CALL { ... } RETURN * LIMIT n``, as
the store sends every read), alternately, on a synthetic county.

    uv run python -m benchmarks.capped_reads --children 20000 --runs 7
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from graph.engines.falkordb import FalkorDBStore
from graph.engines.falkordb_cap import capped
from graph.engines.falkordb_params import params_header
from graph.store import plain_params
from loaders.load import run_load
from queries.library import load_library
from synthetic.generate import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        generate(args.children, 3, root / "county")
        store = FalkorDBStore(
            graph_name="capped", directory=root / "engine", timeout_ms=600_000, max_rows=5_000
        )
        store.ensure_schema()
        run_load(store, root / "county", relaxed_fsync=True)
        print(f"{args.children:,} children; median of {args.runs} runs, ms")
        print("| Query | As written | Capped | Ratio |\n| --- | ---: | ---: | ---: |")
        for query in load_library():
            header = params_header(plain_params(query.example_params()))
            times: dict[str, list[float]] = {"plain": [], "capped": []}
            for _ in range(args.runs):
                for kind, text in (
                    ("plain", query.cypher),
                    ("capped", capped(query.cypher, 5_001)),
                ):
                    start = time.perf_counter()
                    store._execute(
                        header + text,
                        query.cypher,
                        read_only=True,
                        timeout_ms=600_000,
                        keep_rows=5_001,
                    )
                    times[kind].append((time.perf_counter() - start) * 1000)
            plain, cut = (statistics.median(times[k]) for k in ("plain", "capped"))
            print(f"| {query.id} | {plain:.1f} | {cut:.1f} | {cut / plain:.2f} |")
        store.close()


if __name__ == "__main__":
    main()
