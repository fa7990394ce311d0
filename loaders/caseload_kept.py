"""Every case's part of the caseload map's tally (its rows by status, kind and service:
its child's home, waiting for a worker, each current worker and their team) as a load
counted it, kept beside its load reports for the next load, so that a delta counts
again only the cases it touched.

A case's part follows its own rows (status, kind, the derived ``workers``), its
``HAS_CASE``, ``WITH_SERVICE`` and ``WORKS_ON`` relationships, its child's open
residence (``LIVES_AT``, closed by a load too, and the address's own rows), and each
current worker's name and team (``IN_TEAM``, the team's own rows). A delta takes the
touched cases' parts out, reads theirs again and adds them; the tally is the count of
every part (:func:`graph.caseload_tally.count`). Trusted as :mod:`loaders.kept` says.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from graph import caseload_tally as tally
from graph.cypher import relationship_types
from graph.store import GraphStore
from loaders import kept

if TYPE_CHECKING:
    from loaders.unchanged import Touched

KEPT_FILE = "caseload-parts.json"
VERSION = 1
FOLLOWS = relationship_types(tally.HOMES + tally.WAITING + tally.WORKERS)
# what works a case's part out: the reads, the parts kept here
code_fingerprint = kept.fingerprinter(tally, __name__)


@dataclass
class CaseParts(kept.Kept):
    """The parts a load kept, by case uid (:data:`graph.caseload_tally.Part`)."""

    VERSION = VERSION
    fingerprint = staticmethod(code_fingerprint)
    cases: dict[str, tally.Part] = field(default_factory=dict)

    def __iter__(self) -> Iterator[tally.Part]:
        return iter(self.cases.values())


def touched_cases(store: GraphStore, touched: Touched) -> set[str]:
    """The cases whose part a delta's changes may move (``touched``: what it wrote): their
    own rows or a relationship the tally follows (:data:`FOLLOWS`) naming them; the cases
    of a person so named or living at an address whose own rows changed; the cases of a
    professional whose own rows or ``IN_TEAM`` changed, or in a team whose own rows did."""
    cases = touched.own("Case") | touched.named_by("Case", FOLLOWS)
    # nothing of a person's own is read
    people = touched.named_by("Person", FOLLOWS) | kept.residents(store, touched)
    # a worker's changed WORKS_ON names the case itself; a changed team, all of theirs
    workers = touched.own("Professional") | touched.named_by("Professional", ("IN_TEAM",))
    cases |= tally.cases_of(store, tally.CASES_OF_PEOPLE, people)
    cases |= tally.cases_of(store, tally.CASES_OF_PROFESSIONALS, workers)
    cases |= tally.cases_of(store, tally.CASES_OF_TEAMS, touched.own("Team"))
    return cases


def keep_after_load(store: GraphStore, delta: kept.Delta[CaseParts] | None = None) -> int:
    """Count every case's part and keep the tally; on a ``delta``, only the touched
    cases are read where the last load's parts can be kept (``delta.why`` says when
    not). The cells kept; ``delta.after``: every part, for the next load."""
    parts = CaseParts()
    if delta is not None:
        delta.why = kept.why_everyone(delta, "parts")
    if delta is not None and not delta.why and delta.kept is not None:
        assert delta.touched is not None
        untouched = delta.still_there(
            (uid for uid in delta.kept.cases if uid not in delta.touched),
            lambda uids: tally.cases_of(store, tally.CASES_STILL, set(uids)),
        )
        parts.cases = {uid: delta.kept.cases[uid] for uid in untouched}
        parts.cases.update(tally.parts(store, sorted(delta.touched)))
        delta.worked_out = len(delta.touched)
    else:
        parts.cases = tally.parts(store)
    if delta is not None:
        delta.kept, delta.after = None, parts  # the last load's taken over: let go
    return tally.keep(store, parts)
