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
mirrored there: :meth:`CopyState.distrust`), nor while a copy is written into it (its
file goes first and is recorded again once the copy is written, so one failing part way
leaves none); an untrusted buffer is written afresh.

Beside them, ``<graph>.copy-lags.json``: what each buffer lags the live graph by (the
nodes the loads since it was written touched, by our own ids, as the person map holds
them, and the shared values and districts' centres it was written with), so that a
delta's copy reads only those (:meth:`CopyState.lags`); none while the buffers change
places. Where a copy would leave the spare lagging by what no load said (a full load's
copy), the engine duplicates the published copy into it and it takes the published
buffer's hashes (:meth:`CopyState.duplicate`), so the next copy reads only what the next
load touched.

Each buffer is one file, replaced whole (:func:`graph.files.write_private`): a line of
JSON with its layout's :data:`VERSION` and the counts, then a label or relationship type
at a time, each a line of JSON naming it, its keys as a JSON list and its hashes as
64-bit integers. It is read a kind at a time, so reading it holds at once only the
largest kind's text beside the hashes read (one JSON document of them all was parsed
whole first); a file of another layout is not trusted, so the copy is written afresh.
A kind read is held as its keys and an array of their hashes (:class:`Kind`), as the
file has them, not as a dict of every item: a delta's copy looks up only the items it
read, by one pass over the keys in C, and changes a kind by masks.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import compress
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson

from graph.access.pseudonyms import private_dir
from graph.files import fsync_dir, write_private
from graph.store import Counts

Key = tuple[str, str]  # (label or relationship type, the item's key in the copy)
Hashes = dict[str, dict[str, int]]  # label or type -> item key -> hash
BUFFERS = ("published", "spare")
SWAPPED = "swapped"  # the published buffer's file while the two change places
SWAPPING = "swapping"  # a file present while the buffers change places
LAGS = "lags"  # what each buffer lags the live graph by (CopyState.lags)
# {"context": what coarsening depended on, "lag": {"nodes": ..., "ends": ...}}: see
# CopyState.lags
Lag = dict


# how the hashes are made (projection._hashes): hashes made otherwise are not trusted
HASHED_BY = "orjson-blake2b"


def _fingerprint(counts: Counts) -> list:
    return [
        sorted(counts.labels.items()),
        sorted(counts.relationship_types.items()),
        HASHED_BY,
    ]


# the layout of a buffer's file (the module's docstring): one of another is not trusted
VERSION = 2
HEAD_MAX = 1 << 20  # a head line longer than this is not one of ours (main wrote one line)
HASH = np.dtype("<i8")  # each hash, as the file holds it


class _NotOurs(ValueError):
    """A buffer's file not of this layout, or cut short."""


@dataclass(frozen=True, eq=False)
class Kind:
    """One label's or type's recorded hashes: its items' keys and their hashes, in step.
    Not a dict of every item: a county's are millions, building their dicts was most of
    reading the file, and a delta's copy looks up a few thousand of them."""

    keys: list[str]
    hashes: np.ndarray  # HASH, one a key

    @classmethod
    def of(cls, items: Mapping[str, int]) -> Kind:
        return cls(list(items), np.fromiter(items.values(), dtype=HASH, count=len(items)))

    def __len__(self) -> int:
        return len(self.keys)

    def _among(self, keys: set[str] | Mapping[str, int]) -> np.ndarray:
        """Which of this kind's items have a key among ``keys`` (one pass, in C)."""
        return np.fromiter(map(keys.__contains__, self.keys), dtype=bool, count=len(self.keys))

    def picked(self, keys: set[str]) -> dict[str, int]:
        """The items whose key is among ``keys`` (key -> hash)."""
        if not keys or not self.keys:
            return {}
        among = self._among(keys)
        return dict(zip(compress(self.keys, among), self.hashes[among].tolist(), strict=True))

    def items(self) -> Iterator[tuple[str, int]]:
        return zip(self.keys, self.hashes.tolist(), strict=True)

    def as_dict(self) -> dict[str, int]:
        """Every item (key -> hash): for a difference from the whole graph."""
        return dict(self.items())

    def changed(self, removed: set[str], changed: Mapping[str, int]) -> Kind:
        """This kind with the items of ``removed`` taken out and ``changed`` set: an
        item kept keeps its place, a new one (or one removed and set again) is added at
        the end, as a dict popped then updated would hold them."""
        if not removed and not changed:
            return self
        gone = self._among(removed) if removed else np.zeros(len(self.keys), dtype=bool)
        kept = ~gone
        moved = self._among(changed) & kept if changed else np.zeros(len(self.keys), dtype=bool)
        hashes = self.hashes.copy()
        in_place = list(compress(self.keys, moved))
        hashes[moved] = np.fromiter(map(changed.__getitem__, in_place), dtype=HASH)
        keys = list(compress(self.keys, kept)) if gone.any() else list(self.keys)
        placed = set(in_place)
        new = [key for key in changed if key not in placed]
        keys += new
        added = np.fromiter(map(changed.__getitem__, new), dtype=HASH, count=len(new))
        return Kind(keys, np.concatenate((hashes[kept], added)))


