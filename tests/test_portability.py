"""The portability guard: every Cypher text outside the engine adapters runs on the
embedded engine and passes Neo4j's own linter (see DESIGN.md, Portable Cypher)."""

from __future__ import annotations

import re

import pytest

from graph import GraphStore
from graph.cypher import Statement
from tests.conftest import embedded_store
from tests.portability import (
    all_statements,
    lint,
    python_sources,
    unregistered_cypher,
)

STATEMENTS = all_statements()


def test_there_is_cypher_to_guard():
    names = {s.name for s in STATEMENTS}
    assert {"store.count_labels", "store.count_relationships"} <= names
    assert not any(name.startswith("test.") for name in names)


def test_no_cypher_bypasses_the_register():
    problems = [p for path in python_sources() for p in unregistered_cypher(path)]
    assert not problems, "Cypher outside cypher(...) and the adapters:\n" + "\n".join(problems)


def test_neo4j_linter_finds_nothing():
    diagnostics = [d for d in lint(STATEMENTS) if not d.allowed]
    report = "\n".join(
        f"{d.statement}:{d.line}:{d.character} [{'error' if d.severity == 1 else 'warning'}] "
        f"{d.message}"
        for d in diagnostics
    )
    assert not diagnostics, "Neo4j's linter reports:\n" + report


def test_linter_is_really_linting():
    """The guard would catch what FalkorDB accepts and Neo4j does not, and typos."""
    bad = [
        Statement("distance", "MATCH (a:Address) RETURN distance(a.lat, a.lon)"),
        Statement("typo", "MATCH (p:Persn) RETURN p.uid"),
        Statement("prop", "MATCH (p:Person) RETURN p.fullname"),
        Statement("syntax", "MATCH (p:Person RETURN p"),
        Statement("apoc", "RETURN apoc.text.join(['a'], ',') AS x"),
    ]
    flagged = {d.statement for d in lint(bad) if not d.allowed}
    assert flagged == {s.name for s in bad}


@pytest.fixture(scope="module")
def scratch(engine_dir) -> GraphStore:
    store = embedded_store(engine_dir, graph_name="portability")
    store.drop_all()
    store.ensure_schema()
    return store


@pytest.mark.parametrize("statement", STATEMENTS, ids=lambda s: s.name)
def test_runs_on_the_embedded_engine(scratch: GraphStore, statement: Statement):
    if statement.writes:
        scratch.write(statement.text, statement.example)
    else:
        scratch.read(statement.text, statement.example)


def _looks_up_by_uid(text: str) -> bool:
    """Whether a read finds things by a uid it is given: ``.uid = $x``, ``{uid: $x}``,
    or the same against a variable unwound from a parameter."""
    given = [r"\$\w+", *map(re.escape, re.findall(r"UNWIND\s+\$\w+\s+AS\s+(\w+)", text))]
    value = "|".join(given)
    return bool(re.search(rf"\.uid\s*(?:=|IN)\s*(?:{value})\b|\{{\s*uid\s*:\s*(?:{value})\b", text))


LOOKUPS = [s for s in STATEMENTS if not s.writes and _looks_up_by_uid(s.text)]


def test_a_lookup_by_uid_starts_from_the_index(scratch: GraphStore):
    """A read given uids never scans a whole label: FalkorDB uses no index for an ``OR``
    across two variables (``p.uid = id OR c.uid = id``), and such a read walked every
    parent link in the county for each child asked about (1 s a record, 10 s a
    network). Write it as a UNION of one match from each indexed end."""
    plans = {s.name: scratch.plan(s.text, s.example) for s in LOOKUPS}
    scans = {
        name: plan
        for name, plan in plans.items()
        if any("Label Scan" in step or "All Node Scan" in step for step in plan)
    }
    assert len(LOOKUPS) > 30
    assert scans == {}, "\n\n".join(f"{n}:\n" + "\n".join(p) for n, p in scans.items())


def test_the_lookup_check_finds_a_label_scan(scratch: GraphStore):
    walks = """
        UNWIND $uids AS id
        MATCH (p:Person)-[r:PARENT_OF]->(c:Person)
        WHERE p.uid = id OR c.uid = id
        RETURN p.uid AS parent, c.uid AS child
    """
    assert _looks_up_by_uid(walks)
    assert any("Label Scan" in step for step in scratch.plan(walks, {"uids": ["P-x"]}))
