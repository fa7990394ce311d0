"""What each analysts' copy holds, as a hash of every node and relationship in it.

The next copy is then written as the difference from one of them (:mod:`graph.access.projection`):
an item whose hash is unchanged is left as it is. A hash is of what the copy holds
(pseudonyms, coarsened values), so the state says nothing the copy does not; it is kept
beside the pseudonym key anyway, readable by its owner only.

Two buffers: ``published`` (the copy analysts read) and ``spare`` (where the next one is
written, on an engine that puts a finished copy in place at once; an engine writing in
place has only ``published``). Each buffer's hashes are trusted only while the graph's
counts of labels and relationship types are those recorded with them, and never after
a swap that did not finish, nor after something else wrote to the copy (a review merge
mirrored there: :meth:`CopyState.distrust`); an untrusted buffer is written afresh.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from graph.access.pseudonyms import private_dir, private_file
from graph.store import Counts

Key = tuple[str, str]  # (label or relationship type, the item's key in the copy)
BUFFERS = ("published", "spare")
SWAPPING = "swapping"  # a meta row present while the buffers change places


def _table(buffer: str) -> str:
    """A buffer's table (a name from :data:`BUFFERS`, never from outside)."""
    if buffer not in BUFFERS:
        raise ValueError(f"no copy buffer {buffer!r}")
    return buffer


def _fingerprint(counts: Counts) -> str:
    return json.dumps([sorted(counts.labels.items()), sorted(counts.relationship_types.items())])


@dataclass(frozen=True)
class CopyState:
    """One live graph's copy hashes, in ``<graph>.copy.sqlite`` beside the key."""

    path: Path

    @classmethod
    def beside(cls, home: Path, graph: str) -> CopyState:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", graph)
        return cls(home / f"{safe}.copy.sqlite")

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            private_dir(self.path.parent)
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.close(private_file(self.path))
        db = sqlite3.connect(self.path, timeout=60)
        db.execute("CREATE TABLE IF NOT EXISTS meta (buffer TEXT PRIMARY KEY, counts TEXT)")
        for buffer in BUFFERS:
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {buffer} (kind TEXT, key TEXT, hash INTEGER, "
                "PRIMARY KEY (kind, key)) WITHOUT ROWID"
            )
        return db

    def trusted(self, buffer: str, counts: Counts) -> dict[str, dict[str, int]] | None:
        """The buffer's hashes (kind -> key -> hash), or None when they cannot be trusted
        to describe the graph whose counts are ``counts``."""
        if not self.path.exists():
            return None
        db = self._connect()
        try:
            meta = dict(db.execute("SELECT buffer, counts FROM meta").fetchall())
            if SWAPPING in meta or meta.get(buffer) != _fingerprint(counts):
                return None
            known: dict[str, dict[str, int]] = defaultdict(dict)
            table = _table(buffer)
            for kind, key, h in db.execute(f"SELECT kind, key, hash FROM {table}"):  # noqa: S608
                known[kind][key] = h
            return dict(known)
        finally:
            db.close()

    def record(
        self,
        buffer: str,
        counts: Counts,
        changed: Iterable[tuple[str, str, int]],
        removed: Iterable[Key],
        *,
        fresh: bool,
    ) -> None:
        """The buffer now holds these changes (``fresh``: only these) and these counts."""
        db = self._connect()
        try:
            table = _table(buffer)
            with db:
                if fresh:
                    db.execute(f"DELETE FROM {table}")  # noqa: S608
                db.executemany(f"DELETE FROM {table} WHERE kind = ? AND key = ?", removed)  # noqa: S608
                # in the key's order: a quarter faster than as they come
                db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?)", sorted(changed))  # noqa: S608
                db.execute(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)", (buffer, _fingerprint(counts))
                )
        finally:
            db.close()

    def begin_swap(self) -> None:
        """About to put the spare in place of the published copy: until :meth:`end_swap`,
        neither buffer's hashes are trusted (a crash between the two is seen)."""
        db = self._connect()
        try:
            with db:
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, NULL)", (SWAPPING,))
        finally:
            db.close()

    def end_swap(self) -> None:
        """The spare is the published copy now, and the published one the spare."""
        db = self._connect()
        try:
            with db:
                db.execute("ALTER TABLE published RENAME TO swapped")
                db.execute("ALTER TABLE spare RENAME TO published")
                db.execute("ALTER TABLE swapped RENAME TO spare")
                db.execute("UPDATE meta SET buffer = 'swapped' WHERE buffer = 'published'")
                db.execute("UPDATE meta SET buffer = 'published' WHERE buffer = 'spare'")
                db.execute("UPDATE meta SET buffer = 'spare' WHERE buffer = 'swapped'")
                db.execute("DELETE FROM meta WHERE buffer = ?", (SWAPPING,))
        finally:
            db.close()

    def distrust(self, buffer: str = "published") -> None:
        """Something other than a copy's writing changed this buffer: write it afresh
        next time it is written."""
        if not self.path.exists():
            return
        db = self._connect()
        try:
            with db:
                db.execute("DELETE FROM meta WHERE buffer = ?", (buffer,))
        finally:
            db.close()
