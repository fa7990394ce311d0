"""The adults' rounds (loaders/linkage/relational.py): what a later round keeps from the
rounds before is what it would work out afresh."""

from __future__ import annotations

from tests.conftest import AS_OF


def test_every_round_frame_kept_rows_equal_a_frame_built_afresh(small_county, monkeypatch):
    """On the small county's own link inputs, every round's frame, built with the own
    rows the rounds before kept (:class:`relational.OwnRows`), is row for row the frame
    built from nothing kept, and the representatives it returns are those of the people
    it built: a person joined in the round before (the same root, more records) whose
    kept row were taken would differ in their names and fields here."""
    import loaders.linkage as linkage
    from benchmarks.linkage import read_inputs
    from loaders.linkage import relational

    inputs = read_inputs(small_county, AS_OF)
    frame = relational.adults_frame
    rounds: list[tuple[int, int]] = []  # (people, people built) a round

    def framed(reps, clusters, around, notes=None, kept=None):
        afresh, everyone = frame(reps, clusters, around, None, None)
        found, built = frame(reps, clusters, around, notes, kept)
        assert found.to_pydict() == afresh.to_pydict()
        assert built == {root: everyone[root] for root in built}
        # a root joined with more records is built again (its row is not kept)
        for root, record in everyone.items():
            if root not in built:
                assert record == kept_before[root], root
        kept_before.update(everyone)
        rounds.append((found.num_rows, len(built)))
        return found, built

    kept_before: dict = {}
    monkeypatch.setattr(linkage, "adults_frame", framed)
    result = linkage.link(inputs.found, context=inputs.context)
    assert result.relational_links and len(rounds) >= 2
    # the later rounds kept most people's rows and built some again (those joined)
    assert all(0 < built < people for people, built in rounds[1:]), rounds
