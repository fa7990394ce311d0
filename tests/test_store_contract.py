"""The store contract every engine must keep (see graph/store.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from graph import CypherError, GraphStore, ParameterError, QueryTimeout, ReadOnlyViolation
from graph.cypher import cypher
from tests.conftest import embedded_store

UPSERT_PEOPLE = cypher(
    "test.upsert_people",
    """
    UNWIND $rows AS row
    MERGE (p:Person {uid: row.uid})
    SET p.full_name = row.name, p.dob = date(row.dob), p.upn = row.upn
    """,
    example={"rows": [{"uid": "x1", "name": "Ann Example", "dob": "2015-04-01", "upn": None}]},
    writes=True,
)
LINK_PARENT = cypher(
    "test.link_parent",
    """
    MATCH (a:Person {uid: $parent}), (c:Person {uid: $child})
    MERGE (a)-[r:PARENT_OF]->(c)
    SET r.kind = $kind, r.from = date($since)
    """,
    example={"parent": "x1", "child": "x2", "kind": "birth", "since": "2015-04-01"},
    writes=True,
)
PERSON_BY_UID = cypher(
    "test.person_by_uid",
    "MATCH (p:Person {uid: $uid}) RETURN p.uid AS uid, p.full_name AS name, p.dob AS dob",
    example={"uid": "x1"},
)
CHILDREN_OF = cypher(
    "test.children_of",
    """
    MATCH (a:Person {uid: $uid})-[r:PARENT_OF]->(c:Person)
    RETURN c.uid AS uid, r.kind AS kind, r.from AS since, c AS node
    ORDER BY uid
    """,
    example={"uid": "x1"},
)
COUNT_PEOPLE = cypher("test.count_people", "MATCH (p:Person) RETURN count(p) AS n")
BORN_SINCE = cypher(
    "test.born_since",
    "MATCH (p:Person) WHERE p.dob >= date($since) RETURN p.uid AS uid ORDER BY uid",
    example={"since": "2015-01-01"},
)
ECHO = cypher("test.echo", "RETURN $value AS value", example={"value": 1})
SLOW = cypher(
    "test.slow",
    "MATCH (a:Person), (b:Person), (c:Person) WHERE a.dob < b.dob RETURN count(*) AS n",
)


def people(n: int) -> list[dict]:
    return [
        {
            "uid": f"p{i:05d}",
            "name": f"Person {i} Smith",
            "dob": (dt.date(2010, 1, 1) + dt.timedelta(days=i)).isoformat(),
            "upn": None,
        }
        for i in range(n)
    ]


def test_write_then_read_plain_values(store: GraphStore):
    store.write_rows(UPSERT_PEOPLE, people(3))
    store.write(
        LINK_PARENT,
        {"parent": "p00000", "child": "p00001", "kind": "birth", "since": dt.date(2010, 1, 2)},
    )
    row = store.read(PERSON_BY_UID, {"uid": "p00001"}).rows[0]
    assert row == {"uid": "p00001", "name": "Person 1 Smith", "dob": dt.date(2010, 1, 2)}
    children = store.read(CHILDREN_OF, {"uid": "p00000"}).rows
    assert [c["uid"] for c in children] == ["p00001"]
    assert children[0]["since"] == dt.date(2010, 1, 2)
    node = children[0]["node"]
    assert isinstance(node, dict) and node["uid"] == "p00001" and "Person" in node["_labels"]


def test_batched_writes_count_rows_and_batches(store: GraphStore):
    seen: list[int] = []
    summary = store.write_rows(UPSERT_PEOPLE, people(2_345), batch_size=1_000, progress=seen.append)
    assert (summary.rows, summary.batches, summary.nodes_created) == (2_345, 3, 2_345)
    assert seen == [1_000, 1_000, 345]
    assert store.read(COUNT_PEOPLE).scalar() == 2_345


def test_a_bad_row_stops_at_its_batch_after_the_earlier_ones_commit(store: GraphStore):
    # The next batch is encoded while the engine writes this one: an error found while
    # encoding batch 3 must surface at batch 3's turn, with batches 1-2 written and no
    # later batch sent.
    rows = people(5_000)
    rows[2_500]["name"] = float("nan")
    seen: list[int] = []
    with pytest.raises(ParameterError):
        store.write_rows(UPSERT_PEOPLE, rows, batch_size=1_000, progress=seen.append)
    assert seen == [1_000, 1_000]
    assert store.read(COUNT_PEOPLE).scalar() == 2_000


def test_merge_is_idempotent(store: GraphStore):
    store.write_rows(UPSERT_PEOPLE, people(50))
    again = store.write_rows(UPSERT_PEOPLE, people(50))
    assert again.nodes_created == 0
    assert store.read(COUNT_PEOPLE).scalar() == 50


def test_date_parameters_compare_as_dates(store: GraphStore):
    store.write_rows(UPSERT_PEOPLE, people(10))
    uids = [r["uid"] for r in store.read(BORN_SINCE, {"since": dt.date(2010, 1, 8)})]
    assert uids == ["p00007", "p00008", "p00009"]


def test_schema_is_idempotent_and_complete(store: GraphStore):
    assert store.ensure_schema() == []
    state = store.schema_state()
    assert state and all(s.present for s in state), [s for s in state if not s.present]
    kinds = {(s.kind, s.label, s.properties) for s in state}
    for ext in ("upn", "nhs_number", "uln", "la_child_id"):
        assert ("range", "Person", (ext,)) in kinds
    assert ("range", "Address", ("postcode",)) in kinds
    assert ("range", "School", ("urn",)) in kinds
    assert ("unique", "Person", ("uid",)) in kinds


COUNT_OF_SERVICES = cypher(
    "test.count_of_services",
    "MATCH (p:Person) WHERE p.open_service_count = $n RETURN count(p) AS n",
    example={"n": 0},
)
SET_SERVICES = cypher(
    "test.set_services",
    "MATCH (p:Person) SET p.open_service_count = toInteger(right(p.uid, 1)) % 2",
    writes=True,
)


def test_an_indexed_zero_is_found_like_any_other_number(store: GraphStore):
    """Person.open_service_count is range-indexed beside the label's full-text index: an
    engine whose index leaves zeros out answers `= 0` with nobody (FalkorDB did so when
    the full-text index named its language)."""
    store.write_rows(UPSERT_PEOPLE, people(6))
    store.write(SET_SERVICES)
    counts = {n: store.read(COUNT_OF_SERVICES, {"n": n}).rows[0]["n"] for n in (0, 1)}
    assert counts == {0: 3, 1: 3}


def test_unique_key_is_enforced_by_the_engine(store: GraphStore):
    store.write_rows(UPSERT_PEOPLE, people(1))
    with pytest.raises(CypherError):
        store.write("CREATE (:Person {uid: 'p00000'})")


@pytest.mark.parametrize(
    "attempt",
    [
        "CREATE (:Person {uid: 'evil'})",
        "MATCH (p:Person) SET p.full_name = 'x'",
        "MATCH (p:Person) DETACH DELETE p",
        "MERGE (:Person {uid: 'evil'})",
        "MATCH (p:Person) REMOVE p.full_name",
        "MATCH (p:Person) WITH p LIMIT 1 SET p:Adult RETURN p",
    ],
)
def test_read_path_refuses_writes_at_the_engine(store: GraphStore, attempt: str):
    store.write_rows(UPSERT_PEOPLE, people(2))
    with pytest.raises(ReadOnlyViolation):
        store.read(attempt)
    names = sorted(
        r["name"]
        for r in store.read("MATCH (p:Person) RETURN p.full_name AS name, labels(p) AS labels")
    )
    assert names == ["Person 0 Smith", "Person 1 Smith"]
    assert store.read(COUNT_PEOPLE).scalar() == 2


def test_row_cap_says_when_it_cuts(store: GraphStore):
    store.write_rows(UPSERT_PEOPLE, people(30))
    result = store.read("MATCH (p:Person) RETURN p.uid AS uid", max_rows=10)
    assert len(result) == 10 and result.truncated and result.max_rows == 10
    whole = store.read("MATCH (p:Person) RETURN p.uid AS uid", max_rows=30)
    assert len(whole) == 30 and not whole.truncated


def test_timeout_stops_a_long_query(store: GraphStore):
    store.write_rows(UPSERT_PEOPLE, people(3_000))  # 2.7e10 combinations
    with pytest.raises(QueryTimeout):
        store.read(SLOW, timeout_ms=300)
    assert store.read(COUNT_PEOPLE).scalar() == 3_000


def test_reading_a_graph_nobody_wrote_to_is_empty(engine_dir):
    fresh = embedded_store(engine_dir)
    assert fresh.read(COUNT_PEOPLE).rows == [{"n": 0}]
    assert fresh.counts().nodes == 0


def test_parameters_are_values_not_syntax(store: GraphStore):
    store.write_rows(UPSERT_PEOPLE, people(2))
    nasty = [
        "x' OR 1=1 //",
        'x" RETURN 1 //',
        "'}) MATCH (n) DETACH DELETE n //",
        "\\",
        "\\'",
        "line\nbreak",
        "tab\there",
        "unicode ✓ Zoë Ó'Brien",
        "",
        "$uid",
        "`backtick`",
        "{}",
        "/* comment */",
    ]
    for value in nasty:
        assert store.read(ECHO, {"value": value}).scalar() == value
    assert store.read(ECHO, {"value": {"a": [1, "two", None, True]}}).scalar() == {
        "a": [1, "two", None, True]
    }
    assert store.read(COUNT_PEOPLE).scalar() == 2


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object(), b"bytes"])
def test_unsendable_parameters_are_refused_by_name(store: GraphStore, bad):
    with pytest.raises(ParameterError, match=r"\$value"):
        store.read(ECHO, {"value": bad})


NESTED = cypher(
    "test.nested_values",
    """
    RETURN [date('1965-03-04'), date('2031-12-31'),
            {at: localdatetime('2020-01-02T03:04:05'), more: [1.5, true, false, null, -7]}]
           AS value, 'text' AS word
    """,
)


def test_nested_values_come_back_plain(store: GraphStore):
    """Dates before 1970, datetimes, maps in lists: decoded the same by every path."""
    row = store.read(NESTED).rows[0]
    assert row == {
        "value": [
            dt.date(1965, 3, 4),
            dt.date(2031, 12, 31),
            {"at": dt.datetime(2020, 1, 2, 3, 4, 5), "more": [1.5, True, False, None, -7]},
        ],
        "word": "text",
    }


NASTY_TEXT = [
    'quote " and \\ backslash',
    "\\",
    "ends with backslash \\",
    'a": "looks like a key',
    ',"b":1}',
    "line\nbreak\r\nand\ttab and \f feed",
    "control \x01 and \x08 and \x1f",
    "\\u0001 is not an escape",
    "unicode ✓ Zoë Ó'Brien 😀 \u2028",
    "",
]


def test_batched_rows_keep_every_text_exactly(store: GraphStore):
    """Batches go through each engine's own encoder (FalkorDB: JSON turned into Cypher
    literals), so text that JSON and Cypher escape differently must come back as sent."""
    rows = [
        {"uid": f"t{i}", "name": text, "dob": dt.date(2010, 1, 1), "upn": None}
        for i, text in enumerate(NASTY_TEXT)
    ]
    store.write_rows(UPSERT_PEOPLE, rows, batch_size=4)
    for i, text in enumerate(NASTY_TEXT):
        row = store.read(PERSON_BY_UID, {"uid": f"t{i}"}).rows[0]
        assert row == {"uid": f"t{i}", "name": text, "dob": dt.date(2010, 1, 1)}


@pytest.mark.parametrize(
    "bad, why",
    [
        ({"name": float("nan")}, "finite"),
        ({"name": object()}, "object"),
        ({"name": "NUL \x00 inside"}, "NUL"),
        ({"name": {"not-an-identifier": 1}}, "not-an-identifier"),
    ],
)
def test_unsendable_rows_are_refused_before_anything_is_written(
    store: GraphStore, bad: dict, why: str
):
    row = {"uid": "bad", "name": "x", "dob": "2015-01-01", "upn": None} | bad
    with pytest.raises(ParameterError, match=why):
        store.write_rows(UPSERT_PEOPLE, [row])
    assert store.read(COUNT_PEOPLE).scalar() == 0


def test_bad_cypher_names_the_query(store: GraphStore):
    with pytest.raises(CypherError) as err:
        store.read("MATCH (p:Person RETURN p")
    assert "MATCH (p:Person RETURN p" in str(err.value)


def test_fulltext_search_forgives_typos(store: GraphStore):
    store.write_rows(
        UPSERT_PEOPLE,
        [
            {"uid": "a", "name": "Catherine Smith-Jones", "dob": "2012-01-01", "upn": None},
            {"uid": "b", "name": "Mohammed Ali", "dob": "2013-01-01", "upn": None},
            {"uid": "c", "name": "Joanne Brown", "dob": "2014-01-01", "upn": None},
        ],
    )
    assert store.search_people("Catherine Smith")[0]["uid"] == "a"
    assert store.search_people("catherin smtih")[0]["uid"] == "a"
    assert store.search_people("Mohammad Ali")[0]["uid"] == "b"
    assert {r["uid"] for r in store.search_people("jo")} == {"a", "c"}  # prefix: Jones
    assert [r["uid"] for r in store.search_people("joann")] == ["c"]
    assert store.search_people("zzzzzz") == []
    # Query syntax in user text is stripped, not interpreted.
    assert store.search_people("|*%()@-~\"'") == []
    # Were "|" read as OR, this would find Joanne Brown and Mohammed Ali; as plain
    # words, nobody is called both Brown and Ali.
    assert store.search_people("brown) | (ali") == []


def test_health_and_counts(store: GraphStore):
    store.write_rows(UPSERT_PEOPLE, people(4))
    store.write(
        LINK_PARENT, {"parent": "p00000", "child": "p00001", "kind": "birth", "since": "2010-01-02"}
    )
    health = store.health()
    assert health.ok and health.version
    counts = store.counts()
    assert counts.labels == {"Person": 4}
    assert counts.relationship_types == {"PARENT_OF": 1}
    assert (counts.nodes, counts.relationships) == (4, 1)


TWICE_ATTENDING = cypher(
    "test.twice_attending",
    """
    UNWIND $uids AS uid
    MATCH (p:Person {uid: uid})
    MERGE (s:School {uid: 'school'})
    CREATE (p)-[:ATTENDANCE {term: 1}]->(s), (p)-[:ATTENDANCE {term: 2}]->(s)
    SET p:Child
    """,
    example={"uids": ["x1"]},
    writes=True,
)
FORGET_SOME = cypher(
    "test.forget_some",
    """
    MATCH (p:Person) WHERE p.uid IN $gone DETACH DELETE p
    WITH count(*) AS done
    MATCH (c:Child {uid: $grown}) REMOVE c:Child
    WITH c MATCH (c)-[a:ATTENDANCE {term: 1}]->() DELETE a
    """,
    example={"gone": ["x1"], "grown": "x2"},
    writes=True,
)


def test_counts_are_those_of_a_walk_of_the_graph_after_writes_and_deletes(store: GraphStore):
    """An engine answering counts from its own statistics (FalkorDB) answers what a
    walk of every node and relationship counts: two relationships of a type between
    the same two nodes, labels added and removed, nodes and relationships deleted."""
    store.write_rows(UPSERT_PEOPLE, people(6))
    store.write(TWICE_ATTENDING, {"uids": ["p00000", "p00001", "p00002", "p00003"]})
    store.write(FORGET_SOME, {"gone": ["p00000", "p00005"], "grown": "p00001"})
    counts = store.counts()
    assert counts == GraphStore.counts(store)
    assert counts.labels == {"Child": 2, "Person": 4, "School": 1}
    assert counts.relationship_types == {"ATTENDANCE": 5}


def test_profile_says_where_a_read_spent_its_time_and_refuses_writes(store: GraphStore):
    store.write_rows(UPSERT_PEOPLE, people(50))
    steps = store.profile(BORN_SINCE, {"since": "2010-01-20"})
    # the plan's last operator returns the rows: people born on day 19 or later
    assert steps[0].depth == 0 and steps[0].rows == 31
    assert all(s.depth >= 1 for s in steps[1:])
    assert all(s.ms is not None or s.db_hits is not None for s in steps)
    assert any("Person" in s.operator for s in steps)
    with pytest.raises(ReadOnlyViolation):
        store.profile("MATCH (p:Person) SET p.full_name = 'x' RETURN count(p) AS n")
    assert store.read("MATCH (p:Person {full_name: 'x'}) RETURN count(p) AS n").scalar() == 0


def test_engine_profiles_read_as_steps():
    from graph.engines.falkordb import profile_steps
    from graph.engines.neo4j import _walk_profile

    falkor = [
        "Results | Records produced: 3, Execution time: 0.012 ms",
        "    Optional Conditional Traverse | (c)-[r:ATTENDS]->(s:School) | Records "
        "produced: 90172, Execution time: 235.4 ms",
        "        a line of some later version",
    ]
    assert [(s.depth, s.operator, s.rows, s.ms) for s in profile_steps(falkor)] == [
        (0, "Results", 3, 0.012),
        (1, "Optional Conditional Traverse | (c)-[r:ATTENDS]->(s:School)", 90172, 235.4),
        (2, "a line of some later version", 0, None),
    ]
    neo4j = {  # the driver's summary.profile, as Neo4j 5 sends it
        "operatorType": "ProduceResults@neo4j",
        "args": {"Details": "uid", "Rows": 31, "DbHits": 0},
        "rows": 31,
        "dbHits": 0,
        "time": 1_500_000,
        "children": [
            {
                "operatorType": "NodeIndexSeekByRange@neo4j",
                "args": {"Details": "RANGE INDEX p:Person(dob) WHERE dob >= $since"},
                "rows": 31,
                "dbHits": 32,
                "children": [],
            }
        ],
    }
    walked: list = []
    _walk_profile(neo4j, 0, walked)
    assert [(s.depth, s.operator, s.rows, s.ms, s.db_hits) for s in walked] == [
        (0, "ProduceResults | uid", 31, 1.5, 0),
        (1, "NodeIndexSeekByRange | RANGE INDEX p:Person(dob) WHERE dob >= $since", 31, None, 32),
    ]


def test_finding_a_child_reads_a_birth_date_a_running_load_left_as_text(store: GraphStore):
    """While a load runs, the rows it bulk-inserted hold their dates as ISO text until
    its step converting them has run; finding a child meanwhile gives the same birth
    date and age as after (fifty users during a county delta met "'str' object has no
    attribute 'year'")."""
    from graph import views

    store.write("CREATE (:Person {uid: 'P-text', full_name: 'Ann Text', dob: '2015-01-02'})")
    store.write_rows(
        UPSERT_PEOPLE, [{"uid": "P-date", "name": "Ann Date", "dob": "2015-01-02", "upn": None}]
    )
    text, date = (views.find_children(store, uid)[0] for uid in ("P-text", "P-date"))
    assert text["dob"] == date["dob"] == dt.date(2015, 1, 2)
    assert text["age"] == date["age"] is not None


def test_a_childs_returns_read_in_date_order_while_a_running_load_left_dates_as_text(
    store: GraphStore,
):
    """A fact whose date a running load has not converted yet takes its place among the
    child's statutory returns by that date, as after the conversion (it sorted first)."""
    from graph import views

    store.write(
        "CREATE (p:Person {uid: 'P-c'}), "
        "(p)-[:ASSESSED]->(:Assessment {uid: 'A-1', start: date('2020-01-01')}), "
        "(p)-[:REFERRED]->(:Referral {uid: 'R-1', date: '2021-01-01'}), "
        "(p)-[:REFERRED]->(:Referral {uid: 'R-0', date: date('2019-01-01')})"
    )
    assert [f["uid"] for f in views.social_care(store, "P-c")] == ["R-0", "A-1", "R-1"]


def test_a_parent_too_young_is_a_warning_while_a_running_load_left_birth_dates_as_text(
    store: GraphStore,
):
    """The record's warnings read birth dates a running load left as text (a parent five
    years older than the child was not warned of until the load converted them)."""
    from graph import family_rules

    store.write(
        "CREATE (:Person {uid: 'P-p', full_name: 'Pat', dob: '2010-01-01'})-[:PARENT_OF "
        "{kind: 'birth'}]->(:Person {uid: 'P-k', full_name: 'Kit', dob: '2015-01-01'})"
    )
    texts = [w["text"] for w in family_rules.warnings(store, ["P-k"])]
    assert any("Pat (born 2010-01-01) is recorded as parent of Kit" in t for t in texts), texts
    assert family_rules.count_breaks(store)["parent_age"] == 1
