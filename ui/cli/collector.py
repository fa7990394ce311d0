"""The garbage collector's settings for a process that runs a load.

A load holds millions of objects for minutes (records, identities, graph rows), and
every full collection of CPython's cyclic collector walks them all, though the load's
own objects form no cycles. So while a load runs, full collections wait for 1,000
collections of the middle generation instead of 10, and what is alive at the end of
each stage is frozen (moved where collections do not look). Young collections go on,
so short-lived cycles are still freed. Set here, by the entry points that run loads
(``jigsaw load``, ``jigsaw demo``, the benchmark), never by the loader for whatever
process calls it. Figures: benchmarks/README.md.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def collector_for_load() -> Iterator[Callable[[str], None]]:
    """Space out full collections for the block; yields the ``after_stage`` hook that
    freezes what each stage leaves (``run_load(after_stage=...)``). Everything is as
    it was afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(before[0], before[1], 1000)
    try:
        yield lambda _stage: gc.freeze()
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
