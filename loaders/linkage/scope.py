"""A delta's scoring scope: the rows a new record can be blocked with.

A delta load scores only the pairs its blocking makes with a new or changed record
(:func:`loaders.linkage.model.score`'s ``touched``). Every blocking rule joins two rows
on a key they share (a birth date and an initial, a child, an address: the model's
:attr:`~loaders.linkage.model.Model.keys`), so a row sharing no key value with any new
row makes no pair with one. Scoring the new rows against those that do share one (their
block mates), rather than every row, makes the same pairs with the same probabilities
(the name frequencies are still every row's) while the engine joins and reads only the
rows a night touched and their neighbours, not the whole county.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def mates(new: pa.Table, rest: pa.Table, keys: tuple[tuple[str, str], ...]) -> pa.Table:
    """The rows of ``rest`` that share a value of a blocking key with a row of ``new``:
    for each key (left column, right column), a row whose right column holds a value a
    new row's left column holds, or the other way round (a rule may join two columns,
    as given name to family name); a list column's values each count. ``keys`` empty:
    every row (the model did not say what its rules join)."""
    if not keys or rest.num_rows == 0:
        return rest
    hit = np.zeros(rest.num_rows, dtype=bool)
    for left, right in keys:
        for mine, theirs in {(left, right), (right, left)}:
            _, values = _flat(new[mine])
            if len(values) == 0:
                continue
            rows, found = _flat(rest[theirs])
            meets = pc.is_in(found, value_set=pc.unique(values))
            hit[rows.filter(meets).to_numpy()] = True
    return rest.filter(pa.array(hit))


def new_rows(frame: pa.Table, touched: Collection[str] | pa.Array) -> pa.Array:
    """Which of ``frame``'s rows are new or changed (a mask): those whose ``unique_id``
    is among ``touched`` (the new or changed records, or their people's roots); an
    Array of them is looked up as it is (made once for many frames)."""
    if not isinstance(touched, pa.Array):
        touched = pa.array(sorted(touched), pa.string())
    return pc.is_in(frame["unique_id"], value_set=touched)


def _flat(column: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """Each value of a column with the row it is in (a list column's values each; nulls
    left out)."""
    values = column.combine_chunks()
    if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
        rows, values = pc.list_parent_indices(values), pc.list_flatten(values)
    else:
        rows = pa.array(np.arange(len(values), dtype=np.int64))
    present = pc.is_valid(values)
    return rows.filter(present), values.filter(present)
