"""The adults' rounds (loaders/linkage/relational.py): what a later round keeps from the
rounds before is what it would work out afresh."""

from __future__ import annotations

import datetime as dt

from tests.conftest import AS_OF


def test_every_round_surroundings_and_frame_equal_those_worked_out_from_nothing_kept(
    small_county, monkeypatch
):
    """On the small county's own link inputs, every round's surroundings, gathered over
    the records the run flattened once (:class:`relational.Gathering`, its roots followed
    from the joins since the round before), are those gathered over the records flattened
    afresh, mapping by mapping as text; every round's frame, built with the own rows the
    rounds before kept (:class:`relational.OwnRows`), is row for row the frame built from
    those surroundings with nothing kept, and the representatives it returns are those of
    the people it built. A person whose root or context a later round took stale from the
    round before, or whose kept row were taken though they joined in the round before
    (the same root, more records), would differ here."""
    import loaders.linkage as linkage
    from benchmarks.linkage import read_inputs
    from loaders.linkage import relational

    inputs = read_inputs(small_county, AS_OF)
    gathered, frame = relational.surroundings, relational.adults_frame
    afresh: list[relational.Surroundings] = []  # each round's, gathered from nothing kept
    rounds: list[tuple[int, int]] = []  # (people, people built) a round

    def as_text(around: relational.Surroundings) -> dict:
        fields = ("kids", "stays", "household", "housemates", "mate_names", "names")
        more = ("moved_in", "moved_out", "left_with", "arrived_with", "movers")
        found = {name: dict(getattr(around, name)) for name in (*fields, *more)}
        found |= {name: dict(lookup) for name, lookup in around.columns.items()}
        found["adults"] = set(around.adults)
        people = around.reps_people
        found["reps_people"] = (
            around.uids.take(people["root"]).to_pylist(),
            people["adult"].to_pylist(),
        )
        return found

    def surroundings(reps, clusters, context, gathering=None, memory_limit=None):
        found = gathered(reps, clusters, context, gathering, memory_limit)
        fresh = gathered(reps, clusters, context, None, memory_limit)
        assert gathering is not None  # the rounds keep one
        assert as_text(found) == as_text(fresh)
        afresh.append(fresh)
        return found

    def framed(reps, clusters, around, notes=None, kept=None):
        expected, everyone = frame(reps, clusters, afresh[-1], None, None)
        found, built = frame(reps, clusters, around, notes, kept)
        assert found.to_pydict() == expected.to_pydict()
        assert built == {root: everyone[root] for root in built}
        # a root joined with more records is built again (its row is not kept)
        for root, record in everyone.items():
            if root not in built:
                assert record == kept_before[root], root
        kept_before.update(everyone)
        rounds.append((found.num_rows, len(built)))
        return found, built

    kept_before: dict = {}
    monkeypatch.setattr(linkage, "surroundings", surroundings)
    monkeypatch.setattr(linkage, "adults_frame", framed)
    # every round the links allow (ROUNDS), so what is kept across two rounds is
    # compared too: the share that ends the rounds early is the next test's
    monkeypatch.setattr(linkage, "LAST_ROUND_SHARE", 0.0)
    result = linkage.link(inputs.found, context=inputs.context)
    assert result.relational_links and len(rounds) >= 2, rounds
    # the later rounds kept most people's rows and built some again (those joined)
    assert all(0 < built < people for people, built in rounds[1:]), rounds


def test_a_round_linking_under_the_declared_share_of_its_people_is_the_last(monkeypatch):
    """The rounds go on while a round links at least LAST_ROUND_SHARE of the people it
    scored (and no further than ROUNDS); a round under it is the last, and the notes
    say so."""
    import loaders.linkage as linkage
    from loaders.linkage import LAST_ROUND_SHARE, Identity
    from loaders.linkage.relational import ROUNDS

    people = 10_000
    enough = int(LAST_ROUND_SHARE * people)  # a round linking this many goes on

    def rounds_for(links: list[int]) -> tuple[list[int], list[str]]:
        ran: list[int] = []

        def round_(self, number: int) -> int:
            ran.append(number)
            self.people = people
            return links[number - 1]

        monkeypatch.setattr(linkage._Adults, "round", round_)
        result = linkage.link([Identity("a", given="Ann", family="Lee")])
        return ran, result.notes

    ran, notes = rounds_for([4_000, enough - 1, 5])
    assert ran == [1, 2]
    assert any(f"round 2: {enough - 1:,} links among {people:,} people" in n for n in notes)
    assert rounds_for([4_000, enough, 5] + [5] * ROUNDS)[0] == [1, 2, 3][:ROUNDS]
    ran, notes = rounds_for([4_000, 0, 5])  # a round linking none is the last, unsaid
    assert ran == [1, 2] and not any("the last round" in n for n in notes)


def test_a_deltas_rounds_count_its_links_among_the_people_it_can_score(
    small_county, tmp_path, monkeypatch
):
    """A delta scores only pairs with a new or changed person, so whether a round was
    the last is judged by its links among those people, not among everyone kept (else a
    delta's first round, a few links among every adult, would always be its last): fails
    on the code that divided by the whole frame."""
    import loaders.linkage as linkage
    from benchmarks.linkage import read_inputs
    from synthetic.week_later import write_week_later

    first = read_inputs(small_county, AS_OF)
    linked = linkage.link(first.found, context=first.context)
    week = tmp_path / "county"
    write_week_later(small_county, week, seed=3)
    later = read_inputs(week, AS_OF + dt.timedelta(days=7))
    kept = {r.rid: linked.cluster_of[r.rid] for r in later.found if r.rid in linked.cluster_of}
    new = {r.rid for r in later.found} - set(kept)
    counted: list[tuple[int, int]] = []  # (people the round counted, people in the county)
    original = linkage._Adults.round

    def round_(self, number: int) -> int:
        made = original(self, number)
        counted.append((self.people, len(set(self.run.clusters.parent))))
        return made

    monkeypatch.setattr(linkage._Adults, "round", round_)
    linkage.link(later.found, context=later.context, kept=kept, models=linked.models)
    assert new and counted and counted[0][0] > 0, counted
    assert all(people <= len(new) < everyone for people, everyone in counted), counted


