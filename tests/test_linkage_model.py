"""How the linkage models' level tests run on DuckDB: the same answers, less work."""

from __future__ import annotations

import itertools
import re

import duckdb
import pytest

from loaders.linkage.backend import duckdb_sql
from loaders.linkage.model import _settings
from loaders.linkage.people import PEOPLE
from loaders.linkage.relational import ADULTS

LISTS = [None, [], ["a"], ["b"], ["a", "b"], ["a", "a"], [None], [None, "a"], ["b", None]]


def test_lists_share_a_value_as_declared_and_as_duckdb_runs_it():
    """A level holds for the same pairs either way (a CASE takes a level only where its
    test is true: the rewritten test may say NULL where the declared one said false)."""
    declared = "coalesce(array_length(array_intersect(x_l, x_r)) > 0, FALSE)"
    rewritten = duckdb_sql(declared)
    assert "array_intersect" not in rewritten
    pairs = list(itertools.product(LISTS, repeat=2))
    with duckdb.connect() as db:
        for left, right in pairs:
            got = db.execute(
                f"SELECT {declared}, {rewritten} FROM (SELECT ?::VARCHAR[] AS x_l, "
                "?::VARCHAR[] AS x_r)",
                [left, right],
            ).fetchone()
            assert got is not None
            assert got[0] == got[1], (left, right, got)


@pytest.mark.parametrize("model", [PEOPLE, ADULTS], ids=lambda m: m.name)
def test_every_declared_list_test_runs_as_duckdb_runs_it_fastest(model):
    settings = _settings(model, list(model.comparisons), False, 10_000, None).get_settings("duckdb")
    sql = " ".join(
        level.sql_condition
        for comparison in settings.comparisons
        for level in comparison.comparison_levels
    )
    assert "array_intersect" not in sql
    assert "list_has_any" in sql
    # false and NULL are one to a CASE, not under a NOT: no level negates the test
    assert not re.search(r"NOT\s*\(*\s*list_has_any", sql, re.IGNORECASE)


def _kids(**more):
    """The household level only a household meets: a shared child."""
    from loaders.linkage.model import Level

    sql = "array_length(array_intersect(kids_l, kids_r)) > 0"
    return Level("share a child", 0.2, 0.0001, sql=sql, u_share=0.1, per_person=True, **more)


def _household_model():
    """A conditioned comparison of three levels and an else: a test only a household
    meets (a shared child), a name test, and a district (common among strangers)."""
    from loaders.linkage.model import Comparison, Level, Model

    kids = _kids()
    names = Level("same housemate's name", 0.1, 0.0001, sql="mate_l = mate_r")
    district = Level("same district", 0.1, 0.05, sql="district_l = district_r")
    comparison = Comparison(
        "household",
        ("kids", "mate", "district"),
        "mate_l IS NULL OR mate_r IS NULL",
        levels=(kids, names, district, Level("nothing", 0.6, 0.9)),
        condition="mate_l IS NOT NULL AND mate_r IS NOT NULL",
    )
    model = Model("households", (comparison,), list, list, list, ("mate",), train_m=False)
    return model, comparison


@pytest.mark.parametrize("rows", [2_000, 40_000])
def test_a_household_level_no_random_pair_meets_weighs_as_one_person_among_the_rest(rows):
    """Of ``rows`` adults no two share a child or a housemate's name, and half live in
    each of two districts: no sampled pair meets the first two levels. The shared
    child's u is one other person in ``rows - 1`` (times the tenth that meet the
    condition), smaller as the county grows, never above its prior; the name's stays
    its prior (namesakes grow with the county); the district's is measured (about a
    half)."""
    import pyarrow as pa
    from splink import Linker

    from loaders.linkage.backend import opened
    from loaders.linkage.model import _conditional_u

    model, comparison = _household_model()
    frame = pa.table(
        {
            "unique_id": [f"p{i:06d}" for i in range(rows)],
            "kids": [[f"c{i}"] for i in range(rows)],
            "mate": [f"m{i}" for i in range(rows)],
            "district": ["NM1" if i % 2 else "NM2" for i in range(rows)],
        }
    )
    with opened(name="duckdb") as engine:
        table = engine.register(frame)
        linker = Linker(table, _settings(model, [comparison], False, rows, None))
        _conditional_u(linker, engine, frame, [comparison])
        levels = [
            lv
            for lv in linker._settings_obj.comparisons[0].comparison_levels
            if not lv.is_null_level
        ]
    u = [lv.u_probability for lv in levels]
    assert u[0] == pytest.approx(min(0.0001, 0.1 / (rows - 1)))
    assert u[1] == pytest.approx(0.0001)
    assert 0.45 < u[2] < 0.55


