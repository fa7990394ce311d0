"""Sign-in throttling: exponential backoff per account and per client address.

Failures are counted in one small file beside the accounts, under a lock, so the app's
sessions and the command line share the count: guessing a password from several
browser tabs, or alternately in the app and on the command line, waits just as long.
After ``free`` failures each further attempt waits 1 s after the last failure, then
2 s, 4 s ... up to ``max_wait_s``; a success clears the account's count (not the
address's, so one good account cannot be used to reset the guessing of another).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from graph.files import write_private

FORGET_AFTER_S = 24 * 3600  # a key with no failure for a day starts again


class Throttle:
    """Failures per key (``account:jo``, ``address:10.0.0.5``) and the wait they earn."""

    def __init__(
        self,
        path: Path,
        *,
        free: int = 3,
        max_wait_s: float = 900,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.free = free
        self.max_wait_s = max_wait_s
        self.clock = clock

    def delay(self, failures: int) -> float:
        """Seconds an attempt must wait after the last of ``failures`` failures."""
        if failures < self.free:
            return 0.0
        return float(min(self.max_wait_s, 2 ** (failures - self.free)))

    def wait(self, keys: Iterable[str]) -> float:
        """Seconds until any of these keys may try again (0: now)."""
        state = self._read()
        now = self.clock()
        waits = [0.0]
        for key in keys:
            failures, last = state.get(key, (0, 0.0))
            waits.append(max(0.0, last + self.delay(failures) - now))
        return max(waits)

    def failed(self, keys: Iterable[str]) -> int:
        """Count one failure against each key; returns the highest count."""
        keys = list(keys)
        with self._locked() as state:
            now = self.clock()
            for key in keys:
                failures, _last = state.get(key, (0, 0.0))
                state[key] = (failures + 1, now)
            return max((state[k][0] for k in keys), default=0)

    def succeeded(self, key: str) -> None:
        with self._locked() as state:
            state.pop(key, None)

    def _read(self) -> dict[str, tuple[int, float]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        now = self.clock()
        return {
            k: (int(v[0]), float(v[1]))
            for k, v in data.items()
            if now - float(v[1]) < FORGET_AFTER_S
        }

    @contextmanager
    def _locked(self) -> Iterator[dict[str, tuple[int, float]]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            state = self._read()
            yield state
            write_private(self.path, json.dumps(state).encode())
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
