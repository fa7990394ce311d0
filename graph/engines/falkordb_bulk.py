"""FalkorDB's bulk insertion (``GRAPH.BULK``) for the nodes and relationships a load
knows to be new (see :mod:`graph.bulk` for which those are).

``GRAPH.BULK`` takes entities in a binary format (the one FalkorDB's bulk loader writes;
``src/bulk_insert/bulk_insert.c`` in FalkorDB reads it): per label or relationship
type, a header naming the properties, then one record per entity with a type byte
before each value. It adds to an existing graph when sent without ``BEGIN``, keeps the
graph's indexes up to date, and refers to a relationship's ends by internal node id,
which we look up through the ``uid`` index. It checks no constraint (the loader sends
only uids no earlier load wrote, made unique by key) and has no date type: a date
travels as ISO text, and the statement turning a command's own text into dates is sent
with it as one transaction (``MULTI`` ... ``EXEC``), so that no read finds a declared
date as text (docs/loading.md says why, and the gaps left). Text a stopped load left
(its conversion not run) is turned into dates by the next load's
:meth:`FalkorBulkWriter.begin`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from graph.bulk import BulkWriter, Columns, EdgeShape, NodeShape, Rows
from graph.store import GraphStore, ParameterError, plain_param

# Entities per GRAPH.BULK command: the engine serves no other client while it takes
# one and the statement converting its dates (about a second for 50,000 dated nodes,
# benchmarks/README.md), so a slice bounds how long a page waits behind a load.
CHUNK = 50_000
# A node that exists while a load is bulk-inserting (until its finish()).
MARKER = "_JigsawBulkLoad"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LONG = struct.Struct("<q")
_DOUBLE = struct.Struct("<d")
_IDS = struct.Struct("<QQ")


def _name(name: str) -> str:
    """Labels, types and property names are ours, never a user's; checked all the same,
    as they are written into Cypher text and the binary header."""
    if not _NAME.match(name):
        raise ParameterError(f"{name!r} is not a plain identifier")
    return name


def _value(value: Any, out: bytearray) -> None:
    """Append one value in bulk insertion's encoding (a type byte, then the value)."""
    kind = type(value)
    if value is None:
        out += b"\x00"
    elif kind is str:
        if "\x00" in value:
            raise ParameterError("holds a NUL character, which cannot be stored")
        out += b"\x03"
        out += value.encode()
        out += b"\x00"
    elif kind is bool:
        out += b"\x01\x01" if value else b"\x01\x00"
    elif kind is int:
        try:
            out += b"\x04" + _LONG.pack(value)
        except struct.error:
            raise ParameterError("is too large an integer to store") from None
    elif kind is float:
        if not math.isfinite(value):
            raise ParameterError(f"must be a finite number, not {value!r}")
        out += b"\x02" + _DOUBLE.pack(value)
    elif kind is list or kind is tuple:
        out += b"\x05" + _LONG.pack(len(value))
        for item in value:
            _value(item, out)
    else:  # dates, decimals, sets: as every engine takes them (or refused there)
        _value(plain_param(value), out)


def _cell(value: Any) -> bytes:
    out = bytearray()
    _value(value, out)
    return bytes(out)


# the types whose equal values of one type are encoded alike (but for a float's zero:
# 0.0 == -0.0, so a column holding -0.0 is encoded a value at a time), so a column of
# them may encode each distinct value once, keyed by its type too where the column
# mixes them (1, 1.0 and True are equal, their encodings not)
_PLAIN = frozenset({str, int, float, bool, dt.date, type(None)})


def _cells(values: Sequence[Any], what: str, prop: str, keys: Sequence[Any] | None) -> list[bytes]:
    """A column's values in bulk insertion's encoding, each distinct value of a plain
    type (:data:`_PLAIN`) encoded once (a column of codes or dates holds few), keyed by
    its type and value; a column holding anything else (lists, datetimes, decimals,
    another type's numbers) or a negative zero, a value at a time. An error names the
    row's key (``keys``) and property."""
    try:
        kinds = set(map(type, values))
        if not kinds <= _PLAIN:
            return list(map(_cell, values))
        # one type (and nulls): a value is its own key; several: keyed with its type
        one = len(kinds - {type(None)}) <= 1
        keyed = values if one else list(zip(map(type, values), values, strict=True))
        distinct = set(keyed)
        if one and str in kinds:  # text (and nulls): encoded here, without a call a value
            return _texts(values, distinct)
        if (
            float in kinds
            and (0.0 in distinct if one else (float, 0.0) in distinct)
            and any(type(v) is float and v == 0.0 and math.copysign(1.0, v) < 0 for v in values)
        ):
            return list(map(_cell, values))  # 0.0 and -0.0: one key, two encodings
        encoded = {k: _cell(k if one else k[1]) for k in distinct}
        return list(map(encoded.__getitem__, keyed))
    except ParameterError as exc:
        at = next(i for i, v in enumerate(values) if _refused(v))
        key = "" if keys is None else keys[at]
        raise ParameterError(f"{what} {key} {prop}: {exc}") from None