@pytest.mark.parametrize("tied", [True, False], ids=["tied", "apart"])
def test_two_levels_that_weigh_the_same_are_said_in_the_notes(tied):
    """Levels told apart only by Splink's own numbering cost its full predictions (every
    compared column kept, the blocked pairs scored twice where the match rate is learnt
    from them): the linkage's notes, which the load report shows, say so and name them."""
    import pyarrow as pa

    from loaders.linkage.model import Comparison, Level, Model, score

    initial = Level("same initial", 0.3, 0.05, sql="left(name_l, 1) = left(name_r, 1)")
    length = Level("same length", 0.3, 0.05 if tied else 0.1, sql="length(name_l) = length(name_r)")
    comparison = Comparison(
        "name",
        ("name",),
        "name_l IS NULL OR name_r IS NULL",
        levels=(
            Level("same name", 0.4, 0.01, sql="name_l = name_r"),
            initial,
            length,
            Level("else", 0.0001, 0.84),
        ),
    )
    model = Model("names", (comparison,), list, list, list, ("name",), lambda_from_pairs=True)
    names = ["ann", "anne", "bob", "bobby", "cat", "cath", "dan", "dave", "eve", "evie"]
    frame = pa.table(
        {"unique_id": [f"r{i}" for i in range(40)], "name": [names[i % 10] for i in range(40)]}
    )
    notes: list[str] = []
    scored = score(model, frame, review_threshold=0.5, memory_limit=None, notes=notes)
    said = [n for n in notes if "weigh the same" in n]
    if tied:
        assert said == [
            "names: name's levels 'same initial' and 'same length' weigh the same (2.585), "
            "so a pair's levels cannot be told from its weights: the pairs are scored with "
            "every compared column kept (Splink's full predictions), and where the match "
            "rate is learnt from the pairs every blocked pair is scored twice"
        ]
    else:
        assert said == []
    assert "same name" in scored.levels["name"]  # scored either way


@pytest.mark.parametrize("comparison", ADULTS.comparisons, ids=lambda c: c.name)
def test_each_adults_comparisons_m_sum_to_one(comparison):
    """The adults' m are not learnt: each comparison's levels' m are the shares of one
    person's pairs landing at each (``benchmarks.linkage --m-from-truth``), which sum to
    one (a sum over one gives every level more weight than its evidence)."""
    assert sum(level.m for level in comparison.levels) == pytest.approx(1.0, abs=1e-9)


def _u_of(model, comparison, frame):
    """Each level's u (the null level's left out) as :func:`_conditional_u` sets it."""
    from splink import Linker

    from loaders.linkage.backend import opened
    from loaders.linkage.model import _conditional_u

    with opened(name="duckdb") as engine:
        table = engine.register(frame)
        linker = Linker(table, _settings(model, [comparison], False, frame.num_rows, None))
        _conditional_u(linker, engine, frame, [comparison])
        return [
            (lv.m_probability, lv.u_probability)
            for lv in linker._settings_obj.comparisons[0].comparison_levels
            if not lv.is_null_level
        ]


def _households(levels: tuple, columns: tuple[str, ...], on: str) -> tuple:
    """A household comparison of ``levels`` on ``columns`` (conditioned on ``on``, which
    has values for everyone), and a model of it alone."""
    from loaders.linkage.model import Comparison, Model

    comparison = Comparison(
        "household",
        columns,
        f"{on}_l IS NULL OR {on}_r IS NULL",
        levels=levels,
        condition=f"{on}_l IS NOT NULL AND {on}_r IS NOT NULL",
    )
    model = Model("households", (comparison,), list, list, list, (on,), train_m=False)
    return comparison, model


