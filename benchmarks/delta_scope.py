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

    uv run python -m benchmarks.delta_scope scoped DIR/NIGHT.pickle

``scoped`` is a prototype of a delta's ``link()`` over the scope only: ``link()`` over
every record (the ground truth), then over the records of the scope's people (the new
or changed, their block mates', those sharing an identifier with them, and one ring of
their children, parents, co-parents and housemates) with the kept people, the context and the name
frequencies (Splink's term-frequency tables) of the whole; each call's CPU, and what
differs between the two for the scope's records. It holds only where no adults' name
cap binds (the scope's frame would count its own): it stops on a night where one does.

    uv run python -m benchmarks.delta_scope scoped --before DIR/LAST.pickle DIR/NIGHT.pickle

With ``--before`` (the night before's capture) the block mates are not the whole run's
but found from the keys last night's ``link()`` made (its people pass's and each adults'
round's, as a load could keep them), read as tonight's kept people: the new or changed
records' people, with those sharing an identifier and their one ring, are linked alone,
and the keys that link gives the new records' people (and the keys last night gave the
kept people they joined) are met against last night's; the block mates that small link
finds count too. It says how many of the whole run's block mates' people the keys
missed, and how many of their records the scope still left out.
"""

from __future__ import annotations

import argparse
import functools
import os
import pickle
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa

import benchmarks.delta as delta
from loaders.linkage import Context, KeptKeys, LinkResult, link, scope
from loaders.linkage.identity import ID_FIELDS
from loaders.linkage.kept_keys import as_people, kinship, ring
from loaders.linkage.kept_keys import person as _person
from loaders.linkage.relational import CAPPED


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


def capture(into: Path, argv: list[str], capturing: Callable[..., dict] = _capturing) -> None:
    """``benchmarks.delta`` with ``argv``, each night's load process run by ``capturing``
    (``into`` its first argument; by default it keeps the link arguments in ``into``)."""
    into.mkdir(parents=True, exist_ok=True)
    delta.main_with(functools.partial(capturing, into), argv)


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
    person = {r.rid: _person(kept, r.rid) for r in found}
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
        met = {_person(person, u) for u in mates}
        lines.append(
            f"  {model}: frame {rows:,} rows, {len(new):,} new or changed, "
            f"{len(mates):,} block mates ({len(met):,} people)"
        )
        scoped |= met | {_person(person, u) for u in new}
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
    parents, children, living = kinship(context)
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


def scoped(path: Path, before: Path | None = None) -> list[str]:
    """The prototype of a scoped ``link()`` on the night captured in ``path`` (see the
    module's docstring), a line a figure; ``before``: last night's capture, whose keys
    find the block mates inside the scoped link (:func:`kept_keys`), else the whole run's
    are taken."""
    import loaders.linkage as linkage
    import loaders.linkage.model as model

    with open(path, "rb") as fh:
        captured = pickle.load(fh)
    found, options = captured["found"], dict(captured["options"])
    kept: dict[str, str] = options["kept"]
    met: set[str] = set()
    tables: list[dict] = []  # each scoring's name frequencies, the whole's
    real_mates, real_pairs = scope.mates, model._touched_pairs

    def watched(new: pa.Table, rest: pa.Table, keys: tuple) -> pa.Table:
        mates = real_mates(new, rest, keys)
        met.update(mates["unique_id"].to_pylist(), new["unique_id"].to_pylist())
        return mates

    def pairs(engine: object, linker: Any, *arguments: object, **more: object) -> dict:
        columns = [c.name for c in linker._settings_obj._term_frequency_columns]
        if replay:  # the whole's tables registered before Splink would count the frame's
            for name, table in replay.pop(0).items():
                registered = linker._db_api.register(table)
                linker.table_management.register_term_frequency_lookup(registered, name)
        out = real_pairs(engine, linker, *arguments, **more)
        if recording:
            tf = linker.table_management.compute_tf_table
            tables.append({c: tf(c).as_pandas_dataframe() for c in columns})
        return out

    shares: list[dict] = []  # each later round's model as the whole carried it on
    real_carried = linkage.carried

    def carried(trained: dict, left: float, rows: int) -> dict:
        if not recording:
            return shares.pop(0)
        shares.append(real_carried(trained, left, rows))
        return shares[-1]

    replay: list[dict] = []
    recording = False
    scope.mates = watched
    try:
        first = link(found, **options)
    finally:
        scope.mates = real_mates
    if any(CAPPED in note for note in first.notes):
        raise SystemExit("an adults' name cap binds on this night: the scope would count its own")
    truth = {_person(kept, u) for u in met}  # the block mates' people, the whole's
    keys = None if before is None else kept_keys(before, found, options)
    model._touched_pairs, linkage.carried, recording = pairs, carried, True
    try:
        started = time.process_time()
        whole = link(found, **options)
        whole_cpu = time.process_time() - started
        recording, replay[:] = False, tables
        start = set() if keys else truth  # with kept keys, the link finds the mates
        inside, records = _scope(found, kept, options["context"], start, ID_FIELDS)
        started = time.process_time()
        part = link(records, **_restricted(options, inside), keys=keys)
        part_cpu = time.process_time() - started
    finally:
        model._touched_pairs, linkage.carried = real_pairs, real_carried
    if keys is not None:
        grown, inside = len(inside), set(part.cluster_of)
    lines = _compared(whole, part, inside, kept, len(found), whole_cpu, part_cpu)
    if keys is not None:
        present = {_person(kept, u) for u in inside}
        missed = truth - present
        lost = {r.rid for r in found if kept.get(r.rid) in missed} - inside
        lines.append(
            f"block mates' people: the whole run's {len(truth):,}; the scoped link started "
            f"from {grown:,} records and took in {len(inside) - grown:,} more from the kept "
            f"keys; of the whole's block mates' people it missed {len(missed):,}, their "
            f"records outside it {len(lost):,}"
        )
    return lines


def kept_keys(before: Path, found: list, options: dict) -> KeptKeys:
    """The keys last night's ``link()`` (the night captured in ``before``) kept, as
    tonight's people (``options``' kept), with tonight's records and context, for a
    scoped link to meet (``link(keys=...)``). Last night's link is not timed: a load
    would have kept its keys."""
    with open(before, "rb") as fh:
        last = pickle.load(fh)
    keep = KeptKeys.none(last["found"], last["options"]["context"], last["options"]["kept"])
    result = link(last["found"], **last["options"], keys=keep)
    people, adults = as_people(result, options["kept"])
    return KeptKeys(people, adults, found, options["context"], options["kept"])


def _restricted(options: dict, inside: set[str]) -> dict:
    """``link()``'s arguments with the kept people and context of ``inside`` only."""
    import dataclasses

    context = options["context"]
    part = dataclasses.replace(
        context,
        edges=[e for e in context.edges if e.child in inside and e.parent in inside],
        homes={r: t for r, t in context.homes.items() if r in inside},
    )
    kept = {r: p for r, p in options["kept"].items() if r in inside}
    return {**options, "context": part, "kept": kept}


def _scope(
    found: list, kept: dict[str, str], context: Context, met: set[str], fields: tuple
) -> tuple[set[str], list]:
    """The uids of the scope's records, and its records (see :func:`scoped`): ``met``,
    the block mates' people."""
    person = {r.rid: _person(kept, r.rid) for r in found}
    records_of: dict[str, set[str]] = defaultdict(set)
    for rid, who in person.items():
        records_of[who].add(rid)
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in found:
        for name in fields:
            if getattr(r, name):
                holders[(name, getattr(r, name))].add(r.rid)
    new = [r for r in found if r.rid not in kept]
    people = {person[r.rid] for r in new} | met
    people |= {
        person[u] for r in new for name in fields for u in holders.get((name, getattr(r, name)), ())
    }
    records = {r for p in people for r in records_of[p]}
    kin = ring(records, kinship(context), context.homes)
    people |= {person[u] for u in kin if u in person}
    inside = {r for p in people for r in records_of[p]}
    return inside, [r for r in found if r.rid in inside]


def _compared(
    whole: LinkResult,
    part: LinkResult,
    inside: set[str],
    kept: dict[str, str],
    records: int,
    whole_cpu: float,
    part_cpu: float,
) -> list[str]:
    """What differs between ``link()`` over every record and over the scope."""

    def groups(cluster_of: dict[str, str], among: set[str]) -> set[frozenset[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for rid, who in cluster_of.items():
            if rid in among:
                out[who].add(rid)
        return {frozenset(g) for g in out.values()}

    rest = set(whole.cluster_of).intersection(kept) - inside
    kept_people, outside = groups(kept, rest), groups(whole.cluster_of, rest)
    probability = {r: p for r, p in whole.probability.items() if r in inside}
    moved = set(probability.items()) ^ set(part.probability.items())
    pairs = {tuple(p[:3]) for p in whole.pairs} ^ {tuple(p[:3]) for p in part.pairs}
    review = {(c.left, c.right): c for c in whole.review}
    found = {(c.left, c.right): c for c in part.review}
    old = [review[k] for k in review.keys() - found.keys() if k[0] in kept and k[1] in kept]
    fields = ("probability", "reason", "evidence", "impact", "named")
    unlike = [
        name
        for k in review.keys() & found.keys()
        for name in fields
        if getattr(review[k], name) != getattr(found[k], name)
    ]
    counts = ("deterministic_links", "probabilistic_links", "relational_links")
    alike = groups(whole.cluster_of, inside) == groups(part.cluster_of, inside)
    return [
        f"records {records:,}, the scope's {len(inside):,} ({len(inside) / records:.1%}); "
        f"link() CPU: every record {whole_cpu:.1f} s, the scope {part_cpu:.1f} s",
        f"people of the scope's records alike: {alike}; "
        f"outside it, every record's person the kept one: {outside == kept_people}",
        f"probabilities differing: {len(moved):,}; people pass's pairs differing: {len(pairs):,}",
        "links (deterministic, people, adults): "
        f"{[getattr(whole, c) for c in counts]} / {[getattr(part, c) for c in counts]}",
        f"review pairs {len(review)} / {len(found)}: only the whole's "
        f"{len(review.keys() - found.keys())} ({len(old)} with neither side new or changed: "
        f"{sorted(c.reason or 'scored' for c in old)}), only the scope's "
        f"{len(found.keys() - review.keys())}; of those in both, fields differing: {unlike}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.delta_scope")
    parser.add_argument("step", choices=("capture", "measure", "scoped"))
    parser.add_argument("path", type=Path, help="capture: a folder; measure: a night's pickle")
    parser.add_argument(
        "--before", type=Path, help="scoped: last night's pickle, whose keys find the block mates"
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="capture: benchmarks.delta's")
    args = parser.parse_args()
    if args.step == "capture":
        capture(args.path, [a for a in args.rest if a != "--"])
        return
    if os.environ.get("PYTHONHASHSEED") != "0":  # the same links from one input, every run
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        os.execvpe(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
    lines = scoped(args.path, args.before) if args.step == "scoped" else measure(args.path)
    print(*lines, sep="\n")


if __name__ == "__main__":
    main()