def _texts(values: Sequence[str | None], distinct: set[str | None]) -> list[bytes]:
    """:func:`_cells` of a column of text and nulls (each distinct text encoded once)."""
    texts = [v for v in distinct if v is not None]
    if any("\x00" in v for v in texts):
        _cell(next(v for v in texts if "\x00" in v))  # refused, with _value's words
    encoded: dict[str | None, bytes] = {v: b"\x03" + v.encode() + b"\x00" for v in texts}
    encoded[None] = b"\x00"
    return list(map(encoded.__getitem__, values))


def _refused(value: Any) -> bool:
    try:
        _cell(value)
    except ParameterError:
        return True
    return False


def _columns(rows: Rows | Columns, fields: Iterable[str]) -> Columns:
    """Rows as columns (field -> its values in row order, an absent field null); columns
    as they are, with an absent column null."""
    if isinstance(rows, Mapping):
        count = len(next(iter(rows.values()), ()))
        return {f: rows[f] if f in rows else [None] * count for f in fields}
    return {f: [row.get(f) for row in rows] for f in fields}


def _records(
    rows: Rows | Columns, pairs: Sequence[tuple[str, str]], label: str
) -> tuple[list[bytes], Sequence[str]]:
    """Each row's record (the values of ``pairs``' fields in bulk insertion's encoding)
    and uid: columns encoded a column at a time (:func:`_cells`), rows a row at a time
    (a row's fields are read together: taking rows apart into columns costs more than
    it saves). An error names the row's uid and property."""
    if isinstance(rows, Mapping):
        uids = rows["uid"]
        absent = [None] * len(uids)
        cells = [_cells(rows.get(f, absent), label, p, uids) for p, f in pairs]
        records = list(map(b"".join, zip(*cells, strict=True))) if cells else [b""] * len(uids)
        return records, uids
    records = []
    for row in rows:
        out = bytearray()
        for prop, field_ in pairs:
            try:
                _value(row.get(field_), out)
            except ParameterError as exc:
                raise ParameterError(f"{label} {row.get('uid', '')} {prop}: {exc}") from None
        records.append(bytes(out))
    return records, [row["uid"] for row in rows]


class _ColumnRow(Mapping[str, Any]):
    """One row of columns, read in place rather than made a dict."""

    __slots__ = ("_at", "_columns")

    def __init__(self, columns: Columns, at: int) -> None:
        self._columns, self._at = columns, at

    def __getitem__(self, name: str) -> Any:
        return self._columns[name][self._at]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def _rows(rows: Rows | Columns, count: int) -> Iterable[Mapping[str, Any]]:
    """Rows as they are; columns a row at a time (for a shape's ``extra_labels``)."""
    if not isinstance(rows, Mapping):
        return rows
    return (_ColumnRow(rows, at) for at in range(count))


def _header(name: str, props: Sequence[str]) -> bytearray:
    out = bytearray(name.encode() + b"\x00")
    out += struct.pack("<I", len(props))
    for prop in props:
        out += prop.encode() + b"\x00"
    return out


def _digest(uids: list[str]) -> bytes:
    """Which uids, in which order (uids hold no NUL: _value refuses it)."""
    return hashlib.blake2b("\x00".join(uids).encode(), digest_size=16).digest()


def _ids_of(uids: list[str], span: int | dict[str, int]) -> dict[str, int]:
    """Node ids by uid from :meth:`FalkorBulkWriter._created_span`'s answer."""
    if isinstance(span, dict):
        return span
    return dict(zip(uids, range(span, span + len(uids)), strict=True))