def test_a_level_no_sampled_pair_meets_is_counted_over_every_pair():
    """40,000 adults, 30 pairs of them sharing a child (households: nearly never both in
    the two samples of about 1,400), and one housemate's name shared by ten: the shared
    child's u is the share of every pair its test holds for (30 of them, times the tenth
    meeting the condition), not the bound of one person among the rest; the name's is
    counted too, the pairs whose first level is the child's left out (the first pair
    shares both); the district's is measured by the sample as before."""
    import pyarrow as pa

    from loaders.linkage.model import Comparison, Level, Model

    rows = 40_000
    kids = _kids(pairs_on=("kids", "kids"))
    names = Level(
        "a housemate's name",
        0.1,
        0.0001,
        sql="array_length(array_intersect(mates_l, mates_r)) > 0",
        pairs_on=("mates", "mates"),
    )
    district = Level("same district", 0.1, 0.05, sql="district_l = district_r")
    comparison = Comparison(
        "household",
        ("kids", "mates", "district"),
        "district_l IS NULL OR district_r IS NULL",
        levels=(kids, names, district, Level("nothing", 0.6, 0.9)),
        condition="district_l IS NOT NULL AND district_r IS NOT NULL",
    )
    model = Model("households", (comparison,), list, list, list, ("district",), train_m=False)
    shared = {i: f"c{i // 2}" for i in range(60)}  # rows 0-59: 30 pairs, a child each
    frame = pa.table(
        {
            "unique_id": [f"p{i:06d}" for i in range(rows)],
            "kids": [[shared.get(i, f"own{i}")] for i in range(rows)],
            "mates": [["ann lee"] if i < 10 else [f"mate{i}"] for i in range(rows)],
            "district": ["NM1" if i % 2 else "NM2" for i in range(rows)],
        }
    )
    every = rows * (rows - 1) / 2
    u = [x for _, x in _u_of(model, comparison, frame)]
    assert u[0] == pytest.approx(30 / every * 0.1)
    # ten share the name: 45 pairs, 5 of them (0-1, 2-3, ... 8-9) sharing a child first
    assert u[1] == pytest.approx(40 / every)
    assert 0.45 < u[2] < 0.55


def test_a_name_level_weighs_less_than_the_level_it_stands_in_for():
    """A level on a housemate's name standing in for one on the housemate: counted over
    every pair, strangers sharing the name would make it weigh more than the shared
    housemate does (its m is five times larger, its count of pairs the same); it is
    held one bit under it."""
    import math

    import pyarrow as pa

    from loaders.linkage.model import ALIKE_BELOW, Level

    rows = 20_000
    same = Level(
        "the same housemate",
        0.02,
        0.0001,
        sql="array_length(array_intersect(mates_l, mates_r)) > 0",
        pairs_on=("mates", "mates"),
    )
    alike = Level(
        "a housemate's name",
        0.1,
        0.0001,
        sql="array_length(array_intersect(names_l, names_r)) > 0",
        pairs_on=("names", "names"),
        stands_in_for=same,
    )
    comparison, model = _households(
        (same, alike, Level("nothing", 0.88, 0.9)), ("mates", "names"), "names"
    )
    frame = pa.table(
        {
            "unique_id": [f"p{i:06d}" for i in range(rows)],
            # rows 0-3 share a housemate; rows 10-13 a housemate's name, not the housemate
            "mates": [["m0"] if i < 4 else [f"m{i}"] for i in range(rows)],
            "names": [["ann lee"] if i < 4 or 10 <= i < 14 else [f"n{i}"] for i in range(rows)],
        }
    )
    (m0, u0), (m1, u1), _ = _u_of(model, comparison, frame)
    every = rows * (rows - 1) / 2
    assert u0 == pytest.approx(6 / every)
    assert math.log2(m1 / u1) == pytest.approx(math.log2(m0 / u0) - math.log2(ALIKE_BELOW))
    assert u1 > 6 / every  # counted alone (6 pairs), it would weigh more than the housemate
