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
