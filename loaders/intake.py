"""What the loads of a graph took in, and what a directory of extracts holds that is new.

A council refreshes nightly and about one row in a hundred changes, so a load that
knows what it took in last time can read only what is new. After a load, each file
read is recorded by its content hash (SHA-256), the mapping that read it and one hash
per row keyed by the row's number in the file (the row's content within its source,
as :func:`loaders.validate.record_uid` hashes it, for quarantined rows too). The
record, :data:`INTAKE_FILE`, lives beside the load reports and accumulates: a load of
some files replaces those files' entries and leaves the rest. A file's row hashes are kept
beside its reading (:data:`ROWS`) and read only when the file is read again, so the record
itself holds a few fields a file and a night reads and writes hashes only for the files
it reads. Row hashes missing, cut or not the reading's own are not known: the file is
read in full and its rows are not counted (the report says so).

At the next load a file whose hash and mapping are those recorded is unchanged and
need not be read; any other file is read, and its rows compared with the recorded
ones: a row number not seen before is *added*, one whose hash differs *changed*, a
recorded row number the file no longer has *removed*. A file whose reading depends on
the load's day (a date refused for being in the future, which a later day reads;
two-digit years, whose century is the one that keeps them in the past) is read again
whenever the day moves, however unchanged its bytes.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from importlib.metadata import version
from pathlib import Path

import numpy as np

from graph.files import write_private
from loaders.extracts import (
    Earlier,
    Extract,
    FileOutcome,
    load_packed,
    pack,
    read_packed,
    unpack,
)
from loaders.fields import IN_THE_FUTURE
from loaders.mapping import SourceMapping
from loaders.readers import ReadLimits
from loaders.validate import Quarantined, Record, record_uid

INTAKE_FILE = "intake.json.gz"
VERSION = 2  # of the record's format and of what a row's hash covers
READING_CODE = tuple(  # the modules whose code decides what reading a file gives
    import_module(name)
    for name in (
        "graph.yaml_model",
        "loaders.extracts",
        "loaders.fields",
        "loaders.identifiers",
        "loaders.mapping",
        "loaders.raw",
        "loaders.readers",
        "loaders.readers_xml",
        "loaders.validate",
    )
)


def file_hash(path: Path) -> str:
    """The file's content hash (SHA-256, hex), read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def reader_hash(extract: Extract) -> str:
    """How an extract is read, hashed: what its mapping says, the limits it is read
    within, and the code that reads and validates (after an upgrade every file is read
    again). The same bytes read otherwise may give other records."""
    text = extract.mapping.model_dump_json(exclude={"path", "description"})
    text += repr(extract.limits) + _code_hash()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# the libraries READING_CODE imports (a test walks its imports for any not named)
READING_LIBRARIES = ("python-stdnum", "lxml", "openpyxl", "pydantic", "PyYAML")


@cache
def _code_hash() -> str:
    """The reading code's own files, the versions of the libraries it reads with and
    Python's (an upgraded check-digit table, XML parser or csv module may read the same
    bytes otherwise)."""
    digest = hashlib.sha256(sys.version.encode())
    for module in READING_CODE:
        digest.update(Path(module.__file__ or "").read_bytes())
    for library in READING_LIBRARIES:
        digest.update(f"{library}=={version(library)}".encode())
    return digest.hexdigest()


def row_hash(source: str, row: Record | Quarantined) -> str:
    """A row's content within its source: a record's own uid; a refused row's whole
    cells hashed the same way (its shown cells where it kept no uid)."""
    return row.uid or record_uid(source, dict(row.raw))


def extract_key(extract: Extract) -> str:
    """The record's key for one extract: its file (a workbook's sheet is a file of its
    own) and the source that read it (one file may be read by several)."""
    return f"{extract.relname}|{extract.mapping.source}"


