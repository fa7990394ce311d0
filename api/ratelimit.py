"""Per-client rate limits: a sliding window counter of our own, in memory.

Replaces ``limits``' limiter over its in-memory storage, which started a timer thread up
to 100 times a second (our workaround overrode two of its private methods, so any
release could break it) and cost about 5% of a request. Agreed rates are still read by
``limits.parse`` (its public API), so a client's rate is written as before
("60/minute").

A sliding window counter (as ``limits``' ``SlidingWindowCounterRateLimiter``): the
requests of the current fixed window, plus those of the window before weighted by how
much of it still lies within one window's length of now. Constant work and memory a
client; no thread, nothing to sweep (only authenticated clients are counted, so there
are at most as many counters as registered clients).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from limits import parse as parse_rate


@dataclass(frozen=True)
class Rate:
    """At most ``amount`` requests in any ``seconds``."""

    amount: int
    seconds: float


@functools.lru_cache(maxsize=4096)
def worker_share(rate: str, workers: int) -> Rate:
    """A client's agreed rate as each of ``workers`` processes enforces it. Each counts
    only the requests it serves, so each allows its share: a client never gets more than
    its agreement, and one whose requests all reach one worker gets that worker's share."""
    item = parse_rate(rate)
    return Rate(max(1, item.amount // workers), float(item.get_expiry()))


@dataclass
class _Counter:
    window: int  # which fixed window (now // seconds) ``current`` counts
    current: int = 0
    previous: int = 0


@dataclass
class RateLimiter:
    """``hit`` counts a request and says whether it is within the rate."""

    clock: Callable[[], float] = time.monotonic
    _counters: dict[tuple[str, Rate], _Counter] = field(default_factory=dict)

    def hit(self, rate: Rate, key: str) -> bool:
        """Count one request of ``key`` against ``rate``: True if allowed. A refused
        request is not counted (as ``limits`` does), so a client over its rate gets in
        again as its earlier requests leave the window."""
        now = self.clock()
        window = math.floor(now / rate.seconds)
        counter = self._counters.get((key, rate))
        if counter is None:
            counter = self._counters[(key, rate)] = _Counter(window)
        elif counter.window != window:
            counter.previous = counter.current if counter.window == window - 1 else 0
            counter.current, counter.window = 0, window
        into = now / rate.seconds - window  # how far into the current window, 0..1
        weighted = counter.previous * (1.0 - into) + counter.current
        if math.floor(weighted) + 1 > rate.amount:  # a part of a request does not count
            return False
        counter.current += 1
        return True
