"""What a delta night can change: the records and people its link stage must look at.

    uv run python -m benchmarks.delta_scope capture DIR -- BENCHMARKS.DELTA ARGUMENTS
    uv run python -m benchmarks.delta_scope measure DIR/NIGHT.pickle

``capture`` runs ``benchmarks.delta`` with each night's ``loaders.load.link`` call kept
(its arguments pickled to ``DIR/<night>.pickle``, in the night's own process), so a
night's linkage can be looked at again without loading it. ``measure`` runs ``link()``
on one night's arguments, watching the block mates each model's delta scoring finds
(``loaders.linkage.scope.mates``), and counts, with their share of the records and of
the people the night starts from (a kept person, or a record of its own; records by
uid, a uid named by several rows once):

- the new or changed records (those without a kept person);
- the people those share a blocking key value with, under each model and round, and
  every record of those people;
- the records the adults' surroundings of those read: the children they are named
  against, those children's other named parents, and everyone at their addresses.

It also counts the review pairs with neither side new or changed (found again each
night: the deterministic step's refusals among kept people are every record's).
"""

from __future__ import annotations

import argparse
import functools
import os
import pickle
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow as pa

import benchmarks.delta as delta
from loaders.linkage import Context, LinkResult, link, scope


def _capturing(into: Path, *arguments: object) -> dict:
    """:func:`benchmarks.delta._load_alone` with ``loaders.load.link`` keeping its
    arguments (the night is ``arguments[2]``)."""
    import loaders.load

    night, real = arguments[2], loaders.load.link

    def kept(found: Iterable, **options: object) -> LinkResult:
        found = list(found)
        with open(into / f"{night}.pickle", "wb") as fh:
            pickle.dump({"found": found, "options": options}, fh, pickle.HIGHEST_PROTOCOL)
        return real(found, **options)

    loaders.load.link = kept
    return _alone(*arguments)


_alone = delta._load_alone


def capture(into: Path, argv: list[str]) -> None:
    """``benchmarks.delta`` with ``argv``, each night's link arguments kept in ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    delta._load_alone = functools.partial(_capturing, into)
    sys.argv = ["benchmarks.delta", *argv]
    delta.main()


def measure(path: Path) -> list[str]:
    """The scope of the night captured in ``path``, a line a count."""
    with open(path, "rb") as fh:
        captured = pickle.load(fh)
    found, options = captured["found"], captured["options"]
    kept: dict[str, str] = options["kept"]
    calls: list[tuple[int, list[str], list[str]]] = []
    real = scope.mates

    def watched(new: pa.Table, rest: pa.Table, keys: tuple) -> pa.Table:
        mates = real(new, rest, keys)
        rows = new.num_rows + rest.num_rows
        calls.append((rows, new["unique_id"].to_pylist(), mates["unique_id"].to_pylist()))
        return mates

    scope.mates = watched
    try:
        result = link(found, **options)
    finally:
        scope.mates = real
    person = {r.rid: kept.get(r.rid, "\0" + r.rid) for r in found}
    records_of: dict[str, list[str]] = defaultdict(list)
    for rid, who in person.items():
        records_of[who].append(rid)
    total, people_total = len(person), len(records_of)

    def share(label: str, people: set[str]) -> tuple[str, set[str]]:
        records = {r for p in people for r in records_of.get(p, ())}
        line = (
            f"{label}: {len(people):,} people ({len(people) / people_total:.2%}), "
            f"{len(records):,} records ({len(records) / total:.2%})"
        )
        return line, records

    touched = {rid for rid in person if rid not in kept}
    lines = [
        f"{path.stem}: {len(found):,} identity records, {total:,} uids, "
        f"{people_total:,} people before the night (shares below are of these)"
    ]
    line, _ = share("new or changed", {person[r] for r in touched})
    lines.append(line)
    scoped = {person[r] for r in touched}
    for number, (rows, new, mates) in enumerate(calls):
        model = "people" if number == 0 else f"adults, round {number}"
        met = {person.get(u, "\0" + u) for u in mates}
        lines.append(
            f"  {model}: frame {rows:,} rows, {len(new):,} new or changed, "
            f"{len(mates):,} block mates ({len(met):,} people)"
        )
        scoped |= met | {person.get(u, "\0" + u) for u in new}
    line, records = share("and their block mates' people, every record", scoped)
    lines.append(line)
    lines.extend(_surroundings(options["context"], records, scoped, person, share))
    old = sum(1 for c in result.review if c.left in kept and c.right in kept)
    lines.append(f"review pairs: {len(result.review):,}, neither side new or changed: {old:,}")
    return lines


def _surroundings(
    context: Context,
    records: set[str],
    scoped: set[str],
    person: dict[str, str],
    share: Callable[[str, set[str]], tuple[str, set[str]]],
) -> list[str]:
    """The scope grown by what its adults' surroundings read, a ring at a time."""
    parents: dict[str, set[str]] = defaultdict(set)
    children: dict[str, set[str]] = defaultdict(set)
    for e in context.edges:
        parents[e.child].add(e.parent)
        children[e.parent].add(e.child)
    living: dict[str, set[str]] = defaultdict(set)
    for who, tenures in context.homes.items():
        for t in tenures:
            living[t.address].add(who)
    kids = {c for r in records for c in children.get(r, ())}
    coparents = {p for c in kids for p in parents.get(c, ())}
    addresses = {t.address for r in records for t in context.homes.get(r, ())}
    housemates = {w for a in addresses for w in living[a]}
    lines = []
    for label, more in (
        ("and the children they are named against", kids),
        ("and those children's other parents", kids | coparents),
        ("and everyone at their addresses", kids | coparents | housemates),
    ):
        people = scoped | {person[u] for u in more if u in person}
        lines.append("  " + share(label, people)[0])
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.delta_scope")
    parser.add_argument("step", choices=("capture", "measure"))
    parser.add_argument("path", type=Path, help="capture: a folder; measure: a night's pickle")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="capture: benchmarks.delta's")
    args = parser.parse_args()
    if args.step == "capture":
        capture(args.path, [a for a in args.rest if a != "--"])
        return
    if os.environ.get("PYTHONHASHSEED") != "0":  # the same links from one input, every run
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        os.execvpe(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
    print(*measure(args.path), sep="\n")


if __name__ == "__main__":
    main()
