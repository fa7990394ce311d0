"""``python -m benchmarks.copy_statements [--top N] DELTA_OPTIONS``:
the engine's CPU the last night's analysts' copy spends, statement by statement.

Runs :mod:`benchmarks.delta` with the options after its own (``--engine``, ``--week``,
``--second``, as there) and, in the last night's load only (``week3_delta`` with
``--second``, else ``week2_delta``), times every statement its copy (``write_copy``)
sends to the engine: calls, wall seconds and the engine process's CPU meanwhile, by the
statement's registered name (:mod:`graph.cypher`). Reads run beside each other, so each
overlapping statement counts the engine's CPU of both: the column ranks the statements,
the stage's total (``TOTAL write_copy``) is the engine's CPU once. Prints one JSON line,
the top statements by engine CPU.

Each night's load runs in a process of its own, spawned: it is given
:func:`_timed_night` with the night to time (``benchmarks.delta.main_with``), which puts
the timing in there.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks import delta
from graph.cypher import REGISTRY
from graph.engines.falkordb import FalkorDBStore
from graph.processes import cpu_seconds

_TOTAL = "TOTAL write_copy"


class _Timing:
    """Each statement's calls, wall seconds and engine CPU, while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.calls: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        self.names = {s.text.strip(): s.name for s in REGISTRY.values()}
        self.depth = threading.local()  # a statement sent within another counts once
        self.lock = threading.Lock()

    def timed(self, store: FalkorDBStore, what: str, call: Any) -> Any:
        if not self.on or getattr(self.depth, "n", 0):
            return call()
        pid = store.server_pid()
        engine, started = cpu_seconds(pid) or 0.0, time.perf_counter()
        self.depth.n = 1
        try:
            return call()
        finally:
            self.depth.n = 0
            self.add(what, time.perf_counter() - started, (cpu_seconds(pid) or 0.0) - engine)

    def add(self, what: str, wall: float, engine: float) -> None:
        with self.lock:
            figures = self.calls[what]
            figures[0] += 1
            figures[1] += wall
            figures[2] += engine

    def name(self, cypher: str) -> str:
        text = cypher.strip()
        return self.names.get(text, " ".join(text.split())[:70])


def _install() -> _Timing:
    """The engine adapter's statements timed while the load's copy runs (in the night's
    own process, which ends with it: nothing is put back)."""
    import loaders.load as load

    timing = _Timing()
    execute, bulk = FalkorDBStore._execute, FalkorDBStore.bulk_command
    publish = FalkorDBStore.publish_pseudonymised

    def _execute(self: FalkorDBStore, query: str, cypher: str, **kw: Any) -> Any:
        return timing.timed(self, timing.name(cypher), lambda: execute(self, query, cypher, **kw))

    def bulk_command(self: FalkorDBStore, *a: Any, **kw: Any) -> Any:
        return timing.timed(self, "GRAPH.BULK", lambda: bulk(self, *a, **kw))

    def publish_pseudonymised(self: FalkorDBStore) -> None:
        timing.timed(self, "RENAME (publish)", lambda: publish(self))

    FalkorDBStore._execute = _execute  # type: ignore[method-assign]
    FalkorDBStore.bulk_command = bulk_command  # type: ignore[method-assign]
    FalkorDBStore.publish_pseudonymised = publish_pseudonymised  # type: ignore[method-assign]
    write_copy = load.write_copy

    def timed_copy(store: FalkorDBStore, **kw: Any) -> Any:
        pid = store.server_pid()
        engine, process, started = cpu_seconds(pid) or 0.0, time.process_time(), time.perf_counter()
        timing.on = True
        try:
            return write_copy(store, **kw)
        finally:
            timing.on = False
            timing.add(_TOTAL, time.perf_counter() - started, (cpu_seconds(pid) or 0.0) - engine)
            timing.calls[_TOTAL].append(time.process_time() - process)

    load.write_copy = timed_copy
    return timing


def _timed_night(night: str, directory: Path, graph: str, name: str, *a: Any) -> dict:
    """:func:`benchmarks.delta._load_alone`, in the night's own process, with the copy's
    statements timed when it is ``night``."""
    if name != night:
        return delta._load_alone(directory, graph, name, *a)
    timing = _install()
    figures = delta._load_alone(directory, graph, name, *a)
    figures["copy_statements"] = {k: [round(x, 3) for x in v] for k, v in timing.calls.items()}
    return figures


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.copy_statements")
    parser.add_argument("--top", type=int, default=15, help="statements to print")
    return parser.parse_known_args(argv)


def _report(figures: dict, top: int) -> dict:
    """The night's copy stage and its ``top`` statements by engine CPU."""
    calls = figures.get("copy_statements", {})
    total = calls.pop(_TOTAL, None)
    ranked = sorted(calls.items(), key=lambda kv: -kv[1][2])[:top]
    return {
        "copy_wall_s": total and total[1],
        "copy_engine_s": total and total[2],
        "copy_process_s": total and round(total[3], 3),
        "statements": [
            {"name": k, "calls": v[0], "wall_s": v[1], "engine_s": v[2]} for k, v in ranked
        ],
    }


def main() -> None:
    args, rest = _parse(sys.argv[1:])
    night = "week3_delta" if "--second" in rest else "week2_delta"
    shown = delta.show
    last: dict = {}

    def show(figures: dict) -> None:
        last.update(figures)
        shown({k: v for k, v in figures.items() if k != "copy_statements"})

    delta.show = show
    delta.main_with(functools.partial(_timed_night, night), rest)
    print(json.dumps(_report(last, args.top)), flush=True)


if __name__ == "__main__":
    main()
