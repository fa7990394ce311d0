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


def test_a_key_is_capped_as_its_pairs_counted_by_hand_say():
    """Random keys, people and limits (nulls among both): the keys kept are those of the
    blocks whose pairs of different people, counted here a block at a time, fit within
    the limit smallest first (blocks of one size together); rows with no person are
    one group among the others. A guard on the counting, not a change of rule: it
    passes on the code before the count moved to numpy too."""
    import random
    from collections import Counter

    rnd = random.Random(7)
    for _ in range(400):
        size = rnd.randint(0, 50)
        keys = [
            rnd.choice([None, *(f"k{i}" for i in range(rnd.randint(1, 9)))]) for _ in range(size)
        ]
        groups = [
            rnd.choice([None, *(f"g{i}" for i in range(rnd.randint(1, 6)))]) for _ in range(size)
        ]
        limit = rnd.choice([0, 2, 7, 30, 200]) * rnd.random()
        blocks: dict[str, Counter] = {}
        for key, group in zip(keys, groups, strict=True):
            if key is not None:
                blocks.setdefault(key, Counter())[group] += 1
        pairs = {
            key: (sum(c.values()) ** 2 - sum(n * n for n in c.values())) // 2
            for key, c in blocks.items()
        }
        fits = [p for p in set(pairs.values()) if sum(q for q in pairs.values() if q <= p) <= limit]
        largest = max(fits, default=0)
        kept, dropped = capped(pa.array(keys, pa.string()), pa.array(groups, pa.string()), limit)
        assert dropped == sum(p > largest for p in pairs.values())
        assert kept.to_pylist() == [k if k is None or pairs[k] <= largest else None for k in keys]
