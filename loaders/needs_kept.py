"""Every child's part of the needs forecast's tally (their cell: birth cohort, area,
categories) as a load counted it, kept beside its load reports for the next load, so
that a delta counts again only the children it touched.

A child's cell depends only on their own row (birth date), their open residence's
area, their open cases' kinds (the derived ``open_case_kinds``) and their primary need
(:func:`graph.planning.children_and_needs`). A delta whose tally counts those born
after the same day takes the touched children's parts out, reads theirs again and adds
them; the tally is the count of every part. Trusted as :mod:`loaders.kept` says: only
while the graph carries the counts and version stamp it was kept with, and removed as
it is taken.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Container
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graph import planning as reads
from graph.cypher import relationship_types
from graph.store import GraphStore
from loaders import kept
from planning import forecast

if TYPE_CHECKING:
    from loaders.unchanged import Touched

KEPT_FILE = "needs-parts.json"
VERSION = 1
# the relationships a child's cell follows besides their cases (their home, their need)
FOLLOWS = relationship_types(reads.COHORT_CHILDREN + reads.COHORT_PRIMARY_NEEDS)

Part = list[Any]  # [birth cohort, area, categories joined by "|"]
# what works a child's part out: the reads, the cell, the parts kept here
code_fingerprint = kept.fingerprinter(reads, forecast, __name__)


@dataclass
class NeedsParts(kept.Kept):
    """The parts a load kept: of everyone born after ``born_after`` (ISO), by uid."""

    VERSION = VERSION
    fingerprint = staticmethod(code_fingerprint)
    born_after: str
    children: dict[str, Part] = field(default_factory=dict)

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Each child of :func:`graph.planning.children_and_needs`' rows, with a cell."""
        for row in rows:
            cell = forecast.cell_of(row)
            if cell is not None:
                cohort, area, cats = cell
                self.children[row["child_uid"]] = [cohort, area, "|".join(sorted(cats))]

    def tally(self) -> Counter[forecast.Cell]:
        """Every part counted by cell."""
        counted = Counter((c, a, cats) for c, a, cats in self.children.values())
        return Counter(
            {(c, a, frozenset(cats.split("|")) - {""}): n for (c, a, cats), n in counted.items()}
        )


def touched_children(store: GraphStore, touched: Touched, open_services: set[str]) -> set[str]:
    """The people whose cell a delta's changes may move (``touched``: what it wrote):
    their own rows, a home or need relationship of theirs (:data:`FOLLOWS`), an address
    they live at whose own rows changed (its area), or their open case kinds
    (``open_services``: the people whose derived open services the delta worked out again,
    loaders.derive)."""
    people = touched.own("Person") | touched.named_by("Person", FOLLOWS) | open_services
    return people | kept.residents(store, touched)


def keep_after_load(
    store: GraphStore, today: dt.date, delta: kept.Delta[NeedsParts] | None = None
) -> int:
    """Count everyone born after :func:`planning.forecast.kept_born_after` by cell and
    keep the tally; on a ``delta``, only the touched children are read where the last
    load's parts can be kept (``delta.why`` says when not). The cells kept;
    ``delta.after``: every part, for the next load."""
    born_after = forecast.kept_born_after(today)
    parts = NeedsParts(born_after.isoformat())
    if delta is not None:
        delta.why = _why_everyone(delta, parts.born_after)
    if delta is not None and not delta.why and delta.kept is not None:
        assert delta.touched is not None
        touched = sorted(delta.touched)
        before = delta.kept.children
        parts.children = {uid: p for uid, p in before.items() if uid not in delta.touched}
        parts.add(reads.children_and_needs(store, born_after, touched))
        delta.worked_out = len(touched)

        def still(uids: list[str]) -> Container[str]:
            if len(parts.children) == reads.children_born_after(store, born_after):
                return set(uids)
            # someone left the graph untouched (merged into another): keep those still in it
            return {r["child_uid"] for r in reads.children_and_needs(store, born_after, uids)}

        untouched = [uid for uid in before if uid not in delta.touched]
        there = delta.still_there(untouched, still)
        if len(there) < len(untouched):
            keep = set(there) | delta.touched
            parts.children = {u: p for u, p in parts.children.items() if u in keep}
    else:
        parts.add(reads.children_and_needs(store, born_after))
    if delta is not None:
        delta.kept, delta.after = None, parts  # the last load's taken over: let go
    return forecast.keep_tally(store, born_after, parts.tally())


def _why_everyone(delta: kept.Delta[NeedsParts], born_after: str) -> str:
    """Why a delta reads every child again ("": it need not)."""

    def counted(before: NeedsParts) -> str:
        if before.born_after == born_after:
            return ""
        return f"the children counted change (born after {before.born_after} -> {born_after})"

    return kept.why_everyone(delta, "parts", counted)
