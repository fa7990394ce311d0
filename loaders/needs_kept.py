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
import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph import alerts as store_alerts
from graph import planning as reads
from graph.cypher import relationship_types
from graph.store import GraphStore
from loaders import kept
from planning import forecast

if TYPE_CHECKING:
    from collections.abc import Mapping

    from loaders.unchanged import Touched

KEPT_FILE = "needs-parts.json"
VERSION = 1
# the relationships a child's cell follows besides their cases (their home, their need)
FOLLOWS = relationship_types(reads.COHORT_CHILDREN + reads.COHORT_PRIMARY_NEEDS)

Part = list[Any]  # [birth cohort, area, categories joined by "|"]


@cache
def code_fingerprint() -> str:
    """A hash of the code that works a child's part out (the reads, the cell, the parts
    kept here)."""
    return kept.fingerprint(reads, forecast, sys.modules[__name__])


@dataclass
class NeedsParts:
    """The parts a load kept: of everyone born after ``born_after`` (ISO), by uid."""

    born_after: str
    children: dict[str, Part] = field(default_factory=dict)
    code: str = field(default_factory=code_fingerprint)  # the code that worked them out

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

    @classmethod
    def take(cls, path: Path | None, counts: Mapping[str, Any]) -> NeedsParts | None:
        """What the file at ``path`` keeps, if the graph's ``counts``
        (:func:`graph.version.kept_as`) are those it was kept with; removed either way."""
        body = kept.take(path, VERSION, counts)
        if body is None:
            return None
        return cls(str(body["born_after"]), body["children"], str(body.get("code")))

    def save(self, path: Path | None, counts: Mapping[str, Any]) -> None:
        """Keep it at ``path`` with the graph's ``counts``."""
        kept.keep(path, VERSION, counts, self.packed())

    def packed(self) -> bytes:
        """What :meth:`save` keeps, without the counts, made ahead (kept.packed)."""
        body = {"born_after": self.born_after, "code": self.code, "children": self.children}
        return kept.packed(body)


def touched_children(store: GraphStore, touched: Touched, open_services: set[str]) -> set[str]:
    """The people whose cell a delta's changes may move (``touched``: what it wrote):
    their own rows, a home or need relationship of theirs (:data:`FOLLOWS`), an address
    they live at whose own rows changed (its area), or their open case kinds
    (``open_services``: the people whose derived open services the delta worked out again,
    loaders.derive)."""
    people = touched.own("Person") | touched.named_by("Person", FOLLOWS) | open_services
    homes = sorted(touched.own("Address"))
    if homes:
        rows = store.read(store_alerts.NEAR["Address"], {"uids": homes}, max_rows=100_000_000)
        people.update(r["uid"] for r in rows.rows)
    return people


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
        if len(parts.children) != reads.children_born_after(store, born_after):
            # someone left the graph untouched (merged into another): keep those still in it
            untouched = [uid for uid in before if uid not in delta.touched]
            still = {r["child_uid"] for r in reads.children_and_needs(store, born_after, untouched)}
            keep = still | delta.touched
            parts.children = {u: p for u, p in parts.children.items() if u in keep}
    else:
        parts.add(reads.children_and_needs(store, born_after))
    if delta is not None:
        delta.kept, delta.after = None, parts  # the last load's taken over: let go
    return forecast.keep_tally(store, born_after, parts.tally())


def _why_everyone(delta: kept.Delta[NeedsParts], born_after: str) -> str:
    """Why a delta reads every child again ("": it need not)."""
    why = delta.not_kept("parts")
    if why or delta.kept is None:
        return why
    if delta.kept.born_after != born_after:
        return f"the children counted change (born after {delta.kept.born_after} -> {born_after})"
    return kept.other_code(delta.kept.code, code_fingerprint(), "parts")
