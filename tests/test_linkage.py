"""Linkage on its own: small and odd inputs, the rules no link may break, evidence.

The records here are written by the tests; the county-scale measures are in
tests/test_loaders.py (against the synthetic county's truth).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from loaders.linkage import Context, Identity, link
from loaders.linkage.clusters import Clusters
from loaders.linkage.inputs import Edge, Tenure
from loaders.load import run_load
from tests.conftest import AS_OF, embedded_store

# -- small and odd inputs never crash ------------------------------------------------


def test_one_record_is_one_person():
    result = link([Identity("a", given="Amy", family="Smith", dob="2014-03-02")])
    assert result.cluster_of == {"a": "a"} and not result.review


def test_two_records_of_one_person_link_on_the_priors():
    result = link(
        [
            Identity("a", given="Amy", family="Smith", dob="2014-03-02", postcode="NM1 1AA"),
            Identity("b", given="Amy", family="Smith", dob="2014-03-02", postcode="NM1 2BB"),
        ]
    )
    assert result.cluster_of["a"] == result.cluster_of["b"]
    assert any("too few to learn from" in n for n in result.notes), result.notes


def test_records_with_no_names_and_no_dates_link_on_their_ids_alone():
    records = [Identity(f"r{i}", la_id=f"C{i % 7}", sex="F" if i % 2 else "M") for i in range(40)]
    result = link(records)
    groups = {}
    for r in records:
        groups.setdefault(r.la_id, set()).add(result.cluster_of[r.rid])
    assert all(len(g) == 1 for g in groups.values())
    assert len(set(result.cluster_of.values())) == 7
    assert any("no names or dates of birth" in n for n in result.notes), result.notes


def test_records_with_dates_but_no_names_keep_people_apart():
    """SSDA903's header.csv: CHILD, SEX, DOB, UPN and no names. Two children born the
    same day are two children; the same CHILD on two rows is one."""
    records = [
        Identity("a", dob="2015-01-01", sex="F", la_id="1", upn="A123456789012"),
        Identity("b", dob="2015-01-01", sex="F", la_id="2"),
        Identity("c", dob="2016-05-05", sex="M", la_id="1"),
    ]
    result = link(records)
    assert result.cluster_of["a"] != result.cluster_of["b"]
    assert result.cluster_of["a"] == result.cluster_of["c"]


def test_records_with_no_dates_of_birth_link_on_names_and_place():
    names = [("Amy", "Smith"), ("Bob", "Jones"), ("Cat", "Brown"), ("Dan", "Green")]
    records = [
        Identity(f"r{i}", given=g, family=f, postcode=f"NM{i % 4} 1AA")
        for i, (g, f) in enumerate(names * 3)
    ]
    result = link(records)
    for g, f in names:
        mine = {result.cluster_of[r.rid] for r in records if r.given == g}
        assert len(mine) == 1, (g, f)
    assert len(set(result.cluster_of.values())) == 4


def _mapping(directory: Path, name: str, text: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.yaml").write_text(textwrap.dedent(text))


def test_a_person_file_with_no_names_and_an_id_only_file_load(tmp_path):
    """A looked-after children's header (no names) and a file of ids only each load on
    their own: no traceback, accounting closes, one person per child id, and the
    report says linkage stood on the ids."""
    data, maps = tmp_path / "data", tmp_path / "maps"
    data.mkdir()
    (data / "header.csv").write_text(
        "CHILD,SEX,DOB,UPN\n"
        "1001,1,01/02/2015,\n"
        "1002,2,01/02/2015,\n"
        "1001,1,01/02/2015,\n"
        "1003,2,03/04/2012,\n"
    )
    (data / "uasc.csv").write_text("CHILD\n1001\n1004\n")
    _mapping(
        maps,
        "header",
        """
        source: header
        files: header.csv
        columns: {CHILD: person.la_child_id, SEX: person.sex, DOB: person.dob,
                  UPN: person.upn}
        codes: {person.sex: {"1": M, "2": F}}
        dates: {default: ["%d/%m/%Y"]}
        """,
    )
    _mapping(maps, "uasc", "source: uasc\nfiles: uasc.csv\ncolumns: {CHILD: person.la_child_id}\n")
    store = embedded_store(tmp_path / "engine")
    try:
        store.ensure_schema()
        result = run_load(store, data, mappings=maps, as_of=AS_OF)
        report = result.report
        assert report.closes and report.finished
        assert report.people == 4  # 1001 to 1004
        people = {r["person"] for r in result.source_records}
        assert len(people) == 4
        assert any("identifiers" in n or "too few" in n for n in report.linkage_notes)
        assert "Linkage:" in report.to_markdown()
    finally:
        store.close()


# -- the rules no automatic link may break -------------------------------------------


def _sisters() -> list[Identity]:
    """Two sisters of one name at one address (different UPNs, NHS numbers and dates of
    birth), and records that carry only part of either: the shape of the merge found
    in a 5,000-child county (seed 5)."""
    common = {"given": "Katherine", "family": "Rowley", "postcode": "NM5 1AB", "sex": "F"}
    return [
        Identity("old1", dob="2011-07-18", upn="U940201721018", nhs="7374101376", **common),
        Identity("old2", dob="2011-07-18", upn="U940201721018", uln="1000000051", **common),
        Identity("young1", dob="2013-07-18", upn="J940204824009", nhs="6517720499", **common),
        Identity("young2", dob="2013-07-18", upn="J940204824009", **common),
        Identity("bare", dob="2011-07-18", **common),  # no identifier: could be either
        Identity("mixed", dob="2013-07-18", nhs="7374101376", **common),  # a keying error
    ]


def test_two_people_with_different_checked_identifiers_are_never_merged():
    result = link(_sisters())
    ids_of: dict[str, set[tuple[str, str]]] = {}
    for r in _sisters():
        found = ids_of.setdefault(result.cluster_of[r.rid], set())
        found |= {(k, getattr(r, k)) for k in ("upn", "nhs", "uln") if getattr(r, k)}
    for found in ids_of.values():
        for kind in ("upn", "nhs", "uln"):
            assert len({v for k, v in found if k == kind}) <= 1, found
    assert result.cluster_of["old1"] != result.cluster_of["young1"]
    reasons = [c.reason for c in result.review if c.reason]
    assert any("different" in r and "each passing its check" in r for r in reasons), reasons
    assert result.prevented["identifiers"] >= 1


def _parent_and_children() -> tuple[list[Identity], list[Edge]]:
    people = [
        Identity("mum", given="Jane", family="Smith"),
        Identity("amy", given="Amy", family="Smith", dob="2014-03-02"),
        Identity("ben", given="Ben", family="Smith", dob="2016-05-06"),
        Identity("dad", given="John", family="Smith"),
    ]
    edges = [
        Edge("mum", "amy", "birth", True),
        Edge("mum", "ben", "birth", True),
        Edge("dad", "amy", "birth", True),
    ]
    return people, edges


def test_a_parent_under_twelve_years_older_than_their_child_is_refused():
    people, edges = _parent_and_children()
    people.append(Identity("young", given="Jane", family="Smith", dob="2008-01-01"))
    clusters = Clusters(people, edges)
    reason = clusters.check("mum", "young")
    assert reason is not None and reason.rule == "parent_age"
    assert "under 12 years older than their child Amy Smith (born 2014-03-02)" in reason
    assert reason.named == ("amy",)  # audited with the pair whoever reads it
    people.append(Identity("older", given="Jane", family="Smith", dob="1985-01-01"))
    assert Clusters(people, edges).check("mum", "older") is None


def test_a_parent_cannot_join_a_child_of_their_own_name_when_any_birth_date_says_too_young():
    """A mother (born 1985) and a girl of her name (born 2008) share a day and month:
    joined, the person could carry either date, so every date must be old enough."""
    people, edges = _parent_and_children()
    people.append(Identity("mum2", given="Jane", family="Smith", dob="1985-01-01"))
    people.append(Identity("girl", given="Jane", family="Smith", dob="2008-01-01"))
    edges.append(Edge("mum2", "amy", "birth", True))
    clusters = Clusters(people, edges)
    assert clusters.check("mum", "mum2") is None
    clusters.union("mum", "mum2")
    reason = clusters.check("mum", "girl")
    assert reason is not None and reason.rule == "parent_age"


def test_no_one_is_both_parent_and_sibling_of_a_child():
    people, edges = _parent_and_children()
    people.append(Identity("x", given="Ben", family="Smith"))
    edges.append(Edge("x", "amy", "parent", True))  # x named as Amy's parent
    reason = Clusters(people, edges).check("x", "ben")  # but x is Amy's brother Ben
    assert reason is not None and reason.rule == "parent_and_sibling"
    assert "parent and sibling of Amy Smith" in reason
    assert reason.named == ("amy",)  # audited with the pair whoever reads it


def test_no_child_has_more_than_two_birth_parents():
    people, edges = _parent_and_children()
    people += [
        Identity("amy2", given="Amy", family="Smith", dob="2014-03-02"),
        Identity("other", given="Sara", family="Jones"),
    ]
    edges.append(Edge("other", "amy2", "birth", True))
    reason = Clusters(people, edges).check("amy", "amy2")
    assert reason is not None and reason.rule == "birth_parents"


def test_no_one_is_their_own_parent():
    people, edges = _parent_and_children()
    reason = Clusters(people, edges).check("mum", "amy")
    assert reason is not None and reason.rule == "own_parent"


def test_a_refused_link_goes_to_review_with_its_reason():
    """A parent named on a child's row, and a record of the same name born after the
    child: the link would make a parent younger than their child."""
    people, edges = _parent_and_children()
    people.append(
        Identity("teen", given="Jane", family="Smith", dob="2015-01-01", postcode="NM1 1AA")
    )
    people[0] = Identity("mum", given="Jane", family="Smith", dob="2015-01-01")  # mis-keyed
    result = link(people, context=Context(as_of=AS_OF.isoformat(), edges=edges))
    assert result.cluster_of["mum"] != result.cluster_of["amy"]
    assert result.cluster_of["teen"] != result.cluster_of["amy"]
    refused = [c for c in result.review if c.reason and "their child Amy Smith" in c.reason]
    assert refused, [c.reason for c in result.review]
    assert all("amy" in c.named for c in refused)  # the reason's child audited when shown


# -- relational evidence, in words ---------------------------------------------------


def test_a_mother_named_on_a_childs_row_is_the_liable_adult_at_the_childs_home():
    """ "Mother: Jane Smith" on a row about Amy, and "Jane Jones, liable party" at the
    address Amy lives at: one person, with the reasons in words."""
    amy = Identity("amy", given="Amy", family="Smith", dob="2014-03-02", postcode="NM5 4AL")
    named = Identity(
        "amy#parent", given="Jane", family="Smith", postcode="NM5 4AL", born_before="2002-03-02"
    )
    liable = Identity(
        "ct", given="Jane", family="Jones", postcode="NM5 4AL", sex="F", born_before="2003-01-01"
    )
    stranger = Identity(
        "ct2", given="Jane", family="Brown", postcode="NM9 9ZZ", sex="F", born_before="2003-01-01"
    )
    context = Context(
        as_of=AS_OF.isoformat(),
        edges=[Edge("amy#parent", "amy", "parent", True)],
        homes={
            "amy": [Tenure("100090000035")],
            "amy#parent": [Tenure("100090000035")],
            "ct": [Tenure("100090000035", "2019-01-01")],
            "ct2": [Tenure("100090000099", "2019-01-01")],
        },
        roles={"amy#parent": "mother"},
        places={"100090000035": "4 Bridge Place, NM5 4AL"},
    )
    result = link([amy, named, liable, stranger], context=context)
    assert result.cluster_of["amy#parent"] == result.cluster_of["ct"]
    assert result.cluster_of["ct2"] != result.cluster_of["ct"]
    assert result.cluster_of["amy"] != result.cluster_of["ct"]
    words = result.evidence["ct"]
    assert "named as mother of Amy Smith (born 2014-03-02), who lived with the other" in words
    assert "same given name Jane" in words
    assert "against: family name" in words and "Smith/Jones" in words


def test_partners_at_one_address_stay_two_people():
    """Two adults at one address, named as parents of the same child: the household is
    no evidence that they are one person when their given names differ."""
    amy = Identity("amy", given="Amy", family="Smith", dob="2014-03-02")
    mum = Identity("mum", given="Jane", family="Smith", sex="F")
    dad = Identity("dad", given="John", family="Smith")
    context = Context(
        as_of=AS_OF.isoformat(),
        edges=[Edge("mum", "amy", "parent", True), Edge("dad", "amy", "parent", True)],
        homes={k: [Tenure("U1")] for k in ("amy", "mum", "dad")},
    )
    result = link([amy, mum, dad], context=context)
    assert len({result.cluster_of[k] for k in ("amy", "mum", "dad")}) == 3


def _liable(rid: str, family: str, given: str = "Ellie") -> Identity:
    return Identity(rid, given=given, family=family, sex="F", born_before="2008-11-02")


def _strangers(count: int = 16) -> list[Identity]:
    """``count`` liable parties (at most sixteen), each for a while, so the pass has
    people to learn from."""
    others = [
        ("Anna", "Ash"),
        ("Beth", "Birch"),
        ("Cara", "Cole"),
        ("Dawn", "Dale"),
        ("Erin", "Edge"),
        ("Faye", "Ford"),
        ("Gail", "Gill"),
        ("Hope", "Hale"),
        ("Iris", "Ince"),
        ("Jade", "Jury"),
        ("Kate", "Kemp"),
        ("Lily", "Lund"),
        ("Mary", "Moss"),
        ("Nina", "Nash"),
        ("Olga", "Orme"),
        ("Pam", "Pike"),
    ]
    return [_liable(f"x{i}", family, given) for i, (given, family) in enumerate(others[:count])]


def _strangers_homes() -> dict[str, list[Tenure]]:
    return {f"x{i}": [Tenure(f"V{i}", f"2020-0{1 + i % 9}-1{i % 10}")] for i in range(16)}


def test_a_liable_party_who_moved_and_changed_surname_the_same_day_is_one_person():
    """Ellie Hunt's account ends the day Ellie Taylor's begins at another address: one
    woman who married and moved. Council tax records carry no date of birth; the move is
    the evidence."""
    records = [_liable("hunt", "Hunt"), _liable("taylor", "Taylor"), *_strangers()]
    homes = {
        "hunt": [Tenure("U1", "2019-01-01", "2021-09-27")],
        "taylor": [Tenure("U2", "2021-09-27")],
    }
    homes.update(_strangers_homes())
    result = link(records, context=Context(as_of=AS_OF.isoformat(), homes=homes))
    assert result.cluster_of["hunt"] == result.cluster_of["taylor"]
    assert "one moved out the day the other moved in" in result.evidence["taylor"]


def test_a_name_taken_from_a_partner_on_a_move_is_said_in_the_words():
    """Ellie Hunt was liable at U1 with Sam Taylor, who stays there; her account ends
    the day Ellie Taylor's begins at U2: the name she moved under is her partner's, and
    the link says so, naming him and where they lived together."""
    sam = Identity("sam", given="Sam", family="Taylor", sex="M", born_before="2008-11-02")
    records = [_liable("hunt", "Hunt"), _liable("taylor", "Taylor"), sam]
    records += _strangers()
    homes = {
        "hunt": [Tenure("U1", "2019-01-01", "2021-09-27")],
        "sam": [Tenure("U1", "2019-01-01")],
        "taylor": [Tenure("U2", "2021-09-27")],
    }
    homes.update(_strangers_homes())
    context = Context(
        as_of=AS_OF.isoformat(), homes=homes, places={"U1": "4 Bridge Place, NM5 4AL"}
    )
    result = link(records, context=context)
    assert result.cluster_of["hunt"] == result.cluster_of["taylor"] != result.cluster_of["sam"]
    assert (
        "one moved out on 2021-09-27 and the other in that day, under the family name of "
        "Sam Taylor, who lived with Ellie Hunt at 4 Bridge Place, NM5 4AL (2019-2021)"
    ) in result.evidence["taylor"]


def test_no_one_is_made_one_person_at_two_addresses_at_once():
    """Two links each sound on its own (an old account to a new one, each the day of a
    move) would make one woman of two who were liable at two addresses over the same
    months: the second is refused and goes to review with its reason."""
    people = [_liable("a", "Cooper"), _liable("b", "Cooper"), _liable("c", "Matthews")]
    homes = {
        "a": [Tenure("U1", "2025-06-07", "2026-02-27")],
        "b": [Tenure("U2", "2026-02-27")],
        "c": [Tenure("U3", "2018-11-02", "2026-02-27")],
    }
    places = {"U1": "12 High Street, AB1 2CD", "U3": "4 Low Road, AB3 4EF"}
    clusters = Clusters(people, homes=homes)
    assert clusters.two_homes("a", "b") is None
    clusters.union("a", "b")
    reason = clusters.two_homes("b", "c", places)
    assert reason is not None and reason.rule == "two_homes"
    # the two addresses and the days, for a reviewer to check (U2's stay begins the
    # day U3's ends: a move, no overlap)
    assert reason == (
        "would be at 12 High Street, AB1 2CD and 4 Low Road, AB3 4EF at once, "
        "from 2025-06-07 to 2026-02-27"
    )
    # a move's last day and the next stay's first may touch
    assert (
        Clusters(people, homes={"a": homes["a"], "c": [Tenure("U3", "2026-02-27")]}).two_homes(
            "a", "c"
        )
        is None
    )


def test_a_day_when_every_account_seems_to_begin_is_not_a_move():
    """A file's first day (every account open then starts on it) is no move: strangers
    who "moved in" that day are not linked by it."""
    from loaders.linkage.relational import cut_offs

    days = [{"2018-11-02"} for _ in range(200)] + [{f"2020-01-{d:02d}"} for d in range(1, 29)]
    days += [{"2020-01-05", "2018-11-02"}]
    assert cut_offs(days) == {"2018-11-02"}
    assert cut_offs([{f"2020-01-{d:02d}"} for d in range(1, 29)]) == set()


@pytest.mark.slow  # generates a 5,000-child county (about a minute) to meet the case as found
def test_the_rowley_sisters_stay_two_in_the_county_they_were_found_in(tmp_path):
    import datetime as dt

    from loaders.linkage import linkage_inputs
    from loaders.mapping import load_mappings
    from loaders.progress import Silent
    from loaders.reading import read_all as _read_all
    from loaders.report import LoadReport
    from synthetic.generate import generate

    generate(5_000, 5, tmp_path, as_of=dt.date(2026, 11, 2))
    records: list = []
    report = LoadReport(directory="", started_at="", as_of="")
    _read_all(tmp_path, load_mappings(), AS_OF, report, records, [], Silent())
    identities, _roles, context = linkage_inputs(records, AS_OF)
    result = link(identities, context=context)
    held: dict[str, dict[str, set[str]]] = {}
    for i in identities:
        mine = held.setdefault(result.cluster_of[i.rid], {})
        for kind in ("upn", "nhs", "uln"):
            if getattr(i, kind):
                mine.setdefault(kind, set()).add(getattr(i, kind))
    merged = [ids for ids in held.values() if any(len(v) > 1 for v in ids.values())]
    assert not merged, merged[:3]


def test_quality_counts_people_split_and_people_merged():
    """Three true people: a's records went to two people, b and c share one, d alone."""
    from loaders.quality import pairwise_quality

    q = pairwise_quality([("a", 1), ("a", 1), ("a", 2), ("b", 3), ("c", 3), ("d", 4)])
    assert (q.several, q.split, q.merged, q.true_people) == (1, 1, 2, 4)
    assert q.split_share == 1.0 and q.merged_share == 0.5
    assert (q.true_pairs, q.found_pairs, q.correct_pairs) == (3, 2, 1)


