"""Linkage alone: ``link()`` on one county's inputs, timed, with its pairs and quality.

    uv run python -m benchmarks.linkage DIR [--capture FILE] [--no-rules] [--evidence]
        [--m-from-truth]

Reads the extracts under DIR as a load does (its read stage, then ``linkage_inputs``
over the records that are identities of their own, as its link stage does), or takes
those inputs from FILE when it exists (``--capture``; written there when it does not),
so that a change to linkage is measured on the same inputs in a few minutes rather
than a whole load's. Then runs ``link()`` alone, with the load's collector settings,
and prints its wall and CPU time (every thread of the process, DuckDB's included),
its peak resident memory, the pairs each model scored (and, unless ``--no-rules``, the
pairs each blocking rule adds, counted after the timing), and pairwise precision and
recall for children and adults against ``DIR/truth/source_rows.csv``, as a load's
``--truth`` measures them. The last line is the same figures as JSON. ``link()`` runs
as a load's does, without each record's link in words; ``--evidence`` words them too
(the words digest then covers them, as it did before loads left them out).
``--m-from-truth`` prints, for the adults' household comparison, each level's m as the
truth measures it: the share of the first round's pairs of one person (by the truth,
pairs of people still apart after the first pass, as that round scores them) reaching
each level, beside the level's prior m (:func:`household_m`).

The process runs with ``PYTHONHASHSEED=0`` (it starts itself again if not), so two
runs of one code on one input give the same links.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import gc
import hashlib
import json
import os
import pickle
import re
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from benchmarks.stages import AS_OF  # the benchmarks' load day


@dataclass
class Inputs:
    """What ``link()`` is given by a first load, and where each identity was read."""

    found: list  # Identity, as linkage_inputs gives them
    context: Any  # loaders.linkage.Context
    where: list[tuple[str, int, str, str]]  # (file, row, role, identity uid)
    read_seconds: float = 0.0


def read_inputs(county: Path, today: dt.date = AS_OF) -> Inputs:
    """The link stage's inputs, from the load's own read stage and linkage_inputs."""
    from graph import load_settings
    from loaders.attach import Packs
    from loaders.build import identity_uid
    from loaders.linkage import linkage_inputs
    from loaders.load import LoadOptions, read
    from loaders.mapping import load_mappings
    from loaders.packs import load_packs
    from loaders.progress import Silent
    from loaders.report import LoadReport

    started = time.perf_counter()
    options = LoadOptions(as_of=today, read_workers=load_settings().load_workers)
    load = SimpleNamespace(  # the parts of a loaders.load.Load its read stage uses
        root=county,
        options=options,
        sources=load_mappings(None),
        packs=load_packs(),
        today=today,
        report=LoadReport(str(county), "", today.isoformat()),
        records=[],
        quarantine=[],
        dropped=[],
        progress=Silent(),
        reading=None,
    )
    read(load)  # type: ignore[arg-type]
    every = [*load.sources, *(m for p in load.packs for m in p.mappings)]
    attached = Packs.of(every).attached(load.records)
    unattached = [r for r in load.records if r.uid not in attached]
    found, roles, context = linkage_inputs(unattached, today)
    where = [(r.file, r.row, who, identity_uid(r, who)) for r, who in roles]
    return Inputs(found, context, where, round(time.perf_counter() - started, 2))


def captured(county: Path, capture: Path | None) -> Inputs:
    """The inputs from ``capture`` if it exists; else read, and kept there if named
    (as a dict of plain fields, so a capture made by ``python -m`` reads anywhere)."""
    if capture is not None and capture.exists():
        with capture.open("rb") as fh:
            kept = pickle.load(fh)
        return Inputs(**kept) if isinstance(kept, dict) else Inputs(**vars(kept))
    inputs = read_inputs(county)
    if capture is not None:
        capture.parent.mkdir(parents=True, exist_ok=True)
        partial = capture.with_name(capture.name + ".partial")
        with partial.open("wb") as fh:
            pickle.dump(vars(inputs), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, capture)
    return inputs


def _reset_peak() -> bool:
    """Start the kernel's high-water mark of this process's memory again (so the peak
    is the link's, not the read's); False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_mb() -> int:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return next(
        int(line.split()[1]) // 1024 for line in status.splitlines() if line.startswith("VmHWM:")
    )