@dataclass
class FileIntake:
    """What one load took in from one file through one mapping."""

    sha256: str
    mapping: str  # reader_hash: how it was read
    as_of: str  # the load's day
    dated: bool  # its reading depends on the day (see the module's docstring)
    rows: dict[int, str] | None = field(default_factory=dict)  # row number -> row hash
    reading: str = ""  # the file in READINGS holding what reading it gave
    # rows None: kept beside the reading (ROWS), not read yet (Intake.rows)

    def name(self, key: str) -> str:
        """A name for this reading of the extract ``key``, its own."""
        text = f"{key}|{self.sha256}|{self.mapping}|{self.as_of if self.dated else ''}"
        return hashlib.sha1(text.encode()).hexdigest()


@dataclass
class RowChanges:
    """One file's rows against the recorded ones; row numbers as the file numbers them."""

    added: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    unchanged: int = 0
    known: bool = True  # False: the recorded rows could not be read, none counted

    @property
    def fresh(self) -> set[int]:
        """Rows the graph has not taken in as they are now: added or changed."""
        return {*self.added, *self.changed}


@dataclass
class Intake:
    """Every file the graph's loads took in, by :func:`extract_key`; ``folder``: where
    the readings and their row hashes are kept (None: nowhere, every entry's rows held)."""

    files: dict[str, FileIntake] = field(default_factory=dict)
    folder: Path | None = field(default=None, compare=False)
    # the keys whose rows were looked for beside their reading and are not known there
    # (so that a file read again is not read and digested again to find so)
    unknown: set[str] = field(default_factory=set, init=False, compare=False, repr=False)

    @classmethod
    def read(cls, loads_dir: Path | None) -> Intake:
        """The record beside the load reports; empty when there is none, or when it is
        of another version or unreadable (the next load is then a full one)."""
        path = loads_dir / INTAKE_FILE if loads_dir is not None else None
        if path is None or not path.is_file():
            return cls()
        try:
            data = json.loads(gzip.decompress(path.read_bytes()))
        except (OSError, ValueError):
            return cls()
        if data.get("version") != VERSION:
            return cls()
        files = {key: FileIntake(**f, rows=None) for key, f in data["files"].items()}
        return cls(files, path.parent / READINGS)

    def save(self, loads_dir: Path) -> Path:
        """Write the record beside the load reports, whole or not at all."""
        return save_packed(loads_dir, self.packed())

    def packed(self) -> bytes:
        """The record as :meth:`save` writes it: each entry's fields but its rows, which
        are kept beside its reading (:func:`pack_rows`)."""
        files = {
            k: {n: v for n, v in vars(f).items() if n != "rows"} for k, f in self.files.items()
        }
        body = {"version": VERSION, "files": files}
        return gzip.compress(json.dumps(body, separators=(",", ":")).encode(), 1)

    def rows(self, key: str) -> dict[int, str] | None:
        """The row hashes taken in from the extract ``key``: held, or read from beside
        its reading; none when there is no entry (each of the file's rows is added), and
        None when they are not known (kept nowhere, or missing, cut or another reading's
        beside it: :func:`unpack_rows`; looked for once)."""
        known = self.files.get(key)
        if known is None:
            return {}
        if known.rows is None and self.folder is not None and known.reading:
            if key in self.unknown:
                return None
            known.rows = unpack_rows(self.folder / (known.reading + ROWS), known.reading)
            if known.rows is None:
                self.unknown.add(key)
        return known.rows

    def rows_kept(self, key: str) -> bool:
        """Whether the extract ``key``'s entry has its row hashes held or a file of them
        beside its reading (looked at, not read: an unchanged file's are not needed)."""
        known = self.files[key]
        if known.rows is not None:
            return True
        return self.folder is not None and (self.folder / (known.reading + ROWS)).is_file()

    def unchanged(self, extract: Extract, sha256: str, as_of: str) -> bool:
        """Whether ``extract`` (whose content hash is ``sha256``) is what was taken in:
        the same bytes, read by the same mapping, and on the same day if that matters."""
        known = self.files.get(extract_key(extract))
        return (
            known is not None
            and known.sha256 == sha256
            and known.mapping == reader_hash(extract)
            and (not known.dated or known.as_of == as_of)
        )

    def compare(self, extract: Extract, rows: dict[int, str]) -> RowChanges:
        """The file's rows (row number -> hash) against what was taken in from it."""
        before = self.rows(extract_key(extract))
        if before is None:
            return RowChanges(known=False)
        changes = RowChanges()
        for number, digest in rows.items():
            seen = before.get(number)
            if seen is None:
                changes.added.append(number)
            elif seen != digest:
                changes.changed.append(number)
            else:
                changes.unchanged += 1
        changes.removed = [n for n in before if n not in rows]
        return changes

    def take(self, extract: Extract, entry: FileIntake) -> None:
        key = extract_key(extract)
        self.files[key] = entry
        self.unknown.discard(key)


