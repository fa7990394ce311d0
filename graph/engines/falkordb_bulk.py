"""FalkorDB's bulk insertion (``GRAPH.BULK``) for the nodes and relationships a load
knows to be new (see :mod:`graph.bulk` for which those are).

``GRAPH.BULK`` takes entities in a binary format (the one FalkorDB's bulk loader writes;
``src/bulk_insert/bulk_insert.c`` in FalkorDB reads it): per label or relationship
type, a header naming the properties, then one record per entity with a type byte
before each value. It adds to an existing graph when sent without ``BEGIN``, keeps the
graph's indexes (range and full-text) up to date, and refers to a relationship's ends
by internal node id, which we look up through the ``uid`` index.

What it cannot do, we do after it:

- it has no date type: a date travels as text under a temporary name and
  :meth:`FalkorBulkWriter.finish` turns it into a date with Cypher, in slices so the
  graph is never locked for long;
- it checks no constraint: the loader sends only uids no earlier load wrote, and the
  rows are made unique by key before they come here.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterator, Mapping, Sequence
from itertools import groupby
from typing import TYPE_CHECKING, Any

from graph.bulk import BulkWriter, EdgeShape, NodeShape, ProgressCallback, Rows
from graph.store import ParameterError, plain_param

if TYPE_CHECKING:
    from graph.engines.falkordb import FalkorDBStore

# Entities per GRAPH.BULK command: the engine holds the graph's write lock while it
# takes one, so a slice keeps readers waiting well under a second.
CHUNK = 50_000
# Date properties travel as text under this prefix until finish() converts them.
TEXT_PREFIX = "_jigsaw_date_text_"
# Dates converted per statement in finish().
DATE_SLICE = 200_000
# A node that exists while a load's bulk-inserted dates are still text.
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


def _value(value: Any, out: bytearray, where: str) -> None:
    """Append one value in bulk insertion's encoding (a type byte, then the value)."""
    kind = type(value)
    if value is None:
        out += b"\x00"
    elif kind is str:
        if "\x00" in value:
            raise ParameterError(f"{where} holds a NUL character, which cannot be stored")
        out += b"\x03"
        out += value.encode()
        out += b"\x00"
    elif kind is bool:
        out += b"\x01\x01" if value else b"\x01\x00"
    elif kind is int:
        try:
            out += b"\x04" + _LONG.pack(value)
        except struct.error:
            raise ParameterError(f"{where} is too large an integer to store") from None
    elif kind is float:
        if not math.isfinite(value):
            raise ParameterError(f"{where} must be a finite number, not {value!r}")
        out += b"\x02" + _DOUBLE.pack(value)
    elif kind is list or kind is tuple:
        out += b"\x05" + _LONG.pack(len(value))
        for i, item in enumerate(value):
            _value(item, out, f"{where}[{i}]")
    else:  # dates, decimals, sets: as every engine takes them (or refused there)
        _value(plain_param(value, where), out, where)


def _header(name: str, props: Sequence[str]) -> bytearray:
    out = bytearray(name.encode() + b"\x00")
    out += struct.pack("<I", len(props))
    for prop in props:
        out += prop.encode() + b"\x00"
    return out


def _stored_names(props: Sequence[str], dates: Sequence[str]) -> list[str]:
    return [TEXT_PREFIX + p if p in dates else p for p in props]


