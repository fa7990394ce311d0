"""Load a directory of extracts as a pipeline of named stages, with a report.

read and validate -> link -> build -> write -> derive -> alerts. Each stage is a
function of the :class:`Load` it is given: it reads what earlier stages left there
and leaves what it says for the next. Reading and validation never touch the graph;
linkage sees only identity fields; writing MERGEs on stable keys, so a load that dies
part way is finished by running it again, and a repeated load leaves the graph as it
was. Earlier reviewer decisions and record-to-person assignments are read first, so
person uids stay put across loads and a reviewer's "different people" is never undone;
a delta load links only the records the graph does not hold yet against those people
(:mod:`loaders.people_kept`).

The engine is another process, so writing overlaps the stages before it: a writer
thread writes the reference data (and, in bulk, the new source records' nodes) while
linkage runs, the people while the builder works out the facts, and the caseload map's
tally while the analysts' copy is written; a load that writes every row hashes them for
the next load once they are written, while the engine works (``Unchanged.record``). A
new stage is a function and a line in :data:`STAGES`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from functools import cached_property, partial
from operator import attrgetter
from pathlib import Path
from typing import Any

from graph import alerts as store_alerts
from graph import review_queue, risk_facts, version
from graph.access.projection import Written, write_copy
from graph.planning import forget_kept_tallies
from graph.store import GraphStore
from loaders import derive, identities, review
from loaders.attach import Packs
from loaders.build import Builder, GraphRows, identity_role
from loaders.build_returns import has_return_fields
from loaders.bulk_steps import BulkWrites
from loaders.caseload_kept import KEPT_FILE as CASELOAD_FILE
from loaders.caseload_kept import VERSION as CASELOAD_VERSION
from loaders.caseload_kept import CaseParts, touched_cases
from loaders.caseload_kept import keep_after_load as keep_caseload_tally
from loaders.extracts import Dropped
from loaders.intake import Reading
from loaders.kept import Delta as KeptDelta
from loaders.kept import keep as keep_file
from loaders.kept import set_aside
from loaders.linkage import LinkResult, link, linkage_inputs
from loaders.linkage.clusters import RULES
from loaders.mapping import MappingError, SourceMapping, load_mappings
from loaders.needs_kept import KEPT_FILE as NEEDS_FILE
from loaders.needs_kept import VERSION as NEEDS_VERSION
from loaders.needs_kept import NeedsParts, touched_children
from loaders.needs_kept import keep_after_load as keep_needs_tally
from loaders.packs import Pack, load_packs
from loaders.people_kept import MODELS_FILE, KeptPeople, Known, linked_probability, people_file
from loaders.progress import Progress, Silent
from loaders.readers import ReadLimits
from loaders.reading import ignored, read_all
from loaders.report import LoadReport, save
from loaders.risk_factors import Delta as RiskDelta
from loaders.risk_factors import keep_after_load as keep_risk_factors
from loaders.risk_factors import touched_pupils
from loaders.risk_kept import KEPT_FILE as RISK_FILE
from loaders.risk_kept import VERSION as RISK_VERSION
from loaders.risk_kept import RiskKept
from loaders.scoring import MODEL_FILE
from loaders.transition_cohorts import KEPT_FILE as COHORTS_FILE
from loaders.transition_cohorts import VERSION as COHORTS_VERSION
from loaders.transition_cohorts import Cohorts
from loaders.transition_cohorts import keep_after_load as keep_cohorts
from loaders.transition_cohorts import touched_children as touched_cohorts
from loaders.unchanged import MEMORY_FILE, Touched, Unchanged, shared_labels
from loaders.validate import Quarantined, Record
from loaders.write import PLAN, RECORDED_AFTER, Stopped, WriterThread, Writes, timed
from planning.alerts import Baseline, raise_after_load

REFERENCE_ENTITIES = ("area", "school", "staff", "address")
ALERT_BASELINE = "alerts-baseline.json"  # the watched state before an unfinished load
ALERT_FILES = (ALERT_BASELINE, "alerts-watched.json")  # that, and the state after the last
DROPPED_EXAMPLES = 25  # dropped values the report itself lists (dropped.csv has all)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadOptions:
    """How a load runs: ``run_load(store, root, **options)``."""

    mappings: Path | None = None  # a directory of source mappings (default: shipped)
    progress: Progress | None = None  # where the stages report progress (default: nowhere)
    as_of: dt.date | None = None  # the load's day (default: today)
    loads_dir: Path | None = None  # reports, quarantine, alert baseline, linkage model
    linkage_memory: str | None = None  # DuckDB's memory limit for linkage
    read_workers: int | None = None  # processes reading the files (None: one per core)
    read_limits: ReadLimits = field(default_factory=ReadLimits)  # what a file may hold
    bulk: bool = True  # new nodes and relationships by the engine's bulk insertion
    keep_model: bool = True  # keep the trained linkage model (the exchange API's)
    relaxed_fsync: bool = False  # the embedded engine flushes once a second meanwhile
    full: bool = False  # read every file, even those earlier loads took in as they are
    # link every record again, the models trained again (None: when ``full``); else
    # only new or changed records are linked, against the people already there
    relink: bool | None = None
    after_stage: Callable[[str], None] | None = None  # called as each stage ends


@dataclass
class Load:
    """A load under way: what it was asked, and what each stage leaves for the next."""

    store: GraphStore
    root: Path
    options: LoadOptions
    sources: list[SourceMapping]
    packs: list[Pack]
    today: dt.date
    report: LoadReport
    writer: WriterThread
    loaded_at: str = ""
    stamped: str = ""  # the graph's version stamp as this load began writing
    # read: the records that passed validation, the rows that did not, values dropped
    records: list[Record] = field(default_factory=list)
    quarantine: list[Quarantined] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    reading: Reading | None = None  # what earlier loads took in, and this one takes
    unchanged: Unchanged | None = None  # what the last load wrote, and this one writes
    kept: KeptPeople | None = None  # the people and models this load links against
    known: Known | None = None  # who the graph's records and people are, after this load
    known_kept: bytes = b""  # build: that, packed to be kept (Known.packed)

    @property
    def progress(self) -> Progress:
        return self.writer.progress

    # link: each identity record's (record, role), who it is, and the writer's strategy
    roles: list[tuple[Record, str]] = field(default_factory=list)
    person_of: dict[str, str] = field(default_factory=dict)
    linked: LinkResult | None = None
    builder: Builder | None = None
    writes: Writes | None = None
    baseline: Baseline | None = None  # the alerts' watched state before (on disk)
    # build: the rows written (the facts part is the writer's, through writer.built),
    # let go of in the derive stage (none after it), but their source records, kept for
    # the load's result
    rows: GraphRows | None = None
    source_records: list[dict] | None = None
    writing: Future[None] | None = None
    # write: what the load changed (loaders.unchanged.Touched), for the stages after it
    # to work from; None when not known (a full load): they go over the whole graph
    touched: Touched | None = None
    tallying: Future[int] | None = None  # derive: the caseload map's tally, kept meanwhile
    # link: the graph's counts and version stamp before this load writes, which what
    # the last load kept is taken against (graph.version.kept_as), and the files of its
    # risk of NEET answers and tallies' parts set aside by name (loaders.kept.set_aside);
    # derive: those taken (None: none trusted), and this load's, packed for the next by
    # file name with their version (kept.packed)
    kept_as: dict[str, Any] = field(default_factory=dict)
    aside: dict[str, Path | None] = field(default_factory=dict)
    risk: RiskDelta | None = None
    needs: KeptDelta[NeedsParts] | None = None
    caseload: KeptDelta[CaseParts] | None = None
    cohorts: KeptDelta[Cohorts] | None = None
    after: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    recording: Future[None] | None = None  # write: the rows' hashes, for the next load


def read(load: Load) -> None:
    """-> ``records``, ``quarantine``, ``dropped``; the report's counts by source and by
    file, and its unmapped files."""
    options = load.options
    load.reading = Reading(options.loads_dir, load.today, full=options.full)
    claimed = read_all(
        load.root,
        load.sources,
        load.today,
        load.report,
        load.records,
        load.quarantine,
        load.progress,
        options.read_workers,
        packs=load.packs,
        dropped=load.dropped,
        limits=options.read_limits,
        reading=load.reading,
    )
    load.report.delta = not load.reading.full
    load.report.since_last = {n: asdict(c) for n, c in load.reading.tally().items()}
    load.reading.pack()  # the record made now (each file's row hashes are beside its reading)
    load.report.unmapped_files = sorted(
        str(p.relative_to(load.root))
        for p in load.root.rglob("*")
        if p.is_file() and p not in claimed and not ignored(p, load.root)
    )


def link_stage(load: Load) -> None:
    """``records`` -> ``roles``, ``person_of``, ``linked``, ``builder`` (with its
    reference data), ``writes``. Meanwhile the writer writes the reference data and
    what it can of the source records."""
    store, report, options = load.store, load.report, load.options
    # a row that attaches to a person another file of its return describes (through
    # the keyed records of loaders.attach) is no identity of its own
    every = [*load.sources, *(m for p in load.packs for m in p.mappings)]
    keyed = Packs.of(every)
    attached = keyed.attached(load.records)
    unattached = [r for r in load.records if r.uid not in attached]
    found, load.roles, context = linkage_inputs(unattached, load.today)
    load.progress.stage("linking people", len(found))
    store.ensure_schema()
    loads_dir = options.loads_dir
    memory = loads_dir / MEMORY_FILE if loads_dir is not None else None
    # the graph marked as being loaded before what the last load kept is read: review
    # merges wait until its end (graph.review_queue), none falls between the two
    load.stamped, before = version.begin_loading(store)
    kept_as = version.kept_as(store.counts(), before)
    load.unchanged = Unchanged.take(memory, shared_labels(PLAN), kept_as, options.full)
    known = Known.take(people_file(loads_dir), kept_as)  # else read from the graph below
    report.wrote_every_row = load.unchanged.reason
    if load.reading is not None and not load.reading.full:
        report.over_everything = list(OVER_EVERYTHING)
    load.baseline = Baseline(*(loads_dir / n if loads_dir else None for n in ALERT_FILES))
    # the watched state before anything is written (kept by the last load, or read)
    load.baseline.take(store, kept_as)
    # what else the last load kept, taken where it is used (derive_stage)
    load.kept_as = kept_as
    for name in (RISK_FILE, NEEDS_FILE, CASELOAD_FILE, COHORTS_FILE):
        load.aside[name] = set_aside(loads_dir / name if loads_dir is not None else None)
    # before anything is written: what was kept is not the graph now
    risk_facts.clear(store)  # kept risk factors are wrong once the records change
    forget_kept_tallies(store)  # so are the needs forecast's and caseload map's tallies
    load.loaded_at = dt.datetime.now().isoformat(timespec="seconds")
    return_sources = {m.source for m in every if has_return_fields(m.fields)}
    load.builder = Builder(load.today, keyed, attached, return_sources)
    load.writes = writes = _strategy(load)
    reference = [r for r in load.records if r.entity in REFERENCE_ENTITIES]
    ahead = load.writer.submit(_write_ahead, writes, load.builder, reference, load.roles)
    accepted, rejected = review_queue.decisions(store)
    keep_model = loads_dir is not None and options.keep_model
    existing = known.assignments if known else identities.existing_assignments(store)
    relink = options.full if options.relink is None else options.relink
    kept = KeptPeople.take(loads_dir / MODELS_FILE if loads_dir else None, relink, existing)
    load.kept = kept
    linked = link(
        found,
        context=context,
        accepted=accepted,
        rejected=rejected,
        memory_limit=options.linkage_memory,
        model_path=loads_dir / MODEL_FILE if keep_model else None,
        kept=kept.people(existing),
        models=kept.models,
        evidence=False,  # each record's link in words: kept nowhere (the review's are)
    )
    load.progress.advance(len(found))
    report.relinked = kept.reason
    report.records_linked = (
        len(found) if kept.reason else sum(1 for i in found if i.rid not in existing)
    )
    anchors = known.anchors if known else identities.anchors(store)
    identities.adopt_existing(linked.cluster_of, found, existing, anchors)
    load.person_of = identities.person_uids(linked.cluster_of, existing)
    # a record whose links this load did not weigh keeps the probability the graph holds
    before = known.probability if known else None
    if before is None:
        before = identities.linked_probabilities(store)
    linked.probability = linked_probability(
        linked.probability, before, load.person_of if kept.reason else ()
    )
    load.known = Known.after(existing, anchors, load.person_of, linked.probability)
    report.identity_records = len(found)
    report.deterministic_links = linked.deterministic_links
    report.probabilistic_links = linked.probabilistic_links
    report.relational_links = linked.relational_links
    report.linkage_notes = linked.notes
    report.links_prevented = {RULES[k]: n for k, n in linked.prevented.items()}
    report.people = len(set(load.person_of.values()))
    linked.cluster_of, linked.pairs = {}, []  # memory peaks in the build: keep only the rest
    load.linked = linked
    ahead.result()  # the builder's reference data is done; or the writer's error


def _strategy(load: Load) -> Writes:
    """Bulk insertion where the engine adapter offers it (and the load allows it), else
    MERGE; after a load that stopped part way in bulk, MERGE finishes its dates first."""
    store, report = load.store, load.report
    bulk = store.bulk_writer()
    kind = BulkWrites if bulk is not None and load.options.bulk else Writes
    if kind is Writes and not (bulk is not None and store.bulk_load_running()):
        bulk = None
    return kind(
        store,
        {"loaded_at": load.loaded_at},
        load.writer.quiet,
        bulk,
        report.write_seconds,
        report.written,
        report.bulk_written,
        load.unchanged,
    )


def _write_ahead(
    writes: Writes, builder: Builder, reference: list[Record], roles: list[tuple[Record, str]]
) -> None:
    builder.reference(reference)
    writes.begin()
    writes.reference(builder.rows)
    writes.ahead(roles)


def build(load: Load) -> None:
    """``roles``, ``person_of``, ``records`` -> ``rows``, and the quarantine's unresolved
    facts. The writer writes the people while the builder works out the rest."""
    builder, writer, writes, linked = load.builder, load.writer, load.writes, load.linked
    assert builder is not None and writes is not None and linked is not None
    builder.linked(load.person_of, linked.probability)
    builder.people(load.roles)
    builder.cases(load.records)  # new people are written with what their cases derive
    load.roles = []  # the people are built: nothing else holds the identity records
    writes.stage = writer.stage
    load.writing = writer.submit(_write_rows, writes, builder.rows, writer.built)
    records, load.records = load.records, []
    tallied = Counter(map(attrgetter("source", "file"), records))
    # each record let go of once its facts are built (the rows built after it reuse its
    # memory), not every record held to the stage's end beside every row
    records.reverse()
    while records:
        builder.facts(records.pop())
    rows = builder.finish()
    rows.review_pairs, rows.review_links = review.candidate_rows(linked.review, load.person_of)
    writer.built.set_result(rows)
    load.report.review_pairs = len(rows.review_pairs)
    for record, reason in rows.unresolved:
        values = {k: str(v) for k, v in record.values.items()}
        load.quarantine.append(Quarantined(record.source, record.file, record.row, reason, values))
    _account(load.report, tallied, rows.unresolved, builder.merged)
    load.report.relationships_refused = {
        RULES[k]: n for k, n in builder.refused_relationships.items()
    }
    for dropped in builder.dropped:  # a kept person row's case another child keeps
        load.report.counts(dropped.source).values_dropped += 1
    load.dropped += builder.dropped
    load.report.dropped_examples = [asdict(d) for d in load.dropped[:DROPPED_EXAMPLES]]
    load.rows = rows
    # who each record is, the kept people's too (Known), is for the next load only
    load.builder, linked.probability = None, {}
    load.person_of = {}
    assert load.known is not None
    load.known.after_writing(rows.people)
    load.known_kept = load.known.packed()
    load.known = None


def _write_rows(writes: Writes, rows: GraphRows, facts: Future[GraphRows]) -> None:
    writes.people(rows)
    writes.facts(facts.result())  # the build's own error if it failed


def write(load: Load) -> None:
    """Waits for the writer: every row written (dates included)."""
    assert load.writing is not None and load.writes is not None and load.unchanged is not None
    load.writing.result()
    # the hashes of rows written without a record trusted (Unchanged.rows): worked out
    # while the engine turns text into dates and derives, not while it waited for them
    seconds, record, check = load.report.write_seconds, load.unchanged.record, load.writer.check
    if load.unchanged.later:  # a delta (a record trusted) hashed its rows as it wrote
        load.recording = load.writer.aside(_step, seconds, RECORDED_AFTER, record, check)
    load.writes.finish()
    load.report.rows_unchanged = dict(load.unchanged.skipped)
    load.touched = load.unchanged.touched
    if load.touched is None and load.report.over_everything:
        load.report.over_everything.insert(0, NOT_TOUCHED)


def derive_stage(load: Load) -> None:
    """Derived facts, then risk of NEET factors, the needs forecast's and caseload map's
    tallies and transitions' cohorts side by side, from the graph (the caseload map's
    joined by the copy's stage).

    A load's own residences come as one history a person, at most one open, so only
    someone in the graph before it can be left with two open: superseded residences
    are looked for only then, and on a delta only among the people whose residences
    it wrote."""
    store, writes, rows = load.store, load.writes, load.rows
    assert writes is not None and rows is not None
    seconds = load.report.write_seconds
    _close_superseded(load, writes, rows)
    _let_go_of_rows(load)
    del rows
    open_services: set[str] = set()  # the people whose open services were worked out again
    with timed(seconds, "derived facts"):
        if load.touched is None:
            for statement in derive.DERIVED:
                store.write(statement)
        else:
            open_services = _derive_touched(store, load.touched)
            load.touched.derive("Person", open_services)  # for the copy: their own not named
    load.progress.stage("working out risk of NEET factors", None)
    # What the load touched is all that changed only while nothing else wrote the graph:
    # a review decision since it began writing (graph.version) changed people it did not
    # touch, whose kept answers, parts and rows are then stale (a merge forgets the kept
    # person's RiskYear nodes), so those are worked out for everyone, as a full load does.
    beside = version.current(store) != load.stamped
    touched = None if beside else load.touched
    # and review merges (the only way a node leaves the graph) wait for the load's end,
    # so every node the last load kept a part of is in the graph still
    still = not beside
    # Each reads what the derived facts left and writes nodes of its own, so they run
    # side by side on the engine's threads; the caseload map's tally (which the copy
    # does not read) on the writer thread, until the copy is written too.
    kept_caseload = CaseParts.take(load.aside.pop(CASELOAD_FILE), load.kept_as)
    load.caseload = caseload = KeptDelta(kept_caseload, beside=beside, still=still)
    if touched is not None:
        with timed(seconds, "caseload map tally: cases touched"):
            caseload.touched = touched_cases(store, touched)
    load.tallying = load.writer.submit(
        _step, seconds, "caseload map tally", keep_caseload_tally, store, caseload
    )
    risk_kept = RiskKept.take(load.aside.pop(RISK_FILE), load.kept_as)
    load.risk = risk = RiskDelta(risk_kept, beside=beside, still=still)
    if load.touched is not None:  # the copy reads the pupils whose factors it writes
        risk.wrote = set()
    needs_kept = NeedsParts.take(load.aside.pop(NEEDS_FILE), load.kept_as)
    load.needs = needs = KeptDelta(needs_kept, beside=beside, still=still)
    if touched is not None:
        with timed(seconds, "risk factors: pupils touched"):
            risk.touched = touched_pupils(store, touched)
        with timed(seconds, "needs forecast tally: children touched"):
            needs.touched = touched_children(store, touched, open_services)
    cohorts_kept = Cohorts.take(load.aside.pop(COHORTS_FILE), load.kept_as)
    load.cohorts = cohorts = KeptDelta(cohorts_kept, beside=beside, still=still)
    if touched is not None:
        with timed(seconds, "transition cohorts: children touched"):
            cohorts.touched = touched_cohorts(store, touched, open_services)
    with ThreadPoolExecutor(1, thread_name_prefix="jigsaw-derive") as pool:
        tallied = pool.submit(
            _step, seconds, "needs forecast tally", keep_needs_tally, store, load.today, needs
        )
        cohorted = pool.submit(
            _step, seconds, "transition cohorts", keep_cohorts, store, load.today, cohorts
        )
        load.report.risk_factors_kept = _step(
            seconds, "risk factors", keep_risk_factors, store, load.today, risk
        )
        load.report.risk_factors_written = risk.written
        if load.touched is not None and risk.wrote is not None:
            load.touched.derive("Person", risk.wrote)
        tallied.result()
        cohorted.result()
    _worked_out(load, risk, RISK_EVERYONE, "risk_factors_worked_out", RISK_FILE, RISK_VERSION)
    _worked_out(load, needs, NEEDS_EVERYONE, "needs_tally_counted", NEEDS_FILE, NEEDS_VERSION)
    _worked_out(
        load, cohorts, COHORTS_EVERYONE, "cohort_children_read", COHORTS_FILE, COHORTS_VERSION
    )
    load.risk = load.needs = load.cohorts = None


def _close_superseded(load: Load, writes: Writes, rows: GraphRows) -> None:
    """Close the residences a newer move superseded: of the people whose residences a
    delta wrote (nobody else's changed), else of everyone, where anyone whose residences
    the load wrote was in the graph before it. A review decision taken while the load
    ran (graph.version) may have moved residences the load did not write: then everyone's."""
    store, seconds, touched = load.store, load.report.write_seconds, load.touched
    if touched is not None and version.current(store) == load.stamped:
        movers = sorted(touched.named_by("Person", derive.RESIDENCES_FOLLOW))
        if movers:
            with timed(seconds, "superseded residences closed"):
                store.write(derive.CLOSE_SUPERSEDED_RESIDENCES_OF, {"people": movers})
    elif writes.existed("Person", (r["person"] for r in rows.lives_at)):
        with timed(seconds, "superseded residences closed"):
            store.write(derive.CLOSE_SUPERSEDED_RESIDENCES)


def _let_go_of_rows(load: Load) -> None:
    """The rows built are written (or, where no record was trusted, held by the
    recording until it hashes them): from here on the load keeps only its source
    records, for its result. Held to the load's end, every row built stayed in the
    process through the derive, alerts and copy stages, where the copy's peak is."""
    assert load.rows is not None
    load.source_records, load.rows = load.rows.source_records, None
    load.writer.built = Future()  # the writer's, done with: it held the rows too


def _worked_out(
    load: Load, delta: KeptDelta[Any], everyone: str, counted: str, name: str, version: int
) -> None:
    """Say in a delta's report whether ``delta`` went over everything (``everyone``, and
    why) or how many it worked out again (the report's field ``counted``); hold what it
    keeps for the next load, packed, as the file ``name`` of ``version``."""
    over = load.report.over_everything
    if load.report.delta:
        if delta.why:  # before the copy's line while it is there
            at = over.index(OVER_EVERYTHING[0]) if OVER_EVERYTHING[0] in over else len(over)
            over.insert(at, f"{everyone} ({delta.why})")
        else:
            setattr(load.report, counted, delta.worked_out)
    if delta.after is not None:
        load.after[name] = (version, delta.after.packed())


def _derive_touched(store: GraphStore, touched: Touched) -> set[str]:
    """The derived facts of what a delta touched only (:data:`derive.DERIVED`'s
    ``_OF`` forms): the cases it touched, the people it touched or whose cases it did
    (those people returned)."""
    own = touched.own("Case")
    workers = sorted(own | touched.named_by("Case", derive.WORKERS_FOLLOW))
    if workers:
        store.write(derive.CASE_WORKERS_OF, {"cases": workers})
    people = touched.own("Person") | touched.named_by("Person", derive.SERVICES_FOLLOW)
    cases = sorted(own | touched.named_by("Case", derive.SERVICES_FOLLOW))
    if cases:
        owners = store.read(store_alerts.NEAR["Case"], {"uids": cases}, max_rows=100_000_000)
        people.update(r["uid"] for r in owners.rows)
    if people:
        store.write(derive.OPEN_SERVICES_OF, {"people": sorted(people)})
    return people


def _step[T](seconds: dict[str, float], name: str, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, its time in the load report's write profile under ``name``."""
    with timed(seconds, name):
        return fn(*args)


def alerts(load: Load) -> None:
    """Alerts for what changed under open cases since the watched state before."""
    assert load.baseline is not None
    touched, near = load.touched, None
    if touched is not None:  # only the children near what the load changed
        follows = store_alerts.WATCHED_RELS
        people = touched.own("Person") | touched.named_by("Person", follows)
        cases = touched.own("Case") | touched.named_by("Case", follows)
        places = {label: touched.own(label) for label in ("Address", "School")}
        near = store_alerts.near(load.store, people, cases, places)
    before = load.baseline.before()
    load.report.alerts = raise_after_load(load.store, before, load.baseline, near)
    load.baseline.done()
    # A load that watched nothing before (a first load) raises nothing and keeps no
    # state after: the delta after it reads every open case's. Reading it here for the
    # next load, beside the copy, raised a county load's peak over its budget
    # (benchmarks/README.md, "Delta loads").


def _copy(load: Load) -> Written:
    """The analysts' copy, from what the load touched where it knows (a delta's), else
    from the whole graph. A review decision taken while the load ran (a rejection does
    not wait for a load) stamped the graph and changed what the load did not touch:
    then the whole graph is read, after what the load's end forgets in that case (the
    risk list, the kept tallies) is forgotten, so the copy is the graph the load leaves;
    and again once if the decision came while the copy was being written."""
    store = load.store
    written = None
    for _ in range(2):
        beside = version.current(store) != load.stamped
        if beside:
            _forget_worked_out(store)
        touched = None if beside else load.touched
        # the caseload parts the load counted hold as the graph stands, unless changed beside
        tally = None if beside else partial(_caseload_parts, load)
        written = write_copy(store, bulk=load.options.bulk, touched=touched, tally=tally)
        if touched is None or version.current(store) == load.stamped:
            break
    assert written is not None
    return written


def _caseload_parts(load: Load) -> CaseParts | None:
    """Every case's caseload part the load counted (None: none counted), once counted."""
    if load.tallying is not None:
        load.tallying.result()
    return None if load.caseload is None else load.caseload.after


def _forget_worked_out(store: GraphStore) -> None:
    """What a load worked out and wrote into the graph, not trusted once a review
    decision changed the graph beside it: the risk list and the kept tallies (worked
    out again from the records when next asked)."""
    risk_facts.forget_list(store)
    forget_kept_tallies(store)


def pseudonymised_copy(load: Load) -> None:
    """What analysts query: the graph as this load left it, pseudonymised."""
    load.progress.stage("writing the analysts' pseudonymised copy", None)
    written = _copy(load)
    over = load.report.over_everything
    if OVER_EVERYTHING[0] in over and (written.touched or written.whole):
        at = over.index(OVER_EVERYTHING[0])
        if written.touched:
            del over[at]
        else:  # why it could not be read from what the load touched
            over[at] = f"{OVER_EVERYTHING[0][:-1]}: {written.whole})"
    if load.tallying is not None:
        load.tallying.result()
    caseload = load.caseload
    assert caseload is not None
    _worked_out(
        load, caseload, CASELOAD_EVERYONE, "caseload_tally_counted", CASELOAD_FILE, CASELOAD_VERSION
    )
    load.caseload = None


# What a delta load still runs over the whole graph, as a full load does (the load
# report lists them): the pseudonymised copy is worked out from the graph. The derived
# facts, the alerts' watched state, the pupils' risk of NEET answers, the children's
# and cases' parts of the needs and caseload tallies and the children of transitions'
# cohorts go over what the delta touched (``Load.touched``), or over everything too
# where that is not known (NOT_TOUCHED) or what the last load kept cannot be taken
# (RISK_EVERYONE, NEEDS_EVERYONE, CASELOAD_EVERYONE, COHORTS_EVERYONE, with why).
OVER_EVERYTHING = ("the pseudonymised copy (the whole graph)",)
RISK_EVERYONE = "risk of NEET answers worked out for every pupil"
NEEDS_EVERYONE = "the needs forecast's tally counted from every child"
CASELOAD_EVERYONE = "the caseload map's tally counted from every case"
COHORTS_EVERYONE = "transitions' cohorts read for every child"
NOT_TOUCHED = (
    "derived facts and the alerts' watched state (every case: what the load changed "
    "is not known when every row is written)"
)


Stage = tuple[str, Callable[[Load], None]]
STAGES: tuple[Stage, ...] = (
    ("read and validate", read),
    ("link", link_stage),
    ("build", build),
    ("write", write),
    ("derive", derive_stage),
    ("alerts", alerts),
    ("pseudonymised copy", pseudonymised_copy),
)


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
        """(file, row, role, person uid) for every identity record, for measuring
        linkage; worked out when asked, not during the load."""
        return [
            (r["file"], r["row"], identity_role(r["uid"]), r["person"]) for r in self.source_records
        ]


def run_load(store: GraphStore, root: Path, **options: Any) -> LoadResult:
    """Run :data:`STAGES` over the extracts under ``root``; ``options`` are
    :class:`LoadOptions`' fields."""
    opts = LoadOptions(**options)
    root = Path(root)
    if not root.is_dir():
        raise MappingError(f"{root} is not a directory of extracts")
    today = opts.as_of or dt.date.today()
    started = dt.datetime.now().isoformat(timespec="seconds")
    report = LoadReport(directory=str(root), started_at=started, as_of=today.isoformat())
    sources = load_mappings(opts.mappings)
    with (
        one_load_at_a_time(opts.loads_dir, opts.progress or Silent()),
        store.batch_job(relaxed_fsync=opts.relaxed_fsync),
        WriterThread(opts.progress or Silent()) as writer,
    ):
        load = Load(store, root, opts, sources, load_packs(), today, report, writer)
        for name, stage in STAGES:
            begun = time.perf_counter()
            stage(load)
            report.seconds[name] = round(time.perf_counter() - begun, 2)
            report.peak_mb[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            if opts.after_stage is not None:
                opts.after_stage(name)
        report.finished = True
        # review merges may go ahead again; a review decision taken while this load ran
        # stamped the graph too: then what this load saw is not the graph it leaves, and
        # none of it is kept for the next (one statement: graph.version.loaded)
        stamp = version.loaded(store, load.stamped)  # what is kept below describes
        alone = stamp is not None
        store.save_snapshot()  # a start reads that faster (GraphStore.save_snapshot)
        assert load.reading is not None and load.unchanged is not None
        load.reading.save()  # what this load took in, for the next one
        assert load.kept is not None and load.linked is not None
        load.kept.save(load.linked.models)  # and the models it linked with
        if alone:
            if load.recording is not None:
                load.recording.result()  # its error, if it failed
            assert stamp is not None
            load.unchanged.save(store, stamp)  # what it wrote, with the graph as it leaves it
            assert load.baseline is not None
            counts = version.kept_as(store.counts(), stamp)
            Known.keep(people_file(opts.loads_dir), counts, load.known_kept)  # who its people are
            load.baseline.keep(counts)  # and the watched state its alerts left
            for name, (kept_version, text) in load.after.items():  # and what it worked out
                keep_file(
                    opts.loads_dir / name if opts.loads_dir else None, kept_version, counts, text
                )
        else:  # its rows' hashes are for a record not kept: stopped, and any error said
            # and what it worked out is not trusted in the graph either: a decision after
            # the derive stage began found the risk list marked as loading (so left it)
            # or tallies not yet written, which this load then wrote without its change
            _forget_worked_out(store)
            writer.stopped.set()
            if load.recording is not None:
                with suppress(Stopped):
                    load.recording.result()
            log.warning(
                "the graph was changed beside this load (a review decision): "
                "the next load reads it whole"
            )
    saved = None
    if opts.loads_dir is not None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        saved = save(report, load.quarantine, opts.loads_dir / stamp, load.dropped)
    records = load.source_records if load.rows is None else load.rows.source_records
    assert records is not None
    return LoadResult(report, load.quarantine, saved, records, load.dropped)


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


def _account(
    report: LoadReport,
    totals: Counter[tuple[str, str]],
    unresolved: list[tuple[Record, str]],
    merged: Counter[tuple[str, str]],
) -> None:
    """loaded: created a person or a fact; merged: joined a person another row created
    (the builder counts them); quarantined: a fact about nobody the load knows. From the
    records' ``totals`` by source and by file, not a call per record."""
    quarantined = Counter((record.source, record.file) for record, _ in unresolved)
    for (source, file), total in totals.items():
        key = (source, file)
        loaded = total - quarantined[key] - merged[key]
        for counts in (report.counts(source), report.file(file)):
            counts.quarantined += quarantined[key]
            counts.merged += merged[key]
            counts.loaded += loaded
