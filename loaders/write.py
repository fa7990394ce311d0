"""What a load writes, in what order, and the writer that writes it through Cypher.

The plan is a list of :class:`graph.writes.Step` (each derived from the schema), in
dependency order. :class:`Writes` runs a step's rows through its MERGE statement in
batches, so a load that stops part way is finished by running it again, and a
repeated load leaves the graph as it was. Engines with bulk insertion take a faster
strategy behind the same interface (:class:`loaders.bulk_steps.BulkWrites`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, TypeVar

from graph.bulk import BulkWriter
from graph.store import GraphStore
from graph.writes import Link, Rel, Row, Step, fold
from loaders.build import GraphRows
from loaders.progress import Progress
from loaders.unchanged import Unchanged
from loaders.validate import Record

T = TypeVar("T")

# Written while linkage runs: needs nothing linkage works out.
REFERENCE = (
    Step("services", "services", "Service"),
    Step("schools", "schools", "School"),
    Step("staff", "staff", "Professional"),
    Step("teams", "teams", "Team"),
    Step("team members", "in_team", links=("IN_TEAM",)),
    Step("team services", "part_of", links=("PART_OF",)),
    Step("addresses", "addresses", "Address"),
)
# Written while the builder works out the facts.
PEOPLE = Step("people", "people", "Person")
SOURCE_RECORDS = Step("source records", "source_records", "SourceRecord", ("DESCRIBES",))
PEOPLE_STEPS = (PEOPLE, SOURCE_RECORDS)
FACTS = (
    # addresses records name that the gazetteer does not hold
    Step("addresses", "other_addresses", "Address"),
    Step("residences", "lives_at", links=("LIVES_AT",)),
    Step("parents", "parent_of", links=("PARENT_OF",)),
    Step("families", "families", "Family"),
    Step("family members", "member_of", links=("MEMBER_OF",)),
    Step("school rolls", "attends", links=("ATTENDS",)),
    Step("attendance", "attendance", links=("ATTENDANCE",)),
    Step("exclusions", "exclusions", links=("EXCLUDED",)),
    Step("offers", "offers", links=("OFFERED",)),
    Step("cases", "cases", "Case", ("HAS_CASE", "WITH_SERVICE")),
    Step("allocations", "works_on", links=("WORKS_ON",)),
    Step("needs", "needs", "Need", ("HAS_NEED",)),
    Step("case notes", "notes", "Note", (Link("HAS_NOTE", other="Person"),)),
    Step("safety notes", "address_notes", "Note", (Link("HAS_NOTE", other="Address"),)),
    Step("review pairs", "review_pairs", "ReviewPair"),
    Step("review pairs' people", "review_links", links=("CANDIDATE",)),
    # what the statutory returns say (loaders.build_returns), each fact from its child
    Step("returns: referrals", "returns.referrals", "Referral", ("REFERRED",)),
    Step("returns: assessments", "returns.assessments", "Assessment", ("ASSESSED",)),
    Step("returns: section 47 enquiries", "returns.section47s", "Section47", ("SUBJECT_OF",)),
    Step("returns: CIN plans", "returns.cin_plans", "CINPlan", ("HAS_CIN_PLAN",)),
    Step("returns: CP plans", "returns.cp_plans", "CPPlan", ("HAS_CP_PLAN",)),
    Step("returns: periods of care", "returns.periods_of_care", "PeriodOfCare", ("LOOKED_AFTER",)),
    # an episode from its period of care (its person is for the builder's homes)
    Step("returns: episodes", "returns.episodes", "Episode", ("HAS_EPISODE",), ("person",)),
    Step("returns: missing", "returns.missing_episodes", "MissingEpisode", ("WENT_MISSING",)),
    Step("returns: reviews", "returns.reviews", "Review", ("REVIEWED",)),
    Step("returns: outcomes", "returns.outcomes", "Outcome", ("HAS_OUTCOME",)),
    Step("returns: adoptions", "returns.adoptions", "Adoption", ("HAS_ADOPTION",)),
    Step("returns: statuses", "returns.statuses", "Status", ("HAS_STATUS",)),
    Step("returns: disabilities", "returns.disabilities", "Disability", ("HAS_DISABILITY",)),
)
PLAN = (*REFERENCE, *PEOPLE_STEPS, *FACTS)
STEPS = {step.rows: step for step in PLAN}  # by the rows they take (GraphRows' names)
for _step in PLAN:  # registered for the portability guard
    _ = _step.statement, _step.keyless


@dataclass
class Writes:
    """Writes a load's steps through their statements: the strategy for every engine.

    ``bulk``: the engine's bulk writer, begun and finished around the load when an
    earlier load stopped part way through bulk insertion (its text dates are turned
    into dates first, as MERGE finds relationships by their dates). ``seconds``,
    ``counts``, ``bulk_rows``: filled in for the load's report."""

    store: GraphStore
    params: dict[str, Any]
    stage: Callable[[str, int], Callable[[int], None]]
    bulk: BulkWriter | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    bulk_rows: dict[str, int] = field(default_factory=dict)
    unchanged: Unchanged | None = None  # rows the graph holds as they are go unwritten

    def begin(self) -> None:
        if self.bulk is not None:
            self.bulk.begin(shapes())

    def reference(self, rows: GraphRows) -> None:
        for step in REFERENCE:
            self.run(step, step.of(rows))

    def ahead(self, roles: list[tuple[Record, str]]) -> None:
        """Anything of the load's records that can be written before linkage: nothing here."""

    def people(self, rows: GraphRows) -> None:
        for step in PEOPLE_STEPS:
            self.run(step, step.of(rows))

    def facts(self, rows: GraphRows) -> None:
        for step in FACTS:
            self.run(step, step.of(rows))

    def finish(self) -> None:
        if self.bulk is not None:
            with timed(self.seconds, BULK_END):
                self.bulk.finish()

    def existed(self, label: str, uids: Iterator[str]) -> bool:
        """Whether any of ``uids`` was in the graph before this load (True when unknown)."""
        return True

    def run(self, step: Step, rows: list[Row]) -> None:
        """Write one step's rows (a step may come in parts: the counts add up)."""
        if self.unchanged is not None:
            with timed(self.seconds, RECORDING):
                rows = self.unchanged.rows(step, rows)
            for earlier, owed in self.unchanged.take_owed():  # left by an earlier step
                self._write(earlier, owed, self.stage(earlier.name, len(owed)))
                self.counts[earlier.name] = self.counts.get(earlier.name, 0) + len(owed)
        if not rows:
            return
        step.check(rows[0])
        tick = self.stage(step.name, len(rows))
        with timed(self.seconds, step.name):
            self._write(step, rows, tick)
        self.counts[step.name] = self.counts.get(step.name, 0) + len(rows)

    def _write(self, step: Step, rows: list[Row], tick: Callable[[int], None]) -> None:
        if step.node_type is not None:  # FalkorDB lets the first row of a batch that
            # creates a node win: folded first, so the later wins, as MERGE row by row
            rows = fold(rows, itemgetter(*step.folded), step.keep)
        keyed, keyless = split_keyless(step, rows)
        if step.node_type is None:  # a relationship's rows: by the ends and its key
            rel = step.rels[0]
            keyed = fold(keyed, merge_key(rel, False), step.keep)
            keyless = fold(keyless, merge_key(rel, True), step.keep)
        params = step.params(self.params)
        for statement, part in ((step.statement, keyed), (step.keyless, keyless)):
            if part and statement:
                self.store.write_rows(statement, part, params=params, progress=tick)


