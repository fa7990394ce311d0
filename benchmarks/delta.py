"""``python -m benchmarks.delta --children 20000``: what a night's delta holds and costs.

Generates a synthetic county (or reuses ``--county``) and the same county a week later
(``synthetic.week_later``, about 1% of rows changed), then measures:
reading and validating every file of the first week and recording what was taken in
(``loaders.intake``: its size and the time to save it); planning the second week
against that record (hashing every file); reading and validating every file of the
second week against reading only the files the plan reads. With ``--load`` it also
loads the first week into a fresh embedded engine, then the second week over it as a
delta linking every record again (as before people were kept), as a delta linking
only new or changed records, and then in full: each load's stages, the rows it wrote
and those it left as the graph held them. Each load runs in a process of its own,
attached to the engine this one started, as each night's ``jigsaw load`` is: its peak
memory is that night's, not what an earlier load left behind. Prints the figures as one
JSON line after each step.

``--second DIR`` adds the week after that (made there from the week later by
``write_week_later(WEEK, DIR, seed=2)`` unless it holds one), loaded as a second delta
after the first (``week3_delta``): a first delta after a full load reads the whole graph
for the copy, as the first copies after a full load do, and only from the third load on
does the copy read what the loads touched, so the second is a night in the steady state.

``--engine DIR`` starts from a first week already loaded (a directory ``python -m
benchmarks --stages load --engine DIR`` left, its graph ``bench`` and its load reports
in ``loads-embedded``; ``--county`` names the extracts it loaded): a copy of it and of
the ``pseudonym`` folder beside it (the key and the copies' hashes), so the delta is
measured without loading the first week again (what a first week loaded by older code
did not keep for the next load is kept from its graph first: ``keep_as_loads_do``).
``--skip`` leaves steps out
(``reading``: the reading figures; ``relink``, ``full``: those two loads).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import multiprocessing
import os
import resource
import shutil
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from graph import version
from graph.alerts import watched
from graph.engines.falkordb import FalkorDBStore
from graph.processes import cpu_seconds, descendants
from graph.store import GraphStore
from loaders import identities, kept
from loaders.intake import INTAKE_FILE, READINGS, Reading, mapped_extracts
from loaders.load import ALERT_FILES, run_load
from loaders.mapping import load_mappings
from loaders.people_kept import PEOPLE_FILE, Known
from loaders.transition_cohorts import KEPT_FILE as COHORTS_FILE
from loaders.transition_cohorts import Cohorts
from loaders.transition_cohorts import keep_after_load as keep_cohorts
from planning.alerts import Baseline
from synthetic.generate import generate
from synthetic.week_later import write_week_later
from ui.cli.collector import collector_for_load

AS_OF = dt.date(2026, 11, 2)
WEEK_LATER = AS_OF + dt.timedelta(days=7)


def timed[T](figures: dict, name: str, fn: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = fn()
    figures[name] = round(time.perf_counter() - started, 2)
    return result


def delta_then_full(
    tmp: Path,
    county: Path,
    week: Path,
    figures: dict,
    engine: Path | None = None,
    skip: frozenset[str] = frozenset(),
    second: Path | None = None,
) -> None:
    """The first week loaded into a fresh embedded engine; then the week later over a
    copy of it (the engine's own copy, with a copy of the load reports) as a delta that
    links every record again (``relink=True``, as every delta did before people were
    kept); then over the first week as a delta that links only the new or changed
    records; then again in full (``full=True``: every record linked again, the models
    trained again). Each load's time and stages. The full reload finds the week already
    loaded, as a nightly reload finds 99% of its rows. ``engine``: a first week loaded
    already, copied to start from; ``skip``: the loads to leave out; ``second``: the
    week after the week later, loaded as a delta after the first (and the full reload
    then of that week)."""
    loads = tmp / "loads"
    if engine is not None:
        shutil.copytree(
            engine,
            tmp / "graph",
            symlinks=True,
            ignore=shutil.ignore_patterns("*.lock", ".start.lock"),
        )
        # the pseudonym key and the analysts' copies' recorded hashes, beside the engine as
        # the store keeps them: without them the delta's copy would be written afresh
        if (engine.parent / "pseudonym").is_dir():
            shutil.copytree(engine.parent / "pseudonym", tmp / "pseudonym")
        loads = tmp / "graph" / "loads-embedded"
    store = _attach(tmp / "graph", "bench")
    if engine is not None:
        keep_as_loads_do(store, loads)
    try:
        if engine is None:
            load_apart(tmp / "graph", "bench", "week1", county, AS_OF, loads, figures)
        if "relink" not in skip:
            relink_first(store, tmp, week, loads, figures)
        load_apart(tmp / "graph", "bench", "week2_delta", week, WEEK_LATER, loads, figures)
        last, day = "week2", WEEK_LATER
        if second is not None:
            last, day, week = "week3", WEEK_LATER + dt.timedelta(days=7), second
            load_apart(tmp / "graph", "bench", "week3_delta", second, day, loads, figures)
        if "full" not in skip:
            load_apart(tmp / "graph", "bench", f"{last}_full", week, day, loads, figures, full=True)
    finally:
        store.close()


def keep_as_loads_do(store: GraphStore, loads: Path) -> None:
    """A graph loaded before loads kept who its records and people are, the alerts'
    watched state and transitions' cohorts: keep them now in ``loads``, from the graph,
    as that load would have (its cohorts as at its day), so a delta over it links and
    reads only what changed."""
    counts = version.kept_as(store.counts(), version.current(store))
    if not (loads / COHORTS_FILE).exists():
        cohorts: kept.Delta[Cohorts] = kept.Delta(None)
        keep_cohorts(store, AS_OF, cohorts)
        assert cohorts.after is not None
        cohorts.after.save(loads / COHORTS_FILE, counts)
    if (loads / PEOPLE_FILE).exists():
        return
    known = Known(
        identities.existing_assignments(store),
        identities.anchors(store),
        identities.linked_probabilities(store),
    )
    known.save(loads / PEOPLE_FILE, counts)
    baseline = Baseline(None, loads / ALERT_FILES[1])
    baseline.after = watched(store)
    baseline.keep(counts)


def relink_first(store: FalkorDBStore, tmp: Path, week: Path, loads: Path, figures: dict) -> None:
    """The week later over the engine's own copy of the first week, linking every
    record again (``relink=True``)."""
    store._graph.copy("bench_relink")  # the engine's own copy
    shutil.copytree(loads, tmp / "loads_relink", ignore=shutil.ignore_patterns("*.lock"))
    load_apart(
        tmp / "graph",
        "bench_relink",
        "week2_delta_relink",
        week,
        WEEK_LATER,
        tmp / "loads_relink",
        figures,
        relink=True,
    )
    again = _attach(tmp / "graph", "bench_relink")
    try:
        again.drop_all()
    finally:
        again.close()


def load_apart(
    directory: Path,
    graph: str,
    name: str,
    root: Path,
    day: dt.date,
    loads: Path,
    figures: dict,
    **options: bool,
) -> None:
    """:func:`load` in a process of its own (spawned: nothing of this one's memory),
    attached to the engine serving ``directory``, its figures added to ``figures``."""
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as apart:
        night = apart.submit(
            _night_run, directory, graph, name, root, day, loads, tracemalloc.is_tracing(), options
        )
        figures.update(night.result())
    show(figures)


def main_with(run: Callable[..., dict], argv: list[str]) -> None:
    """:func:`main` over ``argv``, each night's load run by ``run`` in the night's own
    process, with :func:`_load_alone`'s arguments (``run`` reaches that process pickled:
    a module's function, or a ``functools.partial`` of one with what it needs)."""
    global _night_run
    _night_run = run
    main(argv)


def _load_alone(
    directory: Path,
    graph: str,
    name: str,
    root: Path,
    day: dt.date,
    loads: Path,
    trace: bool,
    options: dict[str, bool],
) -> dict:
    """The load's process: its store attached to the running engine, its figures."""
    if trace:
        tracemalloc.start()
    figures: dict = {}
    store = _attach(directory, graph)
    try:
        load(store, name, root, day, loads, figures, **options)
    finally:
        store.close()
    return figures


_night_run: Callable[..., dict] = _load_alone  # what runs a night's load (main_with)


def _attach(directory: Path, graph: str) -> FalkorDBStore:
    """The embedded engine serving ``directory`` (started if none is), graph ``graph``."""
    return FalkorDBStore(graph_name=graph, directory=directory, timeout_ms=60_000, max_rows=5_000)


def load(
    store: FalkorDBStore,
    name: str,
    root: Path,
    day: dt.date,
    loads: Path,
    figures: dict,
    **options: bool,
) -> None:
    """One load of ``root`` into ``store``, its figures under ``name``; with the
    collector's settings ``jigsaw load`` runs with (ui.cli.collector), as
    benchmarks.stages loads: without them Python's full collections walked every
    object the load holds, a large share of the build's and the copy's CPU."""
    started = time.perf_counter()
    cpu = StageCPU(store.server_pid())
    memory = StageMemory()
    try:
        with collector_for_load() as collect:

            def after_stage(stage: str) -> None:
                collect(stage)
                cpu.stage(stage)
                memory.stage(stage)

            report = run_load(
                store, root, as_of=day, loads_dir=loads, after_stage=after_stage, **options
            ).report
    finally:
        memory.stop()
    figures[f"{name}_s"] = round(time.perf_counter() - started, 1)
    figures[f"{name}_cpu_s"] = cpu.seconds  # stage -> [this process, children, engine]
    figures[f"{name}_memory_mb"] = memory.mb  # stage -> [its peak RSS, RSS at its end]
    if memory.held:  # with --trace: what Python held by each stage's end, by line
        figures[f"{name}_traced_mb"] = memory.traced
        figures[f"{name}_held_mb"] = memory.held
    figures[f"{name}_stages_s"] = report.seconds
    figures[f"{name}_steps_s"] = report.write_seconds  # wall seconds of each write step
    figures[f"{name}_peak_mb"] = max(report.peak_mb.values())
    figures[f"{name}_rows_written"] = sum(report.written.values())
    figures[f"{name}_rows_unchanged"] = sum(report.rows_unchanged.values())
    figures[f"{name}_wrote_every_row"] = report.wrote_every_row
    figures[f"{name}_records_linked"] = report.records_linked
    figures[f"{name}_risk_worked_out"] = report.risk_factors_worked_out  # None: every pupil
    figures[f"{name}_risk_written"] = report.risk_factors_written  # None: every pupil
    figures[f"{name}_needs_counted"] = report.needs_tally_counted  # None: every child
    figures[f"{name}_caseload_counted"] = report.caseload_tally_counted  # None: every case
    figures[f"{name}_cohorts_read"] = report.cohort_children_read  # None: every child
    figures[f"{name}_over_everything"] = report.over_everything  # and why (a delta's)
    figures[f"{name}_identity_records"] = report.identity_records
    figures[f"{name}_people"] = report.people
    show(figures)


class StageCPU:
    """CPU seconds each stage took, of this process (every thread), of its child
    processes (the readers) and of the engine's server (``engine``, its process id): on
    a machine others share, a stage's wall time says more about them than about it."""

    def __init__(self, engine: int | None = None) -> None:
        self.engine = engine
        self.seconds: dict[str, list[float]] = {}
        self.last = self.now()

    def now(self) -> tuple[float, ...]:
        gone = resource.getrusage(resource.RUSAGE_CHILDREN)  # those ended and waited for
        children = gone.ru_utime + gone.ru_stime
        for pid in descendants(os.getpid(), self.engine):
            # with what its own ended children took: the readers run under
            # multiprocessing's fork server, whose children they are
            children += cpu_seconds(pid, waited=True) or 0.0
        engine = cpu_seconds(self.engine) if self.engine else None
        return time.process_time(), children, engine or 0.0

    def stage(self, name: str) -> None:
        now = self.now()
        self.seconds[name] = [round(a - b, 1) for a, b in zip(now, self.last, strict=True)]
        self.last = now


class StageMemory:
    """This process's resident memory in each stage: its peak (sampled ten times a
    second; ru_maxrss is the whole run's) and what is left at its end. Under
    tracemalloc (``--trace``) also Python's own allocations: their peak in the stage,
    those still held at its end, and the lines that allocated the most of those."""

    TOP = 15  # lines listed a stage

    def __init__(self) -> None:
        self.mb: dict[str, list[int]] = {}
        self.traced: dict[str, list[int]] = {}
        self.held: dict[str, list[str]] = {}
        self.peak = self.rss()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        if tracemalloc.is_tracing():
            tracemalloc.reset_peak()

    @staticmethod
    def rss() -> int:
        """Resident MB now (VmRSS)."""
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
        return 0

    def _sample(self) -> None:
        while not self._done.wait(0.1):
            now = self.rss()
            with self._lock:
                self.peak = max(self.peak, now)

    def stage(self, name: str) -> None:
        now = self.rss()
        with self._lock:
            self.mb[name] = [max(self.peak, now), now]
            self.peak = now
        if not tracemalloc.is_tracing():
            return
        current, peak = tracemalloc.get_traced_memory()
        self.traced[name] = [peak >> 20, current >> 20]
        stats = tracemalloc.take_snapshot().statistics("lineno")[: self.TOP]
        self.held[name] = [
            f"{s.traceback[0].filename.rpartition('/')[2]}:{s.traceback[0].lineno} "
            f"{s.size >> 20} ({s.count:,})"
            for s in stats
        ]
        tracemalloc.reset_peak()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def show(figures: dict) -> None:
    """The figures so far, one JSON line (a run stopped part way keeps what it had)."""
    print(json.dumps(figures), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.delta")
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--county", type=Path, default=None, help="extracts to reuse")
    parser.add_argument("--load", action="store_true", help="also time delta and full loads")
    parser.add_argument(
        "--engine",
        type=Path,
        default=None,
        help="a first week loaded already (by benchmarks --stages load --engine): copied, "
        "the delta loaded over the copy (implies --load)",
    )
    parser.add_argument(
        "--skip", default="", help="steps to leave out, comma-separated: reading, relink, full"
    )
    parser.add_argument("--week", type=Path, default=None, help="the week later, to reuse")
    parser.add_argument(
        "--second",
        type=Path,
        default=None,
        help="the week after the week later (made there unless it holds one), loaded as a "
        "second delta after the first",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="trace Python's allocations (tracemalloc): each stage's peak, what is held at "
        "its end and the lines holding most (slower: for where memory goes, not time)",
    )
    args = parser.parse_args(argv)
    if args.trace:
        tracemalloc.start()
    skip = frozenset(filter(None, args.skip.split(",")))
    figures: dict = {"children": args.children}
    with tempfile.TemporaryDirectory(prefix="jigsaw-delta-") as tmp:
        county = args.county or Path(tmp) / "county"
        if args.county is None:
            generate(args.children, 7, county, as_of=AS_OF)
        week = args.week or Path(tmp) / "week"
        if args.week is None or not (week / "week_later.json").exists():
            write_week_later(county, week, seed=1)
        summary = json.loads((week / "week_later.json").read_text())
        figures["rows_changed"] = summary["rows_changed"]
        second = args.second
        if second is not None:
            if not (second / "week_later.json").exists():
                write_week_later(week, second, seed=2)
            later = json.loads((second / "week_later.json").read_text())
            figures["rows_changed_week3"] = later["rows_changed"]
        if "reading" not in skip:
            reading_figures(county, week, Path(tmp), figures)
        if args.load or args.engine is not None:
            delta_then_full(Path(tmp), county, week, figures, args.engine, skip, second)
    show(figures)


def reading_figures(county: Path, week: Path, tmp: Path, figures: dict) -> None:
    """Reading every file of each week through the intake, and only what changed."""
    sources = load_mappings(None)
    loads = tmp / "intake"
    first = mapped_extracts(county, sources)
    reading = Reading(loads, AS_OF)
    timed(figures, "read_all_week1_s", lambda: list(reading.outcomes(first)))
    timed(figures, "intake_save_s", reading.save)
    figures["intake_bytes"] = (loads / INTAKE_FILE).stat().st_size
    figures["readings_bytes"] = sum(p.stat().st_size for p in (loads / READINGS).iterdir())
    figures["intake_rows"] = sum(len(f.rows) for f in reading.after.files.values())
    second = mapped_extracts(week, sources)
    full = Reading(tmp / "none", WEEK_LATER)
    timed(figures, "read_all_week2_s", lambda: list(full.outcomes(second)))
    delta = Reading(loads, WEEK_LATER)
    timed(figures, "read_delta_s", lambda: list(delta.outcomes(second)))
    figures["files_skipped"] = len(delta.plan.skipped)
    figures["files_read"] = len(delta.plan.read)
    counts = delta.tally().values()
    figures["rows_added"] = sum(c.added for c in counts)
    figures["rows_changed_found"] = sum(c.changed for c in counts)
    figures["rows_removed"] = sum(c.removed for c in counts)
    figures["rows_of_files_read"] = sum(c.unchanged + c.added + c.changed for c in counts)
    show(figures)


if __name__ == "__main__":
    main()
