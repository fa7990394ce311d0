"""The bulk strategy: rows that can only create go by the engine's bulk insertion.

Bulk insertion (see :mod:`graph.bulk`) creates; it does not merge. A row may take it
only when what its step's statement would write cannot be in the graph yet:

- a step that writes a node: the row's key is on no node of that label yet (the
  relationships written with the node are then new too);
- a step that writes only a relationship: one of its ends was created in this load;

and every node the row names exists (else the statement, which writes nothing for it).
Rows that would MERGE into the same thing are first folded into one, as the
statement's ``SET`` would leave it. Every other row goes through the statement, so a
load's result does not depend on which path a row took (``tests/test_bulk_write.py``
compares the two graphs).

The new source records' nodes need nothing linkage works out, so they are created
while linkage runs (:meth:`BulkWrites.ahead`) and linked to their people afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import batched
from operator import itemgetter
from typing import Any

from graph.bulk import BulkWriter
from graph.writes import Row, Step, fold
from loaders import write
from loaders.build import identity_uid, source_record
from loaders.validate import Record
from loaders.write import Writes, merge_key, partition, split_keyless, timed

# Labels whose created uids relationship-only steps ask for.
ENDS = frozenset(
    e.label for s in write.PLAN if s.node is None for r in s.rels for e in (r.start, r.end)
)


@dataclass
class NewNodes:
    """Node uids by label: those in the graph and those this load created.

    A load that writes every row reads each label's uids once, when first needed. With
    ``ask`` (a delta over a trusted record: only the rows that changed reach the
    writer) it looks up only the uids its rows name, each once, through the uid index:
    ``present`` then holds, of the uids asked, those in the graph when asked."""

    writer: BulkWriter
    ask: bool = False
    present: dict[str, set[str]] = field(default_factory=dict)
    asked: dict[str, set[str]] = field(default_factory=dict)  # ask: uids looked up
    created: dict[str, set[str]] = field(default_factory=dict)

    def existing(self, label: str, uids: Iterable[str | None]) -> set[str]:
        """A set that holds, of ``uids``, those on a ``label`` node in the graph (and
        perhaps others)."""
        if not self.ask:
            if label not in self.present:
                self.present[label] = self.writer.uids(label)
            return self.present[label]
        found = self.present.setdefault(label, set())
        asked = self.asked.setdefault(label, set())
        wanted = [u for u in dict.fromkeys(uids) if u is not None and u not in asked]
        if wanted:
            found.update(self.writer.held(label, wanted))
            asked.update(wanted)
        return found

    def earlier(self, label: str, uids: Iterable[str | None]) -> set[str]:
        """A set that holds, of ``uids``, those in the graph before this load (and
        perhaps others: for a label whose created uids are not tracked, those too, the
        safe answer)."""
        return self.existing(label, uids) - self.created.get(label, set())

    def add(self, label: str, uids: Iterable[str]) -> None:
        if label not in self.present and label not in ENDS:
            return  # nobody asks: the graph answers if asked later
        made = set(uids)
        if label in self.present:
            self.present[label].update(made)
            if self.ask:
                self.asked[label].update(made)
        if label in ENDS:
            self.created.setdefault(label, set()).update(made)


@dataclass
class BulkWrites(Writes):
    """:class:`loaders.write.Writes` with new nodes and relationships bulk-inserted."""

    nodes: NewNodes = field(init=False)
    merge_records: set[str] = field(default_factory=set)  # records in the graph already
    records_ahead: int = 0  # record nodes created while linking

    def __post_init__(self) -> None:
        assert self.bulk is not None, "the bulk strategy needs the engine's bulk writer"
        trusted = self.unchanged is not None and not self.unchanged.reason
        self.nodes = NewNodes(self.bulk, ask=trusted)

    def existed(self, label: str, uids: Iterator[str]) -> bool:
        if not self.nodes.ask:
            return not self.nodes.earlier(label, ()).isdisjoint(uids)
        for part in batched(uids, self.nodes.writer.chunk):  # the first hit answers
            if not self.nodes.earlier(label, part).isdisjoint(part):
                return True
        return False

    def ahead(self, roles: list[tuple[Record, str]]) -> None:
        """Create the nodes of the load's source records no earlier load wrote, in
        ``roles`` order (the builder's), a command at a time: all at once would add a
        gigabyte where linkage's memory peaks. A record listed twice (identical rows in
        two files: one uid) is created from its last listing, as successive MERGEs
        would leave it. Those in the graph already go through the statement later."""
        bulk, shape = self.nodes.writer, write.SOURCE_RECORDS.node_shape
        assert shape is not None
        with timed(self.seconds, "new source records, while linking"):
            self.merge_records = bulk.uids("SourceRecord")  # linked or not
            repeated = _last_of_repeated(roles)
            for part in _parts(roles, self.merge_records, repeated, bulk.chunk):
                self.stage("new source records", len(part))
                constants = write.SOURCE_RECORDS.constants(self.params)
                bulk.create_nodes(shape, part, constants=constants)
                self.records_ahead += len(part)

    def people(self, rows: write.GraphRows) -> None:
        self.run(write.PEOPLE, rows.people)
        known, created = self._records(rows.source_records)
        self.run(write.SOURCE_RECORDS, known)
        if self.unchanged is not None:  # new in the graph: written, and recorded

            def again() -> list[Row]:  # made again if recorded later (Unchanged.written)
                return self._records(rows.source_records)[1]

            with timed(self.seconds, write.RECORDING):
                self.unchanged.written(write.SOURCE_RECORDS, created, again)
        if len(created) != self.records_ahead:  # the builder's records are linkage's
            raise RuntimeError(
                f"{self.records_ahead} source records were created ahead, {len(created)} to link"
            )
        if created:  # their nodes are there: only their links to write
            name = "new source records"
            tick = self.stage(name, len(created))
            with timed(self.seconds, name):
                self.nodes.writer.create_edges(write.SOURCE_RECORDS.rels[0].shape(), created)
                tick(len(created))
            self.counts[name] = self.counts.get(name, 0) + len(created)
            self.bulk_rows[name] = self.bulk_rows.get(name, 0) + len(created)

    def _records(self, rows: list[Row]) -> tuple[list[Row], list[Row]]:
        """The source records' rows (one per uid, the last) in the graph before this
        load, and those :meth:`ahead` created."""
        known, created = partition(rows, lambda r: r["uid"] in self.merge_records)
        return fold(known, itemgetter("uid")), fold(created, itemgetter("uid"))

    def _write(self, step: Step, rows: list[Row], tick: Callable[[int], None]) -> None:
        keyed, keyless = split_keyless(step, rows)
        rest: list[Row] = []
        if keyless:  # MERGE without the key finds a keyed one too: left to the statement
            ends = itemgetter(step.rels[0].start.field, step.rels[0].end.field)
            pairs = set(map(ends, keyed))
            rest, keyless = partition(keyless, lambda r: ends(r) in pairs)
        for part, is_keyless in ((keyed, False), (keyless, True)):
            fast, slow = self._split(step, part)
            self._insert(step, fast, keyless=is_keyless)
            if fast:
                self.bulk_rows[step.name] = self.bulk_rows.get(step.name, 0) + len(fast)
                tick(len(fast))
            rest += slow
        if rest:  # after the keyed rows, which the keyless ones' MERGE may find
            Writes._write(self, step, rest, tick)

    def _split(self, step: Step, rows: list[Row]) -> tuple[list[Row], list[Row]]:
        """(rows for bulk insertion, rows for the statement), in the rows' order.

        What stops a row is found over all rows at once, with set operations: the uids
        it names of nodes not there, its node's key on a node already there. When none
        stops any (the usual case: a first load) no row is looked at one by one."""
        if not rows:
            return [], []
        nodes = self.nodes
        ends = [(itemgetter(e.field), e.label) for e in step.others]
        stops = [
            (get, set(map(get, rows)) - nodes.existing(label, map(get, rows)))
            for get, label in ends
        ]
        new: list[tuple[Callable[[Row], Any], set[str]]] = []  # one end created now
        if step.node_type is not None:
            key, label = itemgetter(step.node_type.key), step.node_type.label
            stops.append((key, nodes.existing(label, map(key, rows)).intersection(map(key, rows))))
        else:
            new = [(get, nodes.created.get(label, set())) for get, label in ends]
        stops = [(get, uids) for get, uids in stops if uids]
        if not stops and (not new or any(uids.issuperset(map(get, rows)) for get, uids in new)):
            return list(rows), []
        return partition(
            rows,
            lambda row: (
                all(get(row) not in uids for get, uids in stops)
                and (not new or any(get(row) in uids for get, uids in new))
            ),
        )

    def _insert(self, step: Step, rows: list[Row], *, keyless: bool) -> None:
        """Bulk-insert rows :meth:`_split` chose: the nodes, then each relationship."""
        if not rows:
            return
        writer = self.nodes.writer
        one_per_uid = False
        keep = step.keep
        shape = step.node_shape
        if shape is not None:
            unique = fold(rows, itemgetter(shape.props[0]), keep)
            one_per_uid = len(unique) == len(rows)
            remember = shape.label in ENDS
            constants = step.constants(self.params)
            writer.create_nodes(shape, unique, constants=constants, remember=remember)
            self.nodes.add(shape.label, (r[shape.props[0]] for r in unique))
        for rel in step.rels:
            own = step.node is not None  # from each row's own node: one row per node
            folded = rows if own and one_per_uid else fold(rows, merge_key(rel, keyless), keep)
            writer.create_edges(rel.shape(keyless=keyless), folded)


def _last_of_repeated(roles: list[tuple[Record, str]]) -> dict[str, tuple[Record, str]]:
    """Records listed more than once, each with its last listing."""
    seen: set[str] = set()
    last: dict[str, tuple[Record, str]] = {}
    for record, who in roles:
        uid = identity_uid(record, who)
        if uid in seen:
            last[uid] = (record, who)
        else:
            seen.add(uid)
    return last


def _parts(
    roles: list[tuple[Record, str]],
    merge: set[str],
    last_of: dict[str, tuple[Record, str]],
    size: int,
) -> Iterator[list[Row]]:
    """The new records' rows a bulk command at a time, in the order first listed."""
    part: list[Row] = []
    done: set[str] = set()  # repeated records created
    for record, who in roles:
        uid = identity_uid(record, who)
        if uid in merge or uid in done:
            continue
        if uid in last_of:
            done.add(uid)
            record, who = last_of[uid]
        part.append(source_record(record, who, uid))
        if len(part) == size:
            yield part
            part = []
    if part:
        yield part
