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


def _household_model():
    """A conditioned comparison of three levels and an else: a test only a household
    meets (a shared child), a name test, and a district (common among strangers)."""
    from loaders.linkage.model import Comparison, Level, Model

    kids = Level(
        "share a child", 0.2, 0.0001,
        sql="array_length(array_intersect(kids_l, kids_r)) > 0", u_share=0.1, per_person=True,
    )  # fmt: skip
    names = Level("same housemate's name", 0.1, 0.0001, sql="mate_l = mate_r")
    district = Level("same district", 0.1, 0.05, sql="district_l = district_r")
    comparison = Comparison(
        "household", ("kids", "mate", "district"), "mate_l IS NULL OR mate_r IS NULL",
        levels=(kids, names, district, Level("nothing", 0.6, 0.9)),
        condition="mate_l IS NOT NULL AND mate_r IS NOT NULL",
    )  # fmt: skip
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
    frame = pa.table({
        "unique_id": [f"p{i:06d}" for i in range(rows)],
        "kids": [[f"c{i}"] for i in range(rows)],
        "mate": [f"m{i}" for i in range(rows)],
        "district": ["NM1" if i % 2 else "NM2" for i in range(rows)],
    })  # fmt: skip
    with opened(name="duckdb") as engine:
        table = engine.register(frame)
        linker = Linker(table, _settings(model, [comparison], False, rows, None))
        _conditional_u(linker, engine, frame, [comparison])
        levels = [
            lv for lv in linker._settings_obj.comparisons[0].comparison_levels
            if not lv.is_null_level
        ]  # fmt: skip
    u = [lv.u_probability for lv in levels]
    assert u[0] == pytest.approx(min(0.0001, 0.1 / (rows - 1)))
    assert u[1] == pytest.approx(0.0001)
    assert 0.45 < u[2] < 0.55


def _round_model():
    """A round's model: a checked code (a rule: its m is never learnt) that tells one
    person's pair from strangers', and a household comparison whose m is learnt."""
    from splink.blocking_rule_library import block_on

    from loaders.linkage.model import Comparison, Level, Model

    code = Comparison(
        "code", ("code",), "code_l IS NULL OR code_r IS NULL",
        levels=(
            Level("same code", 0.9, 1e-6, sql="code_l = code_r", fix_m=True),
            Level("different codes", 0.1, 1.0, fix_m=True),
        ),
    )  # fmt: skip
    household = Comparison(
        "household", ("kid",), "kid_l IS NULL OR kid_r IS NULL",
        levels=(
            Level("share a child", 0.5, 0.01, sql="kid_l = kid_r"),
            Level("nothing in common", 0.5, 0.99),
        ),
    )  # fmt: skip
    return Model(
        "round", (code, household), lambda: [block_on("block")], list, list, ("code",),
        train_m=False,
    )  # fmt: skip


@pytest.mark.parametrize(("lam", "expected"), [(1 / 6_000, 0.3), (1e-12, 0.5)])
def test_a_later_round_learns_m_from_the_matches_it_has_left(lam, expected):
    """A round's blocked pairs: 2,000 blocks, each one person's two records (the same
    code) and a stranger (another code). Of the 2,000 pairs of one person, 600 share a
    child and 1,400 share nothing; no stranger shares a child. Learnt from the round's
    pairs, "share a child" is about 600 in 2,000 matches (0.3), not its prior of a half,
    and the rule's m stays as declared. A round that expects no match left learns
    nothing and keeps the priors."""
    import pyarrow as pa
    from splink import Linker

    from loaders.linkage.backend import opened
    from loaders.linkage.model import score

    model = _round_model()
    rows: dict[str, list] = {"unique_id": [], "block": [], "code": [], "kid": []}
    for b in range(2_000):
        shared = b % 10 < 3  # 600 of the 2,000
        for i, (code, kid) in enumerate(
            [(f"c{b}", f"k{b}"), (f"c{b}", f"k{b}" if shared else f"j{b}"), (f"s{b}", f"s{b}")]
        ):
            rows["unique_id"].append(f"r{b:05d}{i}")
            rows["block"].append(f"b{b}")
            rows["code"].append(code)
            rows["kid"].append(kid)
    frame = pa.table(rows)
    with opened(name="duckdb") as engine:
        linker = Linker(
            engine.register(frame), _settings(model, list(model.comparisons), False, 6_000, None)
        )
        trained = linker.misc.save_model_to_json()
    trained["probability_two_random_records_match"] = lam
    notes: list[str] = []
    scored = score(
        model, frame, review_threshold=0.5, memory_limit=None, notes=notes,
        trained=trained, backend="duckdb", relearn=("household", "code"),
    )  # fmt: skip
    assert scored.trained is not None
    learnt = {
        c["output_column_name"]: [
            lv["m_probability"] for lv in c["comparison_levels"] if not lv.get("is_null_level")
        ]
        for c in scored.trained["comparisons"]
    }
    assert learnt["household"][0] == pytest.approx(expected, abs=0.01)
    assert sum(learnt["household"]) == pytest.approx(1.0)
    assert learnt["code"] == pytest.approx([0.9, 0.1])
    assert any(
        "m of code, household learnt again from this round's 6,000 blocked pairs" in n
        for n in notes
    )
