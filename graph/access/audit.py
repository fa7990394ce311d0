"""An append-only, hash-chained audit trail of every look at a child's data.

Each entry is one JSON line holding its sequence number, who, role, when, what, which
children, the parameters and, for break glass, why - plus the hash of the entry before
it and its own hash. Editing or removing an entry inside the log breaks the chain.

The chain alone cannot show that entries were cut from the end, or that the whole
log was rewritten: so the log's **head** (how many entries, the last hash) is kept
outside it, in ``<log>.head``, written with its own fsync. A write first records the
entry it is about to append as *pending* in the head, then appends and fsyncs the
entry, then commits the head; a crash at any point leaves a state :meth:`check`
recognises, and the next :meth:`record` finishes or undoes it (a torn last line is
moved aside, with a note entry saying so). Entries recorded at once by a process's
threads are written together (group commit): one pending head naming the last of
them, their lines in one write, one committed head - two fsyncs for the group (the
pending head and the lines; the committed head needs none, as a head still pending
whose entries reached the log is committed by the next write, and the next pending
head is synced anyway), and no caller returns before its entry is durable. While one
thread writes a group, the others queue the next; the writer wakes them all when it is
done. A crash part way through a group
commits the entries that reached the log whole and in order. Appends always continue from the head,
not from whatever the log's last line says, so tampering stays visible after later
writes. Where configured, each committed head is also sent as a syslog line to a
witness outside this machine (``audit_syslog``), against which
``jigsaw audit verify --witness SEQ:HASH`` checks the log.

Kept outside the graph on purpose: a graph administrator cannot quietly edit it.
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import hashlib
import io
import json
import logging
import logging.handlers
import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from graph.access.audit_index import AuditIndex, parse_entry
from graph.access.fields_export import safe_row
from graph.files import fsync_dir, private_dir, write_private

GENESIS = "0" * 64
HEAD_BYTES = 320  # the head's JSON, padded: always the same bytes of one disk sector
HEAD_REBUILT = "audit_head_rebuilt"  # note entries the log writes about itself
RECOVERED = "audit_recovered"
SYSTEM = "jigsaw"
MAX_GROUP = 256  # entries written together at most


@dataclass
class _Waiting:
    """One caller's entry in the group being committed."""

    fields: dict[str, Any]
    entry: dict[str, Any] | None = None
    error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self.entry is not None or self.error is not None


@dataclass(frozen=True)
class Broken:
    line: int
    why: str


@dataclass(frozen=True)
class Head:
    """The log's anchor: entries committed, the last one's hash, and the entry being
    written when the head was last saved (None once it is committed)."""

    count: int
    hash: str
    pending: tuple[int, str] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "hash": self.hash,
            "pending": list(self.pending) if self.pending else None,
        }


@dataclass
class Verdict:
    """What :meth:`AuditLog.check` found: the first break (None when whole), how many
    entries the log holds, and notes an administrator should read (recoveries)."""

    entries: int
    broken: Broken | None = None
    notes: list[str] = field(default_factory=list)
    # a resumed check walks from where the last sound one stopped: the entries before
    # ``checked_from`` were last walked from the start at ``walked_in_full``
    checked_from: int = 1
    walked_in_full: str = ""


