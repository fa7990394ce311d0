"""Linkage alone: ``link()`` on one county's inputs, timed, with its pairs and quality.

    uv run python -m benchmarks.linkage DIR [--capture FILE] [--no-rules] [--evidence]
                                            [--per-round] [--missed] [--m-from-truth]

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
``--per-round`` adds a table of the adults' rounds: each round's people scored, pairs
at or above the review threshold, links made, CPU and wall seconds, and the adults'
precision and recall had the rounds ended there (measured between rounds, and that
measuring taken out of ``link()``'s CPU and wall seconds, not its peak memory).
``--missed`` adds, by the truth, where the adults' pairs are lost and gained
(:func:`missed`, :func:`wrong_by_join`): the true pairs left in different people by
the shape of the two people (their sources, birth dates, surnames, addresses and
children), and the false pairs by the step (and the adults' household level) whose
join put them in one person; it watches every join, so its run's seconds are not a
load's. ``--m-from-truth`` adds, for each of the adults' comparisons, each level's share
among the first round's pairs of people that are one person by the truth and that the
model's blocking reaches (:func:`level_shares`), beside the prior m the model scores
with (the adults' m are not learnt): a level's m is that share (its time taken out of
``link()``'s seconds).

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
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from benchmarks.missed_evidence import by_evidence
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
    per_round: bool = False,
    missing: bool = False,
    m_from_truth: bool = False,
) -> dict:
    """``link()`` on ``inputs`` (a first load's: nothing kept, no reviewer decisions),
    timed; then the pairs each model and rule scored, and quality by the truth;
    ``per_round``: the adults' rounds one by one (:func:`_rounds`); ``missing``: the
    adults' pairs missed and wrong, by shape and by join (:func:`missed`);
    ``m_from_truth``: the adults' levels' shares among true pairs (:func:`level_shares`)."""
    import loaders.linkage as linkage
    from graph import load_settings
    from ui.cli.collector import collector_for_load

    # (model, frame, pairs at or above review); the frame only where its pairs are counted
    # by rule after the run (held, each round's would add to the peak a load has)
    calls: list[tuple[Any, Any, int]] = []
    parts: dict[str, float] = dict.fromkeys(PARTS.values(), 0.0)
    phases: dict[str, dict[str, float]] = {}
    rounds: list[dict] = []
    aside = [0.0, 0.0]  # wall and CPU seconds measuring between rounds, not link()'s
    memory = load_settings().linkage_memory
    by_round = _rounds(linkage, calls, parts, rounds, aside, inputs, truth) if per_round else None
    wanted = (missing or m_from_truth) and truth is not None
    labels = _adult_labels(inputs, truth) if wanted else None
    shares: list = []
    joins: dict[str, Counter] = {"false": Counter(), "true": Counter()}
    with (
        _watched(linkage, calls, parts, frames=rules),
        _phased(phases),
        by_round or contextlib.nullcontext(),
        wrong_by_join(linkage, labels, joins) if labels and missing else contextlib.nullcontext(),
        _first_round_shares(linkage, labels, shares, aside)
        if labels and m_from_truth
        else contextlib.nullcontext(),
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
        wall = time.perf_counter() - wall - aside[0]
        cpu = time.process_time() - cpu - aside[1]
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
    if per_round:
        figures["rounds"] = rounds
    if shares:
        figures["m_from_truth"] = shares[0]
    if labels and missing:
        figures["missed"] = missed(inputs, result.cluster_of, labels, result.review)
        figures["missed"]["false_pairs_by_join"] = joins["false"].most_common()
        figures["missed"]["true_pairs_by_join"] = joins["true"].most_common()
    return figures


@contextlib.contextmanager
def _rounds(
    linkage: Any,
    calls: list,
    parts: dict[str, float],
    rounds: list[dict],
    aside: list[float],
    inputs: Inputs,
    truth: Path | None,
) -> Iterator[None]:
    """Each of the adults' rounds (``_Adults.round``, wrapped for the run): the people
    it scored, its pairs at or above the review threshold (its ``score`` calls, as
    :func:`_watched` keeps them), its links, its CPU and wall seconds, its CPU by part
    (what ``parts`` gained in it), and the adults' quality by the truth after it (its
    time added to ``aside``, wall then CPU)."""
    owner = linkage._Adults
    saved = owner.round

    @functools.wraps(saved)
    def measured(adults: Any, number: int) -> int:
        scored_before, parts_before = len(calls), dict(parts)
        wall, cpu = time.perf_counter(), time.process_time()
        made = saved(adults, number)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        started = time.perf_counter(), time.process_time()
        row: dict[str, Any] = {
            "round": number,
            "people": adults.people,
            "pairs_kept": sum(kept for _, _, kept in calls[scored_before:]),
            "links": made,
            "cpu_seconds": round(cpu, 2),
            "wall_seconds": round(wall, 2),
            "cpu_by_part": {
                name: round(seconds - parts_before[name], 2)
                for name, seconds in parts.items()
                if seconds - parts_before[name] >= 0.005
            },
        }
        if truth is not None:
            find = adults.run.clusters.find
            so_far = {rid: find(rid) for _, _, _, rid in inputs.where}
            row["adults_if_last"] = quality(inputs, so_far, truth).get("adults")
        rounds.append(row)
        aside[0] += time.perf_counter() - started[0]
        aside[1] += time.process_time() - started[1]
        return made

    owner.round = measured
    try:
        yield
    finally:
        owner.round = saved


# the parts of link() timed (CPU seconds, every thread's), by the names link() calls
PARTS = {
    "score": "Splink, both models (training, scoring)",
    "people_frame": "the people model's frame",
    "surroundings": "surroundings (every round)",
    "adults_frame": "the adults' frames (every round)",
    "freshen": "the adults' rows hashed (every round)",
    "coded": "the adults' lists numbered (every round)",
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
_TABLES = "splink.internals.linker_components.table_management:LinkerTableManagement"
_MISC = "splink.internals.linker_components.misc:LinkerMisc"
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
    (_TABLES, "compute_tf_table", "term-frequency tables"),
    (_MISC, "save_model_to_json", "the model as JSON"),
    ("loaders.linkage.model", "_train", "training's own work"),
    ("loaders.linkage.model", "_score", _REST),
)


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


@contextlib.contextmanager
def _first_round_shares(
    linkage: Any, labels: dict[str, str], out: list, aside: list[float]
) -> Iterator[None]:
    """At the adults' first round's scoring (``_Adults.round`` and ``score``, wrapped for
    the run), each person of its frame labelled by the truth (:func:`_row_truth`) and
    the levels' shares among its true pairs (:func:`level_shares`) put in ``out``; the
    time it takes added to ``aside`` (wall then CPU)."""
    owner, saved_round, saved_score = linkage._Adults, linkage._Adults.round, linkage.score
    current: list = []

    @functools.wraps(saved_round)
    def round_(adults: Any, number: int) -> int:
        current.append((adults, number))
        try:
            return saved_round(adults, number)
        finally:
            current.pop()

    @functools.wraps(saved_score)
    def score_(model: Any, frame: Any, **kwargs: Any) -> Any:
        if current and current[-1][1] == 1 and not out:
            wall, cpu = time.perf_counter(), time.process_time()
            truth = _row_truth(frame["unique_id"].to_pylist(), current[-1][0].run.clusters, labels)
            out.append(level_shares(model, frame, truth))
            aside[0] += time.perf_counter() - wall
            aside[1] += time.process_time() - cpu
        return saved_score(model, frame, **kwargs)

    owner.round, linkage.score = round_, score_
    try:
        yield
    finally:
        owner.round, linkage.score = saved_round, saved_score


def _row_truth(roots: list[str], clusters: Any, labels: dict[str, str]) -> list[str | None]:
    """Each person's true person (``roots``: their roots in ``clusters``): the one true
    person of all their labelled records, None where they have none or several."""
    found: dict[str, set[str]] = {}
    for rid, label in labels.items():
        if rid in clusters.parent:
            found.setdefault(clusters.find(rid), set()).add(label)
    return [next(iter(f)) if len(f := found.get(root, ())) == 1 else None for root in roots]


def level_shares(model: Any, frame: Any, truth: list[str | None]) -> dict:
    """For each of ``model``'s comparisons, how many pairs of ``frame``'s rows of one
    person by ``truth`` (a row's true person, or None) land at each level, among the
    pairs the model's blocking reaches (each rule with the truth's equality added, so
    only those pairs are made): the level's m as the truth has it, beside the m the
    model declares. Pairs at a comparison's null level are not counted for it."""
    import pyarrow as pa
    from splink import Linker
    from splink.blocking_rule_library import CustomRule

    from loaders.linkage import backend as engines
    from loaders.linkage.model import _has_values, _settings

    usable = [c for c in model.comparisons if any(_has_values(frame, col) for col in c.columns)]
    framed = frame.append_column("truth_", pa.array(truth, pa.string()))
    rules = [
        CustomRule(
            f"({rule.sql_condition}) AND l.truth_ = r.truth_",
            arrays_to_explode=rule._arrays_to_explode,
        )
        for rule in model.blocking()
    ]
    with engines.opened(None, "duckdb") as engine:
        settings = _settings(model, usable, False, frame.num_rows, None)
        settings.blocking_rules_to_generate_predictions = rules
        linker = Linker(engine.register(framed), settings)
        gammas = [f"gamma_{c.name}" for c in usable]
        got = engine.fetch(linker.inference.predict(), ["unique_id_l", *gammas])
    comparisons = []
    for c in usable:
        counts = Counter(int(g) for g in got[f"gamma_{c.name}"])
        top = len(c.levels) - 1
        levels = [(lv.label, lv.m, counts.get(top - i, 0)) for i, lv in enumerate(c.levels)]
        comparisons.append((c.name, sum(n for _, _, n in levels), levels))
    return {"pairs": len(got["unique_id_l"]), "comparisons": comparisons}


