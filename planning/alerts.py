"""Alerts: the changes a load brings that matter to an open case, for the professionals
allocated to it.

A load takes the watched state (children with an open, allocated case) before it
writes and again after; each state is turned into a set of facts ("lives at A", "on
the roll of S", "attendance fell below 90% in 2026-27 Autumn", "sibling X is known to
social care"), and an alert is raised for each fact that is new. Facts, not rows, are
compared, so reloading the same files raises nothing; each alert's uid is made from the
fact and the recipient and written with MERGE, so a load re-run after a crash raises
nothing twice. The state before a load is kept in a file until its alerts are written,
so a load killed between the write and the alerts still raises them when re-run.

Children new to the graph raise nothing (there is no "before" to differ from), and a
first address or school is not a move.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from graph import alerts as store_alerts
from graph.files import private_dir, write_private
from graph.store import GraphStore

ATTENDANCE_THRESHOLD = 0.90  # the persistent absence line (10% of sessions missed)
SEND_KINDS = {"EHCP", "SEN support"}


@dataclass(frozen=True)
class Fact:
    kind: str  # send_address | send_school | attendance_fall | sibling_social_care
    key: str
    text: str


def facts(child: dict[str, Any], threshold: float = ATTENDANCE_THRESHOLD) -> set[Fact]:
    name = child["name"] or "A child"
    out: set[Fact] = set()
    if SEND_KINDS & set(child["kinds"]):
        for a in child["addresses"]:
            out.add(
                Fact(
                    "send_address",
                    a["uid"],
                    f"{name} (SEND) has moved to a new address in {a['name'] or 'an unknown area'}",
                )
            )
        for s in child["schools"]:
            out.add(
                Fact("send_school", s["uid"], f"{name} (SEND) is now on the roll of {s['name']}")
            )
    for term, rate, before in _falls(child["terms"], threshold):
        out.add(
            Fact(
                "attendance_fall",
                term,
                f"{name}'s attendance fell to {rate:.1%} in {term} "
                f"(from {before:.1%}; below {threshold:.0%})",
            )
        )
    for sib in child["siblings_in_care"]:
        out.add(
            Fact(
                "sibling_social_care",
                sib["uid"],
                f"A sibling of {name}, {sib['name']}, is now known to social care",
            )
        )
    return out


def _falls(terms: Iterable[dict[str, Any]], threshold: float) -> list[tuple[str, float, float]]:
    """Terms whose attendance is below the threshold when the term before was not."""
    by_term: dict[tuple[str, str], list[int]] = {}
    for t in terms:
        if not t.get("possible"):
            continue
        key = (t["start"] or "", t["term"])
        totals = by_term.setdefault(key, [0, 0])
        totals[0] += int(t["possible"])
        totals[1] += int(t["absent"] or 0)
    ordered = [
        (term, 1 - absent / possible) for (_s, term), (possible, absent) in sorted(by_term.items())
    ]
    return [
        (term, rate, ordered[i - 1][1])
        for i, (term, rate) in enumerate(ordered)
        if i > 0 and rate < threshold <= ordered[i - 1][1]
    ]


def new_alerts(
    before: list[dict[str, Any]], after: list[dict[str, Any]], created_at: str
) -> list[dict[str, Any]]:
    """Alert rows for what ``after`` knows that ``before`` did not, one per recipient."""
    earlier = {c["child"]: c for c in before}
    rows = []
    for child in after:
        old = earlier.get(child["child"])
        if old is None:
            continue
        known = facts(old)
        known_keys = {(f.kind, f.key) for f in known}
        for fact in sorted(facts(child), key=lambda f: (f.kind, f.key)):
            if (fact.kind, fact.key) in known_keys:
                continue
            if fact.kind == "send_address" and not old["addresses"]:
                continue  # a first known address is not a move
            if fact.kind == "send_school" and not old["schools"]:
                continue
            for worker in sorted(child["workers"]):
                rows.append(
                    {
                        "uid": _uid(child["child"], fact, worker),
                        "worker": worker,
                        "child": child["child"],
                        "kind": fact.kind,
                        "key": fact.key,
                        "text": fact.text,
                        "created_at": created_at,
                    }
                )
    return rows


def _uid(child: str, fact: Fact, worker: str) -> str:
    digest = hashlib.sha256(f"{child}|{fact.kind}|{fact.key}|{worker}".encode()).hexdigest()
    return f"AL-{digest[:16]}"


class Baseline:
    """The watched state before a load, kept on disk until its alerts are raised; and the
    state after it (``kept``), for the next load to start from while the graph is the
    one this load left (its counts those kept with it): reading the watched state walks
    every open case, and a delta would otherwise read it twice."""

    def __init__(self, path: Path | None, kept: Path | None = None) -> None:
        self.path = path
        self.kept = kept
        self.after: list[dict[str, Any]] | None = None  # the state after, once read
        self._before: list[dict[str, Any]] | None = None  # held only without ``path``

    def take(self, store: GraphStore, counts: Mapping[str, Any] | None = None) -> None:
        """Take the state before: an unfinished load's, else the last load's kept state
        if the graph's ``counts`` are those kept with it, else read from the graph. It
        stays on disk until :meth:`before` is asked for it (every open case's state,
        not held while the load links and builds)."""
        if self.path is not None and self.path.exists():
            return  # an earlier load died before raising its alerts: compare with its baseline
        state = self._kept(counts)
        if state is None:
            state = store_alerts.watched(store)
        if self.path is None:
            self._before = state
            return
        _write_whole(self.path, state)

    def before(self) -> list[dict[str, Any]]:
        """The state before the load (:meth:`take`)."""
        if self.path is None:
            return self._before or []
        return orjson.loads(self.path.read_bytes())

    def _kept(self, counts: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
        """The kept state after the last load, if it is the graph's; removed either way."""
        if self.kept is None or not self.kept.exists():
            return None
        try:
            body = orjson.loads(self.kept.read_bytes())
        except (OSError, ValueError):
            body = None
        self.kept.unlink(missing_ok=True)
        if not isinstance(body, dict) or counts is None or body.get("counts") != counts:
            return None
        return body.get("watched")

    def done(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def keep(self, counts: Mapping[str, Any]) -> None:
        """Keep the state after this load with the graph's ``counts`` as the load leaves
        it (nothing when the state after was not read; a load that watched nothing
        before reads it for this: loaders.load's alerts stage)."""
        if self.kept is None or self.after is None:
            return
        _write_whole(self.kept, {"counts": dict(counts), "watched": self.after})


def _write_whole(path: Path, body: object) -> None:
    """``body`` as JSON at ``path``, whole or not at all (both of the baseline's files),
    readable by this user only and durable, as the other state a load keeps: it names
    the children on open cases, their addresses, schools and siblings in care."""
    write_private(private_dir(path.parent) / path.name, orjson.dumps(body))


def raise_after_load(
    store: GraphStore,
    before: list[dict[str, Any]],
    baseline: Baseline | None = None,
    near: set[str] | None = None,
) -> int:
    """Compare the graph now with ``before``; write and count the new alerts. The state
    after is left on ``baseline`` (:meth:`Baseline.keep`). ``near``: the only children
    whose state may differ from ``before`` (a delta's, :func:`graph.alerts.near`): only
    theirs is read, the rest taken from ``before``; None reads every open case's."""
    if not before:  # nothing watched before this load (a first load): nothing to differ from
        return 0
    if near is None:
        after = changed = store_alerts.watched(store)
    else:  # the rest's state is theirs before, so their facts are too: none is new
        changed = store_alerts.watched(store, sorted(near)) if near else []
        after = [c for c in before if c["child"] not in near] + changed
    if baseline is not None:
        baseline.after = after
    created_at = dt.datetime.now().isoformat(timespec="seconds")
    return store_alerts.raise_alerts(store, new_alerts(before, changed, created_at))