def test_a_liable_party_who_moved_with_her_household_and_changed_surname_is_one_person():
    """As above, through linkage: Sam Taylor's two accounts are one person by name and
    move, and that makes Ellie Hunt's and Ellie Taylor's accounts one person, with the
    household's move in the evidence a reviewer reads."""
    records = [_liable("hunt", "Hunt"), _liable("taylor", "Taylor")]
    records += [
        Identity("sam1", given="Sam", family="Taylor", sex="M", born_before="2008-11-02"),
        Identity("sam2", given="Sam", family="Taylor", sex="M", born_before="2008-11-02"),
    ]
    records += _strangers(8)
    homes = {
        "hunt": [Tenure("U1", "2019-01-01", "2021-09-27")],
        "taylor": [Tenure("U2", "2021-09-27")],
        "sam1": [Tenure("U1", "2019-01-01", "2021-09-27")],
        "sam2": [Tenure("U2", "2021-09-27")],
    }
    homes.update({f"x{i}": [Tenure(f"V{i}", f"2020-0{1 + i % 9}-1{i % 10}")] for i in range(8)})
    places = {"U1": "4 Bridge Place, NM5 4AL", "U2": "6 School Rise, NM1 3XQ"}
    result = link(records, context=Context(as_of=AS_OF.isoformat(), homes=homes, places=places))
    assert result.cluster_of["sam1"] == result.cluster_of["sam2"]
    assert result.cluster_of["hunt"] == result.cluster_of["taylor"] != result.cluster_of["sam1"]
    assert (
        "one moved out of 4 Bridge Place, NM5 4AL on 2021-09-27 and the other into "
        "6 School Rise, NM1 3XQ that day, as Sam Taylor, who lived with them, did"
    ) in result.evidence["taylor"]


