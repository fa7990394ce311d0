"""The derive stage's steps, one after another, statement by statement.

``python -m benchmarks.derive_steps ENGINE_DIR`` works out again, on a graph a
benchmark load left there (``--engine ENGINE_DIR``; a copy: it is written), the
derived facts (loaders.derive), the risk of NEET factors, the caseload map's and needs
forecast's tallies and transitions' cohorts, as a full load does, but each alone: its
wall seconds, the CPU seconds of this process (Python: working out, and reading the
engine's replies) and of the engine, and each statement's calls, seconds, the engine's
CPU seconds meanwhile and rows shipped. A load runs them side by side, where a busy
machine blurs which costs what; this says where each one's time goes.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.stages import AS_OF, _store
from graph.cypher import REGISTRY
from graph.processes import cpu_seconds


class _Timed:
    """A store whose reads and writes are timed by the statement's registered name."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._pid = store.server_pid()
        # name -> [calls, seconds, the engine's CPU seconds meanwhile, rows shipped]
        self.calls: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0])
        self._names = {s.text: s.name for s in REGISTRY.values()}

    def engine_cpu(self) -> float:
        return cpu_seconds(self._pid) or 0.0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if name not in ("read", "write", "write_rows"):
            return method

        def timed(cypher: str, *args: Any, **kwargs: Any) -> Any:
            started, engine = time.perf_counter(), self.engine_cpu()
            result = method(cypher, *args, **kwargs)
            call = self.calls[f"{name} {self._names.get(cypher.strip(), cypher[:40])}"]
            call[0] += 1
            call[1] += time.perf_counter() - started
            call[2] += self.engine_cpu() - engine
            call[3] += len(result) if name == "read" else 0
            return result

        return timed


def main(engine: Path) -> None:
    from loaders import derive
    from loaders.caseload_kept import keep_after_load as caseload
    from loaders.needs_kept import keep_after_load as needs
    from loaders.risk_factors import keep_after_load as risk
    from loaders.transition_cohorts import keep_after_load as cohorts

    plain = _store(engine)
    store = _Timed(plain)
    steps: dict[str, Callable[[], Any]] = {
        "derived facts": lambda: [store.write(s) for s in derive.DERIVED],
        "risk factors": lambda: risk(store, AS_OF),  # type: ignore[arg-type]
        "caseload map tally": lambda: caseload(store),  # type: ignore[arg-type]
        "needs forecast tally": lambda: needs(store, AS_OF),  # type: ignore[arg-type]
        "transition cohorts": lambda: cohorts(store, AS_OF),  # type: ignore[arg-type]
    }
    for name, step in steps.items():
        store.calls.clear()
        wall, cpu, engine_cpu = time.perf_counter(), time.process_time(), store.engine_cpu()
        step()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        engine_cpu = store.engine_cpu() - engine_cpu
        print(f"{name}: {wall:.2f} s wall, CPU {cpu:.2f} s Python + {engine_cpu:.2f} s engine")
        # reads side by side (the risk step's birth years) each count the others' engine CPU
        for what, (n, seconds, engine, rows) in sorted(store.calls.items(), key=lambda c: -c[1][1]):
            print(f"  {what:48} x{n:<3} {seconds:6.2f} s  engine {engine:5.2f} s  {rows:>9,} rows")
    plain.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
