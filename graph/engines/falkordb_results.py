"""FalkorDB's compact result set straight to plain Python values, a column at a time.

The client library turns each cell into its own objects and our adapter then walked
every value again to make it plain: for 41,000 rows of six columns that was 1.4 s of
Python (cProfile) on top of 0.46 s to fetch the reply (county-wide open cases). Results made
only of scalars, lists and maps (nearly every query we run: they return properties,
not nodes) are decoded here instead. Anything holding a node, relationship, path,
point, vector, time or duration returns ``None``, and the caller falls back to the
client's parser, which knows the graph's label and property-key tables.

A reply is a list of rows of ``[kind, value]`` cells, and a column nearly always holds
one kind (and nulls): so the rows are turned into columns (:func:`plain_columns`), and
each column is decoded by its kinds. Text, integers and nulls are taken as the reply holds
them; dates, booleans and floating-point numbers are converted once per distinct value
(a county's attendance has millions of cells and a few hundred term dates); only a
column of lists, maps or mixed kinds is decoded cell by cell. The caller puts the
columns in the query's order by reordering the list of columns, not every row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from itertools import chain
from operator import itemgetter
from typing import Any

_NULL, _STRING, _INTEGER, _BOOLEAN, _DOUBLE, _ARRAY = 1, 2, 3, 4, 5, 6
_MAP, _DATETIME, _DATE = 10, 13, 14
_EPOCH_DAY = dt.date(1970, 1, 1)
_EPOCH = dt.datetime(1970, 1, 1)
_KIND, _VALUE = itemgetter(0), itemgetter(1)
_AS_SENT = frozenset((_NULL, _STRING, _INTEGER))  # a null cell's value is None


class _NotPlain(Exception):
    """A cell the fast path does not decode."""


def _date(value: int) -> dt.date:
    return _EPOCH_DAY + dt.timedelta(days=value // 86_400)


def _datetime(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(seconds=value)


def _boolean(value: str) -> bool:
    return value == "true"


# kinds whose values are hashable and converted alone: once per distinct value
_CONVERT: dict[int, Callable[[Any], Any]] = {
    _DATE: _date,
    _DATETIME: _datetime,
    _BOOLEAN: _boolean,
    _DOUBLE: float,
}


def _cell(cell: list[Any]) -> Any:
    kind, value = cell
    if kind in _AS_SENT:
        return value
    if kind == _ARRAY:
        return [_cell(item) for item in value]
    if kind == _MAP:
        return {value[i]: _cell(value[i + 1]) for i in range(0, len(value), 2)}
    convert = _CONVERT.get(kind)
    if convert is None:
        raise _NotPlain
    return convert(value)


def _flat_lists(values: list[Any]) -> bool:
    """Whether every list in a column of lists holds only text, integers and nulls (a
    node's labels, a list of codes): then each is its cells' values."""
    cells = chain.from_iterable(v for v in values if v is not None)
    return set(map(_KIND, cells)) <= _AS_SENT


def _column(kinds: list[int], values: list[Any]) -> list[Any]:
    """One column's cells (their kinds, their values) as plain values."""
    kinds_in = set(kinds)
    if kinds_in <= _AS_SENT:
        return values
    kinds_in.discard(_NULL)
    if kinds_in == {_ARRAY} and _flat_lists(values):
        return [None if v is None else list(map(_VALUE, v)) for v in values]
    convert = _CONVERT.get(kinds_in.pop()) if len(kinds_in) == 1 else None
    if convert is None:  # lists, maps, mixed kinds, or a kind only the client knows
        return [_cell(cell) for cell in zip(kinds, values, strict=True)]
    distinct = set(values)
    distinct.discard(None)
    plain: dict[Any, Any] = {value: convert(value) for value in distinct}
    plain[None] = None
    return list(map(plain.__getitem__, values))


def plain_columns(records: list[list[list[Any]]], width: int) -> list[list[Any]] | None:
    """The reply's ``width`` columns, each a list of plain values in row order, or
    ``None`` when a cell needs the client's parser.

    The cells are laid end to end, kind then value (``chain``, in C), so a column's
    kinds and values are each one slice of that list: two passes over the reply in C
    rather than one in Python a cell (about a third of the old time at 20,000
    children)."""
    if not records or not width:
        return [[] for _ in range(width)]
    flat = list(chain.from_iterable(chain.from_iterable(records)))
    step = 2 * width
    if len(flat) != step * len(records):  # a row or cell of another shape
        return None
    try:
        return [_column(flat[2 * j :: step], flat[2 * j + 1 :: step]) for j in range(width)]
    except _NotPlain:
        return None


def plain_records(records: list[list[list[Any]]]) -> list[list[Any]] | None:
    """The reply's rows of plain values (:func:`plain_columns` turned back into rows,
    for a caller that wants rows), or ``None`` when a cell needs the client's parser."""
    if not records:
        return []
    columns = plain_columns(records, len(records[0]))
    if columns is None:
        return None
    if not columns:
        return [[] for _ in records]
    return [list(row) for row in zip(*columns, strict=True)]
