"""One interface over the graph engines.

Modelled on Splink's database API: this base class does the shared steps once
(parameter checking, batching, error wrapping with the failing query text, row
caps) and each engine fills a few small hooks. Everything above ``graph/`` talks
to a :class:`GraphStore` and never learns which engine is underneath.

Reads are read-only *at the engine* (FalkorDB ``GRAPH.RO_QUERY``; Neo4j plans the
query with ``EXPLAIN`` and refuses anything that is not a read, then runs it in a
READ transaction), so a saved or ad-hoc query cannot write even if our own checks
had a bug.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar

from graph import schema
from graph.bulk import BulkWriter
from graph.cypher import cypher

Params = Mapping[str, Any]
Row = dict[str, Any]
ProgressCallback = Callable[[int], None]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class GraphError(RuntimeError):
    """A graph operation failed. ``query`` holds the Cypher text when there is one."""

    def __init__(self, message: str, *, query: str | None = None) -> None:
        super().__init__(message)
        self.query = query

    def __str__(self) -> str:
        text = super().__str__()
        if self.query:
            short = " ".join(self.query.split())
            if len(short) > 300:
                short = short[:297] + "..."
            text += f"\n  in query: {short}"
        return text


class EngineUnavailable(GraphError):
    """The engine could not be reached or started."""


class ReadOnlyViolation(GraphError):
    """A query sent through the read path would write; the engine refused it."""


class QueryTimeout(GraphError):
    """A query ran longer than its time limit and was stopped."""


class QueryTooBig(GraphError):
    """A query needed more memory than the engine allows one query, and was stopped."""


# What to say to someone whose query hit a bound, after which bound it was.
NARROW = (
    "narrow it: start from fewer nodes (a label and a property, e.g. "
    "(c:Child {uid: $uid})), bound variable-length paths ([:R*1..3], not [*]), "
    "count() or LIMIT rather than collect() over everything, and connected patterns "
    "(two unconnected ones pair every node of the first with every node of the second)"
)


class CypherError(GraphError):
    """The engine rejected the query (syntax, semantics, constraint, type)."""


class ParameterError(GraphError, ValueError):
    """A parameter value cannot be sent to the engine safely."""


@dataclass(frozen=True)
class ReadResult:
    """Rows of plain Python values. ``truncated`` says the row cap cut the result."""

    columns: list[str]
    rows: list[Row]
    truncated: bool = False
    max_rows: int | None = None

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def scalar(self) -> Any:
        """The single value of a one-row, one-column result."""
        if not self.rows or not self.columns:
            return None
        return self.rows[0][self.columns[0]]


@dataclass(frozen=True)
class ColumnResult:
    """A read's values a column at a time: name -> the column's values in row order
    (:meth:`GraphStore.read_columns`). ``truncated`` says the row cap cut the result."""

    columns: dict[str, list[Any]]
    rows: int
    truncated: bool = False


@dataclass(frozen=True)
class ProfileStep:
    """One operator of the engine's own profile of a query, in plan order (``depth`` 0
    is the last operator, the one that returns rows): where a slow query's time goes,
    as the engine measured it rather than as we guess from the outside."""

    depth: int
    operator: str
    rows: int
    ms: float | None = None  # the operator's own time, where the engine reports one
    db_hits: int | None = None  # Neo4j's unit of work; FalkorDB reports none


@dataclass
class WriteSummary:
    """What a write changed, summed over batches."""

    nodes_created: int = 0
    nodes_deleted: int = 0
    relationships_created: int = 0
    relationships_deleted: int = 0
    properties_set: int = 0
    labels_added: int = 0
    labels_removed: int = 0
    rows: int = 0
    batches: int = 0
    returned: list[Row] = field(default_factory=list)

    def add(self, other: WriteSummary) -> None:
        for name in (
            "nodes_created",
            "nodes_deleted",
            "relationships_created",
            "relationships_deleted",
            "properties_set",
            "labels_added",
            "labels_removed",
            "rows",
            "batches",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.returned.extend(other.returned)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.nodes_created,
                self.nodes_deleted,
                self.relationships_created,
                self.relationships_deleted,
                self.properties_set,
                self.labels_added,
                self.labels_removed,
            )
        )


@dataclass(frozen=True)
class Health:
    ok: bool
    engine: str
    location: str
    version: str
    detail: str = ""


@dataclass(frozen=True)
class IndexState:
    """One index or constraint the schema asks for, and whether the engine has it."""

    kind: str  # "unique", "range" or "fulltext"
    label: str
    properties: tuple[str, ...]
    present: bool


@dataclass(frozen=True)
class Counts:
    labels: dict[str, int]
    relationship_types: dict[str, int]

    @property
    def nodes(self) -> int:
        """All nodes: every node carries exactly one primary label from the schema."""
        primary = {n.label for n in schema.NODE_TYPES}
        return sum(v for k, v in self.labels.items() if k in primary)

    @property
    def relationships(self) -> int:
        return sum(self.relationship_types.values())


def plain_param(value: Any, path: str = "") -> Any:
    """Turn a Python value into one every engine takes as a parameter.

    Dates travel as ISO strings (FalkorDB has no date parameters; queries wrap them
    in ``date($x)``). Anything else that is not JSON-like is refused with the name of
    the parameter, rather than silently stringified.
    """
    where = path or "parameter"
    if isinstance(value, str):
        if "\x00" in value:
            raise ParameterError(f"{where} holds a NUL character, which cannot be stored")
        return value
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ParameterError(f"{where} must be a finite number, not {value!r}")
        return value
    if isinstance(value, Decimal):
        return plain_param(float(value), path)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or not _IDENTIFIER.match(key):
                raise ParameterError(
                    f"{where} has a map key {key!r}; keys must be plain identifiers"
                )
            out[key] = plain_param(item, f"{where}.{key}")
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [plain_param(item, f"{where}[{i}]") for i, item in enumerate(items)]
    raise ParameterError(
        f"{where} has a value of type {type(value).__name__}, which cannot be a "
        "query parameter (use str, int, float, bool, date, list or dict)"
    )


def plain_params(params: Params | None) -> dict[str, Any]:
    if not params:
        return {}
    out = {}
    for name, value in params.items():
        if not _IDENTIFIER.match(name):
            raise ParameterError(f"parameter name {name!r} is not a plain identifier")
        out[name] = plain_param(value, f"${name}")
    return out


def batched(rows: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


# a load's own reads: long enough for a county, still an end to a stuck engine
BATCH_TIMEOUT_MS = 3_600_000
# The few page reads that cover a whole county (caseload map, transitions, the needs
# forecast's cohort) take 3-22 s at 300,000 children: past the interactive limit, but a
# planning page that waits is better than one that fails. Each passes this itself.
COUNTY_WIDE_READ_TIMEOUT_MS = 120_000


class GraphStore(ABC):
    """The one door to the graph. Use :func:`graph.open_store` to get one."""

    engine: ClassVar[str]

    def __init__(
        self,
        *,
        location: str,
        timeout_ms: int,
        max_rows: int,
        pseudonym_dir: Path | None = None,
    ) -> None:
        self.location = location
        self.timeout_ms = timeout_ms
        self.max_rows = max_rows
        # where the key of the analysts' pseudonyms and the way back are kept (outside
        # the graph; see graph.access.pseudonyms)
        self.pseudonym_dir = pseudonym_dir

    # -- the pseudonymised copy (graph.access.projection) ---------------------------

    @property
    def name(self) -> str:
        """The graph's name on its engine (a FalkorDB key, a Neo4j database)."""
        return self.location

    def pseudonymised(self) -> GraphStore:
        """The store holding this graph's pseudonymised copy, where every read of a
        pseudonymised role goes: the same engine's interface over another graph."""
        raise GraphError(f"the {self.engine} store keeps no pseudonymised copy")

    def pseudonymised_staging(self) -> GraphStore:
        """Where the next copy is written: the copy itself, unless the engine can put a
        finished copy in its place at once (:meth:`publish_pseudonymised`)."""
        return self.pseudonymised()

    def publish_pseudonymised(self) -> None:  # noqa: B027 - optional hook
        """Make the copy written in :meth:`pseudonymised_staging` the one read."""

    def duplicate_pseudonymised(self, replacing: Callable[[], None]) -> bool:
        """Make :meth:`pseudonymised_staging` hold what the published copy holds (the
        engine's own copy of it), for the next copy to be written over as a difference,
        calling ``replacing`` just before the staging copy is replaced; False where the
        engine keeps one copy or has none yet (the staging copy left as it was), or could
        not copy it (the staging copy then gone: the next is written afresh)."""
        return False

    @contextmanager
    def batch_job(
        self, timeout_ms: int = BATCH_TIMEOUT_MS, *, relaxed_fsync: bool = False
    ) -> Iterator[None]:
        """Let a batch job's reads run past the interactive time limit meanwhile.

        The limit (``JIGSAW_QUERY_TIMEOUT_MS``, 10 s by default) stops a page waiting on
        a runaway query; a load's own lookups and the facts it derives take longer than
        that at county scale, and cutting them would fail the load at its very end.
        ``relaxed_fsync``: the caller opts into lighter persistence where the engine has
        it (the embedded server's, for every client while the job runs).
        """
        before = self.timeout_ms
        self.timeout_ms = max(before, timeout_ms)
        try:
            yield
        finally:
            self.timeout_ms = before

    # -- reads -----------------------------------------------------------------

    def read(
        self,
        cypher: str,
        params: Params | None = None,
        *,
        timeout_ms: int | None = None,
        max_rows: int | None = None,
    ) -> ReadResult:
        """Run a query read-only at the engine; rows beyond ``max_rows`` are cut."""
        limit = self.max_rows if max_rows is None else max_rows
        return self._read(
            cypher,
            plain_params(params),
            timeout_ms=timeout_ms or self.timeout_ms,
            max_rows=limit,
        )

    def read_columns(
        self,
        cypher: str,
        params: Params | None = None,
        *,
        timeout_ms: int | None = None,
        max_rows: int | None = None,
    ) -> ColumnResult:
        """As :meth:`read`, a column at a time: for a caller that works on columns (the
        analysts' copy), without a dict a row where the engine's reply has none."""
        limit = self.max_rows if max_rows is None else max_rows
        return self._read_columns(
            cypher, plain_params(params), timeout_ms=timeout_ms or self.timeout_ms, max_rows=limit
        )

    def profile(
        self, cypher: str, params: Params | None = None, *, timeout_ms: int | None = None
    ) -> list[ProfileStep]:
        """Run a read query once under the engine's profiler; the query is refused
        first, as :meth:`read` refuses it, if it would write. For the benchmark's
        account of a missed budget, not for pages: it runs the whole query."""
        return self._profile(cypher, plain_params(params), timeout_ms=timeout_ms or self.timeout_ms)

    # -- writes ----------------------------------------------------------------

    def write(self, cypher: str, params: Params | None = None) -> WriteSummary:
        """Run one write query in one transaction."""
        return self._write(cypher, plain_params(params))

    def write_rows(
        self,
        cypher: str,
        rows: Iterable[Mapping[str, Any]],
        *,
        batch_size: int = 5_000,
        params: Params | None = None,
        progress: ProgressCallback | None = None,
    ) -> WriteSummary:
        """Run ``UNWIND $rows AS row ...`` once per batch, one transaction per batch.

        Each batch commits on its own, so a crash loses at most the batch under way;
        loaders write with MERGE on stable keys so re-running finishes the job.

        The next batch is encoded on a second thread while the engine runs this one:
        the engine is another process, so the client's encoding (a fifth of the write
        time at 30,000 children, profiled) overlaps the engine's work on a second core
        instead of adding to it. Batches are still sent, and committed, one after another in
        order; an encoding error surfaces when its batch's turn comes.
        """
        if "$rows" not in cypher:
            raise CypherError("a batched write must unwind the $rows parameter", query=cypher)
        total = WriteSummary()
        extra = plain_params(params)
        batches = batched(rows, batch_size)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jigsaw-encode") as encoder:

            def encode_next() -> list[tuple[int, Future[Any]]]:
                return [
                    (len(batch), encoder.submit(self._encode_batch, cypher, extra, batch))
                    for batch in islice(batches, 1)
                ]

            ahead = encode_next()
            while ahead:
                size, encoded = ahead.pop()
                ahead = encode_next()
                summary = self._send_batch(cypher, encoded.result())
                summary.rows = size
                summary.batches = 1
                total.add(summary)
                if progress:
                    progress(size)
        return total

    def _encode_batch(
        self, cypher: str, params: dict[str, Any], batch: list[Mapping[str, Any]]
    ) -> Any:
        """One batch of :meth:`write_rows`, made ready to send (checked and encoded);
        runs on the encoding thread. An adapter with a faster encoding overrides this
        and :meth:`_send_batch` together."""
        return {**params, "rows": plain_param(batch, "$rows")}

    def _send_batch(self, cypher: str, encoded: Any) -> WriteSummary:
        """Run one batch :meth:`_encode_batch` prepared, in its own transaction."""
        return self._write(cypher, encoded)

    def bulk_load_running(self) -> bool:
        """Whether a load's bulk insertion is under way, or stopped before it finished.
        It names nodes by the engine's internal ids, which a deleted node gives up for
        reuse: nothing may delete nodes meanwhile (see ``review.decide``)."""
        return False

    def bulk_writer(self) -> BulkWriter | None:
        """The engine's bulk insertion for one load, or None where it has none (see
        :mod:`graph.bulk`): the loader then writes every row through Cypher."""
        return None

    def parallel_reads(self) -> int:
        """How many read queries the engine runs side by side (one each): a batch job
        may split a long read into that many parts. One where not measured."""
        return 1

    # -- schema, search, health --------------------------------------------------

    @abstractmethod
    def ensure_schema(self, *, constraints: bool = True) -> list[str]:
        """Create every missing constraint and index; return what was created.
        ``constraints=False``: indexes only, where the engine can index a key without a
        constraint (a copy written once from unique keys needs none)."""

    @abstractmethod
    def schema_state(self) -> list[IndexState]:
        """Every constraint and index the schema asks for, and whether it is there."""

    def indexes_ready(self) -> bool:
        """Whether every index serves reads now (an engine that rebuilds its indexes
        after a start says no meanwhile; asking does not wait)."""
        return True

    @abstractmethod
    def search_people(self, text: str, *, limit: int = 20, fuzzy: bool = True) -> list[Row]:
        """Full-text search over people's names: ``[{uid, score}]``, best first.

        Typo-tolerant when ``fuzzy``: each word may be one or two edits away.
        """

    @abstractmethod
    def health(self) -> Health:
        """Whether the engine answers, and its version."""

    def counts(self) -> Counts:
        """Nodes per label and relationships per type."""
        labels = {row["label"]: row["n"] for row in self.read(COUNT_LABELS, max_rows=100_000).rows}
        rels = {
            row["type"]: row["n"] for row in self.read(COUNT_RELATIONSHIPS, max_rows=100_000).rows
        }
        return Counts(
            labels=dict(sorted(labels.items())), relationship_types=dict(sorted(rels.items()))
        )

    def save_snapshot(self) -> None:  # noqa: B027 - optional hook
        """A batch job has just rewritten much of the graph: where this process manages
        the engine's files, have it write them afresh for its next start (in the
        background; :meth:`close` waits for it). Nothing by default."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. The store must not be used afterwards."""

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- engine hooks ------------------------------------------------------------

    @abstractmethod
    def _read(
        self, cypher: str, params: dict[str, Any], *, timeout_ms: int, max_rows: int
    ) -> ReadResult: ...

    def _read_columns(
        self, cypher: str, params: dict[str, Any], *, timeout_ms: int, max_rows: int
    ) -> ColumnResult:
        """:meth:`_read`'s rows as columns; an adapter with a columnar reply overrides it."""
        result = self._read(cypher, params, timeout_ms=timeout_ms, max_rows=max_rows)
        return ColumnResult(
            {name: [row[name] for row in result.rows] for name in result.columns},
            len(result.rows),
            result.truncated,
        )

    @abstractmethod
    def _write(self, cypher: str, params: dict[str, Any]) -> WriteSummary: ...

    @abstractmethod
    def _profile(
        self, cypher: str, params: dict[str, Any], *, timeout_ms: int
    ) -> list[ProfileStep]: ...

    @abstractmethod
    def drop_all(self) -> None:
        """Delete every node, relationship, index and constraint (tests, `db reset`)."""


COUNT_LABELS = cypher(
    "store.count_labels",
    "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n",
)
COUNT_RELATIONSHIPS = cypher(
    "store.count_relationships",
    "MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n",
)


def fuzzy_terms(text: str) -> list[str]:
    """Words of a name search, lower-cased, with query-syntax characters removed.

    Shared by both engines' full-text dialects so the same input means the same
    search everywhere, and so user text can never inject full-text query syntax.
    """
    words = re.findall(r"[^\W_]+", text.lower())
    return [w for w in words if w][:8]
