"""SQL select steps evaluated in Python give what DuckDB gives for the same text, NULLs
and non-ASCII names included; what the evaluator does not know is refused when
compiling, and a comparison it cannot decide is left to SQL."""

from __future__ import annotations

import itertools
import math

import duckdb
import pyarrow as pa
import pytest

from loaders.sql_rows import Steps, Undecided, Unsupported

NAMES = [
    None,
    "anna",
    "ann",
    "hannah",
    "zoë",
    "zoe",
    "łukasz",
    "lukasz",
    "smith",
    "smyth",
    "o-neil",
    "oneil",
    "mary ann",
    "a",
]
DATES = [None, "2015-03-04", "2015-04-03", "2015-03-28", "2016-03-04", "1980-01-01"]
LISTS = [None, [], ["cm1"], ["cm1", "cm2"], ["cm2", None]]
NUMBERS = [None, 0.0, 0.25, 1.5]

EXPRESSIONS = {
    "eq": "a = b",
    "neq": "a <> b",
    "and": "a = b AND d1 < d2",
    "or": "a = b OR d1 = d2",
    "not": "NOT (a = b OR d1 = d2)",
    "is_null": "a IS NULL OR b IS NOT NULL",
    "jaro": "jaro_winkler_similarity(a, b)",
    "jaro_level": 'jaro_winkler_similarity("a", "b") >= 0.9',
    "starts": "starts_with(a, b) OR starts_with(b, a)",
    "substr": "substr(d1, 6, 2) = substr(d2, 9, 2)",
    "substr_open": "substr(d1, 3)",
    "years": "abs(CAST(substr(d1, 1, 4) AS INTEGER) - CAST(substr(d2, 1, 4) AS INTEGER))",
    "shared": "len(list_intersect(l1, l2)) > 0",
    "shared_count": "len(list_intersect(l1, l2))",
    "shared_array": "array_length(array_intersect(l1, l2)) > 0",
    "shared_array_values": "array_intersect(l2, l1)",
    "shares_any": "list_has_any(l1, l2)",  # as the kept model's levels say it (b68e1d3)
    "shares_any_operator": "l1 && l2",
    "coalesce": "coalesce(x, y, cast(2.0 as float8))",
    "greatest": "greatest(coalesce(x, y), coalesce(y, x), cast(0.0 as float8))",
    "log": "log2(greatest(x, y))",
    "arithmetic": "(x + y) * 2 - x / 4",
    "power": "POWER(cast(2 as float8), -(x + 1.0))",
    "case": "CASE WHEN a = b THEN 'same' WHEN a IS NULL THEN 'none' ELSE 'other' END",
    "case_no_else": "CASE WHEN d1 = d2 THEN 1 END",
}


def _rows() -> list[dict]:
    rows = []
    for (a, b), (d1, d2) in itertools.product(
        itertools.product(NAMES, repeat=2), itertools.product(DATES, repeat=2)
    ):
        i = len(rows)
        rows.append(
            {
                "a": a,
                "b": b,
                "d1": d1,
                "d2": d2,
                "l1": LISTS[i % 5],
                "l2": LISTS[(i // 5) % 5],
                "x": NUMBERS[i % 4],
                "y": NUMBERS[(i // 4) % 4],
            }
        )
    return rows


def _in_duckdb(sql: str, rows: list[dict]) -> list:
    texts = [(name, pa.string()) for name in ("a", "b", "d1", "d2")]
    lists = [(name, pa.list_(pa.string())) for name in ("l1", "l2")]
    numbers = [(name, pa.float64()) for name in ("x", "y")]
    table = pa.Table.from_pylist(rows, schema=pa.schema(texts + lists + numbers))
    db = duckdb.connect()
    db.register("pairs", table)
    return [r[0] for r in db.execute(sql).fetchall()]


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_each_construct_gives_what_duckdb_gives(name):
    rows = [r for r in _rows() if name != "log" or (r["x"] or r["y"])]  # log2(0) fails in SQL
    sql = f"select {EXPRESSIONS[name]} as v from pairs"
    expected = _in_duckdb(sql, rows)
    got = [r["v"] for r in Steps([("out", sql)], source="pairs", dialect="duckdb").run(rows)]
    assert len(got) == len(expected)
    for row, want, have in zip(rows, expected, got, strict=True):
        if isinstance(want, float) and have is not None:
            assert have == pytest.approx(want, rel=1e-12, abs=1e-15), (row, want, have)
        else:
            assert have == want, (row, want, have)
    assert {type(v) for v in expected} != {type(None)}, "the rows exercise a value"


def test_steps_read_each_other_and_only_what_is_kept_is_worked_out():
    steps = [
        ("first", "select a, b, a = b as same, jaro_winkler_similarity(a, b) as near from pairs"),
        ("second", "select a, CASE WHEN same THEN 1.0 ELSE near END as score from first"),
    ]
    rows = _rows()
    compiled = Steps(steps, source="pairs", dialect="duckdb", keep={"score"})
    got = [r["score"] for r in compiled.run(rows)]
    sql = f"WITH first AS ({steps[0][1]}) {steps[1][1].replace('a, ', '', 1)}"
    assert got == pytest.approx(_in_duckdb(sql, rows), abs=1e-12)
    assert [name for name, _ in compiled.steps[0]] == ["same", "near"]  # a and b dropped


@pytest.mark.parametrize(
    "sql",
    [
        "select regexp_matches(a, 'x') as v from pairs",
        "select a as v from pairs where a = b",
        "select a as v from other",
        "select levenshtein(a, b) as v from pairs",
        "select jaro_winkler_similarity(a, b, 0.5) as v from pairs",
        "select CASE a WHEN 'x' THEN 1 END as v from pairs",
        "select cast(a as date) as v from pairs",
        "select * from pairs",
    ],
)
def test_what_it_does_not_know_is_refused_when_compiling(sql):
    with pytest.raises(Unsupported):
        Steps([("out", sql)], source="pairs", dialect="duckdb")


def test_a_similarity_at_its_threshold_is_left_to_sql():
    # 'abcde' against 'abcdx': Jaro-Winkler exactly 0.92 here, one rounding away in SQL
    level = Steps(
        [("out", "select jaro_winkler_similarity(a, b) >= 0.92 as v from pairs")],
        source="pairs",
        dialect="duckdb",
    )
    similarity = _in_duckdb(
        "select jaro_winkler_similarity(a, b) from pairs",
        [
            {
                "a": "abcde",
                "b": "abcdx",
                "d1": None,
                "d2": None,
                "l1": None,
                "l2": None,
                "x": None,
                "y": None,
            }
        ],
    )[0]
    assert math.isclose(similarity, 0.92, abs_tol=1e-9)
    with pytest.raises(Undecided):
        level.run([{"a": "abcde", "b": "abcdx"}])
    assert level.run([{"a": "abcde", "b": "zzzzz"}]) == [{"v": False}]
