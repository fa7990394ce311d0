"""A delta's linkage scores its new records against their block mates only
(loaders/linkage/scope.py): the same people, probabilities, evidence and review queue
as scoring them against every record, on the small county and its week later."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from benchmarks.linkage import partition, read_inputs, words
from loaders.linkage import LinkResult, link, scope
from loaders.linkage.people import PEOPLE
from loaders.linkage.relational import ADULTS, ADULTS_CONTEXT
from synthetic.week_later import write_week_later
from tests.conftest import AS_OF


@dataclass
class Delta:
    scoped: LinkResult
    everyone: LinkResult
    framed: list[tuple[int, int]]  # each scoring's rows against, before and after the scope
    new: int  # records the first week did not hold
    kept: dict[str, str]  # the first week's people


@pytest.fixture(scope="module")
def delta(small_county: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delta]:
    """The small county linked, then its week later linked against the people found,
    once with the scope and once against every record (the scope made to keep all)."""
    week = tmp_path_factory.mktemp("scope_week") / "county"
    write_week_later(small_county, week, seed=3)
    first = read_inputs(small_county, AS_OF)
    linked = link(first.found, context=first.context)
    later = read_inputs(week, AS_OF + dt.timedelta(days=7))
    kept = {r.rid: linked.cluster_of[r.rid] for r in later.found if r.rid in linked.cluster_of}
    framed: list[tuple[int, int]] = []
    chosen = scope.mates

    def counted(new: pa.Table, rest: pa.Table, keys: tuple) -> pa.Table:
        found = chosen(new, rest, keys)
        framed.append((rest.num_rows, found.num_rows))
        return found

    def again() -> LinkResult:
        return link(later.found, context=later.context, kept=kept, models=linked.models)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scope, "mates", counted)
        scoped = again()
        patch.setattr(scope, "mates", lambda new, rest, keys: rest)
        everyone = again()
    yield Delta(scoped, everyone, framed, len(later.found) - len(kept), kept)


def test_a_deltas_people_are_those_scored_against_every_record(delta: Delta) -> None:
    """The same partition, probabilities, evidence and review queue either way."""
    scoped, everyone = delta.scoped, delta.everyone
    assert delta.new > 0
    assert scoped.cluster_of == everyone.cluster_of
    assert partition(scoped.cluster_of) == partition(everyone.cluster_of)
    assert words(scoped) == words(everyone)
    assert scoped.pairs == everyone.pairs
    assert (scoped.probabilistic_links, scoped.relational_links) == (
        everyone.probabilistic_links,
        everyone.relational_links,
    )


def test_every_pair_a_delta_scores_has_a_new_record(delta: Delta) -> None:
    """Only pairs with a record the first week did not hold are scored: fails on the
    code before, whose scoring registered the new records and then the rest under one
    name, so that both sides were the rest (every blocked pair of the people kept)."""
    kept = delta.kept
    assert delta.scoped.pairs
    assert all(left not in kept or right not in kept for left, right, *_ in delta.scoped.pairs)


def test_the_new_records_are_scored_against_their_block_mates_only(delta: Delta) -> None:
    """Each scoring (the people pass, each adults' round) is given far fewer rows than
    it holds: fails if the scope is taken out (every row given)."""
    assert len(delta.framed) >= 2  # the people pass and at least one adults' round
    for rows, kept in delta.framed:
        assert 0 < kept * 4 < rows, delta.framed


def test_every_blocking_rule_joins_on_a_declared_key() -> None:
    """A rule added without its key would lose its pairs in a delta: each model's rules
    each test one of the model's declared equalities."""
    for model in (PEOPLE, ADULTS, ADULTS_CONTEXT):
        assert model.keys
        for rule in model.blocking():
            sql = (
                rule
                if isinstance(rule, str)
                else rule.get_blocking_rule("duckdb").blocking_rule_sql
            )
            joins = set(re.findall(r"l\.(\w+) = r\.(\w+)", sql))
            assert joins & set(model.keys), (model.name, sql)


def test_mates_are_the_rows_sharing_a_key_value_either_way_round() -> None:
    new = pa.table({"k": ["a", None], "g": ["x", "y"], "f": ["y", "q"], "l": [[1, 2], None]})
    rest = pa.table(
        {
            "k": ["a", "b", None, None, None],
            "g": ["z", "z", "q", "z", "z"],
            "f": ["z", "z", "z", "x", "z"],
            "l": [None, [3], None, None, [2, 5]],
        }
    )
    keys = (("k", "k"), ("g", "f"), ("l", "l"))
    found = scope.mates(new, rest, keys)
    # row 0 shares k; row 2's g is a new family name; row 3's f a new given name; row 4 a list value
    assert found.num_rows == 4 and found["k"].to_pylist() == ["a", None, None, None]
    assert scope.mates(new, rest, ()).num_rows == rest.num_rows
