"""Which processes have relaxed the embedded server's persistence, kept beside its files.

A load may relax the server's append-only file (``appendfsync everysec``, no automatic
rewrites) while it runs; the setting is the server's, so it would outlive a loader
that was killed, for every client of the server. Each loader leaves a marker named by
its process (id and start time, so a reused id is not taken for it) before relaxing
and removes it after restoring. Whoever finds only markers of dead processes - the
next store to open the directory, the next write of any client, the next load -
restores the durable settings and removes them.
"""

from __future__ import annotations

import os
from pathlib import Path

DIRECTORY = ".relaxed"


def _start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 and fields[0] != "Z" else None


def _name(pid: int) -> str:
    return f"{pid}-{_start_time(pid) or 'x'}"


class RelaxedMarkers:
    """The markers in one embedded store's directory."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / DIRECTORY

    def add(self) -> Path:
        """This process relaxes the server from now on."""
        self.path.mkdir(exist_ok=True)
        marker = self.path / _name(os.getpid())
        marker.touch()
        return marker

    def live(self) -> list[str]:
        """Markers of processes still running; those of dead ones are removed."""
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return []
        alive = []
        for name in names:
            pid, _, started = name.partition("-")
            if pid.isdigit() and _start_time(int(pid)) == started:
                alive.append(name)
            else:
                (self.path / name).unlink(missing_ok=True)
        return alive

    def stale(self) -> bool:
        """Whether some marker is left by a process that is gone (and none live)."""
        try:
            if not os.listdir(self.path):
                return False
        except FileNotFoundError:
            return False
        return not self.live()
