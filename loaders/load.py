"""Load a directory of extracts: read -> validate -> link -> write, with a report.

The stages are separate on purpose: reading and validation never touch the graph;
linkage sees only identity fields; writing is batched MERGE on stable keys, so a
load that dies part way is finished by running it again, and a repeated load
leaves the graph as it was. Earlier reviewer decisions and earlier record-to-person
assignments are read from the graph first, so person uids stay put across loads
and a reviewer's "these are different people" is never undone by a reload.

The engine is another process and its own stages overlap ours: while linkage runs,
a writer thread writes what needs no linkage (:mod:`loaders.ahead`), and while the
builder works out the facts, it writes the people (:func:`write.write_graph`).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import gc
import os
import resource
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar

from graph import risk_facts
from graph.access.projection import write_copy
from graph.planning import forget_needs_tally
from graph.store import GraphStore
from loaders import review, write
from loaders.ahead import write_ahead
from loaders.attach import Packs
from loaders.build import (
    HELD_FIELDS,
    Builder,
    GraphRows,
    identity_role,
    person_uid,
)
from loaders.build_returns import has_return_fields
from loaders.extracts import Dropped, Extract, read_extracts
from loaders.linkage import Identity, link, linkage_inputs, plain
from loaders.linkage.clusters import RULES
from loaders.mapping import MappingError, SourceMapping, load_mappings
from loaders.packs import Pack, load_packs, recognise
from loaders.progress import Progress, Silent
from loaders.readers import ReadLimits
from loaders.report import LoadReport, save
from loaders.scoring import MODEL_FILE
from loaders.validate import Quarantined, Record
from planning.alerts import Baseline, raise_after_load
from planning.forecast import keep_after_load as keep_needs_tally
from planning.risk_facts import keep_after_load as keep_risk_factors

IGNORED_DIRS = {"truth"}
IGNORED_FILES = {"manifest.json"}
REFERENCE_ENTITIES = ("area", "school", "staff", "address")
ALERT_BASELINE = "alerts-baseline.json"  # the watched state before an unfinished load
DROPPED_EXAMPLES = 25  # dropped values the report itself lists (dropped.csv has all)
T = TypeVar("T")


@dataclass
class LoadResult:
    report: LoadReport
    quarantine: list[Quarantined]
    saved_to: Path | None
    # the source record rows the load wrote (Builder.people), for :attr:`assignments`
    source_records: list[dict] = field(repr=False)
    dropped: list[Dropped] = field(default_factory=list, repr=False)  # values dropped

    @cached_property
    def assignments(self) -> list[tuple[str, int, str, str]]:
        """(file, row, role, person uid) for every identity record: for measuring
        linkage. Worked out when asked, not during the load: 2.4 million tuples at
        county scale took 2.3 s of the interpreter while the writer needed it."""
        return [
            (r["file"], r["row"], identity_role(r["uid"]), r["person"]) for r in self.source_records
        ]


def load_directory(
    store: GraphStore,
    root: Path,
    *,
    mappings: Path | None = None,
    progress: Progress | None = None,
    as_of: dt.date | None = None,
    loads_dir: Path | None = None,
) -> LoadReport:
    """Load every extract under ``root`` that a mapping describes; return the report."""
    return run_load(
        store, root, mappings=mappings, progress=progress, as_of=as_of, loads_dir=loads_dir
    ).report


def run_load(
    store: GraphStore,
    root: Path,
    *,
    mappings: Path | None = None,
    progress: Progress | None = None,
    as_of: dt.date | None = None,
    loads_dir: Path | None = None,
    linkage_memory: str | None = None,
    read_workers: int | None = None,
    bulk: bool = True,
    keep_model: bool = True,
    read_limits: ReadLimits | None = None,
    relaxed_fsync: bool = False,
) -> LoadResult:
    """``read_workers``: processes that read and validate the files (``None``: one per
    core); ``linkage_memory``: DuckDB's memory limit for linkage; ``bulk``: let new
    nodes and relationships take the engine's bulk insertion (see ``write_graph``);
    ``keep_model``: keep the trained linkage model in ``loads_dir`` for the exchange
    API (a load of a few partner notifications trains nothing worth keeping);
    ``read_limits``: what a file or a cell may hold (see ``loaders.readers``);
    ``relaxed_fsync``: let the embedded engine flush its file once a second meanwhile,
    for every client (``GraphStore.batch_job``; ``jigsaw load`` opts in by default)."""
    with (
        one_load_at_a_time(loads_dir, progress or Silent()),
        store.batch_job(relaxed_fsync=relaxed_fsync),
        _COLLECTOR.during_load(),
    ):
        return _run_load(
            store,
            root,
            mappings=mappings,
            progress=progress,
            as_of=as_of,
            loads_dir=loads_dir,
            linkage_memory=linkage_memory,
            read_workers=read_workers,
            bulk=bulk,
            keep_model=keep_model,
            read_limits=read_limits or ReadLimits(),
        )


LOAD_LOCK = "load.lock"


@contextmanager
def one_load_at_a_time(loads_dir: Path | None, progress: Progress) -> Iterator[None]:
    """Hold the graph's load lock (a file lock beside its load reports) for a load: two
    loads at once would each link against the people the other is still writing (a
    ``jigsaw load`` and the exchange API's loading of partners' notifications both take
    it; the second waits). Nothing to hold without a reports directory."""
    if loads_dir is None:
        yield
        return
    loads_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(loads_dir / LOAD_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress.stage("waiting for another load of this graph to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _run_load(
    store: GraphStore,
    root: Path,
    *,
    mappings: Path | None,
    progress: Progress | None,
    as_of: dt.date | None,
    loads_dir: Path | None,
    linkage_memory: str | None,
    read_workers: int | None,
    bulk: bool,
    keep_model: bool,
    read_limits: ReadLimits,
) -> LoadResult:
    progress = progress or Silent()
    root = Path(root)
    if not root.is_dir():
        raise MappingError(f"{root} is not a directory of extracts")
    today = as_of or dt.date.today()
    started = dt.datetime.now().isoformat(timespec="seconds")
    report = LoadReport(directory=str(root), started_at=started, as_of=today.isoformat())
    sources = load_mappings(mappings)
    packs = load_packs()
    every = [*sources, *(m for p in packs for m in p.mappings)]
    keyed = Packs.of(every)  # loaders.attach
    timer = _Timer(report)

    # 1. read and validate
    records: list[Record] = []
    quarantine: list[Quarantined] = []
    dropped: list[Dropped] = []
    with timer("read and validate"):
        claimed = _read_all(
            root, sources, today, report, records, quarantine, progress, read_workers,
            packs=packs, dropped=dropped,
            limits=read_limits,
        )  # fmt: skip
    report.dropped_examples = [asdict(d) for d in dropped[:DROPPED_EXAMPLES]]
    report.unmapped_files = sorted(
        str(p.relative_to(root)) for p in root.rglob("*")
        if p.is_file() and p not in claimed and not _ignored(p, root)
    )  # fmt: skip

    with _WriterThread(progress) as writer:  # a failure anywhere stops it, and waits for it
        # 2. link identities, while the writer creates the new source records' nodes
        with timer("link"):
            # a row that attaches to a person another file of its return describes is no
            # identity of its own
            attached = keyed.attached(records)
            unattached = [r for r in records if r.uid not in attached]
            identities, roles, context = linkage_inputs(unattached, today)
            progress.stage("linking people", len(identities))
            store.ensure_schema()
            baseline = Baseline(loads_dir / ALERT_BASELINE if loads_dir is not None else None)
            before = baseline.take(store)  # the watched state before this load writes anything
            # kept risk factors would be wrong once the records change: forget them first
            risk_facts.clear(store)
            forget_needs_tally(store)
            loaded_at = dt.datetime.now().isoformat(timespec="seconds")
            return_sources = {m.source for m in every if has_return_fields(m.fields)}
            builder = Builder(today, keyed, attached, return_sources)  # linked() after linkage
            reference = [r for r in records if r.entity in REFERENCE_ENTITIES]
            ahead = None
            if bulk:
                ahead = writer.submit(
                    write_ahead, store, roles, builder, reference, loaded_at=loaded_at,
                    check=writer.check, seconds=report.write_seconds,
                    bulk_rows=report.bulk_written,
                )  # fmt: skip
            accepted, rejected = review.decisions(store)
            linked = link(
                identities,
                context=context,
                accepted=accepted,
                rejected=rejected,
                memory_limit=linkage_memory,
                model_path=loads_dir / MODEL_FILE if loads_dir is not None and keep_model else None,
            )
            progress.advance(len(identities))
            existing = {
                r["record"]: r["person"]
                for r in store.read(write.EXISTING_ASSIGNMENTS, max_rows=100_000_000).rows
            }
            written_records = set(existing)  # before adoption adds records not yet written
            _adopt_existing(linked.cluster_of, identities, existing, _anchors(store))
            person_of = _person_uids(linked.cluster_of, existing)
        report.identity_records = len(identities)
        # what only linking needed goes before building, where memory peaks
        del identities, existing, context
        linked.cluster_of, linked.pairs = {}, []
        report.deterministic_links = linked.deterministic_links
        report.probabilistic_links = linked.probabilistic_links
        report.relational_links = linked.relational_links
        report.linkage_notes = linked.notes
        report.links_prevented = {RULES[k]: n for k, n in linked.prevented.items()}
        report.people = len(set(person_of.values()))

        # 3. build graph rows; people are written meanwhile (write_graph's ``facts``)
        with timer("build"):
            if ahead is not None:
                ahead.result()  # the builder's reference data is done; or the writer's error
            else:
                builder.reference(reference)
            del reference
            builder.linked(person_of, linked.probability)
            builder.people(roles)
            builder.cases(records)  # new people are written with what their cases derive
            writing = writer.submit(
                write.write_graph,
                store,
                builder.rows,
                loaded_at=loaded_at,
                stage=writer.stage,
                known_records=written_records,
                seconds=report.write_seconds,
                bulk=bulk,
                bulk_rows=report.bulk_written,
                facts=writer.built,
                ahead=ahead,
            )
            for record in records:
                builder.facts(record)
            rows = builder.finish()
            rows.review_pairs, rows.review_links = review.candidate_rows(linked.review, person_of)
            writer.built.set_result(rows)
        report.review_pairs = len(rows.review_pairs)
        for record, reason in rows.unresolved:
            quarantine.append(
                Quarantined(
                    record.source,
                    record.file,
                    record.row,
                    reason,
                    {k: str(v) for k, v in record.values.items()},
                )
            )
        _account(report, records, rows.unresolved, builder.merged)
        report.relationships_refused = {
            RULES[k]: n for k, n in builder.refused_relationships.items()
        }
        source_records = rows.source_records
        # The records are graph rows now: about a third of the load's memory at county
        # scale, given back while writing adds its own (bulk insertion's ids).
        del records, roles, builder
        linked.probability = {}

        # 4. write, then raise alerts for what changed under open cases
        with timer("write"):
            report.written = writing.result()
            progress.stage("working out risk of NEET factors", None)
            with write.timed(report.write_seconds, "risk factors"):
                report.risk_factors_kept = keep_risk_factors(store, today)
            with write.timed(report.write_seconds, "needs forecast tally"):
                keep_needs_tally(store, today)
    with timer("alerts"):
        report.alerts = raise_after_load(store, before)
        baseline.done()
    with timer("pseudonymised copy"):  # what analysts query: the graph as this load left it
        progress.stage("writing the analysts' pseudonymised copy", None)
        write_copy(store, bulk=bulk)
    report.finished = True
    store.save_snapshot()  # the graph as a start reads it is faster (GraphStore.save_snapshot)
    saved = None
    if loads_dir is not None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        saved = save(report, quarantine, loads_dir / stamp, dropped)
    return LoadResult(report, quarantine, saved, source_records, dropped)


class _Stopped(Exception):
    """Raised in the writer thread when the load has stopped for another reason."""


class _WriterThread:
    """The load's one writer thread: the jobs submitted run there one after another
    (the source records ahead of linkage, then ``write_graph``). When the load fails,
    on whichever thread, the writer stops at its next batch (``check``; ``built``
    fails, for a writer waiting for the facts) and is waited for, so nothing writes
    after the load has returned."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.stopped = threading.Event()
        self.built: Future[GraphRows] = Future()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="jigsaw-write")

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self._pool.submit(fn, *args, **kwargs)

    def check(self) -> None:
        if self.stopped.is_set():
            raise _Stopped

    def tick(self, amount: int) -> None:
        self.check()
        self.progress.advance(amount)

    def stage(self, name: str, total: int) -> Callable[[int], None]:
        self.check()
        self.progress.stage(f"writing {name}", total)
        return self.tick

    def __enter__(self) -> _WriterThread:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        exc = exc_info[1]
        if exc is not None:
            self.stopped.set()
            if not self.built.done():
                self.built.set_exception(exc)
        # after a success the writer has finished: "write" waited for it
        self._pool.shutdown(wait=True)


