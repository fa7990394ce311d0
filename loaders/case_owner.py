"""One child a case: who keeps a case reference a source gives to two children.

A case's uid is its source and reference (``Builder._case``), so rows naming two
children with one reference (a mistyped or reused episode id) would be one case that
moves to whichever child's row was built last. It stays instead with the child whose
row of it starts first (a row with no start after every dated one), then the lower
person uid: an order of what the rows say, not of the files or nights they came in,
so a delta keeps it where a full reload of the same files does. The other children's
rows of it are refused with a reason a data officer can act on. One child's several
rows of a case are no conflict. A family episode's case and a return's hold the
child in their uid, so they never meet another child's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from loaders.validate import Record


@dataclass(frozen=True, slots=True)
class Claim:
    """A row's claim to a case: the case's uid, its child's person uid, the row's
    start (ISO text, None when it has none) and the row."""

    case: str
    person: str
    start: str | None
    record: Record


def refusals(claims: Iterable[Claim]) -> dict[int, str]:
    """``id()`` of each refused claim -> why, for every case uid more than one child
    claims; the children's order (:func:`_first`) is independent of the claims'."""
    by_case: dict[str, dict[str, list[Claim]]] = {}
    for claim in claims:
        by_case.setdefault(claim.case, {}).setdefault(claim.person, []).append(claim)
    refused: dict[int, str] = {}
    for by_person in by_case.values():
        if len(by_person) < 2:
            continue
        kept = min(by_person, key=lambda person: _first(person, by_person[person]))
        first = min(by_person[kept], key=_order)
        for person, mine in by_person.items():
            if person != kept:
                for claim in mine:
                    refused[id(claim)] = _why(claim, first)
    return refused


def _order(claim: Claim) -> tuple[bool, str, str, int]:
    """A row's place: dated before undated, then by start; file and line break ties
    between one child's rows (which one is named in the reason)."""
    return (claim.start is None, claim.start or "", claim.record.file, claim.record.row)


def _first(person: str, mine: list[Claim]) -> tuple[bool, str, str]:
    """A child's place among a case's children: their first row's start, then their uid."""
    start = min(mine, key=_order).start
    return (start is None, start or "", person)


def _why(claim: Claim, kept: Claim) -> str:
    record, other = claim.record, kept.record
    ref = record.values.get("case.ref")
    return (
        f"{record.source} gives case reference {ref} to another child too: it is kept with "
        f"the child of {other.file} row {other.row} ({_child(kept)}), whose row of it "
        f"starts {_start(kept)}; this row's child ({_child(claim)}) starts "
        f"{_start(claim)}. Correct the reference at source"
    )


def _child(claim: Claim) -> str:
    """The child as the data officer finds them: the source's id, and the graph's uid."""
    local = claim.record.values.get("person.la_child_id")
    return f"person id {local}, {claim.person}" if local else claim.person


def _start(claim: Claim) -> str:
    return claim.start or "with no start date"
