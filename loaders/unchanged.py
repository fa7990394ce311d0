"""Which of a load's graph rows the graph already holds as they are: a delta writes the rest.

A nightly load builds every row from every record, and nearly all of them are what the
last load wrote; sending them through their MERGE statements again costs most of the
write stage and changes nothing. So after a load has finished, each step's rows are
recorded here as hashes, a hash per graph *element* (one node by its key, or the
relationships of one step between the same two nodes) over all of the step's rows for
it, in order, together with the node elements the load wrote (:data:`MEMORY_FILE`,
beside the load reports). The next load skips an element's rows when

- their hash is one the last load recorded (the same rows, in the same order, and the
  same statement: it would leave what it left), and
- every other node they name (a relationship's other end) was one of the last load's
  node elements, so their relationships were made then, and no node they start from
  was written in this load with its relationships of a type a later step rewrites
  (:attr:`graph.schema.RelType.rewritten`: writing the node removed them), and
- a node of a label two steps write (an address from the gazetteer or from a record,
  a case's or an address's note) was named by one step only in the last load and is
  in this one: a later step naming a node an earlier step left unwritten writes the
  earlier step's rows for it first (:meth:`Unchanged.take_owed`), so the node is left
  as both steps' rows in order leave it, as in a full load. Which such nodes two steps
  wrote is recorded too (a record without it, from older code, has every such node
  written).

The record is trusted only when the graph is the one that load left: its node and
relationship counts and its version stamp (:func:`graph.version.kept_as`) are those
recorded (a review decision or another load since makes every row written; a note added
in the app does not), the load is not ``--full``, and the last load finished (the
record is removed before anything is written, and written again once the load has
finished). Otherwise every row is written, and the load report says why
(:attr:`Unchanged.reason`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from graph import version
from graph.store import GraphStore
from graph.writes import Step
from loaders.distinct import sorted_distinct

MEMORY_FILE = "written.npz"
VERSION = 3  # of the record's format and of what a hash covers
_JSON = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY
_NONE = np.empty(0, np.uint64)

Row = dict[str, Any]


def _hash(values: Any) -> int:
    """A stable 64-bit hash of plain values (Python's own hash changes every process):
    of their JSON (dicts by sorted keys, dates as ISO text), which orjson writes faster
    than ``repr`` (every row of a first load is hashed; figures in benchmarks/README.md);
    ``repr`` for what JSON cannot hold (an integer past 64 bits)."""
    return int(_hashes(b"", [values])[0])


def _hashes(person: bytes, items: list[Any], *, alone: bool = False) -> np.ndarray:
    """:func:`_hash` of each of ``items`` under ``person`` (at most 16 bytes: what the
    items are, e.g. one step's elements or one label's nodes), as one array: every
    element a load writes is hashed, so the per-item work is a few C calls (a copy of
    one hash begun with ``person``: cheaper than beginning each) and the looking up is
    done on the array (:func:`_among`). ``alone``: each item hashed as the list of it
    alone (``[item]``, an element of one row), without making that list: its text is
    the item's between brackets, in JSON as in ``repr``."""
    begun = hashlib.blake2b(digest_size=8, person=person)
    end = b""
    if alone:
        begun.update(b"[")
        end = b"]"
    copy, dumps = begun.copy, orjson.dumps
    found: list[bytes] = []
    add = found.append
    try:  # a loop, not a function called for each item: every row of a load comes here
        for x in items:
            h = copy()
            h.update(dumps(x, default=repr, option=_JSON))
            h.update(end)
            add(h.digest())
    except orjson.JSONEncodeError:  # a value JSON cannot hold: each item as _text has it
        found = [_digest(copy(), _text(x), end) for x in items]
    return np.frombuffer(b"".join(found), ">u8").astype(np.uint64)


def _digest(h: Any, data: bytes, end: bytes) -> bytes:
    h.update(data)
    h.update(end)
    return h.digest()


def _grouped(keys: list[Any], rows: list[Row]) -> tuple[list[Any], list[list[Row]] | None]:
    """The distinct keys in the order first seen, and each one's rows in order; None
    for the rows when no key repeats (most steps: each row is its element), so that no
    list is made for each row."""
    distinct = dict.fromkeys(keys)
    if len(distinct) == len(keys):
        return keys, None
    groups: dict[Any, list[Row]] = {}
    for key, row in zip(keys, rows, strict=True):
        group = groups.get(key)
        if group is None:
            groups[key] = [row]
        else:
            group.append(row)
    return list(groups), list(groups.values())


def _text(values: Any) -> bytes:
    try:
        return orjson.dumps(values, default=repr, option=_JSON)
    except orjson.JSONEncodeError:
        return repr(values).encode()


def _node_hashes(label: str, keys: list[Any]) -> np.ndarray:
    """The hash of each node of ``label`` by its key (the record's ``nodes``)."""
    return _hashes(hashlib.blake2b(label.encode(), digest_size=16).digest(), keys)


def _among(values: np.ndarray, sorted_: np.ndarray) -> np.ndarray:
    """Which of ``values`` are in ``sorted_`` (sorted, unique), as booleans."""
    if not len(sorted_) or not len(values):
        return np.zeros(len(values), bool)
    at = np.searchsorted(sorted_, values)
    at[at == len(sorted_)] = 0
    return sorted_[at] == values


def _naming(
    blocking: list[tuple[str, set]], rows: list[Row], keys: list[Any] | None, order: list[Any]
) -> np.ndarray:
    """Which elements (``order``) have a row whose field ``f`` holds one of ``found``,
    for any (f, found) of ``blocking``; ``keys``: each row's element, None when each
    row is its own. Looked at a field at a time (C loops over every row of the step: a
    delta names some new node in nearly every step, and most rows are unchanged)."""
    named = np.zeros(len(rows), bool)
    for f, found in blocking:
        named |= np.fromiter(map(found.__contains__, map(itemgetter(f), rows)), bool, len(rows))
    if keys is None:
        return named
    element = dict(zip(order, range(len(order)), strict=True))
    out = np.zeros(len(order), bool)
    out[[element[keys[i]] for i in np.flatnonzero(named).tolist()]] = True
    return out


def _sorted(parts: list[np.ndarray]) -> np.ndarray:
    return sorted_distinct(np.concatenate(parts)) if parts else _NONE


def _ascending(values: np.ndarray) -> np.ndarray:
    """``values`` as hashes sorted and unique (as saved; sorted again if not)."""
    values = values.astype(np.uint64, copy=False)
    return values if bool(np.all(values[1:] > values[:-1])) else sorted_distinct(values)


def element_key(step: Step) -> Callable[[Row], Any]:
    """What makes a row's element (the rows one graph element is written from): a
    node's key (its value), else a relationship's two ends ((start, end))."""
    if step.node_type is not None:
        return itemgetter(step.node_type.key)
    rel = step.rels[0]
    return itemgetter(rel.start.field, rel.end.field)


def shared_labels(plan: Iterable[Step]) -> frozenset[str]:
    """Node labels more than one step of ``plan`` writes."""
    written = Counter(s.node_type.label for s in plan if s.node_type is not None)
    return frozenset(label for label, n in written.items() if n > 1)


@dataclass
class Unchanged:
    """What the last finished load wrote (``before``) and what this one writes (``after``).

    Hashes are kept as sorted arrays (numpy), not sets: a county's load writes millions
    of elements, and each is looked up once, a step at a time."""

    path: Path | None
    shared: frozenset[str]
    before: np.ndarray = field(default_factory=lambda: _NONE)  # element hashes, sorted
    nodes_before: np.ndarray = field(default_factory=lambda: _NONE)  # its node elements
    after_parts: list[np.ndarray] = field(default_factory=list)
    nodes_after_parts: list[np.ndarray] = field(default_factory=list)
    nodes_written: set[int] = field(default_factory=set)  # this load's, not skipped
    reason: str = ""  # why every row is written, when it is
    skipped: dict[str, int] = field(default_factory=dict)  # rows not written, per step
    # what this load changed, for the stages after writing; None when not known (the
    # last load's record not trusted: the stages after go over the whole graph)
    touched: Touched | None = None
    # nodes of a label two steps write (``shared``) that the last load, and this one,
    # wrote from both (by their hash; None: not recorded, every such node written), and
    # this load's so far: the step that named each first and the rows it left unwritten
    multi_before: set[int] | None = None
    multi_after: set[int] = field(default_factory=set)
    shared_named: dict[int, Step] = field(default_factory=dict)
    held: dict[int, list[tuple[Step, list[Row]]]] = field(default_factory=dict)
    owed: list[tuple[Step, list[Row]]] = field(default_factory=list)
    # a load that writes every row (no record trusted) needs their hashes only for the
    # next load: its steps' rows, in order, hashed after writing (:meth:`record`)
    later: list[tuple[Step, list[Row] | Callable[[], list[Row]]]] = field(default_factory=list)
    # of the nodes steps name at their other ends, by label: the text values looked up
    # in the last load's node elements so far, and those found in none (_not_before)
    _looked_up: dict[str, set[str]] = field(default_factory=dict, repr=False)
    _missing: dict[str, set[str]] = field(default_factory=dict, repr=False)
    _recording: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def take(
        cls,
        path: Path | None,
        shared: frozenset[str],
        kept_as: dict[str, Any],
        full: bool,
    ) -> Unchanged:
        """The last load's record at ``path`` if the graph (its counts and version stamp,
        ``kept_as``: graph.version.kept_as) is as that load left it; removed either way,
        so a load that stops part way leaves none."""
        memory = cls(path, shared)
        if path is None:
            memory.reason = "no load reports folder to keep a record of what was written in"
            return memory
        data = _read(path)
        path.unlink(missing_ok=True)
        if full:
            memory.reason = "a full load (--full) writes every row"
        elif data is None:
            memory.reason = "no record of what the last load wrote (or it did not finish)"
        elif data.get("older"):
            memory.reason = (
                "the record of what the last load wrote is another release's (its rows "
                "hashed another way): every row is written once, and recorded anew"
            )
        elif data["kept_as"] != kept_as:
            memory.reason = "the graph changed since the last load (a review decision, ...)"
        else:
            memory.before, memory.nodes_before = data["elements"], data["nodes"]
            memory.multi_before = data["multi"]
            memory.touched = Touched()
        return memory

    @property
    def active(self) -> bool:
        return not self.reason

    @property
    def after(self) -> np.ndarray:
        """The element hashes this load has written or left so far, sorted."""
        self.record()
        self.after_parts = [_sorted(self.after_parts)]
        return self.after_parts[0]

    @property
    def nodes_after(self) -> np.ndarray:
        """Its node elements, sorted."""
        self.record()
        self.nodes_after_parts = [_sorted(self.nodes_after_parts)]
        return self.nodes_after_parts[0]

    def rows(self, step: Step, rows: list[Row], *, skip: bool = True) -> list[Row]:
        """The rows of ``step`` to write (all, in order, but those of elements the graph
        holds as they are), each element's hash recorded for the next load. ``skip``
        False: rows written another way (new nodes bulk-inserted), only recorded.

        Without a record trusted every row is written, so their hashes are left for
        :meth:`record`: the load's own thread writes meanwhile, and the hashing runs
        while the stages after writing wait for the engine."""
        if not rows:
            return rows
        if not self.active:
            self.later.append((step, rows))
            return rows
        return self._rows(step, rows, skip)

    def written(self, step: Step, rows: list[Row], again: Callable[[], list[Row]]) -> None:
        """Record ``rows`` of ``step``, written another way (new nodes bulk-inserted);
        when recorded later, made again by ``again()`` then, not held meanwhile."""
        if self.active:
            self._rows(step, rows, False)
        else:
            self.later.append((step, again))

    def record(self, check: Callable[[], None] = lambda: None) -> None:
        """Hash the rows :meth:`rows` left for later, step by step in the order they
        came (as :meth:`rows` would have); ``check`` between steps (it raises to stop).
        One thread at a time: another asking waits for it (:meth:`save` for the load's)."""
        with self._recording:
            while self.later:
                check()
                step, rows = self.later[0]
                self._rows(step, rows() if callable(rows) else rows, False)
                del self.later[0]

    def _rows(self, step: Step, rows: list[Row], skip: bool) -> list[Row]:
        node, key_of = step.node_type, element_key(step)
        if node is not None:
            ends = [(e.label, e.field) for e in step.others]
        else:
            rel = step.rels[0]
            ends = [(rel.start.label, rel.start.field), (rel.end.label, rel.end.field)]
        # what a changed element's rows name, by relationship type (Touched)
        named = [
            (r.type.type, e.label, e.field)
            for r in step.rels
            for e in (r.start, r.end)
            if node is None or e.var != "n"
        ]
        # a node written this load lost the relationships of a type a later step
        # rewrites (graph.writes): that step writes them all again
        renewed = [
            (r.start.label, r.start.field)
            for r in step.rels
            if r.type.rewritten and (node is None or r.start.label != node.label)
        ]
        keys = list(map(key_of, rows))
        order, lists = _grouped(keys, rows)
        # the statement too: rows it wrote before it changed (a property added to the
        # schema) are written again
        written_by = _hash((step.name, step.statement, step.keyless)).to_bytes(8, "big")
        hashes = _hashes(written_by, rows if lists is None else lists, alone=lists is None)
        group_of: Callable[[int], list[Row]] = (
            (lambda i: [rows[i]]) if lists is None else lists.__getitem__
        )
        self.after_parts.append(hashes)
        nodes = _node_hashes(node.label, order) if node is not None else _NONE
        self.nodes_after_parts.append(nodes)
        trusted = self.active  # the last load's record holds: what is new can be told
        skippable = skip and trusted and (node is None or node.label not in self.shared)
        # the other ends' values that make an element's rows written: a node the last
        # load did not write, or one this load wrote that a later step's relationships
        # start from; each value is looked at once, not once for every row naming it
        blocking: list[tuple[str, set]] = []
        if trusted:
            try:
                for label, f in ends:
                    blocking.append((f, self._not_before(label, set(map(itemgetter(f), rows)))))
                for label, f in renewed:
                    values = list(set(map(itemgetter(f), rows)))
                    found = _node_hashes(label, values).tolist()
                    written = self.nodes_written
                    blocking.append(
                        (f, {v for v, h in zip(values, found, strict=True) if h in written})
                    )
            except TypeError:  # a value no set can hold: write the step's rows
                skippable = trusted = False
            blocking = [(f, found) for f, found in blocking if found]
        new = ~_among(hashes, self.before) if trusted else np.ones(len(order), bool)
        if blocking:
            new |= _naming(blocking, rows, keys if lists is not None else None, order)
        keep = new if skippable else np.ones(len(order), bool)
        if node is not None and node.label in self.shared:
            keep = self._shared(step, nodes.tolist(), group_of, new, skip and trusted)
        touched = self.touched if trusted else None
        changed = np.flatnonzero(new).tolist()
        if touched is not None:
            for i in changed:
                touched.add(node, named, order[i], group_of(i))
        elif changed:
            self.touched = None  # not known: whatever reads it goes over everything
        if node is not None and self.active:  # read only on a delta (``renewed`` above),
            # this step's nodes too when it fell back to writing every row
            self.nodes_written.update(nodes[keep].tolist())
        if keep.all():
            return rows
        if lists is None:  # a row an element: the rows kept by their places
            out = [rows[i] for i in np.flatnonzero(keep).tolist()]
        else:
            kept = {order[i] for i in np.flatnonzero(keep).tolist()}
            out = [row for key, row in zip(keys, rows, strict=True) if key in kept]
        self.skipped[step.name] = self.skipped.get(step.name, 0) + len(rows) - len(out)
        return out

    def _not_before(self, label: str, values: set[Any]) -> set[Any]:
        """Which of ``values`` (of nodes of ``label``) name no node the last load wrote.
        Most steps name the same people, schools and addresses: each text value is
        looked up once a load (:attr:`_looked_up`), not once for each step naming it;
        any other is looked up each time (a set takes 1 and 1.0 for one value, which
        hash apart)."""
        looked_up = self._looked_up.setdefault(label, set())
        missing = self._missing.setdefault(label, set())
        fresh = list(values - looked_up)
        known = _among(_node_hashes(label, fresh), self.nodes_before).tolist()
        found = {v for v, k in zip(fresh, known, strict=True) if not k}
        texts = [v for v in fresh if type(v) is str]
        looked_up.update(texts)
        missing.update(v for v in texts if v in found)
        return found | (values & missing)

    def _shared(
        self,
        step: Step,
        nodes: list[int],
        group_of: Callable[[int], list[Row]],
        new: np.ndarray,
        skip: bool,
    ) -> np.ndarray:
        """Which nodes of a label another step writes too to write now: left unwritten
        only while no other step wrote it, last load or this one; a later step naming a
        node an earlier one left writes the earlier's rows first (:attr:`owed`), as a
        full load orders them."""
        multi = self.multi_before if skip else None
        keep = np.ones(len(nodes), bool)
        for i, node_hash in enumerate(nodes):
            if self.shared_named.setdefault(node_hash, step) is not step:
                self.multi_after.add(node_hash)  # named by another step too
                self.owed += self.held.pop(node_hash, ())
            elif multi is not None and not new[i] and node_hash not in multi:
                keep[i] = False  # left unwritten, unless another step names it later
                self.held.setdefault(node_hash, []).append((step, group_of(i)))
        return keep

    def take_owed(self) -> list[tuple[Step, list[Row]]]:
        """The rows an earlier step left unwritten of nodes a later one has named since:
        to be written now, before the later step's (as a full load orders them)."""
        owed, self.owed = self.owed, []
        for step, group in owed:
            node = step.node_type
            assert node is not None
            self.skipped[step.name] -= len(group)
            self.nodes_written.add(int(_node_hashes(node.label, [group[0][node.key]])[0]))
        return owed

    def save(self, store: GraphStore, stamp: str | None = None) -> None:
        """Record what this load wrote, with the graph's counts as it now stands and its
        version ``stamp``."""
        if self.path is None:
            return
        self.record()
        kept = version.kept_as(store.counts(), stamp)
        head = json.dumps({"version": VERSION, "kept_as": kept})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("wb") as fh:
            np.savez(
                fh,
                head=np.array(head),
                elements=self.after,
                nodes=self.nodes_after,
                multi=np.fromiter(self.multi_after, np.uint64, len(self.multi_after)),
            )
        tmp.replace(self.path)


@dataclass
class Touched:
    """What a load changed, by the rows it wrote: the uids of the nodes whose own rows
    differ from the last load's (``nodes``, label -> uids), and of every node the rows of
    a changed relationship (or of a changed node's relationships) name at either end,
    by the relationship's type (``named``, (type, label) -> uids: a person whose
    attendance changed is named by ATTENDANCE, and so is the school). An element written
    only because a step writes its label whole (an address) but with the rows the last
    load wrote is not touched. The stages after writing work from it on a delta (derive,
    alerts), each taking what its facts depend on; it is None where they cannot know (a
    full load, a record not trusted), and they go over the whole graph.

    ``derived`` (label -> uids): the nodes those stages then set properties on that
    neither of the others names (open services on the owners of touched cases, risk of
    NEET factors on the pupils whose factors moved), for the analysts' copy, which reads
    only what was touched; the stages themselves never read it."""

    nodes: dict[str, set[Any]] = field(default_factory=dict)
    named: dict[tuple[str, str], set[Any]] = field(default_factory=dict)
    derived: dict[str, set[Any]] = field(default_factory=dict)

    def add(self, node: Any, ends: list[tuple[str, str, str]], key: Any, group: list[Row]) -> None:
        """An element whose rows changed: its node (of a node step, ``key`` its key's
        value) and every end its rows name (``ends``: relationship type, label, row
        field)."""
        if node is not None:
            self.nodes.setdefault(node.label, set()).add(key)
        for rel, label, f in ends:
            self.named.setdefault((rel, label), set()).update(r[f] for r in group)

    def derive(self, label: str, uids: Iterable[Any]) -> None:
        """These nodes' properties were set after writing (``derived``)."""
        self.derived.setdefault(label, set()).update(map(str, uids))

    def own(self, label: str) -> set[str]:
        """The nodes of ``label`` whose own rows changed (uids as text)."""
        return set(map(str, self.nodes.get(label, ())))

    def named_by(self, label: str, types: Iterable[str]) -> set[str]:
        """The nodes of ``label`` a changed relationship of one of ``types`` names."""
        return {str(u) for t in types for u in self.named.get((t, label), ())}


def _read(path: Path) -> dict[str, Any] | None:
    """The record at ``path`` (numbers and text only: nothing in it runs), or None."""
    try:
        with np.load(path, allow_pickle=False) as data:
            head = json.loads(str(data["head"]))
            if head.get("version") != VERSION:
                return {"older": True}  # kept by another release: its hashes differ
            return {
                "kept_as": head.get("kept_as"),  # none in a record kept before
                "elements": _ascending(data["elements"]),
                "nodes": _ascending(data["nodes"]),
                # recorded since shared labels' nodes are left unwritten (None before)
                "multi": set(data["multi"].tolist()) if "multi" in data else None,
            }
    except (OSError, ValueError, KeyError):
        return None
