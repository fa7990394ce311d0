"""The people model's blocking keys, each capped so its pairs grow with the records.

A rule joins records on a key (a birth date and an initial, a full name); a block of
records sharing a key makes a pair of every two of them. Birth dates and names do not
grow with the county, so the strangers sharing one do, and their pairs grow with the
square of the county (from 20,000 children to 100,000 the people model's pairs grew 15
times). Each key is kept only where its block is small enough: the blocks, smallest
first, whose pairs come to no more than :data:`PAIRS_PER_RECORD` a record; a larger
block is no key of that rule (its records still meet through the other rules). Pairs
within a person the checked identifiers already made are not counted: a child's own
records sharing a birthday are no strangers, and a block of them costs nothing to keep.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PAIRS_PER_RECORD = 1.0  # each rule's pairs of different people, at most, a record
# the key columns and what each joins: the rules of loaders.linkage.people
PEOPLE_KEYS = {
    "key_dob_given": "birth date and the given name's initial (as its formal form)",
    "key_dob_family": "birth date and the family name's initial",
    "key_name": "family name and given name (as its formal form)",
    "key_postcode": "postcode and given name (as its formal form)",
    "key_year": "family name, birth year and the given name's initial",
}


def people_keys(columns: dict[str, list], people: list[str]) -> dict[str, pa.Array]:
    """The people model's key columns (:data:`PEOPLE_KEYS`) from its frame's ``columns``,
    each capped (:func:`capped`); ``people``: each row's person so far."""
    size = len(people)

    def text(name: str) -> pa.Array:
        return pa.array(columns[name], pa.string(), size=size)

    def joined(*parts: pa.Array) -> pa.Array:  # null where any part is
        return pc.binary_join_element_wise(*parts, "|")

    def first(values: pa.Array, n: int = 1) -> pa.Array:
        return pc.utf8_slice_codeunits(values, 0, n)

    dob, given, canon = text("dob"), text("given"), text("given_canon")
    family, postcode = text("family"), text("postcode")
    # each key, and the finer key a row takes where its block is too large to keep
    found = {
        "key_dob_given": (joined(dob, first(canon)), joined(dob, canon)),
        "key_dob_family": (joined(dob, first(family)), joined(dob, family)),
        "key_name": (joined(family, canon), joined(family, canon, first(dob, 4))),
        "key_postcode": (joined(postcode, canon), None),
        "key_year": (joined(family, first(dob, 4), first(given)), joined(family, dob, given)),
    }
    groups = pa.array(people, pa.string())
    limit = PAIRS_PER_RECORD * size
    return {name: refined(*keys, groups, limit) for name, keys in found.items()}


def refined(keys: pa.Array, finer: pa.Array | None, groups: pa.Array, limit: float) -> pa.Array:
    """``keys`` capped (:func:`capped`); a row whose key was dropped takes its ``finer``
    key instead (capped in turn), so that a birthday too many share still blocks those
    who share a given name on it."""
    kept, dropped = capped(keys, groups, limit)
    if not dropped or finer is None:
        return kept
    lost = pc.and_(pc.is_valid(keys), pc.is_null(kept))
    fine = pc.if_else(lost, pc.binary_join_element_wise("~", finer, ""), None)
    fine, _ = capped(fine, groups, limit)
    return pc.coalesce(kept, fine)


def capped(keys: pa.Array, groups: pa.Array, limit: float) -> tuple[pa.Array, int]:
    """``keys`` without those of the largest blocks, so that the pairs of different
    ``groups`` in the blocks kept, smallest first, come to no more than ``limit`` (a
    block holding c_i rows of each group makes (n^2 - sum c_i^2) / 2 such pairs, n the
    sum). Returns the kept keys (null for the rest) and how many keys were dropped."""
    present = pc.is_valid(keys).to_numpy(zero_copy_only=False)
    block, _ = codes(keys)
    group, named = codes(groups)
    block, group = block[present], group[present]
    if not len(block):
        return keys, 0
    # the rows of each (block, group), a block's c_i
    numbers = len(named) + 1  # a null group's too
    cell, c = np.unique(block * numbers + group, return_counts=True)
    of = cell // numbers
    n = np.bincount(of, weights=c).astype(np.int64)
    c2 = np.bincount(of, weights=c * c).astype(np.int64)
    held = n > 0  # the blocks some present row holds
    pairs = (n * n - c2) // 2
    keep = within(pairs[held], limit)
    dropped = int((~keep).sum())
    if not dropped:
        return keys, 0
    kept = np.zeros(len(n), dtype=bool)
    kept[np.flatnonzero(held)[keep]] = True
    rows = np.zeros(len(present), dtype=bool)
    rows[present] = kept[block]
    return pc.if_else(pa.array(rows), keys, pa.scalar(None, pa.string())), dropped


def within(pairs: np.ndarray, limit: float) -> np.ndarray:
    """Which blocks (each one's ``pairs``) are kept: the smallest first, while they come
    to no more than ``limit`` together; blocks of one size are kept or dropped together."""
    order = np.sort(pairs)
    sizes = np.unique(order)
    totals = np.cumsum(order)[np.searchsorted(order, sizes, side="right") - 1]
    fits = sizes[totals <= limit]
    return pairs <= (int(fits[-1]) if len(fits) else 0)


def codes(values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Each value's number (int64; equal values one number, a null the number after the
    last) and the distinct values in their numbers' order: grouping whole numbers in
    numpy costs a fraction of Arrow's grouping of the text, and every delta groups every
    record's keys."""
    found = pc.dictionary_encode(values)
    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks()
    last = len(found.dictionary)
    numbers = pc.fill_null(found.indices, last).to_numpy(zero_copy_only=False)
    return numbers.astype(np.int64), found.dictionary
