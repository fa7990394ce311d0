"""Runaway reads are stopped by the engine, with a reason, and the engine survives.

An analyst's ad-hoc Cypher that pairs every person with every person, explodes a
variable-length path, or collects everything must come back promptly as a capped
result or a bounded error naming the bound - not take the engine's memory with it.
The engine's peak memory (the embedded server's VmHWM, from /proc) is printed, and
checked only against a generous ceiling; times are printed, never asserted.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from graph.engines.falkordb import FalkorDBStore
from graph.store import CypherError, QueryTimeout, QueryTooBig
from queries.runner import run_adhoc

PEOPLE = 5_000  # every pair: 25 million rows
CLIQUE = 30  # people who all know each other: paths beyond counting
MEMORY_MB = 128  # what one query may take, here
REPLY_MB = 64  # the largest reply, here
CEILING_MB = 4_096  # the engine's peak memory must stay under this


def _peak_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def crowd(tmp_path_factory: pytest.TempPathFactory):
    """A fresh engine (its peak memory is this module's) with a crowd and a clique."""
    store = FalkorDBStore(
        graph_name=f"b_{uuid.uuid4().hex[:8]}",
        directory=tmp_path_factory.mktemp("bounds"),
        timeout_ms=5_000,
        max_rows=5_000,
        query_memory_mb=MEMORY_MB,
        max_reply_mb=REPLY_MB,
    )
    store.write_rows(
        "UNWIND $rows AS row CREATE (:Person {uid: row.uid, n: row.n})",
        [{"uid": f"P{i:05d}", "n": i} for i in range(PEOPLE)],
    )
    store.write(
        "MATCH (a:Person), (b:Person) WHERE a.n < $k AND b.n < $k AND a <> b "
        "CREATE (a)-[:KNOWS]->(b)",
        {"k": CLIQUE},
    )
    yield store
    peak = _peak_mb(store.server_pid())
    print(f"\nengine peak memory over the runaway reads: {peak:,} MB (ceiling {CEILING_MB:,})")
    store.close()


def _timed(what: str, run):
    start = time.perf_counter()
    try:
        return run()
    finally:
        print(f"\n{what}: {time.perf_counter() - start:.2f} s")


def test_every_pair_comes_back_cut_at_the_cap_by_the_engine(crowd):
    result = _timed(
        "every pair",
        lambda: run_adhoc(crowd, "MATCH (a:Person), (b:Person) RETURN a.uid, b.uid"),
    )
    assert len(result.rows) == 5_000 and result.truncated
    assert "cut at the row cap of 5,000" in result.message
    assert result.columns == ["a.uid", "b.uid"]
    assert _peak_mb(crowd.server_pid()) < CEILING_MB


def test_every_pair_sorted_stops_at_the_time_limit_saying_how_to_narrow(crowd):
    # 25 million rows sorted take seconds (4.7 s on a quiet two-core machine): a limit of
    # half a second stops it on a machine many times faster too
    with pytest.raises(QueryTimeout, match=r"JIGSAW_QUERY_TIMEOUT_MS\): narrow it"):
        _timed(
            "every pair, sorted",
            lambda: crowd.read(
                "MATCH (a:Person), (b:Person) RETURN a.uid, b.uid ORDER BY b.n", timeout_ms=500
            ),
        )


def test_an_exploding_path_is_stopped_by_a_bound(crowd):
    with pytest.raises(QueryTimeout, match="narrow it"):
        _timed(
            "paths counted",
            lambda: crowd.read("MATCH p = (a:Person)-[*]->(b:Person) RETURN count(p) AS n"),
        )
    with pytest.raises((QueryTooBig, QueryTimeout)) as stopped:
        _timed(
            "whole paths returned",
            lambda: crowd.read("MATCH p = (a:Person)-[*]->(b:Person) RETURN p"),
        )
    print(f"\nwhole paths: {type(stopped.value).__name__}: {str(stopped.value)[:120]}")
    assert _peak_mb(crowd.server_pid()) < CEILING_MB


def test_collecting_everything_is_stopped_at_the_memory_limit(crowd):
    with pytest.raises(QueryTooBig, match=rf"more than {MEMORY_MB} MB.*JIGSAW_QUERY_MEMORY_MB"):
        _timed(
            "collect every pair",
            lambda: crowd.read(
                "MATCH (a:Person), (b:Person) RETURN collect(a.uid + b.uid) AS all",
                timeout_ms=600_000,
            ),
        )
    assert _peak_mb(crowd.server_pid()) < CEILING_MB
    assert crowd.read("MATCH (p:Person) RETURN count(p) AS n").scalar() == PEOPLE  # still up


def test_a_capped_read_keeps_its_columns_order_and_rows(crowd):
    result = crowd.read(
        "MATCH (a:Person) WHERE a.n < 5 "
        "RETURN a.n * 2 AS twice, a.uid AS uid, a.n ORDER BY a.n DESC // a comment",
        max_rows=3,
    )
    assert result.columns == ["twice", "uid", "a.n"]
    assert [r["a.n"] for r in result.rows] == [4, 3, 2] and result.truncated
    union = crowd.read("MATCH (a:Person {n: 1}) RETURN a.n AS n UNION RETURN 7 AS n")
    assert sorted(r["n"] for r in union.rows) == [1, 7] and not union.truncated


def test_a_read_that_cannot_be_capped_is_refused_and_a_bad_one_keeps_its_own_error(crowd):
    with pytest.raises(CypherError, match="cannot be capped at the engine: end it with RETURN"):
        crowd.read("CALL db.labels()")
    assert crowd.read("CALL db.labels() YIELD label RETURN label").rows
    with pytest.raises(CypherError) as bad:
        crowd.read("MATCH (a:Person RETURN a")
    assert "capped" not in str(bad.value)


def test_a_read_opening_with_with_is_capped_too(crowd):
    result = crowd.read("WITH 2 AS k MATCH (a:Person) WHERE a.n < k RETURN a.n AS n", max_rows=1)
    assert result.columns == ["n"] and len(result.rows) == 1 and result.truncated
    assert crowd.read("WITH 2 AS k WITH * RETURN *").rows == [{"k": 2}]
