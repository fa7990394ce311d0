"""Where Splink does linkage's work: DuckDB in this process, or Spark.

DuckDB (the default) needs nothing more and suits one council. Spark is for more than
one machine can link (a region's or a nation's children together): the
``linkage_backend`` setting (``JIGSAW_LINKAGE_BACKEND=spark``) chooses it, and
``spark_master`` (``JIGSAW_SPARK_MASTER``) where it runs: ``local[N]`` in this process's
own JVM (Java 17 or later on the PATH), or a cluster's master URL
(``spark://host:7077``, ``yarn``, ``k8s://...``), with the load as its driver. The
comparisons are written in DuckDB's SQL and Splink translates them for Spark; the
models, thresholds and clustering are the same whichever runs them, but for one thing:
Spark does not count a household level over every pair (:meth:`every_pair_shares`), so
there it keeps the random sample's share, its prior or bound (docs/linkage.md).

Each backend does the few things the models need of an engine: take the records,
return scored pairs as arrays, count how random pairs meet each level's own test
(:func:`loaders.linkage.model._conditional_u`).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any, Protocol

import pyarrow as pa

# DuckDB may take this much memory for Splink's work and spills the rest to a temporary
# directory; left alone it takes up to 80% of the machine, on top of the load's own.
# The linkage_memory setting (JIGSAW_LINKAGE_MEMORY) overrides it (for Spark: the memory
# of its local driver, which in local mode does the work too).
LINKAGE_MEMORY = "2GB"
SAMPLE_ROWS = 1_415  # about a million random pairs, for the levels' own tests


class Backend(Protocol):
    """What the models ask of an engine."""

    name: str
    dialect: str | None  # the SQL dialect Splink translates our DuckDB SQL into, if any

    def register(self, frame: pa.Table) -> Any:
        """``frame`` as Splink's input table."""

    def fetch(self, table: Any, columns: list[str], where: str | None = None) -> dict:
        """Columns (SQL expressions ``... AS name``) of a Splink table, as numpy arrays."""

    def shares(self, frame: pa.Table, tests: list[str]) -> list[float]:
        """For random pairs of ``frame``'s rows, the share whose first test to hold is
        each (the tests are conditions on the ``_l`` and ``_r`` columns)."""

    def every_pair_shares(
        self, frame: pa.Table, tests: list[str], on: dict[int, tuple[str, str]]
    ) -> dict[int, float]:
        """Of every pair of ``frame``'s rows, for each index of ``on``, the share whose
        first test to hold is ``tests[index]``, a test only pairs meet where one's list
        column ``on[index][0]`` shares a value with the other's ``on[index][1]`` (counted
        over those pairs alone); empty where the engine does not count them."""


@contextlib.contextmanager
def opened(memory_limit: str | None = None, name: str | None = None) -> Iterator[Backend]:
    """The chosen backend (``name``, else the ``linkage_backend`` setting), ready, and
    released after."""
    name = name or chosen()
    with tempfile.TemporaryDirectory(prefix="jigsaw-linkage-") as spill:
        if name == "spark":
            backend: Backend = _Spark(memory_limit or LINKAGE_MEMORY, spill)
        else:
            backend = _DuckDB(memory_limit or LINKAGE_MEMORY, spill)
        try:
            yield backend
        finally:
            backend.close()  # type: ignore[attr-defined]


