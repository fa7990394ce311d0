"""Reads from an asyncio event loop: FalkorDB's through redis' asyncio client, any other
store's in a worker thread.

The exchange API answers on an event loop. Handing each enquiry's engine reads to a
worker thread and back cost more than the reads; on FalkorDB the reads are awaited on
the loop instead. They are
what :meth:`GraphStore.read` sends: ``GRAPH.RO_QUERY`` (the engine refuses a write), the
parameters as FalkorDB's parameter header, the row cap at the engine, the store's time
limit, and the compact reply decoded by :mod:`falkordb_results`. Only reads whose rows
are plain values (properties, lists, maps; no nodes or paths) are served here.

Each read goes over a connection of the loop's own (:class:`_Connection`): the command
written in one call, the reply parsed by hiredis as redis' client parses it (RESP3, the
protocol it speaks), one read at a time a connection: redis' asyncio client wraps the
same two steps in a pool, retries, health checks, time-outs and telemetry, a cost the
event loop paid every read (benchmarks/README.md, the exchange API).
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
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
        kwargs = store._db.connection.connection_pool.connection_kwargs
        self._path: str | None = kwargs.get("path")
        self._address = (kwargs.get("host"), kwargs.get("port"))
        password = kwargs.get("password")
        self._auth = [kwargs.get("username") or "default", password] if password else []
        self._timeout_s: float | None = kwargs.get("socket_timeout")
        # each loop's idle connections (a connection belongs to the loop that opened it)
        self._idle: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[_Connection]] = (
            weakref.WeakKeyDictionary()
        )

    async def _open(self) -> _Connection:
        """A new connection, introduced in RESP3 (with the credentials, if any)."""
        loop = asyncio.get_running_loop()
        if self._path:
            _, conn = await loop.create_unix_connection(_Connection, self._path)
        else:
            _, conn = await loop.create_connection(_Connection, *self._address)
        hello: list[Any] = ["HELLO", 3]
        if self._auth:
            hello += ["AUTH", *self._auth]
        try:
            reply = await conn.ask(hello)
        except BaseException:  # timed out or cancelled before the engine answered
            conn.close()
            raise
        if isinstance(reply, Exception):  # credentials refused: as redis' client, unavailable
            import redis

            conn.close()
            raise redis.exceptions.ConnectionError(f"the engine refused the connection: {reply}")
        return conn

    async def _command(self, command: list[Any]) -> Any:
        """The engine's reply to one command; an error reply raised as redis' client
        raises it (``redis.exceptions.ResponseError``)."""
        import redis

        idle = self._idle.setdefault(asyncio.get_running_loop(), [])
        conn = idle.pop() if idle else None
        try:
            if conn is None or conn.closed:
                conn = await asyncio.wait_for(self._open(), self._timeout_s)
            if self._timeout_s:
                async with asyncio.timeout(self._timeout_s):
                    reply = await conn.ask(command)
            else:
                reply = await conn.ask(command)
        except TimeoutError:
            if conn is not None:
                conn.close()
            raise redis.exceptions.TimeoutError("the engine did not answer in time") from None
        except BaseException:
            if conn is not None:
                conn.close()  # its reply may still come: never used again
            raise
        idle.append(conn)
        if isinstance(reply, Exception):
            raise reply
        return reply

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
            response = await self._command(command)
        except redis.exceptions.ResponseError as exc:
            if _EMPTY_KEY in str(exc):
                return [], []  # an empty graph holds nothing to read
            raise _engine_error(str(exc), cypher, timeout_ms) from None
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
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


class _Connection(asyncio.Protocol):
    """One connection to the engine: a command written whole, its reply parsed by hiredis
    as redis' own client configures it (text decoded, error replies as
    ``ResponseError``); replies come back in the order their commands went."""

    def __init__(self) -> None:
        import hiredis
        import redis

        self._reader = hiredis.Reader(
            protocolError=redis.exceptions.InvalidResponse,
            replyError=redis.exceptions.ResponseError,
            encoding="utf-8",
            errors="strict",
        )
        self._transport: asyncio.Transport | None = None
        self._waiting: deque[asyncio.Future[Any]] = deque()

    @property
    def closed(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while self._waiting:
            reply = self._reader.gets()
            if reply is False:  # not the whole reply yet
                return
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        import redis

        self._transport = None
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(
                    redis.exceptions.ConnectionError(f"the engine closed the connection: {exc}")
                )

    def ask(self, command: list[Any]) -> asyncio.Future[Any]:
        """Send ``command``; the future its reply settles."""
        if self._transport is None or self._transport.is_closing():
            import redis

            raise redis.exceptions.ConnectionError("the connection to the engine is closed")
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        self._transport.write(_packed(command))
        return waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _packed(command: list[Any]) -> bytes:
    """A command as RESP's array of bulk strings."""
    parts = [b"*%d\r\n" % len(command)]
    for arg in command:
        data = arg.encode() if isinstance(arg, str) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


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
