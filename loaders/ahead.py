"""What a load writes while linkage runs: the reference data and the source records.

The engine has nothing to do while a load reads and links its records (140 s of a
county load), then writes for longer than the builder builds. The reference data
(services, schools, staff, the gazetteer's addresses) and the 2.4 million
``SourceRecord`` nodes of a county's first load need nothing that linkage works out:
only the records' ``DESCRIBES`` links, to the person linkage finds, do. So the writer
thread writes them while the main thread links, and ``write_graph`` then adds only the
links. A load stopped in between leaves records that describe nobody, which the next
load links (``write.UNLINKED_SOURCE_RECORDS``), as it does after a load stopped between
bulk insertion's nodes and relationships. At county scale this took the load from
314-330 s to about 300 s with the changes that came with it (benchmarks/README.md).
Creating the records after linkage instead, while the builder works out the people,
was tried (2026-11-30): linking was not faster (88.8 against 90.0 s, one county load
each) and the people were written 7 s later.

Only with bulk insertion: the nodes are created in its binary form, and the bulk
writer's marker (the sign of a load under way) is put down first. Without one (Neo4j,
``--no-bulk``), ``write_graph`` writes all of it as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from graph.bulk import BulkWriter
from graph.store import GraphStore
from loaders import bulk_steps as steps
from loaders.build import Builder, identity_uid, source_record
from loaders.validate import Record
from loaders.write import Steps, timed, write_reference

# Nodes per bulk command; the writer slices what it is given the same way, and the
# links come in the same order, so the ids it found for each command serve them
# (FalkorBulkWriter._own_span).
CHUNK = 50_000


@dataclass
class RecordsAhead:
    """What a load's writer began with, for ``write_graph``."""

    writer: BulkWriter  # begun: a stopped load's dates are done, the marker is down
    stopped: bool  # an earlier load had stopped while writing in bulk
    nodes: steps.NewNodes  # what is in the graph, and what this load has created
    counts: dict[str, int]  # rows written by step, for the load's report
    addresses: set[str]  # the reference data's addresses, written (write.write_reference)
    merge: set[str]  # records left to the statement: those in the graph already
    created: int  # nodes created: every other record of the load, once each


def write_ahead(
    store: GraphStore,
    roles: list[tuple[Record, str]],
    builder: Builder,
    reference: list[Record],
    *,
    loaded_at: str,
    check: Callable[[], None],
    seconds: dict[str, float] | None = None,
    bulk_rows: dict[str, int] | None = None,
) -> RecordsAhead | None:
    """Work out the reference data (``builder.reference``, on any engine); then, where
    the engine has bulk insertion, begin the load's bulk writer, write the reference
    data and create the nodes of the load's new source records, in ``roles`` order (the
    builder's). ``check`` raises when the load has stopped; it is called between
    commands. None when the engine has no bulk insertion."""
    builder.reference(reference)
    writer = store.bulk_writer()
    if writer is None:
        return None
    stopped = store.bulk_load_running()
    writer.begin(steps.shapes(steps.ALL))
    nodes = steps.NewNodes(writer, track=steps.ENDS)
    counts: dict[str, int] = {}

    def stage(_name: str, _total: int) -> Callable[[int], None]:
        check()  # no progress shown: the main thread's bar is linkage's
        return lambda _amount: check()

    addresses = write_reference(
        Steps(store, nodes, stage, counts, seconds, bulk_rows), builder.rows
    )
    with timed(seconds, "new source records, while linking"):
        merge = writer.uids("SourceRecord")  # linked or not: bulk insertion cannot merge
        created = 0
        shape = steps.SOURCE_RECORDS.node
        assert shape is not None
        for part in _parts(roles, merge, _last_of_repeated(roles)):
            check()
            writer.create_nodes(shape, part, constants={"loaded_at": loaded_at})
            created += len(part)
    return RecordsAhead(writer, stopped, nodes, counts, addresses, merge, created)


def _last_of_repeated(roles: list[tuple[Record, str]]) -> dict[str, tuple[Record, str]]:
    """Records listed more than once (identical rows in two files: one uid), each with
    its last listing, whose file and row it keeps, as successive MERGEs would leave it
    (``write._split_records`` folds the links the same way)."""
    seen: set[str] = set()
    last: dict[str, tuple[Record, str]] = {}
    for record, who in roles:
        uid = identity_uid(record, who)
        if uid in seen:
            last[uid] = (record, who)  # a later listing replaces an earlier one
        else:
            seen.add(uid)
    return last


def _parts(
    roles: list[tuple[Record, str]], merge: set[str], last_of: dict[str, tuple[Record, str]]
) -> Iterator[list[dict]]:
    """The new records' rows a bulk command at a time, in the order they are first
    listed: all of them at once would add a gigabyte where linkage's memory peaks."""
    part: list[dict] = []
    done: set[str] = set()  # repeated records created
    for record, who in roles:
        uid = identity_uid(record, who)
        if uid in merge or uid in done:
            continue
        if uid in last_of:
            done.add(uid)
            record, who = last_of[uid]
        part.append(source_record(record, who, uid))
        if len(part) == CHUNK:
            yield part
            part = []
    if part:
        yield part
