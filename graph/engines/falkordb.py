"""FalkorDB adapter: the embedded engine (falkordblite) and FalkorDB servers.

The embedded engine is a FalkorDB (Redis module) server that ``falkordblite`` runs as
a child process on a unix socket, with its files in one directory. Several processes
(the app and a ``jigsaw load``) share one server: falkordblite records the running
server beside the data and later clients attach to it. We add a file lock so two
processes starting at once cannot start two servers on the same files, and turn on
the append-only file with ``appendfsync always`` so an acknowledged write survives
the server being killed.

Reads go through ``GRAPH.RO_QUERY``: the engine itself refuses any write there.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph import schema
from graph.engines.falkordb_bulk import MARKER as BULK_MARKER
from graph.engines.falkordb_bulk import FalkorBulkWriter
from graph.engines.falkordb_cap import HIDDEN, capped, return_columns
from graph.engines.falkordb_params import params_header
from graph.engines.falkordb_results import plain_columns
from graph.engines.falkordb_start import crash_report, start_embedded
from graph.engines.relaxed import RelaxedMarkers
from graph.files import private_dir
from graph.store import (
    BATCH_TIMEOUT_MS,
    NARROW,
    ColumnResult,
    Counts,
    CypherError,
    EngineUnavailable,
    GraphError,
    GraphStore,
    Health,
    IndexState,
    ProfileStep,
    QueryTimeout,
    QueryTooBig,
    ReadOnlyViolation,
    ReadResult,
    Row,
    WriteSummary,
    fuzzy_terms,
)

log = logging.getLogger(__name__)

_RO_REFUSED = "is to be executed only on read-only queries"
_EMPTY_KEY = "Invalid graph operation on empty key"
_MEMORY = "mem consumption exceeded capacity"
# nodes per label and relationships per type, as the engine keeps them
STATS = "CALL db.meta.stats() YIELD labels, relTypes RETURN labels, relTypes"
_DECODE_ROWS = 250  # rows of nodes or paths decoded between looks at the clock
_CONSTRAINT_WAIT_S = 120.0
# How long the analysts' copy waits to be duplicated behind a snapshot's rewrite (the
# server forks for both, one at a time) before it is left to be read whole next time
_COPY_WAIT_S = 300
# How long close() waits for a snapshot save_snapshot() started (county scale: up to
# 8 s after the load); past that the shutdown stops it and only the speed-up is lost.
_SNAPSHOT_WAIT_S = 600.0
# The embedded server rewrites its append-only file when it has grown by this many
# percent (Redis's default), except during a batch job (FalkorDBStore.batch_job).
_AOF_GROWTH = 100
# The client's socket read limit: above any one query's run time (reads carry their
# own engine-side time limit), so a big write batch is not cut off half way.
_SOCKET_TIMEOUT_S = 900
# the pseudonymised copy's graph key is the live graph's and this
PSEUDONYMISED_SUFFIX = "_pseudonymised"


@dataclass(frozen=True)
class _PlainResult:
    """A read's result decoded straight to plain values, a list of each column's values
    in row order (see ``_ro_query``)."""

    header: list[Any]
    columns: list[list[Any]]
    count: int  # rows

    @property
    def result_set(self) -> list[list[Any]]:
        """The rows (for the adapter's own small reads)."""
        if not self.columns:
            return [[] for _ in range(self.count)]
        return [list(row) for row in zip(*self.columns, strict=True)]


def _plain(value: Any) -> Any:
    """Engine values to plain Python (dicts, lists, dates), never driver objects."""
    from falkordb.edge import Edge
    from falkordb.node import Node
    from falkordb.path import Path as GraphPath

    if isinstance(value, Node):
        return {"_labels": list(value.labels or []), **_plain(value.properties)}
    if isinstance(value, Edge):
        return {"_type": value.relation, **_plain(value.properties)}
    if isinstance(value, GraphPath):
        return {
            "nodes": [_plain(n) for n in value.nodes()],
            "relationships": [_plain(e) for e in value.edges()],
        }
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if type(value).__name__ == "relativedelta":
        return {
            k: getattr(value, k)
            for k in ("years", "months", "days", "hours", "minutes", "seconds")
            if getattr(value, k)
        }
    return value


def _summary(result: Any) -> WriteSummary:
    """A write's counters, and any rows it returned as plain values."""
    columns = [name for _, name in (result.header or [])]
    returned = [
        dict(zip(columns, (_plain(v) for v in row), strict=True))
        for row in (result.result_set or [])
    ]
    return WriteSummary(
        nodes_created=int(result.nodes_created),
        nodes_deleted=int(result.nodes_deleted),
        relationships_created=int(result.relationships_created),
        relationships_deleted=int(result.relationships_deleted),
        properties_set=int(result.properties_set),
        labels_added=int(result.labels_added),
        labels_removed=int(result.labels_removed),
        returned=returned,
    )


_PROFILE_LINE = re.compile(
    r"^(?P<indent> *)(?P<operator>.*?) \| Records produced: (?P<rows>\d+), "
    r"Execution time: (?P<ms>[0-9.]+) ms$"
)


def profile_steps(lines: Iterable[str]) -> list[ProfileStep]:
    """GRAPH.PROFILE's reply (one line an operator, four spaces a level deeper) as
    steps; a line of another shape is kept whole, with no figures, rather than lost."""
    steps = []
    for line in lines:
        found = _PROFILE_LINE.match(line)
        if found is None:
            stripped = line.lstrip(" ")
            steps.append(ProfileStep((len(line) - len(stripped)) // 4, stripped.rstrip(), 0))
            continue
        steps.append(
            ProfileStep(
                len(found["indent"]) // 4,
                found["operator"],
                int(found["rows"]),
                float(found["ms"]),
            )
        )
    return steps


def fulltext_query(text: str, *, fuzzy: bool) -> str:
    """RediSearch syntax: every word must match, exactly, as a prefix or within edits.

    Words are reduced to letters and digits first, so user text cannot inject query
    syntax. The index is phonetic (double metaphone), which also forgives
    Smith/Smyth and Catherine/Kathryn.
    """
    parts = []
    terms = fuzzy_terms(text)
    if len(terms) > 1:  # "O'Brien" -> o, brien: a lone letter is not worth requiring
        terms = [t for t in terms if len(t) > 1] or terms
    for term in terms:
        options = [term]
        if len(term) >= 2:
            options.append(f"{term}*")
        if fuzzy and len(term) >= 4:
            options.append(f"%{term}%")
        if fuzzy and len(term) >= 5:
            options.append(f"%%{term}%%")
        parts.append("(" + "|".join(options) + ")")
    return " ".join(parts)


class FalkorDBStore(GraphStore):
    """FalkorDB, embedded (a directory) or a server (``falkordb://host:port``)."""

    engine = "falkordb"

    def __init__(
        self,
        *,
        graph_name: str,
        timeout_ms: int,
        max_rows: int,
        directory: Path | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        fsync: str = "always",
        query_memory_mb: int = 2048,
        max_reply_mb: int = 1024,
        pseudonym_dir: Path | None = None,
        copy_duplicate: bool = False,
    ) -> None:
        """``query_memory_mb``: the memory one query may take on the embedded engine
        (``QUERY_MEM_CAPACITY``); ``max_reply_mb``: the largest reply it sends (a client
        whose reply grows past it is disconnected: Redis's ``client-output-buffer-limit``
        for normal clients). A server keeps its operator's settings. ``copy_duplicate``:
        :meth:`duplicate_pseudonymised` copies (the setting of that name)."""
        self.copy_duplicate = copy_duplicate
        # the server is started elsewhere, so a relative path would not mean the same
        directory = directory.resolve() if directory is not None else None
        self.directory = directory
        if directory is not None:
            super().__init__(
                location=str(directory),
                timeout_ms=timeout_ms,
                max_rows=max_rows,
                # beside the engine's directory, as data_dir/pseudonym is beside data_dir/graph
                pseudonym_dir=pseudonym_dir or directory.parent / "pseudonym",
            )
            self._db = _start_embedded(directory, fsync)
            self._started_pid = self.server_pid()  # the server's own, in its log's lines
            self.fsync = fsync  # the server's setting outside a batch job
            self.engine_label = "falkordb-embedded"
            self._relaxed = RelaxedMarkers(directory)
            server = self._db.connection
            server.execute_command(
                "GRAPH.CONFIG", "SET", "QUERY_MEM_CAPACITY", query_memory_mb * 1024 * 1024
            )
            server.config_set("client-output-buffer-limit", f"normal {max_reply_mb}mb 0 0")
        else:
            super().__init__(
                location=f"falkordb://{host}:{port}",
                timeout_ms=timeout_ms,
                max_rows=max_rows,
                pseudonym_dir=pseudonym_dir,
            )
            self._db = _connect_server(host or "localhost", port or 6379, password)
            self._started_pid = None
            self.engine_label = "falkordb"
        self.query_memory_mb = query_memory_mb
        self.max_reply_mb = max_reply_mb
        self._replies_cut = self._reply_cuts()
        self.graph_name = graph_name
        self._graph = self._db.select_graph(graph_name)
        self._indexes_ready = False
        self._snapshot: str | None = None  # save_snapshot(): "due" or "started"
        self._owner = True  # closes the connection (a companion graph's store does not)
        self._companions: dict[str, FalkorDBStore] = {}
        self._restore_if_abandoned()

    # -- the pseudonymised copy: another graph key on the same server ----------------

    @property
    def name(self) -> str:
        return self.graph_name

    def pseudonymised(self) -> FalkorDBStore:
        return self._companion(self.graph_name + PSEUDONYMISED_SUFFIX)

    def pseudonymised_staging(self) -> FalkorDBStore:
        return self._companion(self.graph_name + PSEUDONYMISED_SUFFIX + "_next")

    def publish_pseudonymised(self) -> None:
        """The finished copy takes the copy's key at once: a query sees the old copy or
        the new one, never one half written. The old one takes the staging key in the
        same transaction, for the next copy to be written over as a difference."""
        staging, target = self.pseudonymised_staging(), self.pseudonymised()
        server = self._db.connection
        if server.exists(target.graph_name):
            swap = server.pipeline(transaction=True)  # MULTI/EXEC: no query runs between
            swap.execute_command("RENAME", target.graph_name, target.graph_name + "_swap")
            swap.execute_command("RENAME", staging.graph_name, target.graph_name)
            swap.execute_command("RENAME", target.graph_name + "_swap", staging.graph_name)
            swap.execute()
        else:
            server.execute_command("RENAME", staging.graph_name, target.graph_name)
        staging._graph = self._db.select_graph(staging.graph_name)
        target._graph = self._db.select_graph(target.graph_name)
        target._indexes_ready = staging._indexes_ready = False

    def duplicate_pseudonymised(self, replacing: Callable[[], None]) -> bool:
        """``GRAPH.COPY`` of the published copy over the staging key, deleted first: the
        server copies it in C, with its indexes, beside the queries it answers (no row
        through this process). Refused (the server could not fork, say): False, the
        staging copy gone. Only where the ``copy_duplicate`` setting asks: at county the
        engine's own peak rose 5.9 -> 10.1 GB while it copied (benchmarks/README.md), so
        by default it never copies."""
        import redis

        staging, target = self.pseudonymised_staging(), self.pseudonymised()
        server = self._db.connection
        if not self.copy_duplicate or not server.exists(target.graph_name):
            return False
        replacing()
        server.delete(staging.graph_name)
        staging._graph = self._db.select_graph(staging.graph_name)
        staging._indexes_ready = False
        deadline = time.monotonic() + _COPY_WAIT_S
        while True:  # the server forks to copy: not while it rewrites its snapshot
            while self._busy_rewriting() and time.monotonic() < deadline:
                time.sleep(0.1)
            try:
                target._graph.copy(staging.graph_name)
                return True
            except redis.ResponseError as exc:
                if "fork" not in str(exc) or time.monotonic() > deadline:
                    log.warning("the analysts' copy not duplicated: %s", exc)
                    return False
                time.sleep(0.5)

    def _companion(self, graph_name: str) -> FalkorDBStore:
        """A store over another graph of the same server, sharing this one's connection."""
        if self.graph_name.endswith(PSEUDONYMISED_SUFFIX) or not self._owner:
            raise GraphError("the pseudonymised copy has no pseudonymised copy of its own")
        if graph_name not in self._companions:
            other = copy.copy(self)
            other.graph_name = graph_name
            other._graph = self._db.select_graph(graph_name)
            other._indexes_ready = False
            other._snapshot = None
            other._owner = False
            other._companions = {}
            self._companions[graph_name] = other
        return self._companions[graph_name]

    # -- hooks -------------------------------------------------------------------

    def _read(
        self, cypher: str, params: dict[str, Any], *, timeout_ms: int, max_rows: int
    ) -> ReadResult:
        found = self._read_columns(cypher, params, timeout_ms=timeout_ms, max_rows=max_rows)
        names, values = list(found.columns), list(found.columns.values())
        if values:
            rows = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
        else:  # no columns: as many empty rows as the engine sent
            rows = [{} for _ in range(found.rows)]
        return ReadResult(columns=names, rows=rows, truncated=found.truncated, max_rows=max_rows)

    def _read_columns(
        self, cypher: str, params: dict[str, Any], *, timeout_ms: int, max_rows: int
    ) -> ColumnResult:
        # the engine stops at the cap plus one row (the one says the cap cut the result)
        header = params_header(params)
        try:
            result = self._execute(
                header + capped(cypher, max_rows + 1),
                cypher,
                read_only=True,
                timeout_ms=timeout_ms,
                keep_rows=max_rows + 1,
            )
        except CypherError:  # the query's own error, or one the wrapping caused
            # the engine says which, as _profile asks it: a write is refused before it
            # runs, a bad query fails to plan, and a read is given 1 ms
            with contextlib.suppress(QueryTimeout):
                self._call(cypher, params, read_only=True, timeout_ms=1, keep_rows=1)
            raise CypherError(
                "this read cannot be capped at the engine: end it with RETURN (a "
                "procedure as CALL ... YIELD ... RETURN ...)",
                query=cypher,
            ) from None
        columns = dict(zip((name for _, name in result.header), result.columns, strict=True))
        columns.pop(HIDDEN, None)  # the query's own RETURN * took the wrapping's row along
        wanted = return_columns(cypher)  # RETURN * gave them in name order
        if wanted and list(columns) != wanted and sorted(wanted) == sorted(columns):
            columns = {name: columns[name] for name in wanted}
        truncated = result.count > max_rows
        if truncated:
            columns = {name: values[:max_rows] for name, values in columns.items()}
        return ColumnResult(columns, min(result.count, max_rows), truncated)

    def _write(self, cypher: str, params: dict[str, Any]) -> WriteSummary:
        self._restore_if_abandoned()
        return _summary(self._call(cypher, params, read_only=False, timeout_ms=None))

    def _profile(
        self, cypher: str, params: dict[str, Any], *, timeout_ms: int
    ) -> list[ProfileStep]:
        # GRAPH.PROFILE runs the query and has no read-only form, so the engine's own
        # read-only check comes first: GRAPH.RO_QUERY refuses a write before running
        # anything, and a read it is given 1 ms for (stopped, or finished) changes nothing.
        with contextlib.suppress(QueryTimeout):
            self._call(cypher, params, read_only=True, timeout_ms=1, keep_rows=1)
        lines = self._execute(
            params_header(params) + cypher,
            cypher,
            read_only=False,
            timeout_ms=timeout_ms,
            command="GRAPH.PROFILE",
        )
        return profile_steps(x.decode() if isinstance(x, bytes) else str(x) for x in lines)

    def plan(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[str]:
        """The engine's plan for a query, one operator a line, indented by depth
        (``GRAPH.EXPLAIN``: plans, runs nothing). For the portability guard's check that
        a lookup by uid starts from the uid index."""
        lines = self._execute(
            params_header(dict(params or {})) + cypher,
            cypher,
            read_only=False,
            timeout_ms=None,
            command="GRAPH.EXPLAIN",
        )
        return [x.decode() if isinstance(x, bytes) else str(x) for x in lines]

    def _encode_batch(
        self, cypher: str, params: dict[str, Any], batch: list[Mapping[str, Any]]
    ) -> str:
        # The rows go to the header encoder as they are: it checks them as it encodes
        # (see falkordb_params), so the separate plain_param walk is not needed.
        return params_header({**params, "rows": batch}) + cypher

    def _send_batch(self, cypher: str, encoded: str) -> WriteSummary:
        self._restore_if_abandoned()
        return _summary(self._execute(encoded, cypher, read_only=False, timeout_ms=None))

    def _ro_query(self, query: str, timeout_ms: int | None, keep_rows: int | None) -> _PlainResult:
        """``GRAPH.RO_QUERY`` as plain values, a column at a time: decoded by
        :mod:`falkordb_results` where it can be, else by the client and then ``_plain``
        (nodes, paths). Rows past ``keep_rows`` (beyond the row cap) are not decoded.

        The client's decoding of nodes and paths is slow (5,000 long paths took minutes
        after the engine had answered in milliseconds), so it is done a few hundred rows
        at a time within the read's own time limit, and stops with QueryTimeout past it."""
        from falkordb.query_result import QueryResult

        started = time.monotonic()
        command: list[Any] = ["GRAPH.RO_QUERY", self.graph_name, query, "--compact"]
        if timeout_ms:
            command += ["timeout", int(timeout_ms)]
        response = self._graph.execute_command(*command)
        if (
            len(response) != 3
            or not isinstance(response[1], list)
            or isinstance(response[-1], Exception)
        ):
            result = QueryResult(self._graph, response)  # raises the engine's error, if any
            return _PlainResult(result.header or [], [[] for _ in result.header or []], 0)
        records = response[1][:keep_rows] if keep_rows else response[1]
        columns = plain_columns(records, len(response[0]))
        if columns is not None:
            return _PlainResult(response[0], columns, len(records))
        rows: list[list[Any]] = []
        for start in range(0, len(records), _DECODE_ROWS):
            part = QueryResult(
                self._graph, [response[0], records[start : start + _DECODE_ROWS], response[2]]
            )
            rows += [[_plain(v) for v in row] for row in part.result_set or []]
            if timeout_ms and (time.monotonic() - started) * 1000 > timeout_ms:
                raise QueryTimeout(
                    f"stopped after {timeout_ms:,} ms, the time limit for a read "
                    f"(JIGSAW_QUERY_TIMEOUT_MS), while reading its {len(records):,} rows: "
                    "return fewer or smaller values (properties rather than whole nodes or "
                    f"paths); {NARROW}",
                    query=query.rpartition("CALL {")[2] or query,
                )
        columns = [list(column) for column in zip(*rows, strict=True)] or [[] for _ in response[0]]
        return _PlainResult(response[0], columns, len(rows))

    def bulk_writer(self) -> FalkorBulkWriter:
        return FalkorBulkWriter(self, self.bulk_command)

    def counts(self) -> Counts:
        """From the engine's own statistics, kept as it writes: the same counts as a
        walk of every node and relationship, without the walk (seconds at county
        scale, and a load and its copy ask more than once)."""
        stats = self.read(STATS).rows[0]
        labels, types = stats["labels"] or {}, stats["relTypes"] or {}
        return Counts(
            labels={k: v for k, v in sorted(labels.items()) if v},
            relationship_types={k: v for k, v in sorted(types.items()) if v},
        )

    def parallel_reads(self) -> int:
        """The engine's query threads (``THREAD_COUNT``: one per core by default). Read
        queries run on them side by side; writes take turns."""
        try:
            reply = self._db.connection.execute_command("GRAPH.CONFIG", "GET", "THREAD_COUNT")
            return max(1, int(reply[1]))
        except Exception:  # an older server or a refused command: assume one
            return 1

    def bulk_load_running(self) -> bool:
        return bool(self.read(f"MATCH (m:{BULK_MARKER}) RETURN count(m) AS n").scalar())

    def bulk_command(
        self,
        nodes: int,
        edges: int,
        blob: bytes,
        then: tuple[str, dict[str, Any]] | None = None,
        *,
        retried: bool = False,
    ) -> None:
        """One ``GRAPH.BULK`` command adding to the graph (see :mod:`falkordb_bulk`);
        with ``then`` (a write statement and its parameters), that statement too, in
        one transaction: the server starts no other client's command between the two."""
        import redis

        command = ["GRAPH.BULK", self.graph_name, nodes, edges, int(nodes > 0), int(edges > 0)]
        try:
            if then is None:
                self._graph.execute_command(*command, blob)
            else:
                pipe = self._db.connection.pipeline(transaction=True)
                pipe.execute_command(*command, blob)
                query = params_header(then[1]) + then[0]
                pipe.execute_command("GRAPH.QUERY", self.graph_name, query, "--compact")
                inserted, converted = pipe.execute(raise_on_error=False)
                if isinstance(inserted, Exception):
                    raise inserted
                failed = converted if isinstance(converted, Exception) else None
                if isinstance(converted, list) and converted:
                    failed = converted[-1] if isinstance(converted[-1], Exception) else None
                if failed is not None:  # the statement's own error, in its reply
                    raise GraphError(
                        f"FalkorDB inserted {nodes + edges:,} rows but did not turn their "
                        f"dates into dates ({failed}): pages comparing those dates miss "
                        "them until the next load, which converts them first"
                    )
        except redis.exceptions.ResponseError as exc:
            if _EMPTY_KEY not in str(exc) or retried:
                raise GraphError(f"FalkorDB refused a bulk insertion: {exc}") from None
            self._touch()  # a graph nobody has written to yet: create it, then again
            self.bulk_command(nodes, edges, blob, then, retried=True)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise EngineUnavailable(self._not_answering(exc)) from None

    def _not_answering(self, exc: Exception) -> str:
        """Why the engine does not answer, with the embedded server's own report of a
        crash if its log holds one of the server this store used (an operator, or a failed test
        run, then sees what the server was doing when it stopped)."""
        message = f"the graph engine at {self.location} is not answering: {exc}"
        crashed = crash_report(self.directory, self._started_pid) if self.directory else ""
        return f"{message}; {crashed}" if crashed else message

    def _touch(self) -> None:
        self._graph.query("MERGE (s:_JigsawInit {v: 1}) DELETE s")

    def _call(
        self,
        cypher: str,
        params: dict[str, Any],
        *,
        read_only: bool,
        timeout_ms: int | None,
        keep_rows: int | None = None,
    ) -> Any:
        return self._execute(
            params_header(params) + cypher,
            cypher,
            read_only=read_only,
            timeout_ms=timeout_ms,
            keep_rows=keep_rows,
        )

    def _execute(
        self,
        query: str,
        cypher: str,
        *,
        read_only: bool,
        timeout_ms: int | None,
        retried: bool = False,
        keep_rows: int | None = None,
        command: str | None = None,
    ) -> Any:
        """Run ``query`` (the parameter header and ``cypher``); errors name ``cypher``.
        ``command`` is another command taking the graph and the query (GRAPH.PROFILE),
        whose reply comes back as the engine sent it."""
        import redis

        try:
            if command is not None:
                args: list[Any] = [command, self.graph_name, query]
                if timeout_ms:
                    args += ["timeout", int(timeout_ms)]
                return self._graph.execute_command(*args)
            if read_only:
                return self._ro_query(query, timeout_ms, keep_rows)
            return self._graph.query(query)
        except redis.exceptions.ResponseError as exc:
            message = str(exc)
            if _EMPTY_KEY in message and not retried:
                # A graph nobody has written to yet: create it empty, then ask again.
                self._touch()
                return self._execute(
                    query,
                    cypher,
                    read_only=read_only,
                    timeout_ms=timeout_ms,
                    retried=True,
                    keep_rows=keep_rows,
                    command=command,
                )
            if _RO_REFUSED in message:
                raise ReadOnlyViolation(
                    "refused: this query would write, and only read queries may run here",
                    query=cypher,
                ) from None
            if "timed out" in message.lower():
                raise QueryTimeout(
                    f"stopped after {timeout_ms or 0:,} ms, the time limit for a read "
                    f"(JIGSAW_QUERY_TIMEOUT_MS): {NARROW}",
                    query=cypher,
                ) from None
            if _MEMORY in message:
                raise QueryTooBig(
                    f"stopped: it needed more than {self.query_memory_mb:,} MB, the memory "
                    f"one query may take (JIGSAW_QUERY_MEMORY_MB): {NARROW}",
                    query=cypher,
                ) from None
            raise CypherError(f"FalkorDB rejected the query: {message}", query=cypher) from None
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            if read_only and self._reply_was_cut():
                raise QueryTooBig(
                    f"stopped: its result was larger than {self.max_reply_mb:,} MB, the "
                    f"largest the engine sends (JIGSAW_MAX_REPLY_MB): return fewer or "
                    f"smaller values (properties rather than whole nodes or paths); {NARROW}",
                    query=cypher,
                ) from None
            raise EngineUnavailable(self._not_answering(exc), query=cypher) from None

    def _reply_cuts(self) -> int:
        """How many replies the server has cut at its output limit since it started."""
        try:
            stats = self._db.connection.info("stats")
        except Exception:  # the server is gone: nothing to compare with
            return 0
        return int(stats.get("client_output_buffer_limit_disconnections", 0))

    def _reply_was_cut(self) -> bool:
        """Whether a connection lost during a read was the server cutting its reply."""
        before, self._replies_cut = self._replies_cut, self._reply_cuts()
        return self._replies_cut > before

    # -- schema ----------------------------------------------------------------

    def _indexes(self) -> dict[str, dict[str, list[str]]]:
        """label -> property -> index types (RANGE, FULLTEXT)."""
        rows = self._call("CALL db.indexes()", {}, read_only=True, timeout_ms=None).result_set
        found: dict[str, dict[str, list[str]]] = {}
        for row in rows or []:
            label, _props, types, *_rest = row
            entity = row[6] if len(row) > 6 else "NODE"
            if entity != "NODE":
                continue
            for prop, kinds in dict(types).items():
                found.setdefault(label, {}).setdefault(prop, []).extend(kinds)
        return found

    def _constraints(self) -> dict[tuple[str, tuple[str, ...]], str]:
        try:
            listed = self._graph.list_constraints()
        except Exception as exc:  # the graph key does not exist yet
            if _EMPTY_KEY in str(exc):
                return {}
            raise GraphError(f"could not list constraints: {exc}") from None
        return {
            (c["label"], tuple(c["properties"])): c["status"]
            for c in listed
            if c["type"] == "UNIQUE" and c["entitytype"] == "NODE"
        }

    def schema_state(self) -> list[IndexState]:
        # after a server start FalkorDB rebuilds indexes and constraints; report them
        # once rebuilt, not as missing while they are under construction
        self.await_indexes()
        self._await_constraints()
        indexes = self._indexes()
        constraints = self._constraints()
        state = []
        for node in schema.NODE_TYPES:
            have = indexes.get(node.label, {})
            status = constraints.get((node.label, (node.key,)))
            state.append(IndexState("unique", node.label, (node.key,), status == "OPERATIONAL"))
            for prop in node.indexed:
                state.append(
                    IndexState("range", node.label, (prop,), "RANGE" in have.get(prop, []))
                )
            if node.fulltext:
                ok = all("FULLTEXT" in have.get(p, []) for p in node.fulltext)
                state.append(IndexState("fulltext", node.label, node.fulltext, ok))
        return state

    def ensure_schema(self, *, constraints: bool = True) -> list[str]:
        self._touch()
        created: list[str] = []
        indexes = self._indexes()
        for node in schema.NODE_TYPES:
            have = indexes.get(node.label, {})
            for prop in (node.key, *node.indexed):
                if "RANGE" not in have.get(prop, []):
                    self._call(
                        f"CREATE INDEX FOR (n:{node.label}) ON (n.{prop})",
                        {},
                        read_only=False,
                        timeout_ms=None,
                    )
                    created.append(f"range index :{node.label}({prop})")
            if node.fulltext and not all("FULLTEXT" in have.get(p, []) for p in node.fulltext):
                if any("FULLTEXT" in have.get(p, []) for p in node.fulltext):
                    self._call(
                        f"CALL db.idx.fulltext.drop('{node.label}')",
                        {},
                        read_only=False,
                        timeout_ms=None,
                    )
                fields = ", ".join(
                    f"{{field: '{p}', nostem: true, phonetic: 'dm:en'}}" for p in node.fulltext
                )
                # English is the index's default language. Naming it (FalkorDB 4) makes
                # the label's range indexes leave out every integer 0 (`n.x = 0` then
                # answers nothing); graphs indexed so before are mended by a `jigsaw db
                # reset` and a load.
                self._call(
                    "CALL db.idx.fulltext.createNodeIndex("
                    f"{{label: '{node.label}', stopwords: []}}, {fields})",
                    {},
                    read_only=False,
                    timeout_ms=None,
                )
                created.append(f"full-text index :{node.label}({', '.join(node.fulltext)})")
        if created and self.directory is not None and self._has_nodes():
            self._snapshot_new_indexes()
        if not constraints:
            # (also spares the copy FalkorDB 4's failure to start again from an append-
            # only file in which a graph with a unique constraint was deleted)
            return created
        existing = self._constraints()
        for node in schema.NODE_TYPES:
            if (node.label, (node.key,)) not in existing:
                self._graph.create_node_unique_constraint(node.label, node.key)
                created.append(f"unique constraint :{node.label}({node.key})")
        self._await_constraints()
        return created

    def _has_nodes(self) -> bool:
        rows = self._call("MATCH (n) RETURN 1 LIMIT 1", {}, read_only=True, timeout_ms=None)
        return bool(rows.result_set)

    def _snapshot_new_indexes(self) -> None:
        """Put new indexes into the embedded server's snapshot.

        The append-only file replays ``CREATE INDEX`` after the data it follows, so an
        index added to a populated graph (an empty one needs nothing) would be built
        again, in the background, on every start (15 s for 939,000 people, while queries
        scan) until the file is next rewritten. Rewriting it once the index is built
        makes the next start load it ready. A server deployment keeps its own
        persistence settings: left alone.
        """
        self._indexes_ready = False
        try:
            self.await_indexes()
        except GraphError:
            return  # still building after two minutes: the server's own rewrites follow
        self._rewrite_snapshot(time.monotonic() + _CONSTRAINT_WAIT_S)

    @contextmanager
    def batch_job(
        self, timeout_ms: int = BATCH_TIMEOUT_MS, *, relaxed_fsync: bool = False
    ) -> Iterator[None]:
        """As for every store, and the embedded server keeps a load's persistence light
        meanwhile (:meth:`_loading_persistence`)."""
        with super().batch_job(timeout_ms), self._loading_persistence(relaxed_fsync):
            yield

    @contextmanager
    def _loading_persistence(self, relaxed_fsync: bool) -> Iterator[None]:
        """While a load runs, the embedded server:

        - does not rewrite its append-only file on its own. It would whenever the file
          has doubled, in a forked child that writes the whole graph (five times in a
          county load, each a core for seconds and copy-on-write for the server, on a
          two-core machine that the load keeps busy). A load ends by asking for one
          snapshot (:meth:`save_snapshot`), so the ones before it are wasted; the file
          grows meanwhile by about what the load writes.
        - with ``relaxed_fsync`` (``jigsaw load`` asks for it unless
          ``JIGSAW_LOAD_FSYNC`` is ``always``), flushes that file to disk once a second
          (``appendfsync everysec``) instead of after every write (``always``, the
          ``JIGSAW_EMBEDDED_FSYNC`` default). Each
          write is still in the file before it is acknowledged, so killing the server
          loses nothing; a power cut or a crash of the machine could lose the last second.
          A load that stops part way is finished by running it again, so that costs the
          load nothing. A write another client (the app) makes during the load has the
          same one-second window. Measured at 100,000 children: the engine's CPU 37-40
          -> 26-29 s, writing 37-41 -> 29-33 s.

        Both come back when the last load running ends, failed or not; and if its process
        was killed, whoever next opens the store or writes through it, or the next load,
        brings them back (:mod:`graph.engines.relaxed` keeps who relaxed them)."""
        if self.directory is None:  # a server keeps its own settings
            yield
            return
        server = self._db.connection
        marker = self._relaxed.add()
        try:
            server.config_set("auto-aof-rewrite-percentage", 0)
            if relaxed_fsync and self.fsync == "always":
                server.config_set("appendfsync", "everysec")
            yield
        finally:
            marker.unlink(missing_ok=True)
            if not self._relaxed.live():  # another load still running keeps them light
                self._restore_persistence()

    def _restore_persistence(self) -> None:
        with contextlib.suppress(Exception):  # the server is gone: a start sets them again
            server = self._db.connection
            server.config_set("appendfsync", self.fsync)
            server.config_set("auto-aof-rewrite-percentage", _AOF_GROWTH)

    def _restore_if_abandoned(self) -> None:
        """Bring back the durable settings a killed load left relaxed (its marker is
        there, its process is not)."""
        if self.directory is not None and self._relaxed.stale():
            log.warning("a load that relaxed the engine's persistence was stopped; restored")
            self._restore_persistence()

    def save_snapshot(self) -> None:
        """Start rewriting the embedded server's snapshot (the base of its append-only
        file) in the background; :meth:`close` waits for it.

        A server start reads the snapshot and then replays the commands appended since,
        as they first ran. A graph read from a snapshot answers county-wide queries about
        twice as fast as the same graph built by a load's writes and updates (a saved
        query measured both ways at 100,000 children and county scale), so after a load
        the next start should find everything in the snapshot. A server deployment keeps
        its own persistence settings: left alone.
        """
        if self.directory is None:
            return
        if self._busy_rewriting():  # it began earlier and misses the end: one more at close
            self._snapshot = "due"
            return
        self._rewrite_snapshot(time.monotonic())
        self._snapshot = "started"

    def _busy_rewriting(self) -> bool:
        state = self._db.connection.info("persistence")
        return bool(state.get("aof_rewrite_in_progress") or state.get("aof_rewrite_scheduled"))

    def _rewrite_snapshot(self, deadline: float) -> bool:
        """Once any rewrite under way has finished (one that began earlier is not told of
        what came after it), start another; False if ``deadline`` passed first."""
        import redis

        while self._busy_rewriting():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        with contextlib.suppress(redis.ResponseError):  # one began meanwhile: it holds it
            self._db.connection.execute_command("BGREWRITEAOF")
        return True

    def _await_snapshot(self) -> None:
        """Let a snapshot :meth:`save_snapshot` asked for finish: the server's shutdown,
        when this process is its last client, would stop it."""
        deadline = time.monotonic() + _SNAPSHOT_WAIT_S
        started = self._snapshot == "started" or self._rewrite_snapshot(deadline)
        while started and self._busy_rewriting() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._busy_rewriting():
            log.warning(
                "the graph's snapshot was still being written after %.0f s; the "
                "next start replays the load instead",
                _SNAPSHOT_WAIT_S,
            )
        self._snapshot = None

    def _await_constraints(self) -> None:
        deadline = time.monotonic() + _CONSTRAINT_WAIT_S
        while True:
            statuses = self._constraints()
            failed = [k for k, s in statuses.items() if s == "FAILED"]
            if failed:
                names = ", ".join(f":{label}({','.join(p)})" for label, p in failed)
                raise GraphError(
                    f"unique constraint(s) {names} failed: the graph already holds "
                    "duplicate keys; find them with MATCH (n:Label) WITH n.uid AS k, "
                    "count(*) AS c WHERE c > 1 RETURN k"
                )
            if all(s == "OPERATIONAL" for s in statuses.values()):
                return
            if time.monotonic() > deadline:
                raise GraphError("unique constraints still pending after 120 s")
            time.sleep(0.05)

    # -- search, health, housekeeping ------------------------------------------

    def await_indexes(self, timeout_s: float = _CONSTRAINT_WAIT_S) -> None:
        """Wait while FalkorDB rebuilds its indexes (it does so after every server start,
        and a full-text query meanwhile finds nothing: a search must not say "no such
        child" because the engine has just restarted)."""
        deadline = time.monotonic() + timeout_s
        while not self.indexes_ready():
            if time.monotonic() > deadline:
                raise GraphError(f"indexes still being rebuilt after {timeout_s:.0f} s")
            time.sleep(0.05)

    def indexes_ready(self) -> bool:
        if self._indexes_ready:
            return True
        rows = (
            self._call(
                "CALL db.indexes() YIELD status RETURN status",
                {},
                read_only=True,
                timeout_ms=None,
            ).result_set
            or []
        )
        self._indexes_ready = not any("UNDER CONSTRUCTION" in str(r[0]) for r in rows)
        return self._indexes_ready

    def search_people(self, text: str, *, limit: int = 20, fuzzy: bool = True) -> list[Row]:
        query = fulltext_query(text, fuzzy=fuzzy)
        if not query:
            return []
        self.await_indexes()
        result = self.read(
            "CALL db.idx.fulltext.queryNodes('Person', $q) YIELD node, score "
            "RETURN node.uid AS uid, score ORDER BY score DESC, uid LIMIT $limit",
            {"q": query, "limit": limit},
        )
        return result.rows

    def health(self) -> Health:
        try:
            info = self._db.connection.info("server")
            modules = self._db.connection.execute_command("MODULE", "LIST")
        except Exception as exc:
            return Health(False, self.engine_label, self.location, "", str(exc))
        version = next((str(m.get("ver")) for m in modules if m.get("name") == "graph"), "unknown")
        if version.isdigit():
            n = int(version)
            version = f"{n // 10000}.{n // 100 % 100}.{n % 100}"
        detail = f"redis {info.get('redis_version', '?')}"
        if self.directory is not None:
            persistence = self._db.connection.config_get("appendonly")
            fsync = self._db.connection.config_get("appendfsync")
            detail += (
                f", append-only file {persistence.get('appendonly')}"
                f" (fsync {fsync.get('appendfsync')})"
            )
        return Health(True, self.engine_label, self.location, f"FalkorDB {version}", detail)

    def drop_all(self) -> None:
        """The graph, and its pseudonymised copy with it (a copy of nothing is stale)."""
        existed = bool(self._db.connection.exists(self.graph_name))
        try:
            self._graph.delete()
        except Exception as exc:
            if "empty key" not in str(exc) and "no such" not in str(exc).lower():
                raise GraphError(f"could not delete the graph: {exc}") from None
        self._graph = self._db.select_graph(self.graph_name)
        if self._owner and not self.graph_name.endswith(PSEUDONYMISED_SUFFIX):
            for companion in (self.pseudonymised(), self.pseudonymised_staging()):
                self._db.connection.delete(companion.graph_name)
                companion._graph = self._db.select_graph(companion.graph_name)
            if existed and self.directory is not None:
                self._forget_deletion()

    def _forget_deletion(self) -> None:
        """Rewrite the embedded server's append-only file once a graph is deleted, and
        wait for it: FalkorDB 4 replaying the deletion of a graph that had unique
        constraints crashes the second start after it (in GraphContext_GetSchemaByID),
        so ``jigsaw db reset`` or a reload from scratch left a server that would not
        start. The rewritten file holds what is left, not how it came to be."""
        deadline = time.monotonic() + _SNAPSHOT_WAIT_S
        if self._rewrite_snapshot(deadline):
            while self._busy_rewriting() and time.monotonic() < deadline:
                time.sleep(0.05)

    def server_pid(self) -> int | None:
        """The embedded server's process id (tests kill it to prove durability)."""
        client = getattr(self._db, "client", None)
        return getattr(client, "pid", None) or None

    def close(self) -> None:
        if not self._owner:  # the live graph's store holds the connection
            return
        if self._snapshot is not None:
            import redis

            try:
                self._await_snapshot()
            except redis.RedisError as exc:  # the server is gone: so is the snapshot's use
                log.warning("could not wait for the graph's snapshot: %s", exc)
                self._snapshot = None
        # falkordblite shuts the server down when the last client leaves (at exit).
        pool = getattr(self._db.connection, "connection_pool", None)
        if pool is not None:
            pool.disconnect()


def _no_retry() -> Any:
    """No client-side retries for the embedded server.

    redis-py retries a command three times, with back-off, after a connection error or
    a time-out. On a local socket an error means the server is gone or the query ran
    out of time, and a retry would only send a write again. It also cost every process
    that started a server about 3 s at exit: the server's SHUTDOWN closes the
    connection, which redis-py took for an error and retried with back-off (about two
    minutes of the test suite's run).
    """
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Retry(NoBackoff(), 0)


def _start_embedded(directory: Path, fsync: str) -> Any:
    try:
        private_dir(directory)  # the graph holds people's records: its owner only
    except OSError as exc:
        raise EngineUnavailable(
            f"cannot create the embedded graph directory {directory}: {exc.strerror}; "
            "set JIGSAW_DATA_DIR or JIGSAW_GRAPH_URL to a writable directory"
        ) from None
    if not directory.is_dir():
        raise EngineUnavailable(f"{directory} is not a directory")
    config = {
        "appendonly": "yes",
        "appendfsync": fsync,
        "aof-use-rdb-preamble": "yes",
        "auto-aof-rewrite-percentage": str(_AOF_GROWTH),
        # no periodic RDB file: a start reads the append-only file, never that one, and
        # falkordblite's default (every 15 s after 1,000 changes) forked the server to
        # write the whole graph again and again through a load. Quoted: falkordblite
        # leaves an empty value out, and the server would then keep its own default.
        "save": '""',
    }
    return start_embedded(directory, config, socket_timeout_s=_SOCKET_TIMEOUT_S, retry=_no_retry())


def _connect_server(host: str, port: int, password: str | None) -> Any:
    from falkordb import FalkorDB

    try:
        db = FalkorDB(host=host, port=port, password=password, socket_timeout=_SOCKET_TIMEOUT_S)
        db.connection.ping()
    except Exception as exc:
        raise EngineUnavailable(f"cannot reach FalkorDB at {host}:{port}: {exc}") from None
    return db