class _CollectorPause:
    """Keep the cyclic garbage collector's full collections off a load's working set.

    A load holds millions of objects for minutes (records, identities, graph rows), and
    each full collection walks them all: 11 of them took 8.3 s of a 100,000-child load.
    So while a load runs, full collections wait for 1,000 collections of the middle
    generation instead of 10, and objects alive at the end of each file read and each
    stage are frozen (moved where collections do not look; constant time). Young
    collections go on as before, so short-lived cycles are still freed, and the load's
    own objects form no cycles: reference counting frees them as the load drops them.
    Measured at 100,000 children: 1 full collection instead of 11, 1.8 s in the
    collector instead of 10.7 s, the same peak memory. Loads running at once in one
    process (threads) share the pause; the last to finish restores the thresholds and
    unfreezes everything frozen (a process that froze objects itself would see them
    unfrozen too; ours do not). CPython 3.12's collector; 3.14's incremental one ignores
    the threshold."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._thresholds = gc.get_threshold()

    @contextmanager
    def during_load(self) -> Iterator[None]:
        with self._lock:
            if self._running == 0:
                self._thresholds = gc.get_threshold()
                gc.set_threshold(self._thresholds[0], self._thresholds[1], 1000)
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0:
                    gc.set_threshold(*self._thresholds)
                    gc.unfreeze()


_COLLECTOR = _CollectorPause()


class _Timer:
    def __init__(self, report: LoadReport) -> None:
        self.report = report

    def __call__(self, name: str) -> _Timer:
        self.name = name
        return self

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        gc.freeze()  # see _CollectorPause
        self.report.seconds[self.name] = round(time.perf_counter() - self.start, 2)
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
        self.report.peak_mb[self.name] = peak_kb // 1024


def _ignored(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    return (rel.parts[0] in IGNORED_DIRS or path.name in IGNORED_FILES
            or path.name.startswith("."))  # fmt: skip


def _read_all(
    root: Path,
    sources: list[SourceMapping],
    today: dt.date,
    report: LoadReport,
    records: list[Record],
    quarantine: list[Quarantined],
    progress: Progress,
    workers: int | None = None,
    packs: list[Pack] | None = None,
    dropped: list[Dropped] | None = None,
    limits: ReadLimits | None = None,
) -> set[Path]:
    """Read every file a mapping names, then the files of national returns that the
    packs recognise among the rest (``packs``: the shipped ones by default); each value
    dropped from a kept row goes to ``dropped``."""
    extracts: list[Extract] = []
    for mapping in sources:
        paths = sorted(p for p in root.glob(mapping.files) if p.is_file())
        report.counts(mapping.source).files = len(paths)
        extracts += [
            Extract(mapping, p, str(p.relative_to(root)), limits or ReadLimits()) for p in paths
        ]
    extracts += _pack_extracts(
        root, {e.path for e in extracts}, report, quarantine, packs, limits or ReadLimits()
    )
    progress.stage("reading and validating extracts", len(extracts) or None)
    for extract, outcome in zip(
        extracts, read_extracts(extracts, today, workers=workers), strict=True
    ):
        counts = report.counts(extract.mapping.source)
        counts.read += outcome.read
        counts.quarantined += outcome.rows_quarantined
        counts.values_dropped += outcome.values_dropped
        file = report.file(extract.relname)
        file.sources.append(extract.mapping.source)
        file.not_kept += [n for n in unheld_columns(extract.mapping) if n not in file.not_kept]
        file.read += outcome.read
        file.quarantined += outcome.rows_quarantined
        file.problem = file.problem or outcome.problem
        file.notes += outcome.notes
        records += outcome.records
        quarantine += outcome.quarantined
        if dropped is not None:
            dropped += outcome.dropped
        gc.freeze()  # see _CollectorPause
        progress.advance()
    return {e.path for e in extracts} | {root / f for f in report.files if report.files[f].refused}


def unheld_columns(mapping: SourceMapping) -> list[str]:
    """The columns a mapping reads into fields the graph does not hold: listed in the
    report as not kept, never dropped without a word."""
    return [
        f"{column}: read as {name}, which the graph does not hold"
        for column, name in mapping.mapped.items()
        if name not in HELD_FIELDS and name != mapping.person_key
    ]


def _pack_extracts(
    root: Path,
    claimed: set[Path],
    report: LoadReport,
    quarantine: list[Quarantined],
    packs: list[Pack] | None,
    limits: ReadLimits,
) -> list[Extract]:
    """The packs' reading of the files no mapping names (a workbook's sheets are files
    of their own); a file that claims a return's format but breaks it is refused with
    its reason, and the load goes on."""
    rest = sorted(
        p for p in root.rglob("*") if p.is_file() and p not in claimed and not _ignored(p, root)
    )
    found = recognise(root, rest, load_packs() if packs is None else packs)
    extracts = []
    for path, claims in found.claims.items():
        for claim in claims:
            for mapping in claim.mappings:
                relname = f"{claim.relname}#{mapping.sheet}" if mapping.sheet else claim.relname
                extracts.append(Extract(mapping, path, relname, limits))
                report.counts(mapping.source).files += 1
                file = report.file(relname)
                file.pack = claim.pack
                file.not_kept = claim.not_kept
    for relname, why in found.unread_sheets.items():
        report.file(relname).problem = f"{relname}: {why}"
        quarantine.append(Quarantined("", relname, 0, why, {}))
    report.unrecognised = found.unrecognised
    for refusal in found.refusals:
        quarantine.append(Quarantined(refusal.source, refusal.relname, refusal.line,
                                      refusal.reason, {}))  # fmt: skip
        file = report.file(refusal.relname)
        file.pack, file.refused, file.sources = refusal.pack, refusal.reason, [refusal.source]
    return extracts


def _adopt_existing(
    cluster_of: dict[str, str],
    identities: list[Identity],
    existing: dict[str, str],
    anchors: list[Identity],
) -> None:
    """New records whose person is already in the graph (from an earlier extract) join
    that person: on a checked identifier, or on exact name and date of birth. Only
    clusters none of whose records were loaded before are considered, so a reload of
    the same files never changes who is who."""
    if not anchors:
        return
    index: dict[tuple, str] = {}
    for a in anchors:
        uid = a.rid[1:]
        for name in ("upn", "nhs", "uln", "la_id"):
            if getattr(a, name):
                index.setdefault((name, getattr(a, name)), uid)
        if a.dob and a.given and a.family:
            index.setdefault(("demographic", plain(a.given), plain(a.family), a.dob), uid)
    members: dict[str, list[Identity]] = {}
    for ident in identities:
        members.setdefault(cluster_of[ident.rid], []).append(ident)
    for group in members.values():
        if any(i.rid in existing for i in group):
            continue
        found = None
        for ident in group:
            keys = [
                (n, getattr(ident, n))
                for n in ("upn", "nhs", "uln", "la_id")
                if getattr(ident, n) and ident.trusted
            ]
            if ident.dob and ident.given and ident.family:
                keys.append(("demographic", plain(ident.given), plain(ident.family), ident.dob))
            found = next((index[k] for k in keys if k in index), None)
            if found:
                break
        if found:
            for ident in group:
                existing[ident.rid] = found


def _anchors(store: GraphStore) -> list[Identity]:
    """People already in the graph, so a new extract's rows join them, not copy them."""
    anchors = []
    for row in store.read(write.EXISTING_PEOPLE, max_rows=100_000_000).rows:
        dob = row["dob"]
        anchors.append(Identity(
            rid="@" + row["uid"], given=row["given"] or "", family=row["family"] or "",
            dob=dob.isoformat() if isinstance(dob, dt.date) else "", sex=row["sex"] or "",
            postcode=row["postcode"] or "", upn=row["upn"] or "", nhs=row["nhs"] or "",
            uln=row["uln"] or "", la_id=row["la_id"] or "",
        ))  # fmt: skip
    return anchors


