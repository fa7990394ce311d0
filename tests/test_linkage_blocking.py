"""The people model's blocking keys: a key shared by too many people is no key, counted in
pairs of different people, so a person's own records never count against it."""

from __future__ import annotations

import pyarrow as pa

from loaders.linkage.blocking import capped, people_keys


def test_a_key_keeps_its_smallest_blocks_within_the_pairs_of_different_people():
    """Thirty pairs of namesakes (30 pairs), one child's ten records (one person: no
    pair of different people) and a name twenty people share (190 pairs): within 50
    pairs the twenty are no key, the rest are."""
    keys = [f"pair{i // 2}" for i in range(60)] + ["child"] * 10 + ["smith"] * 20 + [None]
    groups = [f"p{i}" for i in range(60)] + ["c"] * 10 + [f"s{i}" for i in range(20)] + ["x"]
    kept, dropped = capped(pa.array(keys, pa.string()), pa.array(groups), limit=50)
    assert dropped == 1
    assert kept.to_pylist() == keys[:70] + [None] * 21
    # with room for every pair, the keys are as they were
    assert capped(pa.array(keys, pa.string()), pa.array(groups), limit=300)[1] == 0


def test_the_people_keys_join_what_the_rules_did():
    """Birth date and initials, names, postcode: null where a part is missing."""
    columns = {
        "dob": ["2014-03-02", None],
        "given": ["bob", "ann"],
        "given_canon": ["robert", "ann"],
        "family": ["lee", "may"],
        "postcode": ["AB1 2CD", None],
    }
    keys = {name: values.to_pylist() for name, values in people_keys(columns, ["a", "b"]).items()}
    assert keys == {
        "key_dob_given": ["2014-03-02|r", None],
        "key_dob_family": ["2014-03-02|l", None],
        "key_name": ["lee|robert", "may|ann"],
        "key_postcode": ["AB1 2CD|robert", None],
        "key_year": ["lee|2014|b", None],
    }


def test_a_key_too_common_gives_way_to_its_finer_key():
    """A birthday and initial twenty people share is no key; those of them who share a
    whole given name (a person's two records, a pair of namesakes) still meet on it."""
    from loaders.linkage.blocking import refined

    coarse = ["d|a"] * 20 + ["e|b", "e|b"]
    fine = ["d|ann", "d|ann"] + [f"d|a{i}" for i in range(18)] + ["e|bo", "e|bo"]
    groups = [f"p{i}" for i in range(22)]
    keys = refined(pa.array(coarse), pa.array(fine), pa.array(groups), limit=5).to_pylist()
    assert keys[:2] == ["~d|ann", "~d|ann"] and keys[20:] == ["e|b", "e|b"]
    assert len(set(keys[2:20])) == 18  # each alone: no pair