def chosen() -> str:
    """The backend the settings name (``JIGSAW_LINKAGE_BACKEND``), DuckDB by default."""
    from graph import load_settings

    return load_settings().linkage_backend


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc``, or what caused it, is an engine running out of memory (Splink
    wraps the engine's own error in its own)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MemoryError) or type(seen).__name__ == "OutOfMemoryException":
            return True
        if "java.lang.OutOfMemoryError" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# "The two lists share a value", as the levels declare it (Splink translates it for
# Spark), and as DuckDB tests it in under half the CPU: ``list_has_any`` stops at the
# first shared value rather than building the intersection (benchmarks/README.md,
# "Splink's share"). It holds for the same pairs; where one list is NULL it says NULL
# where the declared test may say false, one to a CASE (a level is taken only where its
# test is true), so no level may negate it.
_SHARE = re.compile(r"array_length\(array_intersect\((\w+), (\w+)\)\) > 0")


def duckdb_sql(sql: str) -> str:
    """A level's test (DuckDB SQL, as declared) as DuckDB runs it fastest."""
    return _SHARE.sub(r"list_has_any(\1, \2)", sql)


def _first_level_sql(tests: list[str]) -> str:
    """A CASE naming the first of ``tests`` (on _l/_r columns) that holds, as l./r."""
    as_sql = [re.sub(r"\b(\w+)_([lr])\b", r"\2.\1", t) for t in tests]
    return " ".join(f"WHEN {t} THEN {i}" for i, t in enumerate(as_sql))


def _shares_of(found: list[tuple[int, int]], tests: int) -> list[float]:
    counts = dict(found)
    total = sum(counts.values())
    return [counts.get(i, 0) / total if total else 0.0 for i in range(tests)]


@contextlib.contextmanager
def duckdb_connection(memory_limit: str | None = None) -> Iterator[Any]:
    """A DuckDB connection for linkage's own queries (the adults' surroundings), held to
    the linkage memory (``memory_limit``, else :data:`LINKAGE_MEMORY`) as Splink's is,
    spilling to a directory of its own that goes with it."""
    with tempfile.TemporaryDirectory(prefix="jigsaw-linkage-") as spill:
        connection = _connect(memory_limit or LINKAGE_MEMORY, spill, ordered=True)
        try:
            yield connection
        finally:
            connection.close()


def _connect(memory_limit: str, spill: str, *, ordered: bool) -> Any:
    """``ordered``: keep insertion order (costs memory that could spill; Splink's steps
    do not rely on it, so its connection goes without)."""
    import duckdb

    return duckdb.connect(
        config={
            "memory_limit": memory_limit,
            "temp_directory": spill,
            "preserve_insertion_order": ordered,
        }
    )


class _DuckDB:
    name, dialect = "duckdb", None

    def __init__(self, memory_limit: str, spill: str) -> None:
        self.connection = _connect(memory_limit, spill, ordered=False)
        self.api: Any = None  # one a connection: it names each table it registers anew

    def close(self) -> None:
        self.connection.close()

    def register(self, frame: pa.Table) -> Any:
        from splink.backends.duckdb import DuckDBAPI

        # a new API a table named each one as the first and replaced the one before: a
        # delta's new records registered, then the rest, left both sides the rest
        if self.api is None:
            self.api = DuckDBAPI(connection=self.connection)
        return self.api.register(frame)

    def fetch(self, table: Any, columns: list[str], where: str | None = None) -> dict:
        relation = table.as_duckdbpyrelation().project(", ".join(columns))
        if where:
            relation = relation.filter(where)
        return relation.fetchnumpy()

    def shares(self, frame: pa.Table, tests: list[str]) -> list[float]:
        rows = min(frame.num_rows, SAMPLE_ROWS)
        cursor = self.connection.cursor()  # Splink's own results may still be open
        cursor.register("jigsaw_pairs", frame)
        try:
            # the tests are declared constants of the linkage package, never input
            found = cursor.execute(
                f"""
                SELECT level, count(*) AS n FROM (
                  SELECT CASE {_first_level_sql([duckdb_sql(t) for t in tests])} ELSE -1
                  END AS level
                  FROM (SELECT * FROM jigsaw_pairs USING SAMPLE {rows} ROWS (reservoir, 1)) AS l,
                       (SELECT * FROM jigsaw_pairs USING SAMPLE {rows} ROWS (reservoir, 2)) AS r
                  WHERE l.unique_id < r.unique_id
                ) GROUP BY level
                """  # noqa: S608
            ).fetchall()
        finally:
            cursor.close()
        return _shares_of(found, len(tests))

    def every_pair_shares(
        self, frame: pa.Table, tests: list[str], on: dict[int, tuple[str, str]]
    ) -> dict[int, float]:
        rows = frame.num_rows
        if rows < 2 or not on:
            return dict.fromkeys(on, 0.0)
        # one pass for every level: the pairs sharing a value of any level's lists, each
        # with a bit a level whose lists it shares one of, their first level worked out
        # once; a level counts its own bit's pairs, as a query of its own would. The
        # columns are declared constants of the linkage package, never input.
        indices = sorted(on)
        columns = sorted({c for i in indices for c in on[i]})
        exploded = ", ".join(
            f"e_{c} AS (SELECT unique_id AS id, unnest({c}) AS v FROM jigsaw_every)"  # noqa: S608
            for c in columns
        )
        shared = " UNION ALL ".join(
            f"SELECT least(x.id, y.id) AS a, greatest(x.id, y.id) AS b, {1 << bit} AS bit "  # noqa: S608
            f"FROM e_{on[i][0]} AS x JOIN e_{on[i][1]} AS y ON x.v = y.v WHERE x.id <> y.id"
            for bit, i in enumerate(indices)
        )
        cursor = self.connection.cursor()
        cursor.register("jigsaw_every", frame)
        try:
            found = cursor.execute(
                f"""
                WITH {exploded},
                     p AS (SELECT a, b, bit_or(bit) AS bits FROM ({shared}) GROUP BY a, b)
                SELECT level, bits, count(*) FROM (
                  SELECT CASE {_first_level_sql([duckdb_sql(t) for t in tests])} ELSE -1
                         END AS level, p.bits
                  FROM p JOIN jigsaw_every AS l ON l.unique_id = p.a
                         JOIN jigsaw_every AS r ON r.unique_id = p.b
                ) GROUP BY level, bits
                """  # noqa: S608
            ).fetchall()
        finally:
            cursor.close()
        every = rows * (rows - 1) / 2
        counts = dict.fromkeys(indices, 0)
        for level, bits, n in found:
            if level in counts and bits >> indices.index(level) & 1:
                counts[level] += n
        return {i: n / every for i, n in counts.items()}


class _Spark:
    name, dialect = "spark", "spark"

    def __init__(self, memory_limit: str, spill: str) -> None:
        self.spark = _spark_session(memory_limit)
        self.api: Any = None  # one a session, as for DuckDB

    def close(self) -> None:
        self.spark.catalog.clearCache()

    def register(self, frame: pa.Table) -> Any:
        from splink.backends.spark import SparkAPI

        if self.api is None:
            self.api = SparkAPI(spark_session=self.spark)
        return self.api.register(self._data(frame))

    def _data(self, frame: pa.Table) -> Any:
        """``frame`` as a Spark DataFrame, its types (lists of text among them) taken
        from the Arrow schema rather than guessed from the values."""
        from pyspark.sql.pandas.types import from_arrow_schema

        return self.spark.createDataFrame(frame.to_pandas(), schema=from_arrow_schema(frame.schema))

    def fetch(self, table: Any, columns: list[str], where: str | None = None) -> dict:
        data = table.as_spark_dataframe().selectExpr(*columns)
        if where:
            data = data.where(where)
        frame = data.toPandas()
        return {name: frame[name].to_numpy() for name in frame.columns}

    def shares(self, frame: pa.Table, tests: list[str]) -> list[float]:
        import sqlglot

        rows = min(frame.num_rows, SAMPLE_ROWS)
        data = self._data(frame)
        for side, seed in (("jigsaw_l", 1), ("jigsaw_r", 2)):
            data.orderBy(_rand(seed)).limit(rows).createOrReplaceTempView(side)
        first = sqlglot.transpile(
            f"CASE {_first_level_sql(tests)} ELSE -1 END", read="duckdb", write="spark"
        )[0]
        found = self.spark.sql(
            f"SELECT level, count(*) AS n FROM (SELECT {first} AS level "  # noqa: S608
            "FROM jigsaw_l AS l, jigsaw_r AS r WHERE l.unique_id < r.unique_id) GROUP BY level"
        ).collect()
        return _shares_of([(int(r["level"]), int(r["n"])) for r in found], len(tests))

    def every_pair_shares(
        self, frame: pa.Table, tests: list[str], on: dict[int, tuple[str, str]]
    ) -> dict[int, float]:
        return {}  # not counted on Spark: the levels keep the sample's share, prior or bound


@functools.cache
def _spark_session(memory_limit: str) -> Any:
    """One Spark session for the process (a JVM starts once), its scratch space in a
    directory of its own that goes when the process ends."""
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DoubleType
    from splink.backends.spark import similarity_jar_location

    from graph import load_settings

    master = load_settings().spark_master
    scratch = tempfile.mkdtemp(prefix="jigsaw-spark-")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    memory = re.sub(r"\s*([KMGT])i?B$", lambda m: m.group(1).lower(), memory_limit)
    builder = (
        SparkSession.builder.master(master)
        .appName("jigsaw-linkage")
        .config("spark.jars", similarity_jar_location())  # Splink's string similarity
        .config("spark.local.dir", scratch)
        .config("spark.sql.warehouse.dir", os.path.join(scratch, "warehouse"))  # not the cwd
        .config("spark.sql.shuffle.partitions", str(_partitions(master)))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master.startswith("local"):  # the driver does the work: it gets the memory
        builder = builder.config("spark.driver.memory", memory)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # DuckDB's jaro_winkler_similarity, as Splink translates it, from Splink's own jar
    spark.udf.registerJavaFunction(
        "jarowinkler_similarity", "uk.gov.moj.dash.linkage.JaroWinklerSimilarity", DoubleType()
    )
    spark.sparkContext.setCheckpointDir(os.path.join(scratch, "checkpoints"))
    return spark


def _partitions(master: str) -> int:
    """Shuffle partitions: a local session's cores (more only adds tasks to schedule on
    the same cores), a cluster's Spark default."""
    found = re.fullmatch(r"local\[(\d+|\*)\]", master)
    if master == "local" or found:
        cores = found.group(1) if found else "1"
        return os.cpu_count() or 2 if cores == "*" else int(cores)
    return 200


def _rand(seed: int) -> Any:
    from pyspark.sql import functions

    return functions.rand(seed)
