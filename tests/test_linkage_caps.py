"""The adults' name keys' caps are part of the kept model (relational.Caps): a link over
every record keeps the values its first round left out, and a delta blocks without
those, not without the ones its own frame would count."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import loaders.linkage as linkage
from benchmarks.linkage import read_inputs
from loaders.linkage import relational
from loaders.linkage.relational import ADULTS, CAPS, NAME_KEYS
from loaders.people_kept import KeptPeople
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


def test_a_delta_blocks_without_the_values_the_full_link_left_out(
    small_county: Path, tmp_path: Path
) -> None:
    """The first week linked with a cap that binds (a thousandth of a pair a person)
    keeps what it left out; the week later, linked against it with the usual cap (which
    at this size leaves nothing out), blocks without those values in every round. The
    same delta with no caps kept holds some of them: fails if a delta counts its own."""
    week = tmp_path / "county"
    write_week_later(small_county, week, seed=3)
    first = read_inputs(small_county, AS_OF)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(relational, "PAIRS_PER_PERSON", 0.001)
        linked = linkage.link(first.found, context=first.context, evidence=False)
    caps = linked.models[CAPS]
    assert caps is not None and set(caps) == {*NAME_KEYS, "swap_gf"}
    assert sum(map(len, caps.values())) > 0
    later = read_inputs(week, AS_OF + dt.timedelta(days=7))
    kept = {r.rid: linked.cluster_of[r.rid] for r in later.found if r.rid in linked.cluster_of}

    def delta(models: dict) -> tuple[linkage.LinkResult, list[pa.Table]]:
        with pytest.MonkeyPatch.context() as patch:
            frames = _frames(patch)
            found = linkage.link(
                later.found, context=later.context, kept=kept, models=models, evidence=False
            )
        return found, frames

    capped, frames = delta(linked.models)
    assert frames and capped.models[CAPS] == caps
    for frame in frames:
        for name, out in caps.items():
            assert not _held(frame, name) & set(out), name
    uncapped, frames = delta({k: v for k, v in linked.models.items() if k != CAPS})
    assert any(_held(frames[0], name) & set(out) for name, out in caps.items())
    assert not any(uncapped.models[CAPS].values())  # the usual cap leaves nothing out here


def test_the_caps_are_kept_with_the_models(tmp_path: Path) -> None:
    """Written and taken again as the load keeps its models."""
    path = tmp_path / "models.json"
    caps = {"key_name": ["SMITH|JOHN"], "key_moves": []}
    KeptPeople(path).save({"adults": {"x": 1}, CAPS: caps})
    taken = KeptPeople.take(path, relink=False, existing={"r": "p"})
    assert taken.models is not None and taken.models[CAPS] == caps