Known = dict[str, Kind]  # label or type -> its recorded hashes


def _frames(counts: Counts, hashes: Known) -> Iterator[bytes]:
    """A buffer's file a piece at a time (its head, then each kind's): never the whole
    text at once."""
    head = {"version": VERSION, "counts": _fingerprint(counts), "kinds": len(hashes)}
    yield orjson.dumps(head) + b"\n"
    for kind, of in hashes.items():
        keys = orjson.dumps(of.keys)
        yield orjson.dumps({"kind": kind, "n": len(of), "keys": len(keys)}) + b"\n"
        yield keys
        yield of.hashes.astype(HASH, copy=False).tobytes()


def _head(fh: BinaryIO) -> dict:
    """A buffer's file's first line: the counts it was recorded with and its kinds'
    number (a file cut between two kinds is told by it)."""
    line = fh.readline(HEAD_MAX)
    try:
        head = orjson.loads(line) if line.endswith(b"\n") else None
    except orjson.JSONDecodeError:
        head = None
    if not isinstance(head, dict) or head.get("version") != VERSION or "kinds" not in head:
        raise _NotOurs("not a buffer's file of this layout")
    return head


def _kinds(fh: BinaryIO, kinds: int) -> Known:
    """The hashes after a buffer's head, read a kind at a time: all ``kinds`` of them."""
    hashes: Known = {}
    while line := fh.readline(HEAD_MAX):
        try:
            frame = orjson.loads(line)
            keys = orjson.loads(fh.read(frame["keys"]))
            values = np.frombuffer(fh.read(frame["n"] * HASH.itemsize), HASH)
            if not isinstance(keys, list) or not len(keys) == len(values) == frame["n"]:
                raise ValueError("keys and hashes out of step")
            hashes[frame["kind"]] = Kind(keys, values)
        except (KeyError, TypeError, ValueError) as e:  # orjson's errors are ValueErrors
            raise _NotOurs("a kind cut short") from e
    if len(hashes) != kinds:
        raise _NotOurs("cut short between two kinds")
    return hashes