def test_a_later_round_expects_the_matches_the_earlier_left_to_find():
    """The adults' rounds: what the first expected (its probability of a match times its
    pairs), less the pairs its links made one, is what the next round expects; never
    less than none."""
    from loaders.linkage.relational import carried, left_to_find

    people = [_liable(rid, "Hunt") for rid in "abcdef"]
    clusters = Clusters(people)
    clusters.union("a", "b")
    clusters.union("a", "c")  # three people made one: three pairs
    trained = {"probability_two_random_records_match": 0.4, "comparisons": []}
    now = [clusters.find(rid) for rid in "abcdef"]
    assert left_to_find(trained, now) == pytest.approx(0.4 * 15 - 3)
    after = carried(trained, 2.0, 4)
    assert after["probability_two_random_records_match"] == pytest.approx(2.0 / 6)
    assert after["comparisons"] == []
    assert left_to_find({"probability_two_random_records_match": 0.01}, now) == 0


# -- the adults' blocking grows with the population, not its square ------------------


def test_a_name_rule_keeps_its_smallest_blocks_within_its_pairs():
    """Fifty pairs of namesakes and one name a hundred people share: within 60 pairs
    the hundred (4,950 pairs) are no key, the fifty pairs are; a list keeps its other
    keys."""
    from loaders.linkage.relational import bounded

    keys: list[list[str] | None] = [[f"pair{i // 2}"] for i in range(100)]
    keys += [["smith"] for _ in range(100)] + [None, ["smith", "pair0"]]
    kept, largest, dropped = bounded(keys, limit=60)
    assert (largest, dropped) == (3, 1)  # pair0 is three people's
    assert kept[:100] == keys[:100] and kept[100:] == [None] * 101 + [["pair0"]]
    pairs = {}
    for row in kept:
        for k in row or ():
            pairs[k] = pairs.get(k, 0) + 1
    assert sum(n * (n - 1) // 2 for n in pairs.values()) <= 60
    # with room for every pair, nothing is left out
    assert bounded(keys, limit=10_000) == (keys, 101, 0)


def test_a_joined_rule_counts_its_pairs_across_the_join():
    """Swapped names pair one column's keys with another's: a block's pairs are the
    product of the rows on each side."""
    from loaders.linkage.relational import bounded

    left = [["ann|lee"]] * 3 + [["bo|may"]] * 40
    right = [["ann|lee"]] * 2 + [["bo|may"]] * 30 + [None] * 11
    kept, _, dropped = bounded(left, limit=10, other=right)  # 6 pairs and 1,200
    assert dropped == 1 and kept == [["ann|lee"]] * 3 + [None] * 40


def test_an_engine_out_of_memory_is_told_from_other_errors():
    """DuckDB's own out-of-memory error, however Splink wraps it, is what the adults'
    pass falls back on; a mistake in SQL is not."""
    import duckdb

    from loaders.linkage.backend import out_of_memory

    connection = duckdb.connect(config={"memory_limit": "8MB", "temp_directory": ""})
    try:
        with pytest.raises(duckdb.Error) as caught:
            connection.execute("SELECT list(repeat('x', 100) || i) FROM range(2000000) t(i)")
        try:
            raise RuntimeError("Splink: error executing the SQL") from caught.value
        except RuntimeError as wrapped:
            assert out_of_memory(wrapped)
        with pytest.raises(duckdb.Error) as wrong:
            connection.execute("SELECT no_such_column FROM range(3)")
        assert not out_of_memory(wrong.value)
    finally:
        connection.close()


def test_a_later_round_scores_again_only_people_whose_row_changed():
    """Between rounds, a person whose row is as it was is not fresh; one whose lists
    grew, or who is new (a merge's surviving root), is."""
    import pyarrow as pa

    from loaders.linkage.relational import freshen

    first = pa.table({"unique_id": ["a", "b", "c"], "homes": [["U1"], ["U2"], None]})
    marked, before = freshen(first, None)
    assert marked["fresh"].to_pylist() == [True, True, True]
    again = pa.table({"unique_id": ["a", "b", "d"], "homes": [["U1"], ["U2", "U3"], None]})
    marked, _ = freshen(again, before)
    assert marked["fresh"].to_pylist() == [False, True, True]


def _with_partner(second: Identity) -> tuple[list[Identity], Context]:
    """Ellie Hunt liable at U1 with Sam Taylor (2015 to mid-2018), Ellie Taylor liable at
    U3 from 2020 with ``second`` (rid "sam2"): no move joins the two accounts (a gap) and
    their family names differ."""
    records = [_liable("hunt", "Hunt"), _liable("taylor", "Taylor"), second]
    records += [Identity("sam1", given="Sam", family="Taylor", sex="M", dob="1984-05-06")]
    records += _strangers(8)
    first, then = Tenure("U1", "2015-01-01", "2018-06-30"), Tenure("U3", "2020-03-01")
    homes = {"hunt": [first], "sam1": [first], "taylor": [then], "sam2": [then]}
    homes.update({f"x{i}": [Tenure(f"V{i}", f"2020-0{1 + i % 9}-1{i % 10}")] for i in range(8)})
    places = {"U1": "4 Bridge Place, NM5 4AL", "U3": "6 School Rise, NM1 3XQ"}
    return records, Context(as_of=AS_OF.isoformat(), homes=homes, places=places)


def test_two_accounts_each_shared_with_one_same_partner_are_one_person():
    """Sam Taylor's two records are one man (name and date of birth), so Ellie Hunt and
    Ellie Taylor both lived with him, at two addresses years apart: one woman, with the
    housemate in the evidence a reviewer reads."""
    sam = Identity("sam2", given="Sam", family="Taylor", sex="M", dob="1984-05-06")
    records, context = _with_partner(sam)
    result = link(records, context=context)
    assert result.cluster_of["sam1"] == result.cluster_of["sam2"]
    assert result.cluster_of["hunt"] == result.cluster_of["taylor"] != result.cluster_of["sam1"]
    assert (
        "both lived with Sam Taylor (born 1984-05-06): one at 4 Bridge Place, NM5 4AL "
        "(2015-2018), the other at 6 School Rise, NM1 3XQ (2020-now)"
    ) in result.evidence["taylor"] + result.evidence.get("hunt", "")


def test_two_couples_whose_accounts_name_each_other_are_two_people_not_four():
    """Sam's second account has no date of birth (a council tax account): the first round
    sees two Sam Taylors, and each Ellie lived with one of them: Ellie is one woman
    (and Sam one man). Had Ellie Taylor lived with a Tom Reed instead, nothing but a
    given name would join the Ellies: two women."""
    sam = Identity("sam2", given="Sam", family="Taylor", sex="M", born_before="2008-11-02")
    records, context = _with_partner(sam)
    result = link(records, context=context)
    assert result.cluster_of["hunt"] == result.cluster_of["taylor"]
    assert result.cluster_of["sam1"] == result.cluster_of["sam2"] != result.cluster_of["hunt"]
    words = result.evidence["taylor"] + result.evidence.get("hunt", "")
    assert "each lived with a Sam Taylor (born 1984-05-06): one at 4 Bridge Place" in words

    tom = Identity("sam2", given="Tom", family="Reed", sex="M", born_before="2008-11-02")
    records, context = _with_partner(tom)
    result = link(records, context=context)
    assert result.cluster_of["hunt"] != result.cluster_of["taylor"]


def _mother_named_with(
    father: Identity | None, born: str = "2018-09-14", kind: str = "birth", more: int = 0
) -> tuple[list[Identity], Context]:
    """Ellie Hunt liable at U1 with Sam Taylor (2015 to mid-2018); later Ellie Taylor is
    named as mother of Amy Taylor (born ``born``: a health visitor's row, no date of
    birth of hers, the child's address undated) and, on another row about Amy,
    ``father`` (rid "dad") as her ``kind`` of parent, with ``more`` others named as her
    parent besides. No account of Ellie's after U1, no move: only the family joins the
    two."""
    records = [_liable("hunt", "Hunt"), _liable("mum", "Taylor")]
    records += [Identity("sam1", given="Sam", family="Taylor", sex="M", dob="1984-05-06")]
    records += [Identity("amy", given="Amy", family="Taylor", sex="F", dob=born)]
    records += _strangers(8)
    first = Tenure("U1", "2015-01-01", "2018-06-30")
    homes = {"hunt": [first], "sam1": [first], "mum": [Tenure("U3")], "amy": [Tenure("U3")]}
    homes.update({f"x{i}": [Tenure(f"V{i}", f"2020-0{1 + i % 9}-1{i % 10}")] for i in range(8)})
    edges = [Edge("mum", "amy", "birth", graph=True)]
    if father is not None:
        records.append(father)
        edges.append(Edge("dad", "amy", kind, graph=True))
    for i in range(more):
        records.append(Identity(f"p{i}", given="Jo", family=f"Parent{i}", born_before="2008-11-02"))
        edges.append(Edge(f"p{i}", "amy", "adoptive", graph=True))
    places = {"U1": "4 Bridge Place, NM5 4AL", "U3": "6 School Rise, NM1 3XQ"}
    context = Context(as_of=AS_OF.isoformat(), edges=edges, homes=homes, places=places)
    return records, context


SAM = Identity("dad", given="Sam", family="Taylor", sex="M", dob="1984-05-06")


def test_a_mother_whose_childs_father_lived_with_an_account_holder_is_that_holder():
    """Amy's father is Sam Taylor (his record and his account are one man: name and date
    of birth), who lived with Ellie Hunt at U1 until Amy's birth: Ellie Taylor, Amy's
    mother, is Ellie Hunt under her partner's name, with the child the level counted and
    the records naming the two parents in the evidence a reviewer reads. Without the
    father's record nothing but a given name joins the two Ellies."""
    records, context = _mother_named_with(SAM)
    result = link(records, context=context)
    assert result.cluster_of["dad"] == result.cluster_of["sam1"]
    assert result.cluster_of["hunt"] == result.cluster_of["mum"] != result.cluster_of["sam1"]
    assert (
        "one named as birth parent of Amy Taylor (born 2018-09-14) on a record, whose birth "
        "parent Sam Taylor (born 1984-05-06), so named on a record, lived with the other: at "
        "4 Bridge Place, NM5 4AL (2015-2018)"
    ) in result.evidence["mum"] + result.evidence.get("hunt", "")

    records, context = _mother_named_with(None)
    result = link(records, context=context)
    assert result.cluster_of["hunt"] != result.cluster_of["mum"]


def test_a_fathers_former_partner_is_not_the_mother_of_his_later_child():
    """As above, but Amy was born in 2021, nearly three years after Sam and Ellie Hunt's
    stay at U1 ended: Ellie Hunt is Sam's former partner, Ellie Taylor the mother of his
    later child, two women of one given name (the co-parent counts only for a stay not
    ended a year before the child's birth)."""
    records, context = _mother_named_with(SAM, born="2021-04-09")
    result = link(records, context=context)
    assert result.cluster_of["dad"] == result.cluster_of["sam1"]
    assert result.cluster_of["hunt"] != result.cluster_of["mum"]


def test_a_fathers_later_partner_is_not_the_mother_of_his_earlier_child():
    """As above, but Amy was born in 2013, nearly two years before Sam and Ellie Hunt's
    stay at U1 began: Ellie Hunt is Sam's later partner, Ellie Taylor the mother of his
    earlier child, two women of one given name (the co-parent counts only for a stay
    begun by a year after the child's birth, relational.COPARENT_AFTER)."""
    records, context = _mother_named_with(SAM, born="2013-02-11")
    result = link(records, context=context)
    assert result.cluster_of["dad"] == result.cluster_of["sam1"]
    assert result.cluster_of["hunt"] != result.cluster_of["mum"]


def test_a_later_partners_account_open_on_the_extracts_first_day_is_not_the_mothers():
    """As above, Amy born in 2013, but Sam and Ellie Hunt's joint account recorded from
    the extract's first day, as every account open then is (forty others too): the
    records do not say their stay began around Amy's birth, so Ellie Hunt is not taken
    for Amy's mother (the review of the co-parent levels found them joined); a child
    born within the year before that day still counts it."""
    from loaders.linkage.inputs import Tenure

    for born, one in (("2013-02-11", False), ("2018-09-14", True)):
        records, context = _mother_named_with(SAM, born=born)
        shared = Tenure("U1", "2018-11-02", "2020-06-30")
        context.homes["hunt"] = context.homes["sam1"] = [shared]
        for i in range(40):
            records.append(
                Identity(
                    f"y{i}",
                    given=f"Zo{i}",
                    family=f"Yew{i}",
                    sex="F",
                    postcode=f"NM9 {i}ZZ",
                    born_before="2008-11-02",
                )
            )
            context.homes[f"y{i}"] = [Tenure(f"W{i}", "2018-11-02", "")]
        result = link(records, context=context)
        assert result.cluster_of["dad"] == result.cluster_of["sam1"], born
        assert (result.cluster_of["hunt"] == result.cluster_of["mum"]) is one, born


@pytest.mark.parametrize(
    ("kind", "more"),
    [("foster", 0), ("guardian", 0), ("step", 0), ("carer", 0), ("parent", 0), ("birth", 1)],
)
def test_a_carer_or_a_third_parent_is_not_the_other_parent(kind: str, more: int):
    """Sam named as Amy's foster carer, guardian, step-parent or a family group's carer
    is not her other parent, nor where a record states no kind ("Parent/Carer", kind
    "parent": a carer as often); nor is anyone where three people are named as her
    parents: the two Ellies stay apart."""
    records, context = _mother_named_with(SAM, kind=kind, more=more)
    result = link(records, context=context)
    assert result.cluster_of["hunt"] != result.cluster_of["mum"]


def test_the_co_parent_by_name_is_worded_from_the_records_the_level_read():
    """Where the father named on Amy's row (no date of birth) and the Sam Taylor who
    lived with Ellie Hunt are not yet one person, the words name the child the level
    counted, the record naming each parent and what it names them, and the housemate of
    the co-parent's name, with the address and years of the stay; the people they name
    are recorded, for the audit of whoever reads them."""
    from loaders.linkage.evidence import describe_naming
    from loaders.linkage.relational import CO_PARENT_ALIKE, surroundings

    dad = Identity(
        "social_care:d1#parent", given="Sam", family="Taylor", sex="M", born_before="2008-11-02"
    )
    records, context = _mother_named_with(dad, kind="father")
    context.edges[-1] = Edge(dad.rid, "amy", "father", graph=True)
    clusters = Clusters(records, context.edges, context.homes)
    around = surroundings(records, clusters, context)
    mum, hunt = (next(r for r in records if r.rid == rid) for rid in ("mum", "hunt"))
    words, named = describe_naming(
        mum, hunt, {"household": CO_PARENT_ALIKE.label}, clusters, context, around
    )
    assert words.startswith(
        "one named as birth parent of Amy Taylor (born 2018-09-14) on a record, whose father "
        "Sam Taylor, so named on a social care record, has the name of Sam Taylor (born "
        "1984-05-06), who lived with the other: at 4 Bridge Place, NM5 4AL (2015-2018)"
    )
    assert {"amy", dad.rid, "sam1", "mum", "hunt"} <= set(named)
    from loaders.linkage.evidence import _record_words

    assert [_record_words(r) for r in ("early_help:7", "social_care:d1", "x")] == [
        "an early help record",
        "a social care record",
        "a record",
    ]


def test_the_co_parent_words_name_no_child_with_more_parents_than_the_level_counts():
    """As above, with Amy's brother Ben (born 2017, both named as his parents too): where
    a third person is named as Amy's adoptive parent, the level counts Ben only (no
    child with more than two people named as its own parent), and the words name Ben,
    not Amy."""
    from loaders.linkage.evidence import describe_naming
    from loaders.linkage.relational import CO_PARENT_ALIKE, surroundings

    dad = Identity(
        "social_care:d1#parent", given="Sam", family="Taylor", sex="M", born_before="2008-11-02"
    )
    for more, child in ((0, "Amy Taylor (born 2018-09-14)"), (1, "Ben Taylor (born 2017-03-01)")):
        records, context = _mother_named_with(dad, kind="father", more=more)
        context.edges[1] = Edge(dad.rid, "amy", "father", graph=True)
        records.append(Identity("ben", given="Ben", family="Taylor", sex="M", dob="2017-03-01"))
        context.edges += [
            Edge("mum", "ben", "birth", graph=True),
            Edge(dad.rid, "ben", "father", graph=True),
        ]
        clusters = Clusters(records, context.edges, context.homes)
        around = surroundings(records, clusters, context)
        mum, hunt = (next(r for r in records if r.rid == rid) for rid in ("mum", "hunt"))
        words, _ = describe_naming(
            mum, hunt, {"household": CO_PARENT_ALIKE.label}, clusters, context, around
        )
        assert words.startswith(f"one named as birth parent of {child}"), words


def test_two_namesake_couples_at_their_own_homes_at_once_are_two_couples():
    """As above, but Ellie Taylor and her Sam Taylor held U3 from 2016, while Ellie Hunt
    and the other Sam still lived at U1: two couples at two homes over the same years
    (names run in families), so living with a Sam Taylor joins no one."""
    sam = Identity("sam2", given="Sam", family="Taylor", sex="M", born_before="2008-11-02")
    records, context = _with_partner(sam)
    meanwhile = [Tenure("U3", "2016-03-01")]
    context.homes.update({"taylor": meanwhile, "sam2": meanwhile})
    result = link(records, context=context)
    assert result.cluster_of["hunt"] != result.cluster_of["taylor"]


def test_a_model_kept_with_other_levels_is_not_reused():
    """A model a load of another version kept, whose household levels differ, would read
    this version's levels as other words: it is not reused, but scored afresh (here, too
    few records: the priors); a model of the same levels is reused as it is."""
    import copy

    from loaders.linkage.model import score
    from loaders.linkage.relational import ADULTS, adults_frame, freshen, surroundings

    sam = Identity("sam2", given="Sam", family="Taylor", sex="M", born_before="2008-11-02")
    records, context = _with_partner(sam)
    clusters = Clusters(records, context.edges, context.homes)
    around = surroundings(records, clusters, context)
    frame, _ = freshen(adults_frame(records, clusters, around)[0], None)
    options = {"review_threshold": 0.5, "memory_limit": None}
    first = score(ADULTS, frame, notes=[], **options)
    notes: list[str] = []
    score(ADULTS, frame, notes=notes, trained=first.trained, **options)
    assert not any("too few to learn from" in note for note in notes), notes
    older = copy.deepcopy(first.trained)
    household = next(c for c in older["comparisons"] if c["output_column_name"] == "household")
    del household["comparison_levels"][-3]
    score(ADULTS, frame, notes=notes, trained=older, **options)
    assert any("too few to learn from" in note for note in notes), notes


def test_names_swapped_count_once_among_adults():
    """The adults' given and family comparisons test the same swap: only the given
    name's level weighs it; the family name's weighs nothing and learns nothing."""
    from loaders.linkage.people import SWAPPED_NAMES
    from loaders.linkage.relational import FAMILY_ADULTS, GIVEN_ADULTS

    given = [lv for lv in GIVEN_ADULTS.levels if lv.sql == SWAPPED_NAMES]
    family = [lv for lv in FAMILY_ADULTS.levels if lv.sql == SWAPPED_NAMES]
    assert len(given) == len(family) == 1
    assert given[0].m != given[0].u and not given[0].fix_u
    assert family[0].m == family[0].u and family[0].fix_m and family[0].fix_u
