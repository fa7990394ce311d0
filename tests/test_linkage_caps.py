"""The adults' name keys' caps (relational.Caps): which values a round leaves out, its
blocks too big. A link counts them each round; given them (``link(caps=...)``, for a
replay that must block as another link did) it leaves those out in every round instead;
a load keeps none, so a delta counts its own."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import loaders.linkage as linkage
from benchmarks.linkage import read_inputs
from loaders.linkage import relational
from loaders.linkage.relational import ADULTS, NAME_KEYS
from synthetic.week_later import write_week_later
from tests.conftest import AS_OF


def _frames(patch: pytest.MonkeyPatch) -> list[pa.Table]:
    """The adults' frames each scoring is given, from now on."""
    frames: list[pa.Table] = []
    real = linkage.score

    def watched(model: object, frame: pa.Table, **options: object) -> object:
        if model is ADULTS:
            frames.append(frame)
        return real(model, frame, **options)

    patch.setattr(linkage, "score", watched)
    return frames


def _held(frame: pa.Table, name: str) -> set[str]:
    """The values a frame's key column holds (a list column's each)."""
    values = frame[name].combine_chunks()
    if pa.types.is_list(values.type):
        values = pc.list_flatten(values)
    return set(values.drop_null().to_pylist())


def test_given_caps_a_link_blocks_without_them_and_else_counts_its_own(
    small_county: Path, tmp_path: Path
) -> None:
    """The first week linked with a cap that binds (a thousandth of a pair a person)
    says what its first round left out and keeps none of it with its models; the week
    later, linked against it with the usual cap (which at this size leaves nothing out),
    blocks without those values in every round when given them, and holds some of them
    when not (a delta counts its own): fails if the caps are ignored, or kept."""
    week = tmp_path / "county"
    write_week_later(small_county, week, seed=3)
    first = read_inputs(small_county, AS_OF)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(relational, "PAIRS_PER_PERSON", 0.001)
        linked = linkage.link(first.found, context=first.context, evidence=False)
    caps = linked.caps
    assert set(caps) == {*NAME_KEYS, "swap_gf"} and sum(map(len, caps.values())) > 0
    assert set(linked.models) <= {"people", ADULTS.name}  # trained models only
    later = read_inputs(week, AS_OF + dt.timedelta(days=7))
    kept = {r.rid: linked.cluster_of[r.rid] for r in later.found if r.rid in linked.cluster_of}

    def delta(given: dict | None) -> tuple[linkage.LinkResult, list[pa.Table]]:
        with pytest.MonkeyPatch.context() as patch:
            frames = _frames(patch)
            found = linkage.link(
                later.found,
                context=later.context,
                kept=kept,
                models=linked.models,
                evidence=False,
                caps=given,
            )
        return found, frames

    capped, frames = delta(caps)
    assert frames and capped.caps == caps
    for frame in frames:
        for name, out in caps.items():
            assert not _held(frame, name) & set(out), name
    uncapped, frames = delta(None)
    assert any(_held(frames[0], name) & set(out) for name, out in caps.items())
    assert not any(uncapped.caps.values())  # the usual cap leaves nothing out here


def test_a_delta_where_a_cap_binds_links_as_a_link_over_the_same_records(
    small_county: Path, tmp_path: Path
) -> None:
    """With a cap that binds (a hundredth of a pair a person), the week later linked as
    a delta against the first week's people and models finds the people a link over
    every record of the week finds (review26's case: a delta blocking with the first
    week's caps joined four more pairs)."""
    week = tmp_path / "county"
    write_week_later(small_county, week, seed=3)
    first = read_inputs(small_county, AS_OF)
    later = read_inputs(week, AS_OF + dt.timedelta(days=7))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(relational, "PAIRS_PER_PERSON", 0.01)
        linked = linkage.link(first.found, context=first.context, evidence=False)
        kept = {r.rid: linked.cluster_of[r.rid] for r in later.found if r.rid in linked.cluster_of}
        delta = linkage.link(
            later.found, context=later.context, kept=kept, models=linked.models, evidence=False
        )
        whole = linkage.link(later.found, context=later.context, evidence=False)
    assert sum(map(len, whole.caps.values())) > 0  # the cap binds

    def people(result: linkage.LinkResult) -> set[frozenset[str]]:
        groups: dict[str, set[str]] = {}
        for record, cluster in result.cluster_of.items():
            groups.setdefault(cluster, set()).add(record)
        return {frozenset(g) for g in groups.values()}

    assert people(delta) == people(whole)
