"""``python -m benchmarks.pseudonymised_copy --children 20000``: the analysts' copy.

Generates a synthetic county (or reuses ``--county``), loads it into a fresh embedded
engine (or times a graph loaded earlier: ``--engine DIR``, as ``python -m benchmarks
--engine DIR`` keeps it), then writes the pseudonymised copy again on its own, by each
route of ``--routes`` ``--repeats`` times: ``afresh`` (written from a read of the live
graph) and ``difference`` (as the difference from the copy before it: nothing changed),
and prints what it holds, how long each took, the CPU this process and the engine
server spent on it, the longest the server kept a ping waiting meanwhile, and this
process's peak memory (``peak_mb``). With ``--week-later DIR`` (the county a week on:
``jigsaw generate --week-later-of``) it loads that too and writes the difference from
the first week's copy once more on its own. The loads write the copy too (their
reports' "pseudonymised copy" time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import tempfile
import threading
import time
from pathlib import Path

from graph.access.projection import Written, write_copy
from graph.engines.falkordb import FalkorDBStore
from graph.processes import cpu_seconds
from loaders.load import run_load
from synthetic.generate import generate

AS_OF = dt.date(2026, 11, 2)
ROUTES = {  # route -> write_copy's keywords
    "afresh": {"incremental": False},
    "difference": {"incremental": True},
}


def _server_cpu(store: FalkorDBStore) -> float:
    """The engine server's CPU seconds so far (0 where it is not this machine's)."""
    return cpu_seconds(store.server_pid()) or 0.0


def _timed(store: FalkorDBStore, **route: bool) -> tuple[float, Written, float, float, float]:
    """The copy's seconds, what it holds, the longest the server took meanwhile to
    answer a ping (every 50 ms, on a connection of its own): how long it kept others
    waiting, and the CPU seconds this process and the engine server spent on it (on a
    shared machine the steadier figures)."""
    longest = 0.0
    done = threading.Event()

    def ping() -> None:
        nonlocal longest
        while not done.wait(0.05):
            sent = time.perf_counter()
            store._db.connection.ping()
            longest = max(longest, time.perf_counter() - sent)

    pinger = threading.Thread(target=ping, daemon=True)
    pinger.start()
    started, cpu, server = time.perf_counter(), time.process_time(), _server_cpu(store)
    try:
        written = write_copy(store, **route)
    finally:
        done.set()
        pinger.join()
    cpu, server = time.process_time() - cpu, _server_cpu(store) - server
    return (
        round(time.perf_counter() - started, 1),
        written,
        round(longest, 2),
        round(cpu, 1),
        round(server, 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pseudonymised_copy")
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--county", type=Path, default=None, help="extracts to reuse")
    parser.add_argument("--engine", type=Path, default=None, help="a graph loaded earlier")
    parser.add_argument("--week-later", type=Path, default=None, help="the county a week on")
    parser.add_argument("--routes", default="afresh,difference")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jigsaw-copy-") as tmp:
        store = FalkorDBStore(
            graph_name="bench",
            directory=args.engine or Path(tmp) / "graph",
            timeout_ms=600_000,
            max_rows=5_000,
            pseudonym_dir=Path(tmp) / "pseudonym",
        )
        figures: dict = {"children": args.children}
        try:
            if args.engine is None:
                county = args.county or Path(tmp) / "county"
                if args.county is None:
                    generate(args.children, 7, county, as_of=AS_OF)
                report = run_load(store, county, as_of=AS_OF).report
                figures["load_s"] = round(sum(report.seconds.values()), 1)
                figures["copy_in_load_s"] = report.seconds.get("pseudonymised copy")
            for route in args.routes.split(","):
                for _ in range(args.repeats):
                    seconds, written, waited, cpu, server = _timed(store, **ROUTES[route])
                    figures.setdefault(f"{route}_s", []).append(seconds)
                    figures.setdefault(f"{route}_longest_ping_s", []).append(waited)
                    figures.setdefault(f"{route}_cpu_s", []).append(cpu)
                    figures.setdefault(f"{route}_server_cpu_s", []).append(server)
            figures["nodes"], figures["relationships"] = written.nodes, written.relationships
            figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            if args.week_later is not None:
                later = run_load(store, args.week_later, as_of=AS_OF + dt.timedelta(days=7))
                figures["second_load_s"] = round(sum(later.report.seconds.values()), 1)
                figures["copy_in_second_load_s"] = later.report.seconds.get("pseudonymised copy")
                seconds, written, *_ = _timed(store, **ROUTES["difference"])
                figures["week_difference_s"], figures["week_changed"] = seconds, written.changed
        finally:
            store.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
