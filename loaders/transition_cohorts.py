"""Keep transitions' three cohorts once a load has finished, so the page reads them.

The children who start Reception, Year 7 and Year 12 next September (as at the load's
day) are read once with every school spell, their home, offer, needs and open case
kinds (graph.planning.COHORT_SPELLS) and kept, one node an entry point; the page then
picks each child's school on its day from the spells instead of walking the cohort
(about 17,000 children a birth year at county), and takes the school each child is
expected at (their offer, else the nearest of the next phase: ``ahead``) as the load
worked it out, rather than searching every school for each child. Any day whose next
September is the load day's reads them; another is worked out from the records. A
test holds the two equal on the load's day and others.

Each load also keeps the rows beside its reports (:data:`KEPT_FILE`, trusted as
:mod:`loaders.kept` says), so that a delta whose cohorts are born on the same days
reads again only the children whose row it may have changed (:func:`touched_children`)
and takes the others' as they were; ``ahead`` follows every school's place and phase
too, so it is worked out again for every kept child when those changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Container
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from graph import planning as reads
from graph import risk_facts
from graph.cypher import relationship_types
from graph.store import GraphStore
from loaders import kept
from planning import transitions
from planning.transitions import ENTRY_YEAR_GROUP, ahead_of_day, cohort_dates

if TYPE_CHECKING:
    from loaders.unchanged import Touched

KEPT_FILE = "transition-cohorts.json"
VERSION = 1
FOLLOWS = relationship_types(reads.COHORT_SPELLS)  # what a child's row follows of theirs
Row = list[Any]  # a child's row: graph.planning.KEPT_COLUMNS' values (dates ISO text once kept)
_UID = reads.KEPT_COLUMNS.index("child_uid")
_AHEAD_READS = ("urn", "phase", "lat", "lon")  # of every school, what ``ahead`` reads
# what works a child's row out: the reads, ``ahead``, the rows kept here
code_fingerprint = kept.fingerprinter(reads, transitions, __name__)


@dataclass
class Cohorts(kept.Kept):
    """The cohorts a load kept: each entry point's birth days ([from, before), ISO) and
    rows (by child uid), and a hash of the schools their ``ahead`` was worked out from."""

    VERSION = VERSION
    fingerprint = staticmethod(code_fingerprint)
    born: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, list[Row]] = field(default_factory=dict)
    schools: str = ""


def touched_children(store: GraphStore, touched: Touched, open_services: set[str]) -> set[str]:
    """The people whose row a delta's changes may move (``touched``: what it wrote): their
    own rows (name, birth date, sources), a home, school, offer or need relationship of
    theirs (:data:`FOLLOWS`), their open case kinds (``open_services``: the people whose
    derived open services the delta worked out again, loaders.derive), an address they
    live at or a school they attend or are offered whose own rows changed."""
    people = touched.own("Person") | touched.named_by("Person", FOLLOWS) | open_services
    people |= kept.residents(store, touched)
    return people | reads.children_at_schools(store, touched.own("School"))


def keep_after_load(
    store: GraphStore, as_of: dt.date, delta: kept.Delta[Cohorts] | None = None
) -> int:
    """Read and keep every entry point's cohort as at ``as_of`` (any kept before
    replaced), read side by side where the engine can; on a ``delta``, only the touched
    children are read where the last load's rows can be kept (``delta.why`` says when
    not). The children kept; ``delta.after``: every row, for the next load."""
    schools = reads.schools(store)
    after = Cohorts(schools=_schools_key(schools))
    for entry_point in ENTRY_YEAR_GROUP:
        after.born[entry_point] = [d.isoformat() for d in cohort_dates(entry_point, as_of)]
    if delta is not None:
        delta.why = _why_everyone(delta, after.born)
    if delta is not None and not delta.why and delta.kept is not None:
        assert delta.touched is not None
        for entry_point in ENTRY_YEAR_GROUP:
            after.rows[entry_point], read = _brought_up_to_date(
                store,
                entry_point,
                as_of,
                delta,
                schools,
                after.schools,
            )
            delta.worked_out += read
    else:
        _read_all(store, as_of, schools, after)
    if delta is not None:
        delta.kept, delta.after = None, after  # the last load's taken over: let go
    reads.forget_cohorts(store)
    for entry_point, rows in after.rows.items():
        reads.keep_cohort_rows(store, entry_point, *cohort_dates(entry_point, as_of), rows)
    return sum(len(rows) for rows in after.rows.values())


def _read_all(store: GraphStore, as_of: dt.date, schools: list[dict], after: Cohorts) -> None:
    """Every entry point's cohort read whole into ``after``."""

    def read(entry_point: str) -> list[dict]:
        born_from, born_before = cohort_dates(entry_point, as_of)
        return reads.cohort_spells(
            store, born_from=born_from, born_before=born_before, entry_point=entry_point
        )

    with ThreadPoolExecutor(min(len(ENTRY_YEAR_GROUP), store.parallel_reads())) as pool:
        for entry_point, found in zip(
            ENTRY_YEAR_GROUP, pool.map(read, ENTRY_YEAR_GROUP), strict=True
        ):
            after.rows[entry_point] = _rows(found, entry_point, schools)


