"""The copy's column-at-a-time paths give what the row-at-a-time ones did: bulk
insertion's encoding of a column (each distinct value once) is each value's own, and
the items' hashes are those of :func:`hashlib.blake2b` over their JSON, one by one."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from graph.access.projection import _hashes
from graph.access.pseudonyms import pseudonym, pseudonyms
from graph.engines.falkordb_bulk import _cells, _value
from graph.store import ParameterError

COLUMNS = [
    ["a", "b", "a", None, "é", ""],
    [1, 1, 2, None, -5, 2**40],
    [True, False, True, None, 1, 0],  # booleans beside the integers equal to them
    [1.0, 1, 2.5, None, 1, True],
    [["x", "y"], ["x", "y"], [], None, ["z"], [1, 2]],
    [("x", 1), ("x", 1), (), None, ("y",), (["l"],)],
]


def _one_by_one(values: list) -> list[bytes]:
    out = []
    for value in values:
        cell = bytearray()
        _value(value, cell)
        out.append(bytes(cell))
    return out


@pytest.mark.parametrize("values", COLUMNS)
def test_a_column_is_encoded_as_its_values_one_by_one(values):
    assert _cells(values, "Thing", "p", None) == _one_by_one(values)


def test_a_value_refused_names_its_row_and_property():
    with pytest.raises(ParameterError, match=r"Thing u2 p: .*NUL"):
        _cells(["ok", "no\x00"], "Thing", "p", ["u1", "u2"])


def test_the_items_hashes_are_each_items_own():
    items = [("a", 1, None, "2020-01-01", [1, 2], True, 1.5), ("b",), [3, 4], []]

    def one(values: object) -> int:
        digest = hashlib.blake2b(orjson.dumps(values), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)

    assert _hashes(items) == [one(item) for item in items]


def test_pseudonyms_worked_out_together_are_each_ones_own():
    key = bytes(range(32))
    uids = ["p-1", "p-2", 17, "é"]
    assert pseudonyms(key, "Person", uids) == [pseudonym(key, "Person", u) for u in uids]
