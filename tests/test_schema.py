"""The schema is the one declaration of what the graph holds: a property it declares
is written, with the type it says, and the load writes every type it says it does."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator

import pytest

from graph import schema
from graph.cypher import REGISTRY, relationship_types
from graph.store import GraphStore
from loaders import write
from tests.conftest import AS_OF, embedded_store
from tests.portability import import_everything

PYTHON_TYPES = {
    schema.TEXT: str,
    schema.INTEGER: int,
    schema.FLOAT: (float, int),
    schema.BOOLEAN: bool,
    schema.DATE: dt.date,
    schema.DATETIME: str,
    schema.LIST: list,
}


def test_the_load_writes_every_type_the_schema_says_it_does():
    nodes = {s.node for s in write.PLAN if s.node}
    rels = {r.type.type for s in write.PLAN for r in s.rels}
    assert nodes == {n.label for n in schema.NODE_TYPES if any(p.from_row for p in n.props)}
    assert rels == {r.type for r in schema.REL_TYPES if r.writer == schema.LOAD}


def test_every_property_written_elsewhere_is_set_by_its_writer():
    import_everything()
    for owner, props in [(n.label, n.props) for n in schema.NODE_TYPES] + [
        (r.type, r.props) for r in schema.REL_TYPES
    ]:
        for p in props:
            if p.writer == schema.LOAD:
                continue
            texts = [s.text for s in REGISTRY.values() if s.module == p.writer and s.writes]
            sets = re.compile(rf"\.{p.name}\s*=|\b{p.name}:")
            assert any(sets.search(t) for t in texts), f"{owner}.{p.name}: {p.writer} never sets it"


@pytest.fixture(scope="module")
def county_with_returns(tmp_path_factory, engine_dir) -> Iterator[GraphStore]:
    """A small county with its statutory returns, one child recorded as having died
    (the synthetic county has no deaths), loaded once."""
    from loaders.load import run_load
    from synthetic.generate import generate

    root = tmp_path_factory.mktemp("county_schema")
    generate(1_500, 7, root, as_of=AS_OF, returns=True)
    (people,) = root.rglob("ssd_person.csv")
    with people.open(newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["pers_death_date"] = "2026-01-05"
    with people.open("w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)
    store = embedded_store(engine_dir, "schema_returns")
    store.drop_all()
    store.ensure_schema()
    run_load(store, root, as_of=AS_OF)
    yield store
    store.close()


# Facts the returns' packs read (loaders/packs) that the small synthetic county's
# returns never hold: a closed period of care, an enquiry's outcome, a UASC end ...
NOT_IN_SMALL_RETURNS = {
    ("Section47", "outcome"),
    ("PeriodOfCare", "end"),
    ("PeriodOfCare", "reason_end"),
    ("PeriodOfCare", "placement_la"),
    ("Episode", "placement_la"),
    ("Outcome", "sdq_reason"),
    ("Outcome", "date"),
    ("Adoption", "ceased"),
    ("Adoption", "ceased_reason"),
    ("Status", "la"),
    ("Status", "from"),
    ("Status", "to"),
}


def _values(store, match: str, prop: str) -> list:
    query = f"MATCH {match} WHERE x.{prop} IS NOT NULL RETURN x.{prop} AS v LIMIT 500"
    return [r["v"] for r in store.read(query).rows]


@pytest.mark.parametrize(
    ("match", "prop"),
    [
        (f"(x:{n.label})", p)
        for n in schema.NODE_TYPES
        for p in n.props
        if p.writer == schema.LOAD and (n.label, p.name) not in NOT_IN_SMALL_RETURNS
    ]
    + [(f"()-[x:{r.type}]->()", p) for r in schema.REL_TYPES for p in r.props],
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_every_property_the_load_writes_is_written_with_its_type(county_with_returns, match, prop):
    """A property the schema declares for the load and the load never writes is a gap,
    not a silent one (those other modules write: the test above)."""
    values = _values(county_with_returns, match, prop.name)
    assert values, f"{match} {prop.name} is declared and a county's load never wrote it"
    wrong = [v for v in values if not isinstance(v, PYTHON_TYPES[prop.type])]
    assert not wrong, f"{match} {prop.name} is declared {prop.type}: {wrong[:3]}"


@pytest.mark.parametrize(
    ("text", "types"),
    [
        ("MATCH (a)-[:A]->(b) RETURN b", ("A",)),
        ("MATCH (a)-[r:B|A]->(b)<-[:C*1..2]-(c) RETURN c", ("A", "B", "C")),
        ("MATCH (a)-[:A|:B]-() RETURN a", ("A", "B")),
        ("MATCH (a:Case {kind: 'CP'}) WITH [x IN a.l | x] AS l, ['CIN'] AS k RETURN l", ()),
        ("MATCH (a)-[r]->(b) RETURN {uid: a.uid}", ()),
    ],
)
def test_the_relationship_types_a_text_follows(text, types):
    """What a delta's stages look at again after a change (graph.alerts.WATCHED_RELS,
    loaders.derive's) is read from their Cypher, not listed beside it."""
    assert relationship_types(text) == types