def _person_uids(cluster_of: dict[str, str], existing: dict[str, str]) -> dict[str, str]:
    """Keep each cluster's earlier person uid where its records already had one; a new
    person's uid comes from its least record uid (:func:`person_uid`).

    On the load's critical path with the engine idle (939,000 clusters of 2.4 million
    records at county scale), so no list of members per cluster: its least record, and
    the earlier uids of only the clusters that have any (8.1 -> 5.5 s on a first load
    of that shape, measured outside the repository)."""
    least: dict[str, str] = {}  # cluster -> its least record uid
    for rid, root in cluster_of.items():
        seen = least.get(root)
        if seen is None or rid < seen:
            least[root] = rid
    earlier: dict[str, list[str]] = {}  # cluster -> its records' person uids, in order
    if existing:
        for rid, root in cluster_of.items():
            uid = existing.get(rid)
            if uid is not None:
                earlier.setdefault(root, []).append(uid)
    uid_of: dict[str, str] = {}
    used: set[str] = set()
    for root in sorted(least):  # the order decides which cluster keeps a shared uid
        found = earlier.get(root)
        uid = None
        if found:
            uid = next((u for u, _ in Counter(found).most_common() if u not in used), None)
        uid = uid or person_uid([least[root]])
        used.add(uid)
        uid_of[root] = uid
    return {rid: uid_of[root] for rid, root in cluster_of.items()}


def _account(
    report: LoadReport,
    records: list[Record],
    unresolved: list[tuple[Record, str]],
    merged: Counter[tuple[str, str]],
) -> None:
    """loaded: created a person or a fact; merged: joined a person another row created
    (counted by the builder, which looks every person row's person up anyway);
    quarantined: a fact about nobody the load knows. Tallied by source and by file, not
    a call per record: a county's 2.7 million records took 6 s of the interpreter that
    way."""
    totals = Counter(map(attrgetter("source", "file"), records))
    quarantined = Counter((record.source, record.file) for record, _ in unresolved)
    for (source, file), total in totals.items():
        key = (source, file)
        loaded = total - quarantined[key] - merged[key]
        for counts in (report.counts(source), report.file(file)):
            counts.quarantined += quarantined[key]
            counts.merged += merged[key]
            counts.loaded += loaded