def _slices(rows: Rows, size: int) -> Iterator[Rows]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class FalkorBulkWriter(BulkWriter):
    """Bulk insertion into one FalkorDB graph for the length of one load."""

    def __init__(self, store: FalkorDBStore) -> None:
        self._store = store
        self._ids: dict[str, dict[str, int]] = {}  # label -> uid -> node id
        self._pending: set[tuple[str, str, str]] = set()  # ("node"|"edge", name, prop)

    def begin(self, shapes: Sequence[NodeShape | EdgeShape]) -> None:
        marked = self._store.read(f"MATCH (m:{MARKER}) RETURN count(m) AS n").scalar()
        if marked:  # the last load stopped before finish(): convert what it left
            for shape in shapes:
                kind, name = (
                    ("node", shape.label)
                    if isinstance(shape, NodeShape)
                    else (
                        "edge",
                        shape.type,
                    )
                )
                self._pending.update((kind, name, prop) for prop in shape.dates)
            self._convert_dates()
        else:
            self._store.write(f"CREATE (:{MARKER})")

    # -- lookups -----------------------------------------------------------------

    def uids(self, label: str) -> set[str]:
        rows = self._store.read(
            f"MATCH (n:{_name(label)}) RETURN n.uid AS uid", max_rows=1_000_000_000
        ).rows
        return {r["uid"] for r in rows}

    def _node_ids(self, label: str, uids: Sequence[str]) -> dict[str, int]:
        """Node ids by uid for ``uids`` (those not in the graph are left out), through
        the uid index. Kept for the load: ends are looked up once, whatever number of
        relationships use them. Keyed by the rows' own strings, so the lookup costs
        no copy of them."""
        known = self._ids.setdefault(label, {})
        wanted = list(dict.fromkeys(u for u in uids if u is not None and u not in known))
        query = f"UNWIND $uids AS u OPTIONAL MATCH (n:{_name(label)} {{uid: u}}) RETURN id(n) AS id"
        for part in _slices(wanted, CHUNK):
            rows = self._store.read(query, {"uids": list(part)}, max_rows=len(part)).rows
            for uid, row in zip(part, rows, strict=True):
                if row["id"] is not None:
                    known[uid] = row["id"]
        return known

    # -- insertion ---------------------------------------------------------------

    def _bulk(self, nodes: int, edges: int, blob: bytes) -> None:
        self._store.bulk_command(nodes, edges, blob)

    def create_nodes(
        self,
        shape: NodeShape,
        rows: Rows,
        *,
        constants: Mapping[str, Any] | None = None,
        progress: ProgressCallback | None = None,
    ) -> int:
        fixed = dict(constants or {})
        props = [p for p in shape.props if p not in fixed]
        names = _stored_names([*props, *fixed], shape.dates)
        for name in names:
            _name(name)
        tail = bytearray()
        for name, value in fixed.items():
            _value(value, tail, name)
        tail_bytes = bytes(tail)

        def labels_of(row: Mapping[str, Any]) -> tuple[str, ...]:
            extra = shape.extra_labels(row) if shape.extra_labels else ()
            return (shape.label, *extra)

        created = 0
        ordered = sorted(rows, key=labels_of) if shape.extra_labels else rows
        for labels, group in groupby(ordered, key=labels_of):
            members = list(group)
            label_text = ":".join(_name(label) for label in labels)
            for part in _slices(members, CHUNK):
                blob = _header(label_text, names)
                for i, row in enumerate(part):
                    for prop in props:
                        _value(row.get(prop), blob, f"{shape.label} row {i} {prop}")
                    blob += tail_bytes
                self._bulk(len(part), 0, bytes(blob))
                created += len(part)
                if progress:
                    progress(len(part))
        for prop in shape.dates:
            self._pending.add(("node", shape.label, prop))
        return created

    def create_edges(
        self, shape: EdgeShape, rows: Rows, *, progress: ProgressCallback | None = None
    ) -> int:
        (start_label, start_field), (end_label, end_field) = shape.start, shape.end
        starts = self._node_ids(start_label, [r[start_field] for r in rows])
        ends = self._node_ids(end_label, [r[end_field] for r in rows])
        names = _stored_names(shape.props, shape.dates)
        created = 0
        for part in _slices(rows, CHUNK):
            blob = _header(_name(shape.type), [_name(n) for n in names])
            count = 0
            for i, row in enumerate(part):
                start, end = starts.get(row[start_field]), ends.get(row[end_field])
                if start is None or end is None:
                    continue  # as MATCH would: an end that is not there writes nothing
                blob += _IDS.pack(start, end)
                for prop in shape.props:
                    _value(row.get(prop), blob, f"{shape.type} row {i} {prop}")
                count += 1
            if count:
                self._bulk(0, count, bytes(blob))
            created += count
            if progress:
                progress(len(part))
        for prop in shape.dates:
            self._pending.add(("edge", shape.type, prop))
        return created

    # -- completion --------------------------------------------------------------

    def finish(self) -> None:
        self._convert_dates()
        self._store.write(f"MATCH (m:{MARKER}) DELETE m")
        self._ids.clear()

    def _convert_dates(self) -> None:
        for kind, name, prop in sorted(self._pending):
            text = TEXT_PREFIX + prop
            match = f"MATCH (x:{name})" if kind == "node" else f"MATCH ()-[x:{name}]->()"
            statement = (
                f"{match} WHERE x.{text} IS NOT NULL WITH x LIMIT {DATE_SLICE} "
                f"SET x.{prop} = date(x.{text}), x.{text} = NULL RETURN count(x) AS n"
            )
            while self._store.write(statement).returned[0]["n"] == DATE_SLICE:
                pass
        self._pending.clear()
