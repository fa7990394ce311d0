"""A process's CPU seconds and its descendants, from Linux's ``/proc``: the embedded
engine's start tells a busy server from a hung one by it, and the benchmarks count what
the engine's server, the API's workers and a load's readers spend."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int, *, waited: bool = False) -> float | None:
    """The process's CPU seconds so far (user and system), None once it has gone;
    ``waited``: with its ended children's that it waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    ticks = sum(int(f) for f in fields[11 : 15 if waited else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def descendants(pid: int, skip: int | None = None) -> list[int]:
    """Every process below ``pid`` but ``skip`` and those below it."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            if kid != skip:
                found += [kid, *descendants(kid, skip)]
    return found
