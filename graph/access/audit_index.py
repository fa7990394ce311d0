"""Which audit entries name a child, without reading the whole trail for each question.

The record page asks it at every view (who asked about this child through the exchange
API) and the audit page for any child an administrator names; a trail of a county's
months of use runs to gigabytes, so reading it whole each time does not scale. A SQLite
file beside the log (``<log>.index``) maps each child's uid to the byte offsets of the
entries naming them. It is caught up from where it stopped before each lookup (reading
only what was appended since), started again from the beginning when the log no longer
holds what it indexed (the last entry it indexed is not where it was, or differs), and
never trusted alone: each entry it points to is read back from the log and kept only if
it names the child. The trail itself stays the record; the index can be deleted at any
time and is rebuilt on the next lookup. So the index is not synced to disk at each
commit (a machine's crash may lose its last catch-ups, which the next lookup redoes, or
spoil it, and a spoilt index is made again from the log), and a lookup with nothing new
in the log takes no write lock: sessions viewing records queued on that lock and sync.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS named (child TEXT NOT NULL, offset INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS named_child ON named (child);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
BUSY_MS = 30_000  # another process catching the index up: wait for it


class AuditIndex:
    """The index of one audit log file."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = Path(log_path)
        self.path = self.log_path.with_name(self.log_path.name + ".index")

    def entries_naming(self, uid: str) -> list[dict[str, Any]]:
        """Every whole entry naming ``uid``, oldest first."""
        if not self.log_path.exists():
            return []
        try:
            offsets = self._offsets(uid)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise  # busy, locked, no space: not the index's own state
            for spoilt in (self.path, self.path.with_name(self.path.name + "-journal")):
                spoilt.unlink(missing_ok=True)  # made again from the log
            offsets = self._offsets(uid)
        found = []
        with self.log_path.open("rb") as fh:
            for offset in offsets:
                fh.seek(offset)
                entry = parse_entry(fh.readline())
                if entry is not None and uid in entry.get("children", []):
                    found.append(entry)
        return found

    def _offsets(self, uid: str) -> list[int]:
        with self._connected() as db:
            self._catch_up(db)
            return [
                row[0]
                for row in db.execute(
                    "SELECT offset FROM named WHERE child = ? ORDER BY offset", (uid,)
                )
            ]

    @contextmanager
    def _connected(self) -> Iterator[sqlite3.Connection]:
        if not self.path.exists():  # private from its first byte, like the log beside it
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        with closing(sqlite3.connect(self.path, timeout=BUSY_MS / 1000)) as db:
            db.execute("PRAGMA synchronous=OFF")  # the log is the record, not the index
            db.executescript(SCHEMA)
            yield db

    def _catch_up(self, db: sqlite3.Connection) -> None:
        """Index the whole entries appended since the last catch-up (one process at a
        time: the others wait, then find nothing left to do)."""
        if self._caught_up(db):
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            state = dict(db.execute("SELECT key, value FROM state").fetchall())
            start = int(state.get("indexed_to", 0))
            with self.log_path.open("rb") as fh:
                if start and not _still_there(fh, state):
                    db.execute("DELETE FROM named")
                    start = 0
                fh.seek(start)
                rows, last = [], None
                offset = start
                for raw in fh:
                    if not raw.endswith(b"\n"):
                        break  # a line being written (or torn): the next catch-up sees it
                    entry = parse_entry(raw)
                    if entry is not None:
                        rows += [(str(c), offset) for c in entry.get("children", [])]
                        last = (offset, str(entry.get("hash", "")))
                    offset += len(raw)
            db.executemany("INSERT INTO named (child, offset) VALUES (?, ?)", rows)
            if last is not None:
                state = {"indexed_to": str(offset), "last_at": str(last[0]), "last_hash": last[1]}
            else:
                state = {**state, "indexed_to": str(offset)}
            db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", state.items())
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _caught_up(self, db: sqlite3.Connection) -> bool:
        """Whether the index already reaches the log's end, the entry it last indexed
        where it was (read without the write lock)."""
        state = dict(db.execute("SELECT key, value FROM state").fetchall())
        with self.log_path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            return size == int(state.get("indexed_to", -1)) and _still_there(fh, state)


def _still_there(fh: Any, state: dict[str, str]) -> bool:
    """Whether the log still holds, where the index left it, the entry it last indexed."""
    if fh.seek(0, os.SEEK_END) < int(state.get("indexed_to", 0)):
        return False  # cut short
    if "last_at" not in state:
        return True  # nothing readable indexed yet
    fh.seek(int(state["last_at"]))
    entry = parse_entry(fh.readline())
    return entry is not None and entry.get("hash") == state.get("last_hash")


def parse_entry(raw: bytes) -> dict[str, Any] | None:
    """One line of the log as an entry, or None when it is not one."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None
