"""The distinct values of a 1-D integer array, sorted: ``np.unique(values)`` by a sort.

Not ``np.unique`` itself: asked for the values alone (no counts, indexes or inverse),
numpy from 2.3 (this project locks 2.5) finds them through a hash table, about a microsecond
a value where most differ, against a hundredth of that for a sort (a county's 6.5
million row hashes: 12.8 s of CPU against 0.1 s; benchmarks/README.md). The record of
rows written and the adults' frame's key counts both hold millions of mostly distinct
numbers. Integers only: a float NaN would be kept once for each, where numpy keeps one.
"""

from __future__ import annotations

import numpy as np


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """``values`` (1-D, integers) sorted, each once."""
    values = np.sort(values)
    first = np.ones(len(values), bool)
    np.not_equal(values[1:], values[:-1], out=first[1:])
    return values[first]
