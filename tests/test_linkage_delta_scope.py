"""A delta's linkage scores its new records against their block mates only, and frames
the adults' pass over the touched people and two rings of block mates only
(loaders/linkage/scope.py): the same people, probabilities, evidence and review queue
as scoring them against every record with every adult framed, on the small county and
its week later."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import loaders.linkage as linkage
from benchmarks.linkage import partition, read_inputs, words
from loaders.linkage import LinkResult, link, relational, scope
from loaders.linkage.model import _has_values
from loaders.linkage.people import PEOPLE
from loaders.linkage.relational import ADULTS, ADULTS_CONTEXT
from synthetic.week_later import write_week_later
from tests.conftest import AS_OF


@dataclass
class Delta:
    scoped: LinkResult
    everyone: LinkResult
    framed: list[tuple[int, int]]  # each scoring's rows against, before and after the scope
    adults: list[tuple[int, int]]  # each adults' round: every adult, and the rows framed
    rows: list[str]  # each framed round's rows unlike every adult's frame's, in words
    few: list[bool]  # each framed round scored over none of its rows: the same model kept
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
    adults: list[tuple[int, int]] = []
    chosen, choose = scope.mates, scope.Framing.choose

    def counted(new: pa.Table, rest: pa.Table, keys: tuple) -> pa.Table:
        found = chosen(new, rest, keys)
        framed.append((rest.num_rows, found.num_rows))
        return found

    def framing(self: scope.Framing, keyed: pa.Table) -> pa.Array:
        found = choose(self, keyed)
        adults.append((keyed.num_rows, pc.sum(found).as_py()))
        return found

    rows: list[str] = []
    frame = relational.adults_frame

    def compared(reps, clusters, around, notes=None, kept=None, framing=None):
        found = frame(reps, clusters, around, notes, kept, framing)
        if framing is not None:  # the same rows as every adult's frame has, and figures
            whole, _ = frame(reps, clusters, around, None, None, None)
            mine = whole.filter(pc.is_in(whole["unique_id"], value_set=found[0]["unique_id"]))
            if found[0].sort_by("unique_id").to_pylist() != mine.sort_by("unique_id").to_pylist():
                rows.append("rows")
            if framing.people != whole.num_rows or framing.roots.to_pylist() != (
                whole["unique_id"].to_pylist()
            ):
                rows.append("people")
            held = {c for c in whole.column_names if _has_values(whole, c)}
            if framing.present != held:
                rows.append(f"columns with values: {framing.present ^ held}")
            for name in ("given", "family"):
                if _tf(scope.frequencies(framing.frequencies[name], name)) != _tf(
                    scope.frequencies(whole[name], name)
                ):
                    rows.append(f"{name} frequencies")
            rows.append("compared")
        return found

    few: list[bool] = []
    scoring = linkage.score

    def scored(model, frame, **settings):
        found = scoring(model, frame, **settings)
        if settings.get("framing") is not None:
            none = scoring(model, frame.slice(0, 0), **settings)
            few.append(none.trained == found.trained and not len(none))
        return found

    def again() -> LinkResult:
        return link(later.found, context=later.context, kept=kept, models=linked.models)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scope, "mates", counted)
        patch.setattr(scope.Framing, "choose", framing)
        patch.setattr(linkage, "adults_frame", compared)
        patch.setattr(linkage, "score", scored)
        scoped = again()
        framings = list(adults)  # the scoped run's
        # every row a block mate: every adult framed, each new record scored against all
        patch.setattr(scope, "mates", lambda new, rest, keys: rest)
        everyone = again()
    yield Delta(scoped, everyone, framed, framings, rows, few, len(later.found) - len(kept), kept)


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


def test_a_framed_rounds_rows_and_figures_are_every_adults(delta: Delta) -> None:
    """Each framed round's rows are every adult's frame's rows for those people (the
    keys' block sizes, the surroundings: every adult's), and what the scoring reads of
    the whole (how many adults, their roots, the columns with a value, the name
    frequencies) is the whole frame's."""
    assert delta.rows.count("compared") >= 2, delta.rows
    assert set(delta.rows) == {"compared"}, delta.rows


def test_a_framed_round_with_too_few_rows_keeps_its_model(delta: Delta) -> None:
    """A framed round scored over none of its rows makes no pair and keeps the model it
    was given, as a round over every adult does (the model kept for the next load, and
    the next round's): fails where a frame of under two rows gives no model."""
    assert delta.few and all(delta.few), delta.few


def _tf(table: pa.Table) -> dict:
    return dict(zip(*(c.to_pylist() for c in table.columns), strict=True))


def test_a_framing_chooses_the_touched_their_mates_and_their_mates_mates() -> None:
    """Every adult's keys by hand: the touched person, a mate through each kind of key
    (a list key, a text key, one key joined to another), a mate of a mate through
    another key, and those two rings only (a mate's mate's mate, and a stranger, left)."""
    keyed = pa.table(
        {
            "unique_id": ["t", "kid", "name", "swap", "ring2", "ring3", "stranger"],
            "kin": [[1], [1], None, None, None, None, [9]],
            "key_name": ["a", None, "a", None, None, None, "z"],
            "swap_fg": ["s", None, None, None, None, None, None],
            "swap_gf": [None, None, None, "s", None, None, None],
            "homes": [None, [5], None, None, [5, 6], [6, 7], None],
        }
    )
    keys = (("kin", "kin"), ("key_name", "key_name"), ("swap_fg", "swap_gf"), ("homes", "homes"))
    framing = scope.Framing(frozenset({"t"}), keys)
    chosen = keyed["unique_id"].filter(framing.choose(keyed)).to_pylist()
    # kid: a child in common; name: the same name key; swap: given and family swapped;
    # ring2: kid's home; ring3: ring2's other home (a third ring)
    assert sorted(chosen) == ["kid", "name", "ring2", "swap", "t"]


def test_every_pair_a_delta_scores_has_a_new_record(delta: Delta) -> None:
    """Only pairs with a record the first week did not hold are scored: fails on the
    code before, whose scoring registered the new records and then the rest under one
    name, so that both sides were the rest (every blocked pair of the people kept)."""
    kept = delta.kept
    assert delta.scoped.pairs
    assert all(left not in kept or right not in kept for left, right, *_ in delta.scoped.pairs)


def test_the_new_records_are_scored_against_their_block_mates_only(delta: Delta) -> None:
    """The people pass's scoring is given far fewer rows than it holds (fails if the
    scope is taken out: every row given), and each adults' round frames far fewer
    people than every adult (fails if every adult is framed)."""
    rows, kept = delta.framed[0]  # the people pass's
    assert 0 < kept * 4 < rows, delta.framed
    assert len(delta.adults) >= 2, delta.adults  # at least two adults' rounds
    for everyone, framed in delta.adults:
        assert 0 < framed * 4 < everyone, delta.adults


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
