"""The risk of NEET factors a load keeps on each pupil, so the list as at a load's day
reads them instead of working them out again (loaders.risk_factors decides what goes in).

Kept factors are only ever current or absent: they are cleared before a load writes
anything and for a person a review merge changes, and written again from the records
once the load has finished. The saved query ignores any it cannot trust (another day,
other detection rules) and works those pupils out from the records.

Finding the pupils it must work out means walking every child of the cohort's ages
(0.4 of the list's 0.7 s at county scale), so a ``RiskList`` node says when there are
none: a load writes it once every pupil's factors are kept, and it goes before any
are forgotten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from graph.cypher import cypher
from graph.store import GraphStore

# The properties the load keeps; documented with the Person node in graph.schema.
KEPT = ("risk_as_of", "risk_rules", "risk_factors", "risk_year_group", "risk_school",
        "risk_school_urn", "risk_area", "risk_attendance_pct")  # fmt: skip
_UNSET = ", ".join(f"p.{name} = null" for name in KEPT)

# the list as a whole, first: a reader never sees it with someone's factors missing
FORGET_LIST = cypher("risk_facts.forget_list", "MATCH (k:RiskList) DELETE k", writes=True)
KEEP_LIST = cypher(
    "risk_facts.keep_list",
    "MERGE (k:RiskList {uid: 'risk_of_neet'}) SET k.as_of = date($as_of), k.rules = $rules",
    example={"as_of": "2026-11-02", "rules": "x"},
    writes=True,
)
CLEAR_ALL = cypher(
    "risk_facts.clear_all",
    f"MATCH (p:Person) WHERE p.risk_as_of IS NOT NULL SET {_UNSET}",
    writes=True,
)
CLEAR_ONE = cypher(
    "risk_facts.clear_one",
    f"MATCH (p:Person {{uid: $uid}}) SET {_UNSET}",
    example={"uid": "P-x"},
    writes=True,
)
# Every kept factor shares one day (all are cleared before a load and kept after it),
# so the first one found says which (a label scan that stops there: an index range
# from 1900 would meet FalkorDB's comparison of dates over 68 years apart, see
# docs/cypher-portability.md).
KEPT_DAY = cypher(
    "risk_facts.kept_day",
    "MATCH (p:Person) WHERE p.risk_as_of IS NOT NULL RETURN p.risk_as_of AS day LIMIT 1",
)
SAVE = cypher(
    "risk_facts.save",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.uid})
    SET p.risk_as_of = date($as_of), p.risk_rules = $rules, p.risk_factors = row.factors,
        p.risk_year_group = row.year_group, p.risk_school = row.school,
        p.risk_school_urn = row.school_urn, p.risk_area = row.area,
        p.risk_attendance_pct = row.attendance_pct
    """,
    example={"rows": [], "as_of": "2026-11-02", "rules": "x"},
    writes=True,
)


def clear(store: GraphStore, uid: str | None = None) -> None:
    """Forget the kept factors of everyone, or of one person."""
    store.write(FORGET_LIST)
    if uid is None:
        store.write(CLEAR_ALL)
    else:
        store.write(CLEAR_ONE, {"uid": uid})


def kept_day(store: GraphStore) -> dt.date | None:
    """The day the latest load kept factors as at, if it kept any: the risk list as at
    that day is a quick read, any other day is worked out from the records."""
    rows = store.read(KEPT_DAY).rows
    return rows[0]["day"] if rows else None


def save(store: GraphStore, rows: Sequence[Mapping[str, Any]], *, as_of: str, rules: str) -> int:
    """Keep each row's factors (uid, factors, year_group, school, school_urn, area,
    attendance_pct) on its pupil, as at ``as_of`` under ``rules``; the rows are the
    whole cohort, so the list is then complete."""
    if rows:
        store.write_rows(SAVE, rows, params={"as_of": as_of, "rules": rules})
    store.write(KEEP_LIST, {"as_of": as_of, "rules": rules})
    return len(rows)