def merge_key(rel: Rel, keyless: bool) -> Callable[[Row], Any]:
    """What the statement's MERGE tells a relationship's rows apart by (one the end
    has one of: the end alone; one the step's node starts and has all of: the start
    alone; else its two ends, and its key unless ``keyless``): the last row's other
    end wins, as its statement leaves it."""
    if rel.type.one_in:
        return itemgetter(rel.end.field)
    if rel.type.rewritten and rel.start.var == "n":
        return itemgetter(rel.start.field)
    keys = () if keyless else rel.type.key
    return itemgetter(rel.start.field, rel.end.field, *keys)


def split_keyless(step: Step, rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """(rows with their relationship's key, rows whose key is null), in order."""
    if not step.key:
        return rows, []
    keyless, keyed = partition(rows, lambda row: any(row[k] is None for k in step.key))
    return keyed, keyless


def partition(rows: Iterable[Row], test: Callable[[Row], bool]) -> tuple[list[Row], list[Row]]:
    """(the rows that pass ``test``, the others), each in the rows' order."""
    passed: list[Row] = []
    failed: list[Row] = []
    for row in rows:
        (passed if test(row) else failed).append(row)
    return passed, failed


def shapes() -> list:
    """Every node and relationship shape the plan writes."""
    out: list = []
    for step in PLAN:
        out += [step.node_shape] if step.node_shape else []
        out += [rel.shape() for rel in step.rels]
    return out


# the write profile's name for hashing each row a load writes (loaders.unchanged)
RECORDING = "recording the rows written, for the next load"
# the same for a load that writes every row, once written (beside the stages after)
RECORDED_AFTER = "recording the rows written, for the next load, after writing"
# the write profile's name for the bulk insertion's end (its marker removed)
BULK_END = "the bulk insertion's end"


@contextmanager
def timed(seconds: dict[str, float] | None, name: str) -> Iterator[None]:
    """Add the block's time to ``seconds[name]``, the load report's write profile (a
    step may come in parts); nothing when ``seconds`` is None or the block fails."""
    started = time.perf_counter()
    yield
    if seconds is not None:
        seconds[name] = round(seconds.get(name, 0) + time.perf_counter() - started, 2)


class Stopped(Exception):
    """Raised in the writer thread when the load has stopped for another reason."""


class WriterThread:
    """The load's one writer thread: the jobs submitted run there one after another.
    When the load fails, on whichever thread, the writer stops at its next batch
    (``check``; ``built`` fails, for a writer waiting for the facts) and is waited
    for, so nothing writes after the load has returned."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.stopped = threading.Event()
        self.built: Future[GraphRows] = Future()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="jigsaw-write")
        self._aside = ThreadPoolExecutor(1, thread_name_prefix="jigsaw-aside")

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self._pool.submit(fn, *args, **kwargs)

    def aside(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Run ``fn`` on a second thread: this process's own work that waits for no
        write (a load that fails stops it too, through :meth:`check`)."""
        return self._aside.submit(fn, *args)

    def check(self) -> None:
        if self.stopped.is_set():
            raise Stopped

    def tick(self, amount: int) -> None:
        self.check()
        self.progress.advance(amount)

    def stage(self, name: str, total: int) -> Callable[[int], None]:
        self.check()
        self.progress.stage(f"writing {name}", total)
        return self.tick

    def quiet(self, _name: str, _total: int) -> Callable[[int], None]:
        """As :meth:`stage`, with no progress shown (while linkage shows its own)."""
        self.check()
        return lambda _amount: self.check()

    def __enter__(self) -> WriterThread:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        exc = exc_info[1]
        if exc is not None:
            self.stopped.set()
            if not self.built.done():
                self.built.set_exception(exc)
        self._pool.shutdown(wait=True)
        self._aside.shutdown(wait=True)
