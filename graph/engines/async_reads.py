"""Reads from an asyncio event loop: FalkorDB's through redis' asyncio client, any other
store's in a worker thread.

The exchange API answers on an event loop. Handing each enquiry's engine reads to a
worker thread and back cost about a fifth of the app's CPU for an enquiry (py-spy, one
process, 20 at a time); on FalkorDB the reads are awaited on the loop instead. They are
what :meth:`GraphStore.read` sends: ``GRAPH.RO_QUERY`` (the engine refuses a write), the
parameters as FalkorDB's parameter header, the row cap at the engine, the store's time
limit, and the compact reply decoded by :mod:`falkordb_results`. Only reads whose rows
are plain values (properties, lists, maps; no nodes or paths) are served here.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Protocol

from graph.engines.falkordb_cap import HIDDEN, capped, return_columns
from graph.engines.falkordb_params import params_header
from graph.engines.falkordb_results import plain_columns
from graph.store import (
    NARROW,
    CypherError,
    EngineUnavailable,
    GraphError,
    GraphStore,
    Params,
    QueryTimeout,
    QueryTooBig,
    ReadOnlyViolation,
    ReadResult,
    Row,
    plain_params,
)

# the engine's own words for its refusals (as the synchronous adapter reads them)
_RO_REFUSED = "is to be executed only on read-only queries"
_MEMORY = "mem consumption exceeded capacity"
_EMPTY_KEY = "Invalid graph operation on empty key"  # a graph nobody has written to
FULLTEXT_PEOPLE = (
    "CALL db.idx.fulltext.queryNodes('Person', $q) YIELD node, score "
    "RETURN node.uid AS uid, score ORDER BY score DESC, uid LIMIT $limit"
)
INDEX_STATES = "CALL db.indexes() YIELD status RETURN status"


class AsyncReads(Protocol):
    """What the exchange reads with, awaited."""

    async def read(
        self, cypher: str, params: Params | None = None, *, max_rows: int | None = None
    ) -> ReadResult: ...

    async def search_people(self, text: str, *, limit: int = 20) -> list[Row]: ...

    async def indexes_ready(self) -> bool: ...


def async_reads(store: GraphStore) -> AsyncReads:
    """Awaited reads over ``store``'s graph: FalkorDB's own asyncio client where the store
    is FalkorDB's, else the store's reads in a worker thread."""
    from graph.engines.falkordb import FalkorDBStore

    if isinstance(store, FalkorDBStore):
        return FalkorAsyncReads(store)
    return ThreadedReads(store)


class ThreadedReads:
    """Any store's reads, each in a worker thread (engines without an asyncio client)."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    async def read(
        self, cypher: str, params: Params | None = None, *, max_rows: int | None = None
    ) -> ReadResult:
        return await asyncio.to_thread(self.store.read, cypher, params, max_rows=max_rows)

    async def search_people(self, text: str, *, limit: int = 20) -> list[Row]:
        return await asyncio.to_thread(self.store.search_people, text, limit=limit)

    async def indexes_ready(self) -> bool:
        return await asyncio.to_thread(self.store.indexes_ready)


