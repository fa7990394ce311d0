"""Creating nodes and relationships a load knows to be new, where an engine has a
faster way than Cypher (FalkorDB's ``GRAPH.BULK``; figures in benchmarks/README.md).

Bulk insertion merges nothing and checks no constraint, so only what cannot be in the
graph yet may take it (the loader decides which rows: :mod:`loaders.bulk_steps`);
everything else goes through the MERGE statements, which remain the definition of
what a load writes. An engine without such a path (Neo4j: its bulk import works only
on a stopped database) returns no :class:`BulkWriter`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Rows = Sequence[Mapping[str, Any]]
Columns = Mapping[str, Sequence[Any]]  # field -> its values, in row order


@dataclass(frozen=True)
class NodeShape:
    """New nodes, one per row, keyed by ``uid``.

    ``props``: row fields stored under the same names; ``dates``: those of them that
    hold ISO dates, stored as dates; ``extra_labels``: labels that depend on the row
    (a person is a Child or an Adult); ``texts``: (property, row field) pairs, each
    property stored as the field's text (a birth date's key, as the ISO date)."""

    label: str
    props: tuple[str, ...]
    dates: tuple[str, ...] = ()
    extra_labels: Callable[[Mapping[str, Any]], tuple[str, ...]] | None = None
    texts: tuple[tuple[str, str], ...] = ()

    @property
    def stored(self) -> tuple[str, ...]:
        """The properties each node takes, in the order of :attr:`fields`."""
        return (*self.props, *(name for name, _ in self.texts))

    @property
    def fields(self) -> tuple[str, ...]:
        """The row field each of :attr:`stored` is read from."""
        return (*self.props, *(field for _, field in self.texts))


@dataclass(frozen=True)
class EdgeShape:
    """New relationships, one per row, between nodes found by ``uid``.

    ``start`` and ``end`` are (label, row field holding the node's uid). A row whose
    end is not in the graph is skipped, as ``MATCH`` would skip it."""

    type: str
    start: tuple[str, str]
    end: tuple[str, str]
    props: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()


class BulkWriter(ABC):
    """One load's bulk insertion: :meth:`begin` first, :meth:`finish` before the load
    ends. An engine without a date type in its bulk insertion converts each command's
    dates in the same transaction as the command, so readers do not find a date the
    schema declares as text (but for the gaps the engine's writer names). ``chunk``:
    entities per command; rows given a command at a time are best given in slices of
    this size."""

    chunk: int

    @abstractmethod
    def begin(self, shapes: Sequence[NodeShape | EdgeShape]) -> None:
        """Complete what a load that stopped between its bulk insertion and its
        :meth:`finish` left undone, for every shape this load may write, before
        anything else is written: a relationship whose date is still text would not
        be found by the MERGE of its key and would be written twice."""

    @abstractmethod
    def uids(self, label: str) -> set[str]:
        """The uids of the ``label`` nodes in the graph now."""

    @abstractmethod
    def held(self, label: str, uids: Sequence[str]) -> set[str]:
        """Those of ``uids`` on a ``label`` node in the graph now: looked up one by one,
        for a load that names few of the label's nodes (:meth:`uids` reads them all)."""

    @abstractmethod
    def create_nodes(
        self,
        shape: NodeShape,
        rows: Rows | Columns,
        *,
        constants: Mapping[str, Any] | None = None,
        remember: bool = False,
    ) -> None:
        """Create one node per row (none of them may exist), the rows given as rows or
        as columns; ``constants`` are set on every one; ``remember``: later
        relationships will end at these nodes (the writer may keep what it needs to
        find them quickly)."""

    @abstractmethod
    def create_edges(self, shape: EdgeShape, rows: Rows | Columns) -> None:
        """Create one relationship per row whose ends exist, the rows given as rows or
        as columns."""

    @abstractmethod
    def finish(self) -> None:
        """Let go of the lookups kept meanwhile and mark the bulk insertion ended."""
