"""Read and validate extract files, in worker processes when the load is big enough.

Reading and validating are Python (a file's rows validated a column at a time, in
batches: :meth:`loaders.validate.Validator.many`); files do not depend on one another,
so a pool of processes takes them in parallel. Results come back in the
files' order, so a load's records, quarantine and report are the same whichever way
they were read. A small load reads in the loading process: starting workers and
sending records back costs more than it saves below a few megabytes.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import multiprocessing
import os
import pickle
import sys
import threading
import types
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from itertools import starmap
from operator import attrgetter
from pathlib import Path
from typing import Any

from loaders.fields import FIELDS, IN_THE_FUTURE, masked
from loaders.mapping import MappingError, SourceMapping
from loaders.readers import (
    LINE_KEY,
    NO_LINE,
    Lines,
    RawRow,
    ReadError,
    ReadLimits,
    ReadNotes,
    SameLine,
    read_rows,
)
from loaders.validate import DROPPED, Quarantined, Record, Validator

log = logging.getLogger(__name__)

# Below this many bytes of extracts, workers cost more than they save: starting two
# and sending the records back outweigh reading the files here (measured on the
# synthetic counties' extracts).
PARALLEL_MIN_BYTES = 16_000_000
# Rows validated together (loaders.validate.Validator.many): enough for a column's
# repeated texts to be read once, few enough to hold.
BATCH_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class Extract:
    """One file to read, with the mapping that describes it."""

    mapping: SourceMapping
    path: Path
    relname: str  # relative to the load directory, as reports show it
    limits: ReadLimits = field(default_factory=ReadLimits)


@dataclass(frozen=True, slots=True)
class Dropped:
    """A value dropped from a row that was kept: where it was, masked, and why."""

    source: str
    file: str
    row: int
    column: str
    field: str
    value: str  # masked (loaders.fields.masked)
    reason: str


@dataclass(slots=True)
class FileOutcome:
    records: list[Record] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    read: int = 0  # rows read, usable or not
    rows_quarantined: int = 0  # of those (a file that cannot be read is not a row)
    values_dropped: int = 0  # cells dropped from usable rows
    dropped: list[Dropped] = field(default_factory=list)  # each of them
    problem: str | None = None  # why the file, or a part of it, was not read
    notes: list[str] = field(default_factory=list)  # what the reader decided or repaired
    # to read the file again (loaders.readers.Lines): a CSV file's lines up to its header,
    # and each record's line, as digests (NO_LINE: on several lines, or with notes)
    head: bytes = b""
    lines: bytes = b""


@dataclass(frozen=True, slots=True)
class Earlier:
    """The reading an earlier load kept of the same file read the same way (the same
    mapping, limits and code: :func:`loaders.intake.Reading` decides): a row whose
    content is a record's there reads as that record again, unvalidated. ``same_day``:
    kept on the day of this reading; else on an earlier one, when a record with a date
    refused as in the future is validated again (a later day may read it)."""

    path: Path
    same_day: bool


def read_extract(extract: Extract, today: dt.date, earlier: Earlier | None = None) -> FileOutcome:
    """Every row of one file, validated. A file that cannot be read is one quarantine
    entry (row 0) and its ``problem``, so the rest of the load goes on; rows read before
    the reader gave up stay counted (and are quarantined with the file: a file read in
    part is not loaded in part). Rows the reader knows of but could not read count as
    read and quarantined. ``earlier``: the records of the rows an earlier reading took
    in as they are now are taken from it (:func:`earlier_records`)."""
    return _read(extract, today, earlier, packed=False)


def _read(
    extract: Extract, today: dt.date, earlier: Earlier | None, *, packed: bool
) -> FileOutcome:
    """:func:`read_extract`; ``packed``: its records as :func:`pack` keeps them, tuples
    of their fields (a record taken from an earlier reading is never made)."""
    mapping = extract.mapping
    outcome = FileOutcome()
    notes = ReadNotes()
    batch: list[RawRow | SameLine] = []
    validate: Validator | None = None
    known = earlier_records(earlier)
    lines = None if mapping.format != "csv" else Lines()
    if known is not None and lines is not None:
        lines.head_before, lines.before = known.head, known.by_line
    try:
        validate = Validator(mapping, mapping.fields_from_filename(extract.path), today)
        rows = read_rows(
            mapping, extract.path, extract.relname, limits=extract.limits, notes=notes, lines=lines
        )
        for raw in rows:
            batch.append(raw)
            if len(batch) == BATCH_ROWS:
                _take(validate, batch, outcome, known, packed)
        _take(validate, batch, outcome, known, packed)
        if lines is not None and lines.head:
            outcome.head, outcome.lines = lines.head, _line_keys(outcome.records, lines)
    except (ReadError, MappingError) as exc:
        if validate is not None:  # the rows read before the fault count as read
            _take(validate, batch, outcome, known, packed)
        outcome.problem = str(exc)
        made = (Record(*r) if type(r) is tuple else r for r in outcome.records)
        for record in made:  # what came before the fault, quarantined with it
            outcome.quarantined.append(
                Quarantined(
                    record.source,
                    record.file,
                    record.row,
                    f"file not loaded: {exc}",
                    {k: str(v) for k, v in record.values.items()},
                )
            )
        outcome.rows_quarantined = outcome.read
        outcome.values_dropped = 0
        outcome.dropped = []
        outcome.records = []
        outcome.quarantined.append(Quarantined(mapping.source, extract.relname, 0, str(exc), {}))
    if notes.unread_rows:
        outcome.read += notes.unread_rows
        outcome.rows_quarantined += notes.unread_rows
        outcome.problem = notes.unread_reason
        outcome.quarantined.append(
            Quarantined(mapping.source, extract.relname, 0, notes.unread_reason, {})
        )
    outcome.notes = notes.notes
    return outcome


def _line_keys(records: list, lines: Lines) -> bytes:
    """Each record's line digest, in the records' order (NO_LINE for a record with
    notes: read again, its line is parsed, for the values its notes name)."""
    rows = lines.rows
    pairs = ((r[3], r[6]) if type(r) is tuple else (r.row, r.notes) for r in records)
    return b"".join(NO_LINE if notes else rows.get(row, NO_LINE) for row, notes in pairs)


def _take(
    validate: Validator,
    rows: list[RawRow | SameLine],
    outcome: FileOutcome,
    known: KeptRecords | None = None,
    packed: bool = False,
) -> None:
    """Validate rows read and add them to ``outcome`` (``packed``: its records as
    tuples); ``rows`` is emptied first, so a fault while validating cannot count or
    validate them twice. ``known``: records an earlier reading made (:class:`KeptRecords`);
    a row with one of their uids (the same cells) and nothing for the reader to say, or
    a line that was one of them (:class:`SameLine`), is that record, at this row."""
    batch = rows[:]
    rows.clear()
    outcome.read += len(batch)
    mapping = validate.mapping
    records = outcome.records
    if known is not None:
        uid, by_uid, line = validate.uid, known.by_uid, known.line
        # each kept record is taken once: the same row twice validates the second
        found = [
            line(raw.index)
            if type(raw) is SameLine
            else by_uid.pop(uid(raw.values), None)
            if raw.problem is None
            else None
            for raw in batch
        ]
        fresh = iter(validate.many([r for r, k in zip(batch, found, strict=True) if k is None]))
    else:
        found = [None] * len(batch)
        fresh = iter(validate.many(batch))  # type: ignore[arg-type]  # no SameLine without known
    for raw, kept in zip(batch, found, strict=True):
        if kept is not None:  # (uid, source, file, row, entity, values, notes, ...)
            if kept[3] != raw.row:
                kept = (*kept[:2], raw.file, raw.row, *kept[4:])
            notes = kept[6]
            records.append(kept if packed else Record(*kept))  # type: ignore[arg-type]
        else:
            checked = next(fresh)
            assert type(raw) is RawRow
            if isinstance(checked, Quarantined):
                outcome.quarantined.append(checked)
                outcome.rows_quarantined += 1
                continue
            notes = checked.notes
            records.append(_RECORD(checked) if packed else checked)
        if notes:
            outcome.values_dropped += len(notes)
            outcome.dropped += dropped_values(mapping, raw, notes)


def dropped_values(mapping: SourceMapping, raw: RawRow, notes: list[str]) -> list[Dropped]:
    """Each note of a kept row ("<column> dropped: <why>") as a :class:`Dropped`."""
    out = []
    for note in notes:
        column, _, reason = note.partition(DROPPED)
        # a value from the file name or a constant is named "(constant) <field>"
        name = mapping.mapped.get(column) or column.rsplit(" ", 1)[-1]
        value = raw.values.get(column, mapping.constants.get(name))
        shown = masked(FIELDS[name], value) if name in FIELDS else ""
        out.append(Dropped(mapping.source, raw.file, raw.row, column, name, shown, reason))
    return out


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def read_extracts(
    extracts: list[Extract],
    today: dt.date,
    *,
    workers: int | None = None,
    min_bytes: int | None = None,
) -> Iterator[FileOutcome]:
    """Each extract's outcome, in the order given (:func:`read_packed` without the
    bytes)."""
    for outcome, _ in read_packed(extracts, today, workers=workers, min_bytes=min_bytes):
        yield outcome


def read_packed(
    extracts: list[Extract],
    today: dt.date,
    *,
    workers: int | None = None,
    min_bytes: int | None = None,
    earlier: list[Earlier | None] | None = None,
) -> Iterator[tuple[FileOutcome, bytes | None]]:
    """Each extract's outcome, in the order given, with its :func:`pack` when a
    reading process sent it so (None when read here): a load keeps those bytes as the
    file's reading without pickling its records again. ``earlier``: for each extract,
    its earlier reading to take unchanged rows' records from, if any (:class:`Earlier`).

    ``workers``: processes to read with (``None``: one per core; 1: none, read here);
    ``min_bytes``: below this much to read, read here (``None``: PARALLEL_MIN_BYTES).
    Workers start from a fresh interpreter (``forkserver``), never a fork of this
    process, which may hold threads and the engine's connection (the app, a test), and
    without the main script (:func:`_main_left_out`); where they cannot start or die,
    this process reads the files itself.
    """
    workers = default_workers() if workers is None else workers
    min_bytes = PARALLEL_MIN_BYTES if min_bytes is None else min_bytes
    earlier = earlier or [None] * len(extracts)
    size = sum(_size(e.path) for e in extracts)
    if workers <= 1 or len(extracts) < 2 or size < min_bytes:
        for extract, before in zip(extracts, earlier, strict=True):
            yield read_extract(extract, today, before), None
        return
    context = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(extracts)), mp_context=context)
    done = 0
    try:
        with _main_left_out():  # the workers (and the fork server) start as the files go in
            packed_outcomes = pool.map(_read_packed, extracts, [today] * len(extracts), earlier)
        for packed in packed_outcomes:
            yield unpack(pickle.loads(packed)), packed
            done += 1
    except BrokenProcessPool as exc:
        # A worker died (out of memory) or could not start. Nothing is lost: the files
        # not yet taken are read here instead.
        log.warning("reading workers failed (%s); reading the rest in this process", exc)
        for extract, before in zip(extracts[done:], earlier[done:], strict=True):
            yield read_extract(extract, today, before), None
    finally:  # a load that stops part way does not wait for files it will not use
        pool.shutdown(wait=True, cancel_futures=True)


_SWAPPING = threading.Lock()  # one swap of ``__main__`` at a time in a process


@contextmanager
def _main_left_out() -> Iterator[None]:
    """Processes multiprocessing starts inside this do not import the main script:
    it would run again in each of them, and the main script of a load is not always
    the load's. A Streamlit page is run as ``__main__`` and stays there after, so a
    worker importing it would open the store its settings name by default (a second
    engine on ``data/graph`` beside the load's own); the workers need only this module.
    A stand-in ``__main__`` with no file is what multiprocessing finds while they start
    (its :func:`multiprocessing.spawn.get_preparation_data`). The swap is the process's:
    two loads' swaps take turns; it relies on ``Executor.map`` submitting every file at
    once (each submit starting the workers it needs, the fork server with the first) and
    on no worker being replaced later (no ``max_tasks_per_child``)."""
    with _SWAPPING:
        main = sys.modules["__main__"]
        stand_in = types.ModuleType("__main__")
        sys.modules["__main__"] = stand_in
        try:
            yield
        finally:
            if sys.modules.get("__main__") is stand_in:  # a page run since: its own
                sys.modules["__main__"] = main


_RECORD = attrgetter(*(f.name for f in fields(Record)))  # a record as a tuple of its fields


def pack(outcome: FileOutcome) -> bytes:
    """A file's outcome pickled with its records as tuples: a slotted dataclass
    pickles field by field in Python, a tuple in C (:func:`unpack` reverses it)."""
    records = outcome.records
    outcome.records = list(map(_RECORD, records))  # type: ignore[arg-type]
    try:
        return pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        outcome.records = records


_READ_AS = {  # what a kept reading is made of: nothing else is unpickled
    ("loaders.extracts", "FileOutcome"),
    ("loaders.extracts", "Dropped"),
    ("loaders.validate", "Quarantined"),
    ("datetime", "date"),
    ("datetime", "datetime"),
}


class _Reading(pickle.Unpickler):
    """Unpickles a file's reading and nothing else: any other class or function named
    in the file stops it (a reading is data, so it never runs code)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _READ_AS:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a file's reading")
        return super().find_class(module, name)


def load_packed(path: Path) -> FileOutcome | None:
    """A reading kept as :func:`pack` made it (its records still tuples); None when
    there is none to be had (missing, broken, or naming anything but a reading)."""
    try:
        with path.open("rb") as fh:
            outcome = _Reading(fh).load()
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
        return None
    return outcome if isinstance(outcome, FileOutcome) else None


@dataclass(slots=True)
class KeptRecords:
    """An earlier reading's records, as tuples of their fields: by uid, each taken once
    (a row of the same cells twice: the second is validated, so no two records share
    their values), and by the digest of the line each was made of alone, with the
    digest of the file's lines up to its header (:class:`loaders.readers.Lines`)."""

    by_uid: dict[str, tuple]
    records: list[tuple]
    head: bytes
    by_line: dict[bytes, int]

    def line(self, index: int) -> tuple:
        """The record made of a line found again; taken already (the line twice), its
        values copied, as validating the line again would make them."""
        record = self.records[index]
        if self.by_uid.pop(record[0], None) is None:
            return (*record[:5], copy.deepcopy(record[5]), [], *record[7:])
        return record


def earlier_records(earlier: Earlier | None) -> KeptRecords | None:
    """The records of an earlier reading (:class:`KeptRecords`); on another day, not
    those with a date refused as in the future (a later day may read it). None when
    there is no such reading to be had."""
    if earlier is None:
        return None
    outcome = load_packed(earlier.path)
    if outcome is None:
        return None
    records = outcome.records
    size = len(fields(Record))
    if not all(type(r) is tuple and len(r) == size for r in records):
        return None  # not records as pack() keeps them: every row is validated
    if earlier.same_day:
        by_uid = {r[0]: r for r in records}
    else:
        by_uid = {r[0]: r for r in records if not any(IN_THE_FUTURE in n for n in r[6])}
    keys = outcome.lines
    by_line: dict[bytes, int] = {}
    if len(keys) == LINE_KEY * len(records):
        by_line = {keys[i : i + LINE_KEY]: n for n, i in enumerate(range(0, len(keys), LINE_KEY))}
        by_line.pop(NO_LINE, None)
    return KeptRecords(by_uid, records, outcome.head, by_line)  # type: ignore[arg-type]


def unpack(outcome: FileOutcome) -> FileOutcome:
    """An outcome unpickled from :func:`pack`, its records made again (a record that
    is not a tuple of a record's fields raises TypeError)."""
    outcome.records = list(starmap(Record, outcome.records))  # type: ignore[arg-type]
    return outcome


def _read_packed(extract: Extract, today: dt.date, earlier: Earlier | None) -> bytes:
    """:func:`read_extract` in a worker, sent back as :func:`pack` gives it: the
    bytes pass through the pipe as they are, and the load keeps them as they came."""
    return pickle.dumps(_read(extract, today, earlier, packed=True), pickle.HIGHEST_PROTOCOL)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # reported when the file is read
        return 0