def run(
    inputs: Inputs,
    truth: Path | None = None,
    *,
    rules: bool = True,
    evidence: bool = False,
    m_from_truth: bool = False,
) -> dict:
    """``link()`` on ``inputs`` (a first load's: nothing kept, no reviewer decisions),
    timed; then the pairs each model and rule scored, and quality by the truth."""
    import loaders.linkage as linkage
    from graph import load_settings
    from ui.cli.collector import collector_for_load

    # (model, frame, pairs at or above review); the frame only where its pairs are counted
    # by rule after the run (held, each round's would add to the peak a load has)
    calls: list[tuple[Any, Any, int]] = []
    parts: dict[str, float] = dict.fromkeys(PARTS.values(), 0.0)
    phases: dict[str, dict[str, float]] = {}
    memory = load_settings().linkage_memory
    with (
        _watched(linkage, calls, parts, frames=rules or m_from_truth),
        _phased(phases),
        collector_for_load() as after_stage,
        tempfile.TemporaryDirectory() as keep,
    ):
        after_stage("read and validate")  # as the load freezes what reading left
        reset = _reset_peak()
        wall, cpu = time.perf_counter(), time.process_time()
        result = linkage.link(
            inputs.found,
            context=inputs.context,
            memory_limit=memory,
            model_path=Path(keep) / "model.json",  # a load keeps the people model
            evidence=evidence,
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak = _peak_mb()
    figures: dict[str, Any] = {
        "records": len(inputs.found),
        "read_seconds": inputs.read_seconds,
        "link_wall_seconds": round(wall, 1),
        "link_cpu_seconds": round(cpu, 1),
        "peak_mb": peak,
        "peak_is_link_alone": reset,
        "cpu_by_part": {name: round(seconds, 1) for name, seconds in parts.items()},
        "splink_by_phase": {
            model: {name: round(seconds, 2) for name, seconds in by.items() if seconds >= 0.005}
            for model, by in phases.items()
        },
        "deterministic_links": result.deterministic_links,
        "probabilistic_links": result.probabilistic_links,
        "relational_links": result.relational_links,
        "to_review": len(result.review),
        "people": len(set(result.cluster_of.values())),
        "partition": partition(result.cluster_of),
        "words": words(result),
        "scored": [
            {"model": model.name, "rows": rows, "pairs_kept": kept}
            for model, (rows, _), kept in calls
        ],
    }
    if rules:
        for entry, (model, (_, frame), _) in zip(figures["scored"], calls, strict=True):
            entry["pairs_by_rule"] = blocked_pairs(model, frame)
    figures["quality"] = quality(inputs, result.cluster_of, truth) if truth else {}
    if m_from_truth and truth is not None and truth.exists():
        adults = next(((m, f) for m, (_, f), _ in calls if m.name == "adults"), None)
        if adults is not None:
            figures["household_m"] = household_m(inputs, truth, *adults)
    return figures


def household_m(inputs: Inputs, truth: Path, model: Any, frame: Any) -> list[tuple]:
    """The adults' household comparison's m as the truth measures it: of the pairs of
    ``frame``'s people (the first round's) whose records are one person by the truth
    (a person by their root record), those with something to compare (not its null
    level), the share reaching each level, the first that holds as Splink takes them
    (a level's test and the comparison's condition; else the last level). Returns
    (level, prior m, pairs, share) a level, and ("pairs of one person", None, n, None)."""
    import itertools

    import duckdb
    import pyarrow as pa

    from loaders.linkage.backend import duckdb_sql
    from loaders.quality import labels_from_csv

    labels = labels_from_csv(truth)
    person = {rid: labels.get((f, row, who)) for f, row, who, rid in inputs.where}
    by_person: dict[str, list[int]] = {}
    for at, uid in enumerate(frame["unique_id"].to_pylist()):
        if person.get(uid):
            by_person.setdefault(person[uid], []).append(at)
    pairs = [p for rows in by_person.values() for p in itertools.combinations(rows, 2)]
    comparison = next(c for c in model.comparisons if c.name == "household")

    def sides(sql: str) -> str:
        return re.sub(r"\b(\w+)_([lr])\b", r"\2.\1", duckdb_sql(sql))

    cases = [f"WHEN {sides(comparison.null)} THEN -1"]
    for i, level in enumerate(comparison.levels[:-1]):
        test = f"({level.sql}) AND ({comparison.condition})" if comparison.condition else level.sql
        cases.append(f"WHEN {sides(test)} THEN {i}")
    last = len(comparison.levels) - 1
    with duckdb.connect() as db:
        db.register("t", frame.append_column("row", pa.array(range(frame.num_rows))))
        db.register("pr", pa.table({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]}))
        found = db.sql(
            f"SELECT CASE {' '.join(cases)} ELSE {last} END AS level, count(*) FROM pr "  # noqa: S608 (ours)
            "JOIN t l ON l.row = pr.a JOIN t r ON r.row = pr.b GROUP BY level"
        ).fetchall()
    counts = dict(found)
    compared = sum(n for level, n in counts.items() if level >= 0)
    out: list[tuple] = [("pairs of one person", None, len(pairs), None)]
    out.append(("nothing to compare (null)", None, counts.get(-1, 0), None))
    for i, level in enumerate(comparison.levels):
        n = counts.get(i, 0)
        out.append((level.label, level.m, n, round(n / compared, 5) if compared else None))
    return out


