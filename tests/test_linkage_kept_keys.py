"""A scoped delta link finds its block mates inside itself from the keys the last link
kept (loaders/linkage/kept_keys.py): on the small county and its week later, every
person a link over every record blocks a new record with is taken in, though the scoped
link starts from the new records and one ring about them only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from benchmarks.delta_scope import _restricted, _scope
from benchmarks.linkage import read_inputs
from loaders.linkage import KeptKeys, LinkResult, link, scope
from loaders.linkage.identity import ID_FIELDS
from loaders.linkage.kept_keys import as_people, person
from synthetic.week_later import write_week_later
from tests.conftest import AS_OF


@dataclass
class Scoped:
    part: LinkResult  # the scoped link, meeting the kept keys
    start: set[str]  # the uids it was given
    mates: set[str]  # the people the link over every record blocked a new record with
    kept: dict[str, str]


@pytest.fixture(scope="module")
def scoped(small_county: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scoped]:
    """The small county linked (its keys kept), then its week later linked twice as a
    delta: over every record (its scorings' block mates watched: the ground truth), and
    over the new records and one ring about them, meeting the first link's keys."""
    week = tmp_path_factory.mktemp("kept_keys_week") / "county"
    write_week_later(small_county, week, seed=3)
    first = read_inputs(small_county, AS_OF)
    linked = link(
        first.found, context=first.context, keys=KeptKeys.none(first.found, first.context, {})
    )
    later = read_inputs(week, AS_OF + dt.timedelta(days=7))
    found, context = later.found, later.context
    kept = {r.rid: linked.cluster_of[r.rid] for r in found if r.rid in linked.cluster_of}
    options = {"context": context, "kept": kept, "models": linked.models}
    met: set[str] = set()
    chosen = scope.mates

    def watched(new: pa.Table, rest: pa.Table, keys: tuple) -> pa.Table:
        mates = chosen(new, rest, keys)
        met.update(mates["unique_id"].to_pylist())
        return mates

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scope, "mates", watched)
        link(found, **options)
    people, adults = as_people(linked, kept)
    inside, records = _scope(found, kept, context, set(), ID_FIELDS)
    part = link(
        records,
        **_restricted(options, inside),
        keys=KeptKeys(people, adults, found, context, kept),
    )
    yield Scoped(part, inside, {person(kept, u) for u in met}, kept)


def test_every_block_mate_is_taken_in(scoped: Scoped) -> None:
    """Every person the link over every record scored a new record against has their
    records in the scoped link, and some only through the kept keys (outside the ring
    it started from): fails if the kept keys are not met."""
    held = set(scoped.part.cluster_of)
    kept = scoped.kept
    people = {person(kept, u) for u in held}
    assert scoped.mates and scoped.mates <= people
    reached = {person(kept, u) for u in held - scoped.start}
    assert reached & scoped.mates


def test_a_scoped_link_keeps_each_scorings_keys(scoped: Scoped) -> None:
    """The people pass's keys, then each adults' round's, for the next night to meet:
    its kept keys read as people name the new records' people too."""
    keys = scoped.part.keys
    assert len(keys) >= 2
    assert "key_dob_given" in keys[0].column_names and "kin" in keys[1].column_names
    people, _ = as_people(scoped.part, scoped.kept)
    new = {person(scoped.kept, u) for u in scoped.start if u not in scoped.kept}
    named = {p for row in people["people"].to_pylist() for p in row}
    assert new & named


def test_a_link_without_kept_keys_keeps_none() -> None:
    """Off by default: a load's link keeps no keys."""
    assert link([], keys=None).keys == []
