"""loaders.distinct.sorted_distinct against Python's own sorted set of the values (the
truth, not numpy): the edges an array of hashes or keys can be."""

from __future__ import annotations

import numpy as np
import pytest

from loaders.distinct import sorted_distinct

TOP = np.iinfo(np.uint64).max
CASES = {
    "empty uint64": np.array([], np.uint64),
    "empty int64": np.array([], np.int64),
    "one value": np.array([7], np.int64),
    "all equal, the highest uint64": np.full(5, TOP, np.uint64),
    "high bits": np.array([TOP, 2**63, 1, 2**63, TOP - 1, 0], np.uint64),
    "int64 extremes": np.array([2**63 - 1, -(2**63), 0, -(2**63), 5], np.int64),
    "int32": np.array([3, -1, 3, 2, -1], np.int32),
    "random, repeated": np.random.default_rng(3).integers(0, 50, 1_000, np.int64),
}


@pytest.mark.parametrize("name", CASES)
def test_sorted_distinct_is_the_sorted_set_of_the_values(name: str) -> None:
    values = CASES[name]
    found = sorted_distinct(values)
    assert found.tolist() == sorted({int(v) for v in values.tolist()})
    assert found.dtype == values.dtype and found.ndim == 1
