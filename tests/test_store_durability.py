"""The embedded engine keeps every acknowledged write when it is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

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
        loader = subprocess.Popen([sys.executable, "-c", LOADER, str(tmp_path)], cwd=root,
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
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