def _slices(rows: Rows, size: int) -> Iterator[Rows]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


# A Cypher statement and its parameters, run in the same transaction as a command.
Conversion = tuple[str, dict[str, Any]]
BulkCommand = Callable[[int, int, bytes, Conversion | None], None]
# one command to send: its node and edge counts, blob, dates' conversion, and follow-up
Command = tuple[int, int, bytes, Conversion | None, Callable[[], None] | None]


def _to_dates(props: Iterable[str]) -> tuple[str, str]:
    """Whether any of ``props`` of x is text, and the ``SET`` turning each that is into
    a date."""
    ordered = sorted(_name(p) for p in props)
    text = [f"typeOf(x.{p}) = 'String'" for p in ordered]
    sets = [
        f"x.{p} = CASE WHEN {t} THEN date(x.{p}) ELSE x.{p} END"
        for p, t in zip(ordered, text, strict=True)
    ]
    return " OR ".join(text), "SET " + ", ".join(sets)


def _node_dates(shape: NodeShape, uids: Sequence[str]) -> Conversion | None:
    """The statement turning the dates of these just-inserted nodes into dates."""
    if not shape.dates:
        return None
    text, sets = _to_dates(shape.dates)
    match = f"UNWIND $uids AS u MATCH (x:{_name(shape.label)} {{uid: u}})"
    return f"{match} WHERE {text} {sets}", {"uids": list(uids)}


def _edge_dates(shape: EdgeShape, starts: Iterable[int]) -> Conversion | None:
    """The same for just-inserted relationships, found from their start nodes' ids."""
    if not shape.dates:
        return None
    pattern = f"(a)-[x:{_name(shape.type)}]->(:{_name(shape.end[0])})"
    text, sets = _to_dates(shape.dates)
    query = f"UNWIND $ids AS i MATCH {pattern} WHERE id(a) = i AND ({text}) {sets}"
    return query, {"ids": sorted(set(starts))}


