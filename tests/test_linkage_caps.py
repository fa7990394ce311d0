"""The adults' name keys' caps (relational._keys): which values a round leaves out, its
blocks too big. Each link counts its own, a delta's too, so that a delta blocks as a
link over the same records does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import loaders.linkage as linkage
from benchmarks.linkage import read_inputs
from loaders.linkage import relational
from loaders.linkage.relational import CAPPED
from synthetic.week_later import write_week_later
from tests.conftest import AS_OF


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
    assert any(CAPPED in note for note in whole.notes)  # the cap binds

    def people(result: linkage.LinkResult) -> set[frozenset[str]]:
        groups: dict[str, set[str]] = {}
        for record, cluster in result.cluster_of.items():
            groups.setdefault(cluster, set()).add(record)
        return {frozenset(g) for g in groups.values()}

    assert people(delta) == people(whole)
