"""The CPU priority of a process that runs a load, set by ``jigsaw load``.

A load is minutes of CPU work; the app's users are people waiting on a page. So the
load lowers its own priority (Unix nice) and the app's requests are served first on a
shared machine. Set by the entry point, never by the loader for whatever process calls
it.
"""

from __future__ import annotations

import os
from pathlib import Path


def yield_cpu(niceness: int) -> None:
    """Lower this process's CPU priority by ``niceness`` (nothing where there is no
    nice). Linux keeps a priority per thread, so each thread running now is lowered too
    (native threads that imports started: the allocator's, the linear algebra's);
    threads and processes started afterwards inherit it. An engine started before it
    keeps its own."""
    if niceness <= 0 or not hasattr(os, "nice"):
        return
    now = os.getpriority(os.PRIO_PROCESS, 0)
    wanted = min(now + niceness, 19)
    tasks = Path("/proc/self/task")
    threads = [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]
    for thread in threads:
        try:
            os.setpriority(os.PRIO_PROCESS, thread, wanted)
        except OSError:  # a thread that has ended since, or a lower one not ours to raise
            continue