class FalkorBulkWriter(BulkWriter):
    """Bulk insertion into one FalkorDB graph for the length of one load."""

    chunk = CHUNK

    def __init__(self, store: GraphStore, command: BulkCommand) -> None:
        """``command(nodes, edges, blob, then)`` sends one ``GRAPH.BULK`` command and,
        with a :class:`Conversion` as ``then``, that statement in the same transaction."""
        self._store = store
        self._command = command
        self._ids: dict[str, dict[str, int]] = {}  # label -> uid -> node id
        # label -> first uid of a command -> (a digest of its uids, their ids: see
        # _created_span), for nodes not remembered whose relationships a later call
        # writes (BulkWrites.ahead). A digest, not the uids: keeping those (2.4 million, a
        # third of them strings of their own) would raise the load's peak memory.
        self._spans: dict[str, dict[str, tuple[bytes, int | dict[str, int]]]] = {}

    def begin(self, shapes: Sequence[NodeShape | EdgeShape]) -> None:
        if self._store.bulk_load_running():  # the last one stopped before finish()
            self._convert_dates(shapes)
        else:
            self._store.write(f"CREATE (:{MARKER})")

    # -- lookups -----------------------------------------------------------------

    def uids(self, label: str) -> set[str]:
        rows = self._store.read(
            f"MATCH (n:{_name(label)}) RETURN n.uid AS uid", max_rows=1_000_000_000
        ).rows
        return {r["uid"] for r in rows}

    def held(self, label: str, uids: Sequence[str]) -> set[str]:
        return set(self._lookup(label, uids))

    def _node_ids(self, label: str, uids: Sequence[str]) -> dict[str, int]:
        """Node ids by uid for ``uids`` (those not in the graph are left out), through
        the uid index. Kept for the load: ends are looked up once, whatever number of
        relationships use them. Keyed by the rows' own strings, so the lookup costs
        no copy of them."""
        known = self._ids.setdefault(label, {})
        wanted = set(uids).difference(known)
        wanted.discard(None)  # type: ignore[arg-type]
        known.update(self._lookup(label, list(wanted)))
        return known

    def _created_span(self, label: str, uids: Sequence[str]) -> int | dict[str, int]:
        """Node ids of nodes bulk insertion has just created, in the order it created
        them: the first's id when the rest follow it (a number to keep for every slice
        of two million records, not a dict), else the ids by uid. The engine numbers
        new nodes one after another unless it reuses the numbers of deleted ones, so:
        find the first through the index, suppose the rest follow it, and have the
        engine confirm that each supposed id holds the uid in its place (one query a
        slice, one value back); if not, look each up through the index."""
        uids = list(uids)
        first = self._lookup(label, uids[:1]).get(uids[0]) if uids else None
        if first is None:
            return self._lookup(label, uids)
        check = (
            f"UNWIND range($first, $last) AS i MATCH (n:{_name(label)}) WHERE id(n) = i "
            "RETURN collect(n.uid) = $uids AS same"
        )
        params = {"first": first, "last": first + len(uids) - 1, "uids": uids}
        if self._store.read(check, params).scalar() is True:
            return first
        return self._lookup(label, uids)

    def _created(self, label: str, uids: list[str], kept: dict[str, int] | None) -> None:
        """What follows a command creating these ``label`` nodes: their ids kept in
        ``kept`` (later relationships end at them), or, with None, their span (for the
        relationships from them, :meth:`_own_span`)."""
        span = self._created_span(label, uids)
        if kept is not None:
            kept.update(_ids_of(uids, span))
        else:
            self._spans.setdefault(label, {})[uids[0]] = (_digest(uids), span)

    def _own_span(self, label: str, uids: list[str]) -> int | dict[str, int]:
        """The ids of nodes one earlier command created, as it found them, when these
        are its nodes in its order; else found now."""
        kept = self._spans.get(label, {}).pop(uids[0], None) if uids else None
        if kept is not None and kept[0] == _digest(uids):
            return kept[1]
        return self._created_span(label, uids)

    def _lookup(self, label: str, uids: Sequence[str]) -> dict[str, int]:
        """Node ids of those of ``uids`` in the graph, through the uid index (a query a
        slice)."""
        query = f"UNWIND $uids AS u OPTIONAL MATCH (n:{_name(label)} {{uid: u}}) RETURN id(n) AS id"
        found: dict[str, int] = {}
        for part in _slices(uids, CHUNK):
            rows = self._store.read(query, {"uids": list(part)}, max_rows=len(part)).rows
            ids = (row["id"] for row in rows)
            found.update((u, i) for u, i in zip(part, ids, strict=True) if i is not None)
        return found

    # -- insertion ---------------------------------------------------------------

    def create_nodes(
        self,
        shape: NodeShape,
        rows: Rows | Columns,
        *,
        constants: Mapping[str, Any] | None = None,
        remember: bool = False,
    ) -> None:
        """Rows given as rows encoded a row at a time, columns a column at a time
        (:func:`_records`), a command a slice of each set of labels."""
        fixed = dict(constants or {})
        pairs = [(p, f) for p, f in zip(shape.stored, shape.fields, strict=True) if p not in fixed]
        records, uids = _records(rows, pairs, shape.label)
        count = len(uids)
        tail = b"".join(_cells([v], "constant", p, None)[0] for p, v in fixed.items())
        if tail:
            records = [record + tail for record in records]
        names = [_name(p) for p in (*(p for p, _ in pairs), *fixed)]
        groups: dict[tuple[str, ...], Sequence[int]] = {(shape.label,): range(count)}
        if shape.extra_labels:
            groups = {}
            for at, row in enumerate(_rows(rows, count)):
                labels = (shape.label, *shape.extra_labels(row))
                groups.setdefault(labels, []).append(at)  # type: ignore[union-attr]
        kept = self._ids.setdefault(shape.label, {}) if remember else None

        def commands() -> Iterator[Command]:
            for labels in sorted(groups):
                label_text = ":".join(_name(label) for label in labels)
                for part in _slices(groups[labels], CHUNK):  # type: ignore[arg-type]
                    blob = _header(label_text, names)
                    blob += b"".join(map(records.__getitem__, part))
                    named = list(map(uids.__getitem__, part))
                    then = partial(self._created, shape.label, named, kept)
                    yield len(part), 0, bytes(blob), _node_dates(shape, named), then

        self._send(commands())

    def create_edges(self, shape: EdgeShape, rows: Rows | Columns) -> None:
        """A command a slice, but for the relationships with an end not in the graph (as
        MATCH would skip them).

        An end named by the row's own uid is a node its step has just created, one per
        row: found a slice at a time, as found when it was created, and not kept (2
        million source records at county scale). Other ends recur, and are kept for
        the load."""
        (start_label, start), (end_label, end) = shape.start, shape.end
        columns = _columns(rows, dict.fromkeys((start, end, *shape.props)))
        count = len(columns[start])
        ids = {
            f: self._node_ids(label, columns[f])
            for label, f in (shape.start, shape.end)
            if f != "uid"
        }
        own = start_label if start == "uid" else end_label if end == "uid" else None
        parts = list(_slices(range(count), CHUNK))
        # every slice's own nodes before the first command, as a lookup made while a
        # command is under way waits for it and the next would not be encoded meanwhile
        spans = [self._own_span(own, columns["uid"][p.start : p.stop]) if own else 0 for p in parts]
        names = [_name(p) for p in shape.props]

        def commands() -> Iterator[Command]:
            for part, span in zip(parts, spans, strict=True):
                values = {f: column[part.start : part.stop] for f, column in columns.items()}
                if own:
                    ids["uid"] = _ids_of(values["uid"], span)
                first = list(map(ids[start].get, values[start]))
                last = list(map(ids[end].get, values[end]))
                if None in first or None in last:  # as MATCH would: an end not there
                    there = [
                        at
                        for at, pair in enumerate(zip(first, last, strict=True))
                        if None not in pair
                    ]
                    values = {f: [column[at] for at in there] for f, column in values.items()}
                    first, last = [first[at] for at in there], [last[at] for at in there]
                if not first:
                    continue
                keys = values.get("uid")
                cells = [_cells(values[p], shape.type, p, keys) for p in shape.props]
                records = map(b"".join, zip(map(_IDS.pack, first, last), *cells, strict=True))
                blob = bytes(_header(_name(shape.type), names)) + b"".join(records)
                yield 0, len(first), blob, _edge_dates(shape, first), None

        self._send(commands())

    def _send(self, commands: Iterable[Command]) -> None:
        """Send each command (then run its follow-up) on a second thread while the next
        is encoded: encoding is this process's work and insertion the engine's, so
        waits for the other less (the Python side is the longer, as it shares the
        interpreter with the builder).
        At most one command waits behind the one being sent, so memory holds three
        blobs at most. When this returns all are sent, or it raises the first failure
        once the command under way has ended (those waiting are dropped)."""
        failed = threading.Event()

        def run(
            nodes: int,
            edges: int,
            blob: bytes,
            dates: Conversion | None,
            then: Callable[[], None] | None,
        ) -> None:
            if failed.is_set():
                return
            try:
                self._command(nodes, edges, blob, dates)
                if then is not None:
                    then()
            except BaseException:
                failed.set()
                raise

        in_flight: deque[Future[None]] = deque()
        with ThreadPoolExecutor(1, thread_name_prefix="jigsaw-bulk") as sender:
            try:
                for nodes, edges, blob, dates, then in commands:
                    in_flight.append(sender.submit(run, nodes, edges, blob, dates, then))
                    if len(in_flight) > 1:
                        in_flight.popleft().result()
                while in_flight:
                    in_flight.popleft().result()
            except BaseException:
                failed.set()  # what is waiting is dropped; what is under way ends first
                raise

    # -- completion --------------------------------------------------------------

    def finish(self) -> None:
        self._store.write(f"MATCH (m:{MARKER}) DELETE m")
        self._ids.clear()
        self._spans.clear()

    def _convert_dates(self, shapes: Sequence[NodeShape | EdgeShape]) -> None:
        """Text to dates, in place, of every entity of ``shapes`` (a stopped load's), one
        statement a label or relationship type, found with both end labels (the engine
        otherwise scans every node for it). Only bulk insertion leaves text in a date
        property (every statement writes ``date(...)``), so any text there is ours."""
        pending: dict[str, set[str]] = {}  # a pattern naming x -> its date properties
        for shape in shapes:
            if not shape.dates:
                continue
            if isinstance(shape, NodeShape):
                pattern = f"(x:{_name(shape.label)})"
            else:
                start, end = _name(shape.start[0]), _name(shape.end[0])
                pattern = f"(:{start})-[x:{_name(shape.type)}]->(:{end})"
            pending.setdefault(pattern, set()).update(shape.dates)
        for pattern, props in sorted(pending.items()):
            text, sets = _to_dates(props)
            self._store.write(f"MATCH {pattern} WHERE {text} {sets}")