def _adult_labels(inputs: Inputs, truth: Path) -> dict[str, str]:
    """Each adult record's true person (record uid -> person id), by the truth."""
    from loaders.quality import groups_beside, labels_from_csv

    if not truth.exists():
        return {}
    labels, groups = labels_from_csv(truth), groups_beside(truth)
    out = {}
    for f, row, who, rid in inputs.where:
        label = labels.get((f, row, who))
        if label is not None and groups.get(label) == "adults":
            out[rid] = label
    return out


@contextlib.contextmanager
def wrong_by_join(
    linkage: Any, labels: dict[str, str], joins: dict[str, Counter]
) -> Iterator[None]:
    """Count, at each join of two people, the adults' record pairs it made that are two
    true people (``joins["false"]``) and one (``joins["true"]``), by the step joining:
    identical records, identifiers, the people pass, an adults' round (with the household
    level of the pair that made the join). The pair is the first of the scored pairs, in
    the order the run links them, whose two people are the two joined."""
    from loaders.linkage.clusters import Clusters

    counts: dict[str, Counter] = {rid: Counter((label,)) for rid, label in labels.items()}
    step = {"name": "identical records or a reviewer", "scored": None, "order": [], "at": 0}
    saved_join, saved_grouped, saved_det, saved_apply = (
        Clusters.join,
        Clusters._grouped,
        linkage._Run.deterministic,
        linkage._Run.apply,
    )
    adults_calls = [0]

    def join(clusters: Any, ra: str, rb: str) -> None:
        a, b = counts.get(ra), counts.get(rb)
        how = step["name"]
        scored = step["scored"]
        if scored is not None:
            find, order = clusters.find, step["order"]
            while step["at"] < len(order):
                i = order[step["at"]]
                step["at"] += 1
                if {find(scored.left[i]), find(scored.right[i])} == {ra, rb}:
                    level = scored.levels.get("household")
                    if level is not None:
                        how = f"{how}: {level[i]}"
                    break
        saved_join(clusters, ra, rb)
        if a and b:
            same = sum(n * b[label] for label, n in a.items())
            every = sum(a.values()) * sum(b.values())
            joins["false"][how] += every - same
            joins["true"][how] += same
        if a or b:
            merged = (a or Counter()) + (b or Counter())
            counts.pop(ra, None)
            counts.pop(rb, None)
            counts[clusters.find(ra)] = merged

    def grouped(clusters: Any, *args: Any) -> None:
        """Identical records made one as the clusters are built, not by join: each
        group's pairs counted at once (the joins one at a time would count them all)."""
        saved_grouped(clusters, *args)
        members: dict[str, list[Counter]] = {}
        for rid in list(counts):
            root = clusters.parent.get(rid)
            if root is not None and root != rid:
                members.setdefault(root, []).append(counts.pop(rid))
        for root, found in members.items():
            merged = sum(found, counts.pop(root, Counter()))
            held = sum(merged.values())
            if held > 1:
                same = sum(n * (n - 1) // 2 for n in merged.values())
                joins["false"][step["name"]] += held * (held - 1) // 2 - same
                joins["true"][step["name"]] += same
            counts[root] = merged

    def deterministic(run: Any, reps: list) -> None:
        step["name"] = "identifiers"
        try:
            saved_det(run, reps)
        finally:
            step["name"] = "identical records or a reviewer"

    def apply(run: Any, scored: Any, around: Any = None) -> int:
        if around is None:
            name = "people"
        else:
            adults_calls[0] += 1
            name = f"adults {adults_calls[0]}"
        order, _ = linkage._likeliest_first(scored, run.match_threshold)
        step.update(name=name, scored=scored, order=order, at=0)
        try:
            return saved_apply(run, scored, around)
        finally:
            step.update(name="identical records or a reviewer", scored=None, order=[], at=0)

    Clusters.join = join  # type: ignore[method-assign]
    Clusters._grouped = grouped  # type: ignore[method-assign]
    linkage._Run.deterministic = deterministic
    linkage._Run.apply = apply
    try:
        yield
    finally:
        Clusters.join = saved_join  # type: ignore[method-assign]
        Clusters._grouped = saved_grouped  # type: ignore[method-assign]
        linkage._Run.deterministic = saved_det
        linkage._Run.apply = saved_apply


def missed(
    inputs: Inputs, cluster_of: dict[str, str], labels: dict[str, str], review: list = ()
) -> dict:
    """The adults' true pairs left in two people, by the shape of the two: each side's
    sources (the extract's folder, "/parent" for a parent named on a row), whether a
    side has no birth date, whether the two share a family name, an address, a child
    (a child's person their records name them against), and whether ``review`` (the
    run's queue) holds a pair of theirs. Pairs of identity records, each counted once
    however many rows name it (precision and recall count rows: a few more pairs);
    the people pairs too."""
    from loaders.linkage.identity import plain

    by_rid = {r.rid: r for r in inputs.found}
    source = {
        rid: f.split("/")[0] + ("/parent" if who == "parent" else "")
        for f, _, who, rid in inputs.where
    }
    kids: dict[str, set[str]] = {}  # record -> its children's people
    parents: dict[str, set[str]] = {}  # a child's person -> its parents' people
    for e in inputs.context.edges:
        child, parent = cluster_of.get(e.child), cluster_of.get(e.parent)
        if child is not None:
            kids.setdefault(e.parent, set()).add(child)
            if parent is not None:
                parents.setdefault(child, set()).add(parent)
    people: dict[str, dict[str, Any]] = {}  # a person with adults' records: what it holds
    split: dict[str, Counter] = {}  # true person -> its records' people, counted
    for rid, label in labels.items():
        person = cluster_of.get(rid)
        if person is None:
            continue
        split.setdefault(label, Counter())[person] += 1
        held = people.setdefault(
            person,
            {
                "sources": set(),
                "dated": False,
                "families": set(),
                "homes": set(),
                "kids": set(),
                "names": set(),
                "stays": set(),
                "sex": set(),
                "labels": Counter(),
            },
        )
        r = by_rid.get(rid)
        held["sources"].add(source.get(rid, "?"))
        if r is not None:
            held["dated"] |= bool(r.dob)
            if r.family:
                held["families"].add(plain(r.family))
            if r.given:
                held["names"].add(f"{plain(r.given)} {plain(r.family)}")
        for t in inputs.context.homes.get(rid, ()):
            held["homes"].add(t.address)
            if t.start:
                held["stays"].add((t.address, t.start, t.end or "9999-99-99"))
        held["labels"][label] += 1
        if r is not None and r.sex:
            held["sex"].add(r.sex)
        held["kids"] |= kids.get(rid, set())
    queued = {frozenset((cluster_of.get(c.left), cluster_of.get(c.right))) for c in review}
    living: dict[str, set[str]] = {}  # address -> the people with adults' records there
    for person, held in people.items():
        for home in held["homes"]:
            living.setdefault(home, set()).add(person)

    def co_parent(p: str, q: str) -> bool:
        """A parent (of any kind) of a child ``p`` is named for, not ``p`` or ``q``, at an
        address of ``q``'s, or someone of its name at one (any dates)."""
        others = {x for c in people[p]["kids"] for x in parents.get(c, ())} - {p, q}
        if not others:
            return False
        homes = people[q]["homes"]
        if any(people.get(x, {}).get("homes", set()) & homes for x in others):
            return True
        named = set().union(*(people.get(x, {}).get("names", set()) for x in others))
        there = set().union(*(living.get(h, set()) for h in homes)) - {p, q}
        return any(people[x]["names"] & named for x in there)

    reach = 0
    shapes: Counter = Counter()
    features: Counter = Counter()
    sides: Counter = Counter()
    people_pairs = 0
    for found in split.values():
        for (p, n), (q, m) in combinations(sorted(found.items()), 2):
            a, b = people[p], people[q]
            weight = n * m
            people_pairs += 1
            dated = ("both dated", "one undated", "both undated")[
                (not a["dated"]) + (not b["dated"])
            ]
            shape = (
                dated,
                "same surname" if a["families"] & b["families"] else "other surname",
                "shared address" if a["homes"] & b["homes"] else "no shared address",
                "shared child" if a["kids"] & b["kids"] else "no shared child",
                "to review" if frozenset((p, q)) in queued else "not to review",
            )
            shapes[" | ".join(shape)] += weight
            for feature in shape:
                features[feature] += weight
            if "no shared address" in shape and "no shared child" in shape:
                features["no address and no child in common"] += weight
            if {"council_tax"} in (a["sources"], b["sources"]):
                features["a council tax account alone on one side"] += weight
            if co_parent(p, q) or co_parent(q, p):
                reach += weight
            one, other = sorted(("+".join(sorted(a["sources"])), "+".join(sorted(b["sources"]))))
            sides[f"{one}  ~  {other}"] += weight
    return {
        "missed_pairs": sum(shapes.values()),
        "missed_people_pairs": people_pairs,
        "by_feature": features.most_common(),
        "by_shape": shapes.most_common(),
        "by_sources": sides.most_common(25),
        "co_parent_reach": reach,
        "accounts_by_name": _namesakes(people),
        "by_evidence": by_evidence(inputs, cluster_of, labels),
    }


def _namesakes(people: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Of the pairs of people (as :func:`missed` holds them) each only council tax
    accounts, under one full name, of one sex, with dated stays never at two addresses
    at once: how many are one true person and how many two (each by its records' most
    common person): what the name alone would join."""
    by_name: dict[str, list[str]] = {}
    for person, held in people.items():
        if held["sources"] == {"council_tax"} and held["stays"]:
            for name in held["names"]:
                by_name.setdefault(name, []).append(person)
    counted = {"one person": 0, "two people": 0}
    seen: set[tuple[str, str]] = set()
    for group in by_name.values():
        for p, q in combinations(sorted(group), 2):
            a, b = people[p], people[q]
            if (p, q) in seen or (a["sex"] and b["sex"] and not a["sex"] & b["sex"]):
                continue
            seen.add((p, q))
            at_once = any(
                x[0] != y[0] and x[1] < y[2] and y[1] < x[2] for x in a["stays"] for y in b["stays"]
            )
            if not at_once:
                one = a["labels"].most_common(1)[0][0] == b["labels"].most_common(1)[0][0]
                counted["one person" if one else "two people"] += 1
    return counted


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
    """Pairwise precision and recall, people found, and the shares of true people split
    and merged, for everyone, children and adults, by the truth beside the extracts
    (loaders.quality, as a load's ``--truth`` measures it)."""
    from loaders.quality import groups_beside, labels_from_csv, measure_groups

    if not truth.exists():
        return {}
    assignments = [(f, row, who, cluster_of[rid]) for f, row, who, rid in inputs.where]
    measured = measure_groups(assignments, labels_from_csv(truth), groups_beside(truth))
    return {
        name: [
            round(q.precision, 4),
            round(q.recall, 4),
            q.found_people,
            round(q.split_share, 4),
            round(q.merged_share, 4),
        ]
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
    for name, (precision, recall, people, split, merged) in figures["quality"].items():
        lines.append(
            f"{name}: precision {precision:.4f}, recall {recall:.4f}, {people:,} people; "
            f"split {split:.1%}, merged {merged:.1%}"
        )
    if "rounds" in figures:
        lines += ["", *round_table(figures["rounds"])]
        for r in figures["rounds"]:
            by = r["cpu_by_part"].items()
            lines.append(
                f"round {r['round']}, CPU by part: " + "; ".join(f"{n} {s} s" for n, s in by)
            )
    if "m_from_truth" in figures:
        lines += ["", *shares_lines(figures["m_from_truth"])]
    if "missed" in figures:
        lines += ["", *missed_lines(figures["missed"])]
    return "\n".join(lines)


def shares_lines(shares: dict) -> list[str]:
    """:func:`level_shares` as lines: each level's share by the truth beside its m."""
    lines = [
        f"the adults' first round: {shares['pairs']:,} pairs of people one person by the "
        "truth reached by the blocking; each level's share of those compared (by the "
        "truth) beside the model's m"
    ]
    for name, compared, levels in shares["comparisons"]:
        total = sum(m for _, m, _ in levels)
        lines.append(f"  {name} ({compared:,} compared; m sums to {total:.4f})")
        for label, m, n in levels:
            share = n / compared if compared else 0.0
            lines.append(f"    {share:>8.4f}  m {m:<8g}  {n:>9,}  {label}")
    return lines


def missed_lines(m: dict) -> list[str]:
    """:func:`missed`'s counts, and the joins' false pairs, as lines."""
    lines = [
        f"adults' true pairs missed: {m['missed_pairs']:,} record pairs "
        f"({m['missed_people_pairs']:,} pairs of people)",
        "  by feature:",
        *(f"    {n:>10,}  {name}" for name, n in m["by_feature"]),
        "  by shape:",
        *(f"    {n:>10,}  {name}" for name, n in m["by_shape"]),
        f"  the other's co-parent (by person or name) at an address of one: "
        f"{m['co_parent_reach']:,}",
        "  pairs of people each only council tax accounts, one full name and sex, never at "
        "two addresses at once: {one person:,} one person, {two people:,} two".format_map(
            m["accounts_by_name"]
        ),
        "  by the first evidence the extracts hold for them (any dates):",
        *(f"    {n:>10,}  {name}" for name, n in m["by_evidence"]),
        "  by sources (the 25 most):",
        *(f"    {n:>10,}  {name}" for name, n in m["by_sources"]),
        "adults' false pairs made, by the join (and true pairs it made):",
    ]
    made = dict(m.get("true_pairs_by_join", []))
    for name, n in m.get("false_pairs_by_join", []):
        if n:
            lines.append(f"    {n:>10,}  ({made.get(name, 0):,} true)  {name}")
    return lines


def round_table(rounds: list[dict]) -> list[str]:
    """The adults' rounds as a Markdown table (the README's)."""
    lines = [
        "| round | people scored | pairs at or above review | links | CPU | wall "
        "| adults if last (precision / recall) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rounds:
        share = f" ({r['links'] / r['people']:.2%})" if r["people"] else ""
        last = r.get("adults_if_last")
        lines.append(
            f"| {r['round']} | {r['people']:,} | {r['pairs_kept']:,} | {r['links']:,}{share} "
            f"| {r['cpu_seconds']:.1f} s | {r['wall_seconds']:.1f} s "
            f"| {f'{last[0]:.4f} / {last[1]:.4f}' if last else '-'} |"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("county", type=Path, help="a directory of extracts (truth/ beside)")
    args.add_argument("--capture", type=Path, help="the link inputs, kept or reused")
    args.add_argument("--no-rules", action="store_true", help="skip counting pairs by rule")
    args.add_argument("--evidence", action="store_true", help="word each record's link too")
    args.add_argument("--per-round", action="store_true", help="a table of the adults' rounds")
    args.add_argument("--missed", action="store_true", help="the adults' pairs missed and wrong")
    args.add_argument(
        "--m-from-truth", action="store_true", help="the adults' levels' shares of true pairs"
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
        per_round=given.per_round,
        missing=given.missed,
        m_from_truth=given.m_from_truth,
    )
    print(show(figures))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
