"""The analysts' pseudonyms: a keyed HMAC of our own ids, and the way back to them.

A pseudonym is ``ps-`` and the first 16 hex digits of HMAC-SHA256(key, "Label:uid").
The key is a random secret made on first use (``secrets.token_bytes(32)``) and kept
outside the graph, in the pseudonym directory (``JIGSAW_PSEUDONYM_DIR``, by default
``data_dir/pseudonym``), readable by its owner only: without it, hashing candidate ids
or identifiers gives other strings, so a pseudonym cannot be worked back by guessing.

Beside the key, one map per graph holds each person's pseudonym and id, written with
the pseudonymised copy (:mod:`graph.access.projection`). It lets the audit trail name
the children an analyst's query returned, and a permitted role re-identify children
for a lawful purpose (:func:`graph.access.guard.reidentify`). Analysts never read it.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
import sqlite3
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from pathlib import Path

KEY_FILE = "key"
KEY_BYTES = 32
PREFIX = "ps-"
PATTERN = re.compile(r"\bps-[0-9a-f]{16}\b")
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


class PseudonymError(RuntimeError):
    """The key or the map cannot be used; the message says which file and why."""


def private_dir(path: Path) -> Path:
    """A directory only its owner may enter (made if missing, tightened if looser)."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path) -> int:
    """Create ``path`` for writing, readable by its owner only (fails if it exists)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)


def _read_key(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise PseudonymError(
            f"the pseudonym key {path} may be read by others (mode {mode:o}): "
            f"chmod 600 {path.name} before anything is pseudonymised with it"
        )
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        raise PseudonymError(f"the pseudonym key {path} is not hex text") from None
    if len(key) < KEY_BYTES:
        raise PseudonymError(f"the pseudonym key {path} is shorter than {KEY_BYTES} bytes")
    return key


def load_key(home: Path, *, create: bool = True) -> bytes:
    """The key in ``home``; made (once, even with several processes at it) if missing."""
    path = home / KEY_FILE
    if not path.exists():
        if not create:
            raise PseudonymError(f"no pseudonym key in {home}: a load makes one")
        private_dir(home)
        try:
            fd = private_file(path)
        except FileExistsError:  # another process made it first: use theirs
            return _read_key(path)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES).hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return _read_key(path)


def pseudonym(key: bytes, label: str, uid: object) -> str:
    return PREFIX + hmac.digest(key, f"{label}:{uid}".encode(), "sha256").hex()[:16]


def pseudonyms(key: bytes, label: str, uids: Iterable[object]) -> list[str]:
    """:func:`pseudonym` of each uid, every step a C call mapped over them (a copy
    works out a county's millions)."""
    texts = map(str.encode, map(f"{label}:".__add__, map(str, uids)))
    digests = map(partial(hmac.digest, key, digest="sha256"), texts)
    return list(map(PREFIX.__add__, map(bytes.hex, map(itemgetter(slice(0, 8)), digests))))


def found_in(value: object) -> set[str]:
    """Every pseudonym anywhere in a result value (strings, lists, maps, nested)."""
    if isinstance(value, str):
        return set(PATTERN.findall(value))
    if isinstance(value, dict):
        return set().union(*(found_in(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(found_in(v) for v in value)) if value else set()
    return set()


@dataclass(frozen=True)
class Pseudonyms:
    """One graph's key and person map, in the pseudonym directory."""

    home: Path
    graph: str  # whose map: the live graph's name
    key: bytes

    @classmethod
    def open(cls, home: Path | None, graph: str, *, create: bool = True) -> Pseudonyms:
        if home is None:
            raise PseudonymError(
                "this store has no pseudonym directory (JIGSAW_PSEUDONYM_DIR): the "
                "analysts' copy cannot be written or read back"
            )
        return cls(home, graph, load_key(home, create=create))

    def of(self, label: str, uid: object) -> str:
        return pseudonym(self.key, label, uid)

    def each(self, label: str, uids: Iterable[object]) -> list[str]:
        return pseudonyms(self.key, label, uids)

    @property
    def map_path(self) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", self.graph)
        return self.home / f"{safe}.map.sqlite"

    @property
    def _staged(self) -> Path:
        return self.map_path.with_suffix(".partial")

    def stage_map(self, people: Iterable[tuple[str, str]]) -> int:
        """The new map of these (pseudonym, uid) pairs, made beside the one in use
        (left as it is until :meth:`publish_map`); the pairs it holds."""
        private_dir(self.home)
        partial = self._staged
        partial.unlink(missing_ok=True)
        os.close(private_file(partial))  # SQLite takes an empty file as an empty database
        with sqlite3.connect(partial) as db:
            db.execute("CREATE TABLE person (pseudonym TEXT PRIMARY KEY, uid TEXT NOT NULL)")
            # in the key's order (stable: of two alike the later still wins): each row
            # is appended to the index, not put among the others
            rows = sorted(people, key=itemgetter(0))
            db.executemany("INSERT OR REPLACE INTO person VALUES (?, ?)", rows)
            count = db.execute("SELECT count(*) FROM person").fetchone()[0]
        db.close()
        return count

    def publish_map(self) -> None:
        """The map :meth:`stage_map` made, in place of the one in use, at once."""
        os.replace(self._staged, self.map_path)

    def update_map(self, people: Iterable[tuple[str, str]], gone: Iterable[str]) -> int | None:
        """The map in use with these (pseudonym, uid) pairs put in and the ``gone``
        pseudonyms taken out, in one transaction (a delta's people only: the rest stay
        as they are); the pairs it then holds, or None where there is no map."""
        if not self.map_path.exists():
            return None
        with sqlite3.connect(self.map_path) as db:
            db.executemany("INSERT OR REPLACE INTO person VALUES (?, ?)", sorted(people))
            db.executemany("DELETE FROM person WHERE pseudonym = ?", ((p,) for p in gone))
            count = db.execute("SELECT count(*) FROM person").fetchone()[0]
        db.close()
        return count

    def forget(self, uid: str) -> None:
        """A person merged into another: their pseudonym names nobody any more."""
        if self.map_path.exists():
            with sqlite3.connect(self.map_path) as db:
                db.execute("DELETE FROM person WHERE uid = ?", (uid,))
            db.close()

    def remember(self, pseudonym: str, uid: str) -> None:
        """A person restored (a merge undone): their pseudonym names them again."""
        if self.map_path.exists():
            with sqlite3.connect(self.map_path) as db:
                db.execute("INSERT OR REPLACE INTO person VALUES (?, ?)", (pseudonym, uid))
            db.close()

    def people(self, pseudonyms: Iterable[str]) -> dict[str, str]:
        """Pseudonym -> person uid, for those that name a person in this graph."""
        wanted = sorted(set(pseudonyms))
        if not wanted or not self.map_path.exists():
            return {}
        db = sqlite3.connect(f"file:{self.map_path}?mode=ro", uri=True)
        try:
            found = dict(
                db.execute(
                    "SELECT pseudonym, uid FROM person "
                    "WHERE pseudonym IN (SELECT value FROM json_each(?))",
                    (json.dumps(wanted),),
                ).fetchall()
            )
        finally:
            db.close()
        return found