def _digest(entry: Mapping[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _sound(entry: Mapping[str, Any]) -> bool:
    return entry.get("hash") == _digest(entry)


_parse = parse_entry


@dataclass(frozen=True)
class Checked:
    """How far a check got through a sound chain: its last entry (number, hash, where its
    line starts and where the next begins), and what the walk to it found on the way."""

    count: int
    hash: str
    last_at: int
    offset: int
    anchored: bool
    notes: tuple[str, ...] = ()
    full_at: str = ""  # when the whole trail up to here was last walked from its start

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "notes": list(self.notes)}


class AuditLog:
    """The trail in one file; many processes may append to it at once."""

    def __init__(self, path: Path | str, *, witness: str = "") -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._checked_path = self.path.with_name(self.path.name + ".checked")
        self._witness_address = witness
        self._witness: logging.Logger | None = None
        self._waiting: list[_Waiting] = []
        # guards _waiting and _writing: one thread of this process writes a group at a
        # time, and wakes the others when it is done
        self._turn = threading.Condition()
        self._writing = False
        private_dir(self.path.parent)

    # -- writing ---------------------------------------------------------------------

    def record(
        self,
        *,
        user: str,
        role: str,
        action: str,
        children: Iterable[str] = (),
        detail: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Append one entry (fsync'd, head committed) and return it with its hash."""
        fields = {
            "user": user,
            "role": role,
            "action": action,
            "children": sorted(set(children)),
            "detail": detail or {},
            "reason": reason,
        }
        mine = _Waiting(fields)
        with self._turn:
            self._waiting.append(mine)
            while self._writing and not mine.done:
                self._turn.wait()
            lead = not mine.done
            self._writing = self._writing or lead
        if lead:  # nobody is writing, and nobody wrote this entry: write the waiting
            try:
                while not mine.done:
                    self._commit_group()
            finally:
                with self._turn:
                    self._writing = False
                    self._turn.notify_all()
        if mine.error is not None:
            raise mine.error
        assert mine.entry is not None
        return mine.entry

    def _commit_group(self) -> None:
        """Write the entries waiting now (the writer's among them) as one group."""
        with self._turn:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
        try:
            with self._locked(fcntl.LOCK_EX):
                entries = self._append(self._settle(), [w.fields for w in group])
        except BaseException as exc:
            for w in group:
                w.error = exc
            return
        for w, entry in zip(group, entries, strict=True):
            w.entry = entry
        self._witness_head(entries[-1]["seq"], entries[-1]["hash"])

    def _append(self, head: Head, group: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write entries after ``head``: pending head (naming the last), the lines in
        one write, committed head."""
        at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        entries, last = [], head
        for fields in group:
            entry: dict[str, Any] = {"seq": last.count + 1, "at": at, **fields, "prev": last.hash}
            entry["hash"] = _digest(entry)
            entries.append(entry)
            last = Head(entry["seq"], entry["hash"])
        lines = b"".join(
            (json.dumps(e, ensure_ascii=False, default=str) + "\n").encode() for e in entries
        )
        self._write_head(Head(head.count, head.hash, (last.count, last.hash)))
        self._write_line(lines)
        self._write_head(last, sync=False)  # a pending head whose lines are there commits
        return entries

    def _write_line(self, line: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write_head(self, head: Head, *, sync: bool = True) -> None:
        """Overwrite the head in place: one small write within a disk sector, one fsync
        (a rename would need the directory fsync'd too, at every write)."""
        data = json.dumps(head.as_json()).encode().ljust(HEAD_BYTES)
        try:
            fd, created = os.open(self.head_path, os.O_RDWR), False
        except FileNotFoundError:
            fd, created = os.open(self.head_path, os.O_RDWR | os.O_CREAT, 0o600), True
        try:
            os.pwrite(fd, data, 0)
            if sync or created:
                os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_dir(self.head_path.parent)

    def _settle(self) -> Head:
        """The head to append after, finishing whatever a crash left half done: a
        pending entry that reached the log is committed, one that did not is dropped; a
        torn last line is moved aside (with a note entry); a missing head is rebuilt
        from the log (with a note entry, so verification says so for ever after)."""
        head = self.read_head()
        if head is not None and head.count < 0:
            head = None  # unreadable: rebuilt from the log below, with a note entry
        if head is not None and head.pending is None and self._ends_whole():
            return head  # the usual case: the last write finished
        end, _, torn = self._tail()
        if torn and head is not None and head.pending is not None:
            whole = _parse(torn)  # an entry all written but for its newline
            if whole and _sound(whole) and _pending_seq(head, whole.get("seq")):
                self._write_line(b"\n")
                torn = b""
        aside = self._move_aside(end, torn) if torn else None
        if head is not None and head.pending is not None:
            head = self._reached(head)
            self._write_head(head)
        if head is None:
            head = self._rebuild_head()
        if aside is not None:
            [entry] = self._append(
                head, [_note_fields(RECOVERED, torn_bytes=len(torn), moved_to=aside.name)]
            )
            head = Head(entry["seq"], entry["hash"])
        return head

    def _reached(self, head: Head) -> Head:
        """The head once the pending group is settled: its entries that reached the log
        whole, each following the one before from the committed head, are committed;
        the rest of the group never was (nobody was answered for it)."""
        assert head.pending is not None
        committed = head
        for entry in self._last_entries(head.pending[0] - head.count):
            seq = entry.get("seq")
            if not isinstance(seq, int) or seq <= head.count:
                continue
            if seq != committed.count + 1 or entry.get("prev") != committed.hash:
                return Head(head.count, head.hash)  # not what this log wrote: verify says so
            if not _sound(entry):
                return Head(head.count, head.hash)
            committed = Head(seq, entry["hash"])
        if committed.count == head.pending[0] and committed.hash != head.pending[1]:
            return Head(head.count, head.hash)
        return Head(committed.count, committed.hash)

    def _last_entries(self, n: int) -> list[dict[str, Any]]:
        """The log's last ``n`` whole lines as entries (the log ends with a newline)."""
        if n <= 0 or not self.path.exists():
            return []
        # more than n newlines: the first line in the window may be cut by it
        _, window = self._read_back(lambda w: w.count(b"\n") > n)
        lines = window.split(b"\n")[:-1]
        return [e for e in (_parse(line) for line in lines[-n:]) if e is not None]

    def _read_back(self, holds: Callable[[bytes], bool]) -> tuple[int, bytes]:
        """(where it starts, the end of the log) read back from the end, the window
        doubling until it ``holds`` what is wanted or reaches the start: an entry naming
        thousands of children can be longer than any window."""
        with self.path.open("rb") as raw:
            size = raw.seek(0, os.SEEK_END)
            block = 65_536
            while True:
                start = max(0, size - block)
                raw.seek(start)
                window = raw.read(size - start)
                if start == 0 or holds(window):
                    return start, window
                block *= 2

    def _rebuild_head(self) -> Head:
        count, last_hash, sequenced = 0, GENESIS, False
        for entry in self.entries():
            count, last_hash = int(entry.get("seq", count + 1)), entry["hash"]
            sequenced = sequenced or "seq" in entry
        head = Head(count, last_hash)
        if not count:
            self._write_head(head)
            return head
        # a log without a head: anchor it, and say so in the log itself
        [entry] = self._append(
            head, [_note_fields(HEAD_REBUILT, entries=count, first_anchoring=not sequenced)]
        )
        return Head(entry["seq"], entry["hash"])

    def _move_aside(self, end: int, torn: bytes) -> Path:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        aside = self.path.with_name(f"{self.path.stem}.torn-{stamp}{self.path.suffix}")
        write_private(aside, torn)
        with self.path.open("r+b") as fh:
            fh.truncate(end)
            os.fsync(fh.fileno())
        return aside

    def _ends_whole(self) -> bool:
        """Whether the log is empty or ends with a whole line (its last byte alone)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return True
        try:
            size = os.fstat(fd).st_size
            return size == 0 or os.pread(fd, 1, size - 1) == b"\n"
        finally:
            os.close(fd)

    def _tail(self) -> tuple[int, dict[str, Any] | None, bytes]:
        """(offset just after the last whole line, that line's entry, bytes after it)."""
        if not self.path.exists():
            return 0, None, b""

        def whole_last_line(window: bytes) -> bool:
            cut = window.rfind(b"\n")
            return cut > 0 and window.rfind(b"\n", 0, cut) >= 0

        start, window = self._read_back(whole_last_line)
        cut = window.rfind(b"\n")
        if cut < 0:
            return 0, None, window
        before = window.rfind(b"\n", 0, cut)
        return start + cut + 1, _parse(window[before + 1 : cut]), window[cut + 1 :]

    @contextmanager
    def _locked(self, how: int) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, how)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _witness_head(self, seq: int, digest: str) -> None:
        """Send the committed head to the external witness, if one is set. A witness
        that cannot be reached never stops an audited action (logging reports it)."""
        if not self._witness_address:
            return
        if self._witness is None:
            try:
                self._witness = _syslog_witness(self._witness_address)
            except OSError as exc:
                logging.getLogger(__name__).warning(
                    "audit witness %s unreachable: %s", self._witness_address, exc
                )
                return
        self._witness.info("jigsaw-audit %s seq=%d hash=%s", self.path.name, seq, digest)

    # -- reading ---------------------------------------------------------------------

    def read_head(self) -> Head | None:
        try:
            fd = os.open(self.head_path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            raw = b"".join(iter(lambda: os.read(fd, 65_536), b""))
        finally:
            os.close(fd)
        try:
            data = json.loads(raw.decode("utf-8"))
            pending = tuple(data["pending"]) if data.get("pending") else None
            return Head(int(data["count"]), str(data["hash"]), pending)  # type: ignore[arg-type]
        except (ValueError, KeyError, TypeError):
            return Head(-1, "unreadable")

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every whole entry, oldest first (a torn last line is left for record())."""
        if not self.path.exists():
            return
        with self.path.open("rb") as fh:
            for raw in fh:
                entry = _parse(raw) if raw.endswith(b"\n") else None
                if entry is not None:
                    yield entry

    def verify(self, witnessed: Mapping[int, str] | None = None) -> Broken | None:
        """The first place the trail is broken, or None when it is whole."""
        return self.check(witnessed).broken

    def check(self, witnessed: Mapping[int, str] | None = None, *, resume: bool = False) -> Verdict:
        """Walk the chain and compare its end with the head (and with checkpoints an
        external witness saw: sequence number -> hash).

        ``resume``: walk on from where the last sound check stopped, if the log still
        holds that entry there (the app's audit page, at every view), instead of from the
        first entry (``jigsaw audit verify``, and whenever witnessed checkpoints are
        given). The verdict says which entries it walked and when the rest last were."""
        witnessed = dict(witnessed or {})
        with self._locked(fcntl.LOCK_SH):  # a consistent snapshot, then read unlocked
            head = self.read_head()
            size = self.path.stat().st_size if self.path.exists() else None
        if size is None:
            if head is not None and head.count > 0:
                why = f"the log file is missing; its head records {head.count:,} entries"
                return Verdict(0, Broken(1, why))
            return Verdict(0, _unwitnessed(witnessed, 0))
        start = self._checked(size) if resume and not witnessed else None
        verdict = Verdict(0)
        if start is not None:
            verdict.notes += start.notes
            verdict.checked_from, verdict.walked_in_full = start.count + 1, start.full_at
        reached, torn = self._walk(size, witnessed, verdict, start)
        if verdict.broken:
            return verdict
        verdict.entries = reached.count
        verdict.broken = _unwitnessed(witnessed, reached.count) or _against_head(
            head, reached.count, reached.hash, reached.anchored, torn, verdict.notes
        )
        if verdict.broken is None:
            full_at = (
                start.full_at if start else dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            )
            verdict.walked_in_full = verdict.walked_in_full or full_at
            self._keep_checked(replace(reached, notes=tuple(verdict.notes), full_at=full_at))
        return verdict

    def _checked(self, size: int) -> Checked | None:
        """Where the last sound check stopped, if the log still holds that entry there."""
        try:
            data = json.loads(self._checked_path.read_text(encoding="utf-8"))
            start = Checked(**{**data, "notes": tuple(data.get("notes", ()))})
        except (OSError, ValueError, TypeError):
            return None
        if not 0 <= start.last_at < start.offset <= size:
            return None
        with self.path.open("rb") as fh:
            fh.seek(start.last_at)
            raw = fh.readline(start.offset - start.last_at)
        entry = _parse(raw) if raw.endswith(b"\n") else None
        sound = entry is not None and entry.get("hash") == start.hash and _sound(entry)
        return start if sound and int(entry.get("seq", start.count)) == start.count else None

    def _keep_checked(self, reached: Checked) -> None:
        if reached.count:
            write_private(self._checked_path, json.dumps(reached.as_json()).encode())

    def _walk(
        self, size: int, witnessed: Mapping[int, str], verdict: Verdict, start: Checked | None
    ) -> tuple[Checked, bytes]:
        """Check every whole line in the first ``size`` bytes (from ``start`` when
        given); returns how far the chain is sound, and torn bytes at the end."""
        reached = start or Checked(0, GENESIS, 0, 0, False)
        line = reached.count
        with self.path.open("rb") as fh:
            fh.seek(reached.offset)
            while fh.tell() < size:
                at = fh.tell()
                raw = fh.readline(size - at)
                line += 1
                if not raw.endswith(b"\n"):
                    return reached, raw
                entry = _parse(raw)
                why = _entry_problem(entry, reached.hash, reached.count + 1, reached.anchored)
                if why:
                    verdict.broken = Broken(line, why)
                    return reached, b""
                assert entry is not None
                seq = int(entry.get("seq", reached.count + 1))
                if seq in witnessed and witnessed[seq] != entry["hash"]:
                    verdict.broken = Broken(line, "differs from the checkpoint the witness saw")
                    return reached, b""
                if entry.get("user") == SYSTEM and entry.get("action") in (HEAD_REBUILT, RECOVERED):
                    verdict.notes.append(_note(seq, entry))
                anchored = reached.anchored or "seq" in entry
                reached = Checked(seq, entry["hash"], at, at + len(raw), anchored)
        return reached, b""

    def about_child(self, uid: str) -> list[dict[str, Any]]:
        """Who has looked at this child's record, and when (through an index beside the
        log, caught up with it first: :mod:`graph.access.audit_index`)."""
        return AuditIndex(self.path).entries_naming(uid)

    def recent(self, n: int) -> list[dict[str, Any]]:
        """The last ``n`` whole entries, oldest first, read back from the end of the log
        rather than from its start."""
        if n <= 0 or not self.path.exists():
            return []
        with self.path.open("rb") as fh:
            end = fh.seek(0, os.SEEK_END)
            block, window = 65_536, b""
            while True:
                start = max(0, end - block)
                fh.seek(start)
                window = fh.read(end - start)
                lines = window.split(b"\n")
                if start == 0 or len(lines) > n + 2:
                    break
                block *= 2
        whole = lines[1:-1] if start > 0 else lines[:-1]  # a partial first line, the torn tail
        found = [e for e in map(_parse, whole) if e is not None]
        return found[-n:]

    def export_rows(self) -> Iterator[list[Any]]:
        """Every entry as a row of :data:`EXPORT_COLUMNS`."""
        for e in self.entries():
            yield [
                e.get("seq", ""),
                e["at"],
                e["user"],
                e["role"],
                e["action"],
                " ".join(e["children"]),
                e.get("reason") or "",
                json.dumps(e["detail"], default=str),
                e["hash"],
            ]

    def export_csv(self) -> str:
        """The whole trail as CSV, spreadsheet formulas neutralised (entries hold
        what users typed, such as search text)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        writer.writerows(safe_row(row) for row in self.export_rows())
        return out.getvalue()


EXPORT_COLUMNS = ["seq", "at", "user", "role", "action", "children", "reason", "detail", "hash"]


def _entry_problem(
    entry: dict[str, Any] | None, previous: str, expected: int, anchored: bool
) -> str | None:
    if entry is None:
        return "not a valid entry"
    seq = entry.get("seq")
    if seq is None and anchored:
        return "has no sequence number after entries that had one"
    if seq is not None and seq != expected:
        if isinstance(seq, int) and seq > expected:
            return f"entries {expected:,} to {seq - 1:,} are missing (removed from the log)"
        return f"is numbered {seq} where entry {expected:,} was due (reordered or repeated)"
    if entry.get("prev") != previous:
        return "does not follow the entry before it (an entry was removed or reordered)"
    if not _sound(entry):
        return "its content was changed after it was written"
    return None


def _against_head(
    head: Head | None, count: int, last_hash: str, anchored: bool, torn: bytes, notes: list[str]
) -> Broken | None:
    """Compare the end of the log with its head."""
    where = count + 1 if torn else max(count, 1)
    if head is None:
        if anchored:
            return Broken(
                where, "the head file is missing: removal from the end cannot be ruled out"
            )
        if count:
            notes.append("written before the head was kept; the next entry anchors it")
        return None
    if head.count < 0:
        return Broken(where, "the head file is unreadable")
    if torn:
        if head.pending is not None and head.count <= count < head.pending[0]:
            notes.append(
                f"entry {count + 1:,} was cut short by a crash while it was written "
                f"({len(torn)} bytes); the next entry moves it aside"
            )
            return None
        return Broken(where, "the last line is cut short, and no write was in progress")
    if (count, last_hash) == (head.count, head.hash):
        return None
    if head.pending is not None and (count, last_hash) == head.pending:
        return None  # written, head not yet committed (a crash, or a writer right now)
    if head.pending is not None and head.count < count < head.pending[0]:
        return None  # part of a group written when a crash came; the next write settles it
    if count < head.count:
        return Broken(
            where,
            f"the log ends at entry {count:,} but its head records "
            f"{head.count:,}: entries were removed from the end",
        )
    if count > head.count:
        return Broken(
            head.count + 1,
            f"{count - head.count:,} entr(ies) after the last one "
            "the head records: written outside Jigsaw",
        )
    return Broken(where, "the last entry is not the one the head records: the log was rewritten")


def _pending_seq(head: Head, seq: object) -> bool:
    """Whether ``seq`` is one of the entries the head's pending group is writing."""
    return head.pending is not None and isinstance(seq, int) and head.count < seq <= head.pending[0]


def _unwitnessed(witnessed: Mapping[int, str], count: int) -> Broken | None:
    beyond = [seq for seq in witnessed if seq > count]
    if beyond:
        return Broken(
            count + 1, f"the witness saw entry {min(beyond):,}; the log ends at {count:,}"
        )
    return None


def _note(seq: int, entry: Mapping[str, Any]) -> str:
    detail = entry.get("detail") or {}
    if entry.get("action") == RECOVERED:
        return (
            f"entry {seq:,}: a torn line ({detail.get('torn_bytes')} bytes) was moved "
            f"aside to {detail.get('moved_to')}"
        )
    if detail.get("first_anchoring"):
        return (
            f"entry {seq:,}: the log was anchored; its {detail.get('entries', 0):,} earlier "
            "entries were written before the head was kept"
        )
    return (
        f"entry {seq:,}: the head was missing and was rebuilt from the log's "
        f"{detail.get('entries', 0):,} entries; check the witness for entries removed "
        "before then"
    )


def _note_fields(action: str, **detail: object) -> dict[str, Any]:
    """An entry the trail writes about itself (a recovery), for verify to list."""
    return {
        "user": SYSTEM,
        "role": SYSTEM,
        "action": action,
        "children": [],
        "detail": detail,
        "reason": None,
    }


def _syslog_witness(address: str) -> logging.Logger:
    """A logger that sends to syslog: a unix socket path (``/dev/log``), or
    ``udp://host:port`` / ``tcp://host:port``."""
    if "://" in address:
        url = urlparse(address)
        kind = socket.SOCK_STREAM if url.scheme == "tcp" else socket.SOCK_DGRAM
        target: str | tuple[str, int] = (url.hostname or "localhost", url.port or 514)
    else:
        kind, target = socket.SOCK_DGRAM, address
    logger = logging.getLogger(f"jigsaw.audit.witness.{address}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    if not logger.handlers:
        handler = logging.handlers.SysLogHandler(
            address=target, facility=logging.handlers.SysLogHandler.LOG_AUTH, socktype=kind
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    return logger


def audit_log(data_dir: Path, witness: str = "") -> AuditLog:
    """The trail of a data directory (every caller uses this, so the path is declared once)."""
    return AuditLog(Path(data_dir) / "audit" / "audit.jsonl", witness=witness)
