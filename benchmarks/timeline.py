"""One load on the embedded engine, with the time each stage and write step starts.

``python -m benchmarks.timeline EXTRACTS ENGINE_DIR`` prints, as the load runs, when
the main thread and the writer thread begin each step (seconds from the start), then
the stage times and every write step's time. The benchmark gives totals; this shows
which thread waits for which, which is what decides where a second saved pays.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
from pathlib import Path

from benchmarks.stages import AS_OF, _store


class _Timeline:
    """A progress sink that prints when each stage starts, and on which thread."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def stage(self, name: str, total: int | None = None) -> None:
        at = time.perf_counter() - self.started
        print(f"{at:8.1f} s  [{threading.current_thread().name}] {name} ({total})", flush=True)

    def advance(self, amount: int = 1) -> None:
        return None


def main(extracts: Path, engine: Path) -> None:
    from loaders.load import run_load
    from ui.cli.collector import collector_for_load

    store = _store(engine)
    store.drop_all()
    store.ensure_schema()
    timeline = _Timeline()
    with collector_for_load() as after_stage:  # as `jigsaw load` runs it
        result = run_load(store, extracts, as_of=AS_OF, progress=timeline, after_stage=after_stage)
    took = time.perf_counter() - timeline.started
    store.close()
    report = result.report
    print(f"load {took:.1f} s, stages {json.dumps(report.seconds)}")
    print(f"write steps {json.dumps(report.write_seconds, indent=1)}")
    print(f"bulk-inserted rows {json.dumps(report.bulk_written)}")
    print(f"(as at {AS_OF}, {dt.datetime.now():%Y-%m-%d %H:%M})")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m benchmarks.timeline EXTRACTS ENGINE_DIR")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
