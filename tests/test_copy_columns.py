"""The copy's column-at-a-time paths give what the row-at-a-time ones did: bulk
insertion's encoding of a column (each distinct value once) is each value's own, and
the items' hashes are those of :func:`hashlib.blake2b` over their JSON, one by one."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import orjson
import pytest

from graph.access.projection import _hashes
from graph.access.pseudonyms import pseudonym, pseudonyms
from graph.engines.falkordb_bulk import _cells, _columns, _value
from graph.store import ParameterError

COLUMNS = [
    ["a", "b", "a", None, "é", ""],
    [1, 1, 2, None, -5, 2**40],
    [True, False, True, None, 1, 0],  # booleans beside the integers equal to them
    [1.0, 1, 2.5, None, 1, True],
    [["x", "y"], ["x", "y"], [], None, ["z"], [1, 2]],
    [("x", 1), ("x", 1), (), None, ("y",), (["l"],)],
    [0.0, -0.0, 0.0, None, -0.0, 1.5],  # equal, encoded apart by the sign
    [dt.date(2020, 1, 1), dt.date(2020, 1, 1), None, dt.datetime(2020, 1, 1, 0, 0)],
    [1, Decimal("1"), 2, None],  # equal to an integer, stored as a float
    ["u1", "u2", "é", "", "u1"],  # mostly distinct texts (uids)
    [1, 2, -5, 2**40, 0, -(2**63)],  # mostly distinct integers
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


def test_one_and_one_point_oh_and_true_in_one_column_are_each_their_own():
    """1 == 1.0 == True in Python (one key in a dict), but bulk insertion stores an
    integer, a float and a boolean: each keeps its own type, in every order."""
    integer, double, boolean = (_one_by_one([v])[0] for v in (1, 1.0, True))
    assert len({integer, double, boolean}) == 3
    for values in ([1, 1.0, True], [True, 1.0, 1], [1.0, True, 1, None, 1.0]):
        assert _cells(values, "Thing", "p", None) == _one_by_one(values)
    assert _cells([1, 1.0, True], "Thing", "p", None) == [integer, double, boolean]


def test_a_value_refused_names_its_row_and_property():
    with pytest.raises(ParameterError, match=r"Thing u2 p: .*NUL"):
        _cells(["ok", "no\x00"], "Thing", "p", ["u1", "u2"])


def test_rows_encoded_a_column_at_a_time_are_each_rows_own():
    """Rows taken a column at a time (:func:`_columns`) and encoded so (:func:`_cells`):
    each row's values in order, an absent field null, as :func:`_value` writes each."""
    rows = [dict(zip("abcd", values, strict=True)) for values in zip(*COLUMNS[:4], strict=True)]
    rows[1].pop("b")  # a field the row does not have
    joined = bytearray()
    for row in rows:
        for field in "abcd":
            _value(row.get(field), joined)
    columns = _columns(rows, "abcd")
    cells = [_cells(columns[field], "Thing", field, None) for field in "abcd"]
    assert b"".join(map(b"".join, zip(*cells, strict=True))) == bytes(joined)
    given = _columns({"a": [1, 2]}, "ab")  # columns as given, an absent one null
    assert given == {"a": [1, 2], "b": [None, None]}


def test_a_value_refused_among_distinct_values_names_its_row():
    with pytest.raises(ParameterError, match=r"Thing u3 p: .*too large"):
        _cells([1, 2, 2**63], "Thing", "p", ["u1", "u2", "u3"])
    with pytest.raises(ParameterError, match=r"Thing u1 p: .*NUL"):
        _cells(["\x00", "a", "b"], "Thing", "p", ["u1", "u2", "u3"])


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


def test_people_given_as_rows_or_as_columns_are_sent_as_the_same_commands():
    """The bulk writer's one entry point for nodes encodes rows a row at a time and
    columns a column at a time: the same people (with the labels a row's fields add and
    a constant property) given either way make the same commands, byte for byte."""
    import random

    from graph.engines.falkordb_bulk import FalkorBulkWriter
    from loaders.write import PEOPLE

    class Capturing(FalkorBulkWriter):
        def _send(self, commands) -> None:
            self.sent = [command[:4] for command in commands]

    shape = PEOPLE.node_shape
    rng = random.Random(2)
    rows = []
    for i in range(3000):
        row = {f: rng.choice([None, "x", "y", 1, 2.5, True]) for f in shape.fields}
        row |= {"uid": f"P{i}", "dob": rng.choice([None, "2010-01-02"])}
        row |= {"child": rng.random() < 0.5, "adult": rng.random() < 0.5}
        rows.append(row)
    columns = {f: [row.get(f) for row in rows] for f in (*shape.fields, "child", "adult")}
    for constants in (None, {shape.props[1]: "k"}):
        sent = []
        for given in (rows, columns):
            writer = Capturing(None, None)
            writer.create_nodes(shape, given, constants=constants)
            sent.append(writer.sent)
        assert sent[0] == sent[1] and len(sent[0]) > 1