def file_rows(
    source: str, records: Iterable[Record], quarantined: Iterable[Quarantined]
) -> dict[int, str]:
    """Row number -> row hash for one file's records and refused rows (row 0, a file
    or part of it that could not be read, is no row)."""
    rows = {r.row: r.uid for r in records}
    for q in quarantined:
        if q.row > 0:
            rows[q.row] = row_hash(source, q)
    return rows


def entry(
    extract: Extract,
    sha256: str,
    as_of: str,
    records: list[Record],
    quarantined: list[Quarantined],
) -> FileIntake | None:
    """What to record of one file read: nothing for a file that could not be read
    whole (row 0 in its quarantine), which every load reads again."""
    if any(q.row <= 0 for q in quarantined):
        return None
    mapping = extract.mapping
    dated = (
        any("%y" in f for formats in mapping.dates.values() for f in formats)
        or any(IN_THE_FUTURE in q.reason for q in quarantined)
        or any(IN_THE_FUTURE in note for r in records for note in r.notes)
    )
    return FileIntake(
        sha256, reader_hash(extract), as_of, dated, file_rows(mapping.source, records, quarantined)
    )


@dataclass
class Plan:
    """Which extracts a load reads and which it skips, with every one's content hash."""

    read: list[Extract]
    skipped: list[Extract]
    hashes: dict[str, str]  # extract key -> content hash


def plan(extracts: list[Extract], intake: Intake, as_of: str) -> Plan:
    """Skip the extracts taken in as they are; read the rest. Each file is hashed once,
    whichever mappings read it."""
    by_path: dict[Path, str] = {}
    out = Plan([], [], {})
    for extract in extracts:
        sha = by_path.get(extract.path)
        if sha is None:
            sha = by_path[extract.path] = file_hash(extract.path)
        out.hashes[extract_key(extract)] = sha
        (out.skipped if intake.unchanged(extract, sha, as_of) else out.read).append(extract)
    return out


@dataclass
class SourceChanges:
    """One source's part of a delta, for the load report."""

    files_skipped: int = 0
    files_read: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0  # rows of files read that were taken in as they are
    unknown: int = 0  # files read in full, their recorded rows not known (not counted)


def tally(plan: Plan, changes: dict[str, RowChanges]) -> dict[str, SourceChanges]:
    """Per source: files skipped and read, and the rows of those read by kind of change
    (``changes``: extract key -> its rows' changes)."""
    out: dict[str, SourceChanges] = {}
    for extract in plan.skipped:
        out.setdefault(extract.mapping.source, SourceChanges()).files_skipped += 1
    for extract in plan.read:
        counts = out.setdefault(extract.mapping.source, SourceChanges())
        counts.files_read += 1
        rows = changes.get(extract_key(extract))
        if rows is not None:
            counts.added += len(rows.added)
            counts.changed += len(rows.changed)
            counts.removed += len(rows.removed)
            counts.unchanged += rows.unchanged
            counts.unknown += not rows.known
    return dict(sorted(out.items()))


def mapped_extracts(
    root: Path, sources: list[SourceMapping], limits: ReadLimits | None = None
) -> list[Extract]:
    """The extracts under ``root`` that the mappings' ``files`` patterns name, in a
    load's order (national returns' files, which packs recognise, are not among them)."""
    return [
        Extract(m, p, str(p.relative_to(root)), limits or ReadLimits())
        for m in sources
        for p in sorted(root.glob(m.files))
        if p.is_file()
    ]


