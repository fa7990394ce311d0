"""A household level's ``pairs_on`` and its test: counted over every pair, its u must be
the share a brute-force look at every pair finds, and it is counted whether or not the
random sample met the level."""

from __future__ import annotations

import random
import re

import pytest

# the frame's columns the household's tests name, by their kind
STRUCTS = {
    "stays": "ase",
    "dated": "ase",
    "coparent_births": ("c", "lo", "hi"),
    "coparent_name_births": ("n", "lo", "hi"),
    "mate_stays": ("c", "s", "e"),
    "mate_name_stays": ("n", "s", "e"),
}
SCALARS = ("district", "family", "postcode")
DAYS = ("2019-01-01", "2020-06-01", "2021-01-01", "2022-03-01", "2024-01-01", "9999-12-31")


def _random_frame(seed: int, rows: int, columns: set[str]):
    """``rows`` people with a few values each, drawn from small pools so that pairs
    share values in every column and across columns (a child in one's ``kids`` and
    another's ``household``); a third of each list left null."""
    import pyarrow as pa

    pick = random.Random(seed)

    def values() -> list[str] | None:
        if pick.random() < 0.3:
            return None
        return sorted({f"v{pick.randrange(8)}" for _ in range(pick.randint(1, 3))})

    def structs(keys: tuple[str, ...] | str) -> list[dict] | None:
        if pick.random() < 0.3:
            return None
        out = []
        for _ in range(pick.randint(1, 3)):
            a, b = sorted(pick.sample(DAYS, 2))
            out.append(dict(zip(keys, (f"v{pick.randrange(8)}", a, b), strict=True)))
        return out

    table: dict[str, list] = {"unique_id": [f"p{i:04d}" for i in range(rows)]}
    for column in sorted(columns):
        if column in STRUCTS:
            table[column] = [structs(STRUCTS[column]) for _ in range(rows)]
        elif column in SCALARS:
            table[column] = [f"v{pick.randrange(4)}" for _ in range(rows)]
        else:
            table[column] = [values() for _ in range(rows)]
    return pa.table(table)


def _columns(tests: list[str]) -> set[str]:
    return {name for sql in tests for name in re.findall(r"\b(\w+?)_[lr]\b", sql)}


def _brute_force(frame, tests: list[str], index: int) -> int:
    """Every pair of ``frame`` whose first test to hold, as declared, is ``index``."""
    import duckdb

    case = " ".join(f"WHEN ({t}) THEN {i}" for i, t in enumerate(tests))
    with duckdb.connect() as con:
        con.register("f", frame)
        suffixed = ", ".join(
            f"{side}.{c} AS {c}_{side}" for side in "lr" for c in frame.column_names
        )
        return con.execute(
            f"SELECT count(*) FROM (SELECT {suffixed} FROM f AS l JOIN f AS r "
            f"ON l.unique_id < r.unique_id) WHERE CASE {case} ELSE -1 END = {index}"
        ).fetchone()[0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_household_level_counted_on_its_lists_meets_every_pair_its_test_holds_for(seed):
    """For every household level that declares ``pairs_on``, on random frames: the
    share counted over the pairs sharing a value of those lists is the share of every
    pair (all pairs, brute force) whose first level it is. A level whose test can hold
    for a pair sharing no such value would be counted short."""
    from loaders.linkage.backend import opened
    from loaders.linkage.relational import HOUSEHOLD

    tests = [level.sql for level in HOUSEHOLD.levels[:-1]]
    rows = 120
    frame = _random_frame(seed, rows, _columns(tests))
    every = rows * (rows - 1) / 2
    declared = [(i, lv) for i, lv in enumerate(HOUSEHOLD.levels[:-1]) if lv.pairs_on]
    assert len(declared) >= 6  # the levels on people: children, housemates, moves, co-parents
    with opened(name="duckdb") as engine:
        shares = engine.every_pair_shares(frame, tests, {i: lv.pairs_on for i, lv in declared})
        for i, level in declared:
            found = _brute_force(frame, tests, i)
            assert found > 0, level.label  # the frame exercises the level
            assert shares[i] * every == pytest.approx(found), level.label


def test_a_level_the_sample_meets_is_counted_over_every_pair_too():
    """40,000 adults, 20,000 pairs each sharing a child: the random sample meets some
    of them (about 50 of its million pairs), but its share is a sample's; the level's
    u is the share of every pair, counted (times the tenth meeting the condition)."""
    import pyarrow as pa

    from loaders.linkage.model import Level
    from tests.test_linkage_model import _households, _kids, _u_of

    rows = 40_000
    kids = _kids(pairs_on=("kids", "kids"))
    district = Level("same district", 0.1, 0.05, sql="district_l = district_r")
    comparison, model = _households(
        (kids, district, Level("nothing", 0.7, 0.9)), ("kids", "district"), "district"
    )
    frame = pa.table(
        {
            "unique_id": [f"p{i:06d}" for i in range(rows)],
            "kids": [[f"c{i // 2}"] for i in range(rows)],
            "district": ["NM1" if i % 2 else "NM2" for i in range(rows)],
        }
    )
    every = rows * (rows - 1) / 2
    u = [x for _, x in _u_of(model, comparison, frame)]
    assert u[0] == pytest.approx(20_000 / every * 0.1, rel=1e-9)