class FalkorAsyncReads:
    """Read-only queries on a FalkorDB store's graph (embedded or a server), awaited on
    the running event loop: a connection pool for each loop that reads (redis' asyncio
    connections belong to the loop that opened them)."""

    def __init__(self, store: Any) -> None:
        self.store = store  # a FalkorDBStore: its graph, time limit and row cap
        pool = store._db.connection.connection_pool
        kwargs = pool.connection_kwargs
        self._connect: dict[str, Any] = {
            "password": kwargs.get("password"),
            "username": kwargs.get("username"),
            "socket_timeout": kwargs.get("socket_timeout"),
            "decode_responses": True,  # as the synchronous client: text, not bytes
        }
        if kwargs.get("path"):
            self._connect["unix_socket_path"] = kwargs["path"]
        else:
            self._connect.update(host=kwargs.get("host"), port=kwargs.get("port"))
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self) -> Any:
        import redis.asyncio

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = redis.asyncio.Redis(**self._connect)
        return client

    async def read(
        self, cypher: str, params: Params | None = None, *, max_rows: int | None = None
    ) -> ReadResult:
        """As :meth:`GraphStore.read` (read-only at the engine, rows beyond ``max_rows``
        cut there), for reads that return plain values."""
        limit = self.store.max_rows if max_rows is None else max_rows
        query = params_header(plain_params(params)) + capped(cypher, limit + 1)
        header, values = await self._ro_query(query, cypher, limit + 1)
        columns = [name for _, name in header]
        count = len(values[0]) if values else 0
        # the columns put in the query's order (the wrapping's ``RETURN *`` gives them in
        # name order, and may add one) as a list of columns, then each row made once
        keep = [i for i, name in enumerate(columns) if name != HIDDEN]
        wanted = return_columns(cypher)
        if wanted and sorted(wanted) == sorted(columns[i] for i in keep):
            keep = [columns.index(name) for name in wanted]
        names = [columns[i] for i in keep]
        kept = [values[i][:limit] for i in keep]
        return ReadResult(
            columns=names,
            rows=[dict(zip(names, row, strict=True)) for row in zip(*kept, strict=True)],
            truncated=count > limit,
            max_rows=limit,
        )

    async def search_people(self, text: str, *, limit: int = 20) -> list[Row]:
        """As the store's typo-tolerant search over people's names: ``[{uid, score}]``."""
        from graph.engines.falkordb import fulltext_query

        query = fulltext_query(text, fuzzy=True)
        if not query:
            return []
        return (await self.read(FULLTEXT_PEOPLE, {"q": query, "limit": limit})).rows

    async def indexes_ready(self) -> bool:
        """Whether every index serves reads (none is being rebuilt after a start); once
        they all do, the store remembers it and this asks the engine no more."""
        if self.store._indexes_ready:
            return True
        rows = (await self.read(INDEX_STATES, max_rows=100_000)).rows
        self.store._indexes_ready = not any("UNDER CONSTRUCTION" in str(r["status"]) for r in rows)
        return self.store._indexes_ready

    async def _ro_query(
        self, query: str, cypher: str, keep_rows: int
    ) -> tuple[list[Any], list[list[Any]]]:
        """The reply's header and its columns (each a list of plain values, at most
        ``keep_rows`` of them)."""
        import redis

        timeout_ms = self.store.timeout_ms
        command: list[Any] = ["GRAPH.RO_QUERY", self.store.graph_name, query, "--compact"]
        if timeout_ms:
            command += ["timeout", int(timeout_ms)]
        try:
            response = await self._client().execute_command(*command)
        except redis.exceptions.ResponseError as exc:
            if _EMPTY_KEY in str(exc):
                return [], []  # an empty graph holds nothing to read
            raise _engine_error(str(exc), cypher, timeout_ms) from None
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise EngineUnavailable(
                f"the graph engine at {self.store.location} is not answering: {exc}",
                query=cypher,
            ) from None
        if isinstance(response[-1], Exception):  # an error met while running
            raise _engine_error(str(response[-1]), cypher, timeout_ms)
        if len(response) != 3 or not isinstance(response[1], list):
            return [], []  # a reply with no result set (nothing returned)
        columns = plain_columns(response[1][:keep_rows], len(response[0]))
        if columns is None:
            raise GraphError(
                "this read returns nodes, relationships or paths; awaited reads take "
                "plain values only (return their properties)",
                query=cypher,
            )
        return response[0], columns


def _engine_error(message: str, cypher: str, timeout_ms: int | None) -> GraphError:
    """The engine's refusal as the synchronous adapter words it."""
    if _RO_REFUSED in message:
        return ReadOnlyViolation(
            "refused: this query would write, and only read queries may run here", query=cypher
        )
    if "timed out" in message.lower():
        return QueryTimeout(
            f"stopped after {timeout_ms or 0:,} ms, the time limit for a read "
            f"(JIGSAW_QUERY_TIMEOUT_MS): {NARROW}",
            query=cypher,
        )
    if _MEMORY in message:
        return QueryTooBig(
            f"stopped: it needed more than the memory one query may take "
            f"(JIGSAW_QUERY_MEMORY_MB): {NARROW}",
            query=cypher,
        )
    return CypherError(f"FalkorDB rejected the query: {message}", query=cypher)
