"""Caseloads in words and numbers a manager uses: who holds what, weighted by how much
work each kind of case is, against a worker's capacity; which cases need a worker and
have none; a distinct colour per team.

Only kinds of case that need an allocated worker count as unallocated: SEN support is
held by a school and school transport by a transport team, not a caseworker.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from ui.present.words import case_kind, whole

NO_WORKER_NEEDED = frozenset({"SEN support", "Transport"})
# How much work a case is, relative to a child in need case (a council may change these)
WEIGHTS = {
    "CP": 1.5,
    "CLA": 1.5,
    "CIN": 1.0,
    "CL": 0.75,
    "YJ": 1.0,
    "EH": 0.75,
    "EHCP": 0.5,
    "HV": 0.5,
    "EWO": 0.75,
    "SEN support": 0.0,
    "Transport": 0.0,
}
# Distinct colours (a qualitative palette, readable on white); beyond them, teams repeat
# and the map colours by service instead
PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
    "#636363",
    "#a55194",
    "#6b6ecf",
    "#b5cf6b",
    "#e7ba52",
]


def needs_worker(kind: object) -> bool:
    return kind not in NO_WORKER_NEEDED


def colours(names: Iterable[str]) -> dict[str, str]:
    """A colour for each name (team or service), in order of first appearance."""
    ordered = sorted({n for n in names if n})
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(ordered)}


def rgb(colour: str) -> list[int]:
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


def per_worker(counts: Iterable[dict[str, Any]], capacity: float) -> list[dict[str, Any]]:
    """A row per named worker, from cases counted per (worker, team, kind): cases,
    weighted cases and the share of capacity they use."""
    cases: Counter = Counter()
    weight: defaultdict[tuple, float] = defaultdict(float)
    for r in counts:
        if not r.get("professional"):  # not named to this role (the pseudonymised copy)
            continue
        key = (r.get("professional_uid"), r["professional"], r.get("team") or "")
        cases[key] += r["cases"]
        weight[key] += r["cases"] * WEIGHTS.get(str(r.get("kind")), 1.0)
    out = [
        {
            "Worker": worker,
            "Team": team,
            "Cases": n,
            "Weighted": round(weight[key], 1),
            "Of capacity": round(100 * weight[key] / capacity),
        }
        for key, n in cases.items()
        for _uid, worker, team in [key]
    ]
    return sorted(out, key=lambda r: (-r["Of capacity"], r["Worker"]))


def per_team(counts: list[dict[str, Any]], capacity: float) -> list[dict[str, str]]:
    workers = per_worker(counts, capacity)
    teams = sorted({w["Team"] for w in workers})
    out = []
    for team in teams:
        mine = [w for w in workers if w["Team"] == team]
        over = sum(1 for w in mine if w["Of capacity"] > 100)
        out.append(
            {
                "Team": team,
                "Workers": whole(len(mine)),
                "Cases": whole(sum(w["Cases"] for w in mine)),
                "Weighted": f"{sum(w['Weighted'] for w in mine):,.1f}",
                "Workers over capacity": whole(over),
            }
        )
    return out


def unallocated_rows(waiting: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cases waiting for a worker, for the list (in the order read: longest waiting
    first): the child's name and uid (for the link), what the case is, the service and
    the area."""
    return [
        {
            "uid": r.get("child_uid"),
            "Child": r.get("child_name") or "Name not shown",
            "Involvement": case_kind(r.get("kind")),
            "Service": r.get("service") or "",
            "Area": r.get("area") or r.get("district") or "",
        }
        for r in waiting
    ]
