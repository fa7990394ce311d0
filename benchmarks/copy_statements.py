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

The load runs in a process of its own, spawned, which imports this module as its main:
the timing is put in at import (:func:`_install`) so that process has it too.
"""

from __future__ import annotations

import argparse
import json
import os
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

_OPTIONS = "JIGSAW_COPY_STATEMENTS"  # this run's own options, to the spawned load
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


def _install(night: str) -> _Timing:
    """The engine adapter's statements timed while ``night``'s copy runs."""
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
    write_copy, load_alone = load.write_copy, delta._load_alone

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

    _NIGHT.update(night=night, timing=timing, load=load_alone)
    _NIGHT.update(timed_copy=timed_copy, write_copy=write_copy)
    delta._load_alone = _alone
    return timing


# what _alone needs: module-level, as the spawned load is given it by name
_NIGHT: dict[str, Any] = {}


def _alone(directory: Path, graph: str, name: str, *a: Any) -> dict:
    """:func:`benchmarks.delta._load_alone`, with the copy timed on the night asked."""
    import loaders.load as load

    timed = name == _NIGHT["night"]
    load.write_copy = _NIGHT["timed_copy" if timed else "write_copy"]
    try:
        figures = _NIGHT["load"](directory, graph, name, *a)
    finally:
        load.write_copy = _NIGHT["write_copy"]
    if timed:
        calls = _NIGHT["timing"].calls
        figures["copy_statements"] = {k: [round(x, 3) for x in v] for k, v in calls.items()}
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
    os.environ[_OPTIONS] = json.dumps({"night": night})
    _install(night)
    shown = delta.show
    last: dict = {}

    def show(figures: dict) -> None:
        last.update(figures)
        shown({k: v for k, v in figures.items() if k != "copy_statements"})

    delta.show = show
    sys.argv = [sys.argv[0], *rest]
    delta.main()
    print(json.dumps(_report(last, args.top)), flush=True)


if __name__ == "__mp_main__" and _OPTIONS in os.environ:  # the spawned load's process
    _given = json.loads(os.environ[_OPTIONS])
    _install(_given["night"])

if __name__ == "__main__":
    main()
