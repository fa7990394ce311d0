"""Linkage on Spark: JIGSAW_LINKAGE_BACKEND=spark links the small county, in Spark's
local mode, as well as DuckDB does, measured against the county's truth.

Spark starts a JVM (Java 17 or later: scripts/test-deps.sh installs Debian's when
missing) and runs Splink's many small jobs on two cores, so this takes minutes; it is
the whole county's linkage, trained as a load trains it, not a sample.
"""

from __future__ import annotations

import pytest

from loaders.load import run_load
from loaders.quality import labels_from_csv, measure
from tests.conftest import AS_OF, embedded_store

pytestmark = pytest.mark.slow  # a JVM and Splink's Spark jobs: minutes on two cores


def test_spark_links_the_small_county_as_duckdb_does(loaded_county, engine_dir, monkeypatch):
    monkeypatch.setenv("JIGSAW_LINKAGE_BACKEND", "spark")
    monkeypatch.setenv("JIGSAW_SPARK_MASTER", "local[2]")
    store = embedded_store(engine_dir, "spark_small")
    try:
        store.drop_all()
        store.ensure_schema()
        on_spark = run_load(store, loaded_county.root, as_of=AS_OF)
    finally:
        store.close()
    labels = labels_from_csv(loaded_county.root / "truth" / "source_rows.csv")
    duckdb = measure(loaded_county.result.assignments, labels)
    spark = measure(on_spark.assignments, labels)
    assert abs(spark.precision - duckdb.precision) <= 0.002, (spark, duckdb)
    assert abs(spark.recall - duckdb.recall) <= 0.002, (spark, duckdb)
    assert spark.precision > 0.99 and spark.recall > 0.95, spark
    # trained as DuckDB trains it: the adults' share of matches learnt from the pairs
    assert any("learnt from" in note for note in on_spark.report.linkage_notes)
    assert on_spark.report.closes