# the parts of link() timed (CPU seconds, every thread's), by the names link() calls
PARTS = {
    "score": "Splink, both models (training, scoring)",
    "people_frame": "the people model's frame",
    "surroundings": "surroundings (every round)",
    "adults_frame": "the adults' frames (every round)",
    "_Run.apply": "linking the scored pairs",
    "gc": "the garbage collector (in any part)",
}


@contextlib.contextmanager
def _watched(
    linkage: Any, calls: list, parts: dict[str, float], *, frames: bool = True
) -> Iterator[None]:
    """Time the :data:`PARTS` of ``link()`` (module functions and one method, wrapped
    for the run) and the collector; keep each scoring's model, rows and frame (None
    unless ``frames``) and pairs kept."""

    def timing(name: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            begun = time.process_time()
            try:
                out = fn(*args, **kwargs)
            finally:
                parts[PARTS[name]] += time.process_time() - begun
            if name == "score":
                calls.append((args[0], (args[1].num_rows, args[1] if frames else None), len(out)))
            return out

        return timed

    owners = {name: linkage._Run if name.startswith("_Run.") else linkage for name in PARTS}
    saved = {n: getattr(owners[n], n.split(".")[-1]) for n in PARTS if n != "gc"}
    began: list[float] = []

    def collecting(phase: str, _info: dict) -> None:
        if phase == "start":
            began.append(time.process_time())
        elif began:
            parts[PARTS["gc"]] += time.process_time() - began.pop()

    for name, fn in saved.items():
        setattr(owners[name], name.split(".")[-1], timing(name, fn))
    gc.callbacks.append(collecting)
    try:
        yield
    finally:
        gc.callbacks.remove(collecting)
        for name, fn in saved.items():
            setattr(owners[name], name.split(".")[-1], fn)


# Splink's work inside ``score``, by phase (CPU seconds, every thread's, each phase's
# own: a phase inside another is taken out of it): (where, attribute, phase)
_TRAINING = "splink.internals.linker_components.training:LinkerTraining"
_INFERENCE = "splink.internals.linker_components.inference:LinkerInference"
_REST = "the rest (levels in words, keeping the model)"
PHASES = (
    ("loaders.linkage.backend:_DuckDB", "register", "registering the frame"),
    ("splink:Linker", "__init__", "the Linker's set-up"),
    (_TRAINING, "estimate_probability_two_random_records_match", "λ from deterministic rules"),
    (_TRAINING, "estimate_u_using_random_sampling", "u by random sampling"),
    ("loaders.linkage.model", "_conditional_u", "u of the conditioned levels"),
    (_TRAINING, "estimate_m_from_label_column", "m from known matches"),
    (_TRAINING, "estimate_parameters_using_expectation_maximisation", "EM"),
    (_INFERENCE, "_get_or_compute_blocked_pairs_for_predict_chunk", "blocking (the pairs' ids)"),
    (_INFERENCE, "_predict_chunk", "scoring the blocked pairs"),
    ("loaders.linkage.model", "_learn_lambda", "λ from the blocked pairs' weights"),
    ("loaders.linkage.backend:_DuckDB", "fetch", "fetching scored pairs"),
    ("splink.internals.linker_components.table_management:LinkerTableManagement",
     "compute_tf_table", "term-frequency tables"),
    ("splink.internals.linker_components.misc:LinkerMisc", "save_model_to_json",
     "the model as JSON"),
    ("loaders.linkage.model", "_train", "training's own work"),
    ("loaders.linkage.model", "_score", _REST),
)  # fmt: skip


@contextlib.contextmanager
def _phased(phases: dict[str, dict[str, float]]) -> Iterator[None]:
    """Time :data:`PHASES` by model and its call (the ``score`` they run in: "adults
    2" is the adults' second round), each phase's own CPU (a phase called inside
    another is taken out of the outer one's)."""
    import importlib

    stack: list[list] = []  # [phase, began, inner seconds]
    model: list[str] = ["?"]
    calls: dict[str, int] = {}

    def timing(phase: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if phase == _REST:  # _score(engine, model, ...)
                calls[args[1].name] = calls.get(args[1].name, 0) + 1
                model[0] = f"{args[1].name} {calls[args[1].name]}"
            stack.append([phase, time.process_time(), 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                name, began, inner = stack.pop()
                spent = time.process_time() - began
                by = phases.setdefault(model[0], {})
                by[name] = by.get(name, 0.0) + spent - inner
                if stack:
                    stack[-1][2] += spent

        return timed

    saved = []
    for where, attribute, phase in PHASES:
        module, _, owner = where.partition(":")
        target = importlib.import_module(module)
        target = getattr(target, owner) if owner else target
        saved.append((target, attribute, getattr(target, attribute)))
        setattr(target, attribute, timing(phase, getattr(target, attribute)))
    try:
        yield
    finally:
        for target, attribute, fn in reversed(saved):
            setattr(target, attribute, fn)


def partition(cluster_of: dict[str, str]) -> str:
    """A digest of which records were found to be one person (not what the clusters
    are named): two runs with the same digest made the same people."""
    groups: dict[str, list[str]] = {}
    for rid, cluster in cluster_of.items():
        groups.setdefault(cluster, []).append(rid)
    digest = hashlib.sha256()
    for group in sorted(sorted(g) for g in groups.values()):
        digest.update("\x1f".join(group).encode() + b"\x1e")
    return digest.hexdigest()[:16]


def words(result: Any) -> str:
    """A digest of what a reviewer reads: each record's evidence (when worded) and
    probability, and the review queue (pairs, probabilities, reasons, in its order)."""
    digest = hashlib.sha256()
    for rid in sorted(result.evidence):
        digest.update(f"{rid}\x1f{result.evidence[rid]}\x1e".encode())
    for rid in sorted(result.probability):
        digest.update(f"{rid}\x1f{result.probability[rid]}\x1e".encode())
    for c in result.review:
        digest.update(
            f"{c.left}\x1f{c.right}\x1f{c.probability}\x1f{c.reason}\x1f{c.evidence}\x1f{c.impact}\x1e".encode()
        )
    return digest.hexdigest()[:16]


def blocked_pairs(model: Any, frame: Any) -> list[tuple[str, int]]:
    """Each of ``model``'s blocking rules and the pairs it adds to the rules before it
    (exact: Splink's count over every record)."""
    import duckdb
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    with duckdb.connect() as connection:
        table = DuckDBAPI(connection=connection).register(frame)
        counted = count_comparisons_from_blocking_rules(
            table,
            blocking_rules=model.blocking(),
            link_type="dedupe_only",
            record_sample_proportion=1.0,
        )
        return [(c["blocking_rule"], int(c["marginal_comparison_count"])) for c in counted]


def quality(inputs: Inputs, cluster_of: dict[str, str], truth: Path) -> dict[str, list]:
    """Pairwise precision and recall for everyone, children and adults, by the truth
    beside the extracts (loaders.quality, as a load's ``--truth`` measures it)."""
    from loaders.quality import groups_beside, labels_from_csv, measure_groups

    if not truth.exists():
        return {}
    assignments = [(f, row, who, cluster_of[rid]) for f, row, who, rid in inputs.where]
    measured = measure_groups(assignments, labels_from_csv(truth), groups_beside(truth))
    return {
        name: [round(q.precision, 4), round(q.recall, 4), q.found_people]
        for name, q in measured.items()
    }


def show(figures: dict) -> str:
    """The figures as lines a person reads."""
    lines = [
        f"records {figures['records']:,} (the read stage and inputs took "
        f"{figures['read_seconds']} s when read)",
        f"link() {figures['link_wall_seconds']} s wall, {figures['link_cpu_seconds']} s CPU, "
        f"peak {figures['peak_mb']:,} MB"
        + ("" if figures["peak_is_link_alone"] else " (the process's, reading included)"),
        f"links: {figures['deterministic_links']:,} deterministic, "
        f"{figures['probabilistic_links']:,} people, {figures['relational_links']:,} adults; "
        f"{figures['to_review']:,} to review; {figures['people']:,} people "
        f"(partition {figures['partition']}, words {figures['words']})",
        "CPU by part: "
        + "; ".join(f"{name} {seconds} s" for name, seconds in figures["cpu_by_part"].items()),
    ]
    for model, by in figures.get("splink_by_phase", {}).items():
        lines.append(
            f"Splink, {model}: "
            + "; ".join(f"{name} {seconds:.2f} s" for name, seconds in by.items())
        )
    for entry in figures["scored"]:
        lines.append(
            f"{entry['model']}: {entry['rows']:,} rows, {entry['pairs_kept']:,} pairs at or "
            "above the review threshold"
        )
        for rule, pairs in entry.get("pairs_by_rule", []):
            lines.append(f"    {pairs:>12,}  {rule}")
    for name, (precision, recall, people) in figures["quality"].items():
        lines.append(f"{name}: precision {precision:.4f}, recall {recall:.4f}, {people:,} people")
    if figures.get("household_m"):
        lines.append("adults' household comparison, m by the truth (first round): level, prior, "
                     "pairs of one person, share")  # fmt: skip
        for label, prior, n, share in figures["household_m"]:
            said = "" if share is None else f"  {share:.4f} (prior {prior})"
            lines.append(f"    {n:>9,}  {label}{said}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("county", type=Path, help="a directory of extracts (truth/ beside)")
    args.add_argument("--capture", type=Path, help="the link inputs, kept or reused")
    args.add_argument("--no-rules", action="store_true", help="skip counting pairs by rule")
    args.add_argument("--evidence", action="store_true", help="word each record's link too")
    args.add_argument(
        "--m-from-truth",
        action="store_true",
        help="print each household level's share of the true pairs (its m by the truth)",
    )
    given = args.parse_args(argv)
    if os.environ.get("PYTHONHASHSEED") != "0":  # the same links from one input, every run
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        os.execve(sys.executable, [sys.executable, "-m", "benchmarks.linkage", *sys.argv[1:]], env)
    inputs = captured(given.county, given.capture)
    truth = given.county / "truth" / "source_rows.csv"
    figures = run(
        inputs,
        truth,
        rules=not given.no_rules,
        evidence=given.evidence,
        m_from_truth=given.m_from_truth,
    )
    print(show(figures))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