READINGS = "readings"  # beside INTAKE_FILE: each file's reading, taken again unread
ROWS = ".rows"  # after a reading's name: its file's row hashes (pack_rows)


def pack_rows(rows: dict[int, str], reading: str) -> bytes:
    """A file's row hashes as kept beside its reading ``reading`` (its name): a digest
    tying them to it, how many, the row numbers (8 bytes each) and the hashes a line each
    (a source's name and hex digits: no newline)."""
    numbers = np.fromiter(rows, dtype="<i8", count=len(rows))
    body = len(rows).to_bytes(8, "little") + numbers.tobytes() + "\n".join(rows.values()).encode()
    return _rows_digest(reading, body) + body


def unpack_rows(path: Path, reading: str) -> dict[int, str] | None:
    """The row hashes :func:`pack_rows` kept in ``path`` for the reading ``reading``;
    None when they cannot be read whole and as that reading's (missing, cut short,
    changed, or another reading's)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    body = memoryview(data)[_DIGEST:]
    if data[:_DIGEST] != _rows_digest(reading, body) or len(body) < 8:
        return None
    count = int.from_bytes(body[:8], "little")
    end = 8 + 8 * count
    hashes = bytes(body[end:]).decode(errors="replace").split("\n") if count else []
    if len(body) < end or len(hashes) != count:
        return None
    return dict(zip(np.frombuffer(body, "<i8", count, 8).tolist(), hashes, strict=True))


_DIGEST = 16  # bytes of a rows file's digest


def _rows_digest(reading: str, body: bytes | memoryview) -> bytes:
    """What ties a file's row hashes to its reading: the reading's name and the hashes,
    digested (BLAKE2b)."""
    digest = hashlib.blake2b(reading.encode() + b"\n", digest_size=_DIGEST)
    digest.update(body)
    return digest.digest()


def save_packed(loads_dir: Path, packed: bytes) -> Path:
    """Write a record :meth:`Intake.packed` made beside the load reports, whole or not
    at all."""
    loads_dir.mkdir(parents=True, exist_ok=True)
    path = loads_dir / INTAKE_FILE
    write_private(path, packed)
    return path


class Reading:
    """One load's reading of its extracts through what earlier loads took in.

    Files taken in as they are give the records, refused rows and notes they gave
    then, unread (kept in :data:`READINGS`); the rest are read. ``full``: read every
    file. What the load took in is recorded only by :meth:`save`, once the load has
    finished: a load that stops part way leaves the record as it was."""

    def __init__(self, loads_dir: Path | None, day: dt.date, *, full: bool = False) -> None:
        self.loads_dir = loads_dir
        self.day = day.isoformat()
        self.before = Intake.read(loads_dir)
        self.full = full or not self.before.files
        self.after = Intake(dict(self.before.files))
        self.plan = Plan([], [], {})
        self.changes: dict[str, RowChanges] = {}  # extract key -> rows, for files read
        self._written: list[Path] = []
        self._packed: tuple[bytes, set[str]] | None = None  # by pack(): the record, readings

    def outcomes(
        self, extracts: list[Extract], workers: int | None = None
    ) -> Iterator[FileOutcome]:
        """Each extract's outcome, in the order given, as read or as read before."""
        self.plan = plan(extracts, Intake() if self.full else self.before, self.day)
        kept = {extract_key(e): self._kept(e) for e in self.plan.skipped}
        unread = [e for e in extracts if kept.get(extract_key(e)) is None]
        self.plan.read = unread
        self.plan.skipped = [e for e in extracts if kept.get(extract_key(e)) is not None]
        earlier = [self._earlier(e) for e in unread]
        day = dt.date.fromisoformat(self.day)
        fresh = iter(read_packed(unread, day, workers=workers, earlier=earlier))
        for extract in extracts:
            key = extract_key(extract)
            outcome = kept.get(key)
            if outcome is None:
                outcome, packed = next(fresh)
                self._take(extract, key, outcome, packed)
            yield outcome

    def _kept(self, extract: Extract) -> FileOutcome | None:
        """The reading kept of an extract taken in as it is (None: none to be had, or
        its row hashes not beside it, which reading the file again keeps anew)."""
        key = extract_key(extract)
        known = self.before.files[key]
        if self.loads_dir is None or not known.reading or not self.before.rows_kept(key):
            return None
        outcome = load_packed(self.loads_dir / READINGS / known.reading)
        try:
            return unpack(outcome) if outcome is not None else None
        except TypeError:  # records kept otherwise than as pack() keeps them
            return None

    def _earlier(self, extract: Extract) -> Earlier | None:
        """The reading kept of an extract read again whose records its rows may be
        again (:class:`loaders.extracts.Earlier`): a CSV file (whose cells are text, so
        the same uid is the same cells) read the same way, on the same day or a later
        one when no two-digit year is read (its century depends on the day). None on a
        full load, which validates every row, and where the reading's row hashes are not
        known (the pair not as a load left it: the file is read in full)."""
        key = extract_key(extract)
        known = self.before.files.get(key)
        mapping = extract.mapping
        if (
            self.full
            or self.loads_dir is None
            or known is None
            or not known.reading
            or mapping.format != "csv"
            or known.mapping != reader_hash(extract)
            or self.before.rows(key) is None
        ):
            return None
        path = self.loads_dir / READINGS / known.reading
        if known.as_of == self.day:
            return Earlier(path, same_day=True)
        two_digit = any("%y" in f for formats in mapping.dates.values() for f in formats)
        if two_digit or known.as_of > self.day:
            return None
        return Earlier(path, same_day=False)

    def _take(self, extract: Extract, key: str, outcome: FileOutcome, packed: bytes | None) -> None:
        """Record what reading ``extract`` gave, and keep the reading itself: ``packed``
        as a reading process sent it (:func:`loaders.extracts.pack`), or packed here."""
        source = extract.mapping.source
        self.changes[key] = self.before.compare(
            extract, file_rows(source, outcome.records, outcome.quarantined)
        )
        found = entry(
            extract, self.plan.hashes[key], self.day, outcome.records, outcome.quarantined
        )
        if found is None:
            self.after.files.pop(key, None)
            return
        if self.loads_dir is not None:
            found.reading = found.name(key)
            path = self.loads_dir / READINGS / found.reading
            path.parent.mkdir(parents=True, exist_ok=True)
            write_private(path, pack(outcome) if packed is None else packed)
            assert found.rows is not None  # entry() gives every file read its rows
            rows = path.with_name(found.reading + ROWS)
            write_private(rows, pack_rows(found.rows, found.reading))
            self._written += [path, rows]
        self.after.take(extract, found)

    def tally(self) -> dict[str, SourceChanges]:
        return tally(self.plan, self.changes)

    def pack(self) -> None:
        """Once every file is read: make the record :meth:`save` writes now, and let go
        of the row hashes of the files read (a load holds its record, the last load's and
        its own, from reading to its end otherwise). Only :meth:`save` and :attr:`full` are left."""
        if self.loads_dir is not None:
            self._packed = self._record()
        self.before, self.after, self.changes = Intake(), Intake(), {}

    def _record(self) -> tuple[bytes, set[str]]:
        """The record as it is to be written, and the readings it names."""
        readings = {f.reading for f in self.after.files.values()}
        return self.after.packed(), readings | {name + ROWS for name in readings}

    def save(self) -> None:
        """Record what the load took in, and let go of readings no longer recorded."""
        if self.loads_dir is None:
            return
        packed, wanted = self._packed or self._record()
        save_packed(self.loads_dir, packed)
        folder = self.loads_dir / READINGS
        for path in folder.iterdir() if folder.is_dir() else ():
            if path.name not in wanted:
                path.unlink(missing_ok=True)
