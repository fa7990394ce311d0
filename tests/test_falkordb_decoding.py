"""FalkorDB's replies decoded a column at a time (graph/engines/falkordb_results.py) give
what the client library's own parser gives, value for value and type for type.

The truth is the client's parser (``falkordb``'s ``QueryResult``, which knows the
graph's label and property tables) made plain by the adapter's ``_plain``: the way
every reply was decoded before the fast path, and still the way nodes, relationships
and paths are. Each query is read through the adapter (capped, columns put in the
query's order) and through the client, uncapped, on a real embedded engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph import GraphStore
from graph.engines.falkordb import FalkorDBStore, _plain
from graph.engines.falkordb_results import plain_columns, plain_records
from tests.conftest import embedded_store

SETUP = """
CREATE (a:Person {uid: 'd1', full_name: 'Ann', dob: date('1965-03-04'), age: 7,
                  score: 0.5, fsm: true, codes: ['x', 'y'], marks: [1, 2.5]}),
       (b:Person:Adult {uid: 'd2', full_name: 'Bob', dob: date('2031-12-31'), age: -3,
                        score: 1.0, fsm: false, codes: [], marks: [true]}),
       (c:Person {uid: 'd3'}),
       (a)-[:PARENT_OF {kind: 'birth', from: date('1970-01-01'), n: 2}]->(b),
       (b)-[:PARENT_OF {kind: 'step'}]->(c)
"""

# one read a kind of value, and reads mixing kinds in a column; columns out of name
# order on purpose (the adapter puts them back in the query's order)
READS = [
    "MATCH (p:Person) RETURN p.uid AS z, p.full_name AS a, p.age AS m ORDER BY z",
    "MATCH (p:Person) RETURN p.uid AS uid, p.dob AS dob, p.score AS score, p.fsm AS fsm "
    "ORDER BY uid",
    "MATCH (p:Person) RETURN p.uid AS uid, p.codes AS codes, p.marks AS marks, "
    "labels(p) AS labels ORDER BY uid",
    "MATCH (p:Person) RETURN p.uid AS uid, {name: p.full_name, born: p.dob, "
    "inner: {n: p.age, l: [p.dob, null]}} AS card ORDER BY uid",
    "UNWIND [1, 2.5, 'three', null, true, date('2000-02-29'), [1, 'a'], {k: 1}] AS v "
    "RETURN v, 'c' AS b",
    "UNWIND range(1, 5) AS i RETURN CASE WHEN i % 2 = 0 THEN i ELSE toFloat(i) END AS n, "
    "CASE WHEN i > 3 THEN null ELSE date('2020-01-01') END AS d",
    "RETURN localdatetime('2020-01-02T03:04:05') AS at, date('1969-12-31') AS before, "
    "1.0 AS one, -0.0 AS nought, 9007199254740993 AS big, '' AS empty, [] AS none, "
    "[[1, [2, null]], []] AS nested, {} AS nothing",
    "RETURN localtime('10:11:12') AS t, duration({days: 3, hours: 4}) AS d, "
    "point({latitude: 51.5, longitude: -0.1}) AS p",
    "MATCH (p:Person {uid: 'd1'}) RETURN p AS node",
    "MATCH (:Person)-[r:PARENT_OF]->(:Person) RETURN r AS rel, r.kind AS kind ORDER BY kind",
    "MATCH path = (:Person {uid: 'd1'})-[:PARENT_OF*1..2]->(:Person) "
    "RETURN path, length(path) AS hops ORDER BY hops",
    "MATCH (p:Person) WHERE p.uid = 'none' RETURN p.uid AS uid, p.dob AS dob",
    "MATCH (p:Person) RETURN count(p) AS n, collect(p.uid) AS uids",
    "WITH 2 AS k RETURN k, k * 1.5 AS half",
]


@pytest.fixture
def graph(engine_dir: Path) -> Iterator[FalkorDBStore]:
    store = embedded_store(engine_dir)
    store.drop_all()
    store.write(SETUP)
    try:
        yield store
    finally:
        store.drop_all()
        store.close()


def typed(value: Any) -> Any:
    """A value with its type spelt out at every level (so 1, 1.0 and True differ)."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, value)


def by_client(store: FalkorDBStore, query: str) -> list[dict]:
    """The query's rows as the client library parses them, made plain."""
    result = store._graph.ro_query(query)
    names = [name for _, name in result.header]
    return [dict(zip(names, (_plain(v) for v in row), strict=True)) for row in result.result_set]


@pytest.mark.parametrize("query", READS)
def test_each_read_decodes_as_the_client_parses_it(graph: FalkorDBStore, query: str):
    truth = by_client(graph, query)
    got = graph.read(query)
    assert [typed(row) for row in got.rows] == [typed(row) for row in truth]
    assert [list(row) for row in got.rows] == [list(row) for row in truth]  # column order
    columns = graph.read_columns(query)
    assert list(columns.columns) == got.columns
    assert columns.rows == len(truth)
    assert {k: typed(v) for k, v in columns.columns.items()} == {
        name: typed([row[name] for row in truth]) for name in got.columns
    }


def test_replies_of_plain_values_take_the_fast_path(graph: FalkorDBStore):
    """Every read above without a node, relationship, path, time, duration or point is
    decoded here, not by the client (so the comparison tests this module)."""
    fast = 0
    for query in READS:
        response = graph._graph.execute_command(
            "GRAPH.RO_QUERY", graph.graph_name, query, "--compact"
        )
        decoded = plain_columns(response[1], len(response[0]))
        client_only = any(w in query for w in ("localtime", "RETURN p AS", "r AS", "path"))
        assert (decoded is None) == client_only, query
        fast += decoded is not None
    assert fast >= 10


def test_the_row_cap_cuts_columns_as_it_cuts_rows(graph: FalkorDBStore):
    query = "UNWIND range(1, 10) AS i RETURN i * 2 AS b, i AS a"
    rows = graph.read(query, max_rows=3)
    columns = graph.read_columns(query, max_rows=3)
    assert rows.truncated and columns.truncated
    assert rows.rows == [{"b": 2, "a": 1}, {"b": 4, "a": 2}, {"b": 6, "a": 3}]
    assert columns.columns == {"b": [2, 4, 6], "a": [1, 2, 3]} and columns.rows == 3


def test_every_store_reads_columns_as_its_rows(graph: FalkorDBStore):
    """The default :meth:`GraphStore.read_columns` (other engines) turns rows into
    columns; FalkorDB's own gives the same."""
    query = READS[1]
    own = graph.read_columns(query)
    default = GraphStore._read_columns(graph, query, {}, timeout_ms=10_000, max_rows=5_000)
    assert typed(own.columns) == typed(default.columns) and own.rows == default.rows == 3
    assert own.columns["dob"] == [dt.date(1965, 3, 4), dt.date(2031, 12, 31), None]


def test_rows_of_plain_values_are_the_columns_rows(graph: FalkorDBStore):
    """``plain_records`` (the awaited reads' rows) gives the rows the columns make."""
    for query in READS:
        response = graph._graph.execute_command(
            "GRAPH.RO_QUERY", graph.graph_name, query, "--compact"
        )
        columns = plain_columns(response[1], len(response[0]))
        rows = plain_records(response[1])
        if columns is None:
            assert rows is None, query
            continue
        assert typed(rows) == typed([list(r) for r in zip(*columns, strict=True)]), query