def test_two_addresses_at_once_is_outweighed_only_by_a_child_or_a_household_move(
    monkeypatch,
):
    """Two council tax accounts of one name, each open at its own address over the same
    months: a pair of them whose score counted that, and met only a postcode district
    (or nothing, or a moving day under the name), is refused by the two-homes rule in
    any round, and goes to review with the two addresses and the day in its reason; the
    same pair meeting a household level that outweighs the overlap (a child both are
    named parent of, a household's move) is linked, in the first round and a later one,
    and in a delta's linking against the people kept.
    Fails on the code that let any first-round pair whose score counted the overlap
    through."""
    import loaders.linkage as linkage
    from loaders.linkage import Context, Identity
    from loaders.linkage.inputs import Tenure
    from loaders.linkage.model import Scored
    from loaders.linkage.relational import ADULTS, HOUSEHOLD, OUTWEIGH_AT_ONCE, TIMELINE

    def liable(rid: str, given: str, family: str, postcode: str) -> Identity:
        return Identity(
            rid, given=given, family=family, sex="M", postcode=postcode, born_before="2008-11-02"
        )

    # each at their own postcode: identical records would be one before any round
    records = [
        liable("a", "Elliott", "Smith", "AB1 1AA"),
        liable("b", "Elliott", "Smith", "AB2 2BB"),
        liable("c", "Anna", "Ash", "AB3 3CC"),
        liable("d", "Anna", "Ash", "AB4 4DD"),
    ]
    homes = {
        "a": [Tenure("U1", "2024-01-01")],  # still there: both accounts open in 2025
        "b": [Tenure("U2", "2025-01-01")],
        "c": [Tenure("V1", "2020-01-01", "2023-05-01")],
        "d": [Tenure("V2", "2023-05-01")],
    }
    places = {"U1": "12 High Street, AB1 1AA", "U2": "4 Low Road, AB2 2BB"}
    at_once, never = (level.label for level in TIMELINE.levels)
    labels = [level.label for level in HOUSEHOLD.levels]
    weak = [x for x in labels if x not in {level.label for level in OUTWEIGH_AT_ONCE}]
    assert "same postcode district" in weak and "nothing in common" in weak[-1]

    def pair(left: str, right: str, household: str, timeline: str = at_once) -> Scored:
        return Scored(
            [left],
            [right],
            [0.9999],
            {"household": [household], "timeline": [timeline]},
            [""],
            {"probability_two_random_records_match": 0.01},
        )

    def run(rounds: list[Scored]) -> linkage.LinkResult:
        def score(model, frame, **options):
            return rounds.pop(0) if model.name == ADULTS.name and rounds else Scored()

        monkeypatch.setattr(linkage, "score", score)
        context = Context(as_of=AS_OF.isoformat(), homes=homes, places=places)
        return linkage.link(records, context=context)

    monkeypatch.setattr(linkage, "LAST_ROUND_SHARE", 0.0)
    a_first_round = [pair("a", "b", "same postcode district")]
    a_later_round = [pair("c", "d", weak[-1], never), pair("a", "b", weak[0])]
    for rounds in (a_first_round, a_later_round):
        refused = run(rounds)
        assert refused.cluster_of["a"] != refused.cluster_of["b"]
        assert [c.reason for c in refused.review if {c.left, c.right} == {"a", "b"}] == [
            "would be at 12 High Street, AB1 1AA and 4 Low Road, AB2 2BB at once, from 2025-01-01"
        ]
    for level in OUTWEIGH_AT_ONCE:
        first = run([pair("a", "b", level.label)])
        assert first.cluster_of["a"] == first.cluster_of["b"], level.label
        later = run([pair("c", "d", weak[-1], never), pair("a", "b", level.label)])
        assert later.cluster_of["c"] == later.cluster_of["d"]
        assert later.cluster_of["a"] == later.cluster_of["b"], level.label

    # a night's delta: "a" kept as a person of the last load, "b" new, scored by the
    # kept models: the same rule, refused on a weak level and linked on one outweighing
    kept = {"a": "P-a", "c": "P-c", "d": "P-d"}
    models = run([pair("a", "b", weak[0])]).models
    assert ADULTS.name in models  # the delta scores by the last load's models

    def night(rounds: list[Scored]) -> linkage.LinkResult:
        def score(model, frame, **options):
            return rounds.pop(0) if model.name == ADULTS.name and rounds else Scored()

        monkeypatch.setattr(linkage, "score", score)
        context = Context(as_of=AS_OF.isoformat(), homes=homes, places=places)
        return linkage.link(records, context=context, kept=kept, models=models)

    refused = night([pair("a", "b", weak[0])])
    assert refused.cluster_of["a"] != refused.cluster_of["b"]
    assert any("at once" in c.reason for c in refused.review if {c.left, c.right} == {"a", "b"})
    for level in OUTWEIGH_AT_ONCE:
        linked = night([pair("a", "b", level.label)])
        assert linked.cluster_of["a"] == linked.cluster_of["b"], level.label