def _rows(found: list[dict], entry_point: str, schools: list[dict]) -> list[Row]:
    """COHORT_SPELLS' rows, each with the school expected ahead, as kept (by uid: the
    same rows in the same order however they were read)."""
    for row, expected in zip(found, ahead_of_day(found, entry_point, schools), strict=True):
        row["ahead"] = expected
    return sorted(([row[c] for c in reads.KEPT_COLUMNS] for row in found), key=lambda r: r[_UID])


def _brought_up_to_date(
    store: GraphStore,
    entry_point: str,
    as_of: dt.date,
    delta: kept.Delta[Cohorts],
    schools: list[dict],
    schools_key: str,
) -> tuple[list[Row], int]:
    """The entry point's rows: the untouched children's as the last load kept them
    (``ahead`` worked out again when the schools it reads changed), while they are
    still children in the graph (:meth:`kept.Delta.still_there`: read only when the
    cohort's count is short); the touched children's read again (how many)."""
    before, touched = delta.kept, delta.touched
    assert before is not None and touched is not None
    born_from, born_before = cohort_dates(entry_point, as_of)
    rows = {r[_UID]: r for r in before.rows[entry_point] if r[_UID] not in touched}
    if before.schools != schools_key and rows:
        kept_rows = [dict(zip(reads.KEPT_COLUMNS, r, strict=True)) for r in rows.values()]
        rows = {r[_UID]: r for r in _rows(kept_rows, entry_point, schools)}
    found = reads.cohort_spells_of(
        store,
        sorted(touched),
        born_from=born_from,
        born_before=born_before,
        entry_point=entry_point,
    )
    fresh = _rows(found, entry_point, schools)

    def still(uids: list[str]) -> Container[str]:
        if len(uids) + len(fresh) == reads.cohort_count(
            store, born_from=born_from, born_before=born_before
        ):
            return set(uids)
        # someone left the graph untouched (merged into another): keep those still in it
        return risk_facts.children(store, uids)

    rows = {uid: rows[uid] for uid in delta.still_there(rows, still)}
    rows.update((r[_UID], r) for r in fresh)
    return [rows[uid] for uid in sorted(rows)], len(fresh)


def _schools_key(schools: list[dict]) -> str:
    """A hash of what ``ahead`` reads of every school."""
    values = sorted(orjson.dumps([s[c] for c in _AHEAD_READS]) for s in schools)
    return hashlib.blake2b(b"\n".join(values), digest_size=8).hexdigest()


def _why_everyone(delta: kept.Delta[Cohorts], born: dict[str, list[str]]) -> str:
    """Why a delta reads every cohort again ("": it need not)."""
    other = "the cohorts are other children (a new next September)"
    return kept.why_everyone(delta, "cohorts", lambda before: other if before.born != born else "")