@dataclass(frozen=True)
class CopyState:
    """One live graph's copy hashes, in ``<graph>.copy-<buffer>.json`` beside the key (named
    so since its first layout, one JSON document)."""

    home: Path
    graph: str

    @classmethod
    def beside(cls, home: Path, graph: str) -> CopyState:
        return cls(home, re.sub(r"[^A-Za-z0-9_.-]", "_", graph))

    def _file(self, name: str) -> Path:
        if name not in (*BUFFERS, SWAPPED, SWAPPING, LAGS):  # names of ours, never from outside
            raise ValueError(f"no copy buffer {name!r}")
        return self.home / f"{self.graph}.copy-{name}.json"

    def _read(self, buffer: str, counts: Counts | None = None) -> Known | None:
        """The buffer's hashes, if it has a file of this layout (recorded with ``counts``,
        where given: the hashes are not read when they differ), else None."""
        expected = None if counts is None else orjson.loads(orjson.dumps(_fingerprint(counts)))
        try:
            with self._file(buffer).open("rb") as fh:
                head = _head(fh)
                recorded = head["counts"]
                return None if expected not in (None, recorded) else _kinds(fh, head["kinds"])
        except (FileNotFoundError, _NotOurs):
            return None

    def trusted(self, buffer: str, counts: Counts) -> Known | None:
        """The buffer's hashes (kind -> :class:`Kind`), or None when they cannot be trusted
        to describe the graph whose counts are ``counts`` (or are of another layout)."""
        if self._file(SWAPPING).exists():
            return None
        return self._read(buffer, counts)

    def record(
        self,
        buffer: str,
        counts: Counts,
        changed: Hashes,
        removed: Iterable[Key],
        *,
        fresh: bool,
    ) -> None:
        """The buffer now holds these changes (``fresh``: only these) and these counts."""
        self.write(buffer, counts, self.updated(buffer, changed, removed, fresh=fresh))

    def updated(
        self,
        buffer: str,
        changed: Hashes,
        removed: Iterable[Key],
        *,
        fresh: bool,
        base: Known | None = None,
    ) -> Known:
        """The buffer's hashes with these changes (``changed``: kind -> key -> hash;
        ``fresh``: only these), for :meth:`write` (made while the copy's last counts
        are not known yet). ``base``: the buffer's hashes as :meth:`trusted` gave them,
        changed in place rather than read again (a county's are a few million items,
        each copy of them held at once is memory the load's peak pays for): each kind
        a change touches is replaced by its changed :class:`Kind`."""
        if fresh:
            return {kind: Kind.of(of) for kind, of in changed.items()}
        hashes = (self._read(buffer) or {}) if base is None else base
        gone: dict[str, set[str]] = {}
        for kind, key in removed:
            gone.setdefault(kind, set()).add(key)
        empty = Kind([], np.zeros(0, dtype=HASH))
        for kind in dict.fromkeys([*changed, *gone]):  # a new kind in changed's order
            if kind in hashes or kind in changed:
                of = hashes.get(kind, empty)
                hashes[kind] = of.changed(gone.get(kind, set()), changed.get(kind, {}))
        return hashes

    def write(self, buffer: str, counts: Counts, hashes: Known) -> None:
        """The buffer now holds these hashes (:meth:`updated`) and these counts."""
        private_dir(self.home)
        write_private(self._file(buffer), _frames(counts, hashes))

    def begin_swap(self) -> None:
        """About to put the spare in place of the published copy: until :meth:`end_swap`,
        neither buffer's hashes are trusted (a crash between the two is seen)."""
        private_dir(self.home)
        write_private(self._file(SWAPPING), b"{}")
        self._file(SWAPPED).unlink(missing_ok=True)  # what a swap that stopped left

    def end_swap(self) -> None:
        """The spare is the published copy now, and the published one the spare (or
        none, after a swap that stopped part way)."""
        published, spare, swapped = (self._file(n) for n in (*BUFFERS, SWAPPED))
        with contextlib.suppress(FileNotFoundError):
            published.replace(swapped)
        with contextlib.suppress(FileNotFoundError):
            spare.replace(published)
        with contextlib.suppress(FileNotFoundError):
            swapped.replace(spare)
        fsync_dir(self.home)
        self._file(SWAPPING).unlink()
        fsync_dir(self.home)

    def duplicate(self) -> bool:
        """The spare holds what the published copy holds (the engine copied it): the
        published buffer's hashes are the spare's too. False, the spare left untrusted,
        where they are gone: a review decision mirrored into the published copy while
        the engine copied it (a rejection does not wait for a load), so what the spare
        holds is not known."""
        try:
            held = self._file("published").read_bytes()
        except FileNotFoundError:
            return False
        private_dir(self.home)
        write_private(self._file("spare"), held)
        return True

    def lags(self) -> dict[str, Lag | None]:
        """What each buffer lags the live graph by: what the loads since it was written
        touched (``lag``: :meth:`projection.Scope.kept`, nodes and relationships' ends by
        label -> live uids), and what coarsening depended on then (``context``: the
        shared values kept and the districts' centres); a buffer missing or None: not
        known (read the whole graph). The live uids are our own ids, of every label the
        loads touched (cases, addresses, schools as well as people): the file is private
        as the person map beside the key is, and never given out with the copy."""
        try:
            return orjson.loads(self._file(LAGS).read_bytes())
        except FileNotFoundError:
            return {}

    def keep_lags(self, lags: dict[str, Lag | None]) -> None:
        """Record :meth:`lags` (``{}``: none known, while the buffers change places)."""
        private_dir(self.home)
        write_private(self._file(LAGS), orjson.dumps(lags, default=sorted))

    def distrust(self, buffer: str = "published") -> None:
        """Something other than a copy's writing changed this buffer: write it afresh
        next time it is written."""
        self._file(buffer).unlink(missing_ok=True)
        if self.home.exists():
            fsync_dir(self.home)
