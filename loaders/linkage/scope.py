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

from dataclasses import dataclass

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


@dataclass
class Framing:
    """A delta's adults' frame over the people it can change rather than every adult:
    the ``touched`` people (roots), their block mates under ``keys`` and those mates'
    block mates (:func:`mates` on every adult's blocking keys: :meth:`choose`).

    A round scores pairs of a touched person and a block mate, and each row is its
    person's own (their records, and the surroundings gathered over everyone), so the
    first two rings are the rows its pairs read. The third is for the next round's
    ``fresh`` column (:func:`~loaders.linkage.relational.freshen`: a pair is scored
    again only if one of its rows changed since the round before): the next round's
    touched people are this round's or joined to them, so among the first two rings,
    and a pair of theirs whose rows both did not change shares a key in this round
    too, so its mate is in the three rings; a row this round did not frame is taken
    as changed, which only a pair with a changed row on its other side meets.

    What the scoring reads of the whole frame the framing fills in from every adult:
    how many there are and their roots (the rounds' rate of matches), the columns with
    a value in some row (the comparisons used), and the columns the name frequencies
    are of."""

    touched: frozenset[str]
    keys: tuple[tuple[str, str], ...]
    people: int = 0  # every adult on the frame's side
    roots: pa.Array | None = None  # each adult's unique_id
    present: frozenset[str] = frozenset()  # the columns with a value in some adult's row
    frequencies: pa.Table | None = None  # every adult's own columns (the name frequencies)

    def choose(self, keyed: pa.Table) -> pa.Array:
        """Which rows of ``keyed`` (every adult's ``unique_id`` and blocking keys) to
        frame: the touched people, their block mates and their mates' block mates."""
        ids = keyed["unique_id"]
        chosen = pc.is_in(ids, value_set=pa.array(sorted(self.touched), pa.string()))
        ring = chosen
        for _ in range(2):
            found = mates(keyed.filter(ring), keyed.filter(pc.invert(chosen)), self.keys)
            ring = pc.is_in(ids, value_set=found["unique_id"].combine_chunks())
            chosen = pc.or_(chosen, ring)
        return chosen


def frequencies(values: pa.ChunkedArray | pa.Array, name: str) -> pa.Table:
    """A column's term frequencies as Splink works them out (each value's rows over the
    rows with a value, in double precision), under Splink's names (``name``,
    ``tf_<name>``), for a frame that holds only some of the rows they are of."""
    present = pc.drop_null(values)
    counts = pc.value_counts(present)
    total = float(len(present))
    shares = pc.divide(counts.field("counts").cast(pa.float64()), pa.scalar(total, pa.float64()))
    return pa.table({name: counts.field("values"), f"tf_{name}": shares})
