"""Shared fixtures: real engines only.

The embedded engine always runs (one server for the session, a fresh graph per
test); Neo4j joins the parametrised contract tests when ``NEO4J_URI`` is set, as in
the GitHub Actions workflow.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from graph import GraphStore, load_settings, open_store
from graph.engines.falkordb import FalkorDBStore

ENGINES = ["embedded"] + (["neo4j"] if os.environ.get("NEO4J_URI") else [])
# The checkout's default data folder (settings' data_dir): a full run of the suite once
# left an engine running in data/graph. Where the folder was absent when the session
# began, the first test after which it exists is named at the end of the run, and the
# engine found there then is stopped (no one else's: the folder is the session's doing).
CHECKOUT_DATA = Path(__file__).resolve().parent.parent / "data"
_DATA_WRITER: list[str] = []  # the first test after which CHECKOUT_DATA exists
_DATA_THERE_BEFORE = CHECKOUT_DATA.exists()
_TESTS_BEGUN: list[tuple[float, str]] = []  # (wall time, test) as each test began


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test begins before its fixtures are made: a module's or the session's, made for
    it, count as its own (the fixture below begins after them)."""
    _TESTS_BEGUN.append((time.time(), item.nodeid))


@pytest.fixture(autouse=True)
def _checkout_data_watched(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if not _DATA_THERE_BEFORE and not _DATA_WRITER and CHECKOUT_DATA.exists():
        found = ", ".join(sorted(p.name for p in CHECKOUT_DATA.iterdir()))
        _DATA_WRITER.append(f"{request.node.nodeid} ({found}; {_holders(CHECKOUT_DATA)})")


def _holders(directory: Path) -> str:
    """The processes with a file open in ``directory``, each with the test it (or the
    process that started it) was started during: pytest names the running test in
    ``PYTEST_CURRENT_TEST``, which every process started from a test inherits. A
    server's parent is no guide: a daemonised one's is init."""

    def command(pid: str) -> str:
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return "?"
        return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:200]

    def started_during(pid: str) -> str:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            return "?"
        for item in environ:
            if item.startswith(b"PYTEST_CURRENT_TEST="):
                return item.split(b"=", 1)[1].decode(errors="replace")
        # an environment made before any test began (or by hand) names none, nor does an
        # engine server's (redis-server writes its title over it): the test running when
        # the process started, from its start time, and where it ran
        said = [i.decode(errors="replace") for i in environ if i.startswith(b"JIGSAW_")]
        try:
            cwd = str(Path(f"/proc/{pid}/cwd").readlink())
        except OSError:
            cwd = "?"
        return f"{running_at(started(pid))} (no test in its environment; cwd {cwd}; {said})"

    def started(pid: str) -> float:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        return boot + ticks / os.sysconf("SC_CLK_TCK")

    def running_at(when: float) -> str:
        before = [test for began, test in _TESTS_BEGUN if began <= when]
        return before[-1] if before else "before the first test"

    found = []
    for fds in Path("/proc").glob("[0-9]*/fd"):
        try:
            holds = any(str(f.readlink()).startswith(str(directory)) for f in fds.iterdir())
        except OSError:
            continue
        if holds:
            pid = fds.parent.name
            found.append(f"{pid} {command(pid)!r}, started during {started_during(pid)}")
    return f"open there by: {'; '.join(found)} (pytest is {os.getpid()})" if found else "none open"


@pytest.fixture(scope="session", autouse=True)
def _checkout_engine_stopped() -> Iterator[None]:
    """The engine a test left in the checkout's data/graph stopped at the session's end."""
    if _DATA_THERE_BEFORE:  # someone's own data folder: not ours to stop
        yield
        return
    with stopped_after(CHECKOUT_DATA / "graph"):
        yield


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _DATA_WRITER:
        terminalreporter.write_line(
            f"the checkout's data/ folder appeared after {_DATA_WRITER[0]}: a test (or a "
            "process one started) used the default data folder; an engine started there "
            "is stopped at the end",
            yellow=True,
        )


@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's embedded engine's directory; its server is stopped at the end."""
    with stopped_after(tmp_path_factory.mktemp("engine")) as directory:
        yield directory


@contextmanager
def stopped_after(directory: Path) -> Iterator[Path]:
    """``directory`` for embedded stores, and the server they ran there stopped at the
    end: falkordblite stops it only when the process exits, and not then while another
    client is connected (a test suite's server was left running after pytest)."""
    from graph.engines.falkordb_start import stop

    try:
        yield directory
    finally:
        stop(directory)


def embedded_store(directory: Path, graph_name: str | None = None) -> FalkorDBStore:
    return FalkorDBStore(
        graph_name=graph_name or f"t_{uuid.uuid4().hex[:12]}",
        directory=directory,
        timeout_ms=10_000,
        max_rows=5_000,
    )


def person_map(store: GraphStore) -> set[tuple[str, str]]:
    """The (pseudonym, uid) pairs of the person map analysts' results are read back by."""
    import sqlite3

    from graph.access.pseudonyms import Pseudonyms

    path = Pseudonyms.open(store.pseudonym_dir, store.name).map_path
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return set(db.execute("SELECT pseudonym, uid FROM person").fetchall())
    finally:
        db.close()


def neo4j_store() -> GraphStore:
    settings = load_settings(
        graph_url=os.environ["NEO4J_URI"],
        neo4j_user=os.environ.get("NEO4J_USER", "neo4j"),
        neo4j_password=os.environ.get("NEO4J_PASSWORD", ""),
    )
    return open_store(settings)


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, engine_dir: Path) -> Iterator[GraphStore]:
    """An empty graph with the schema in place, on each available engine."""
    s = embedded_store(engine_dir) if request.param == "embedded" else neo4j_store()
    s.drop_all()
    s.ensure_schema()
    try:
        yield s
    finally:
        s.drop_all()
        s.close()


# Synthetic counties shared by the whole session, generated once each.
AS_OF = dt.date(2026, 11, 2)


@pytest.fixture(scope="session")
def small_county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small county (1,500 children): quick, with every kind of record in it."""
    from synthetic.generate import generate

    out = tmp_path_factory.mktemp("county_small")
    generate(1_500, 7, out, as_of=AS_OF)
    return out


@pytest.fixture(scope="session")
def mid_county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mid-size county (15,000 children) for prevalences."""
    from synthetic.generate import generate

    out = tmp_path_factory.mktemp("county_mid")
    generate(15_000, 11, out, as_of=AS_OF)
    return out


class LoadedCounty:
    """A synthetic county loaded into its own graph: ``store``, ``root``, ``result``."""

    def __init__(self, store: GraphStore, root: Path, result: object) -> None:
        self.store = store
        self.root = root
        self.result = result


@pytest.fixture(scope="session")
def loaded_county(small_county: Path, engine_dir: Path) -> Iterator[LoadedCounty]:
    """The small county loaded once for the session. Treat it as read-only."""
    from loaders.load import run_load

    store = embedded_store(engine_dir, "loaded_small")
    store.drop_all()
    store.ensure_schema()
    result = run_load(store, small_county, as_of=AS_OF, loads_dir=engine_dir / "loads")
    try:
        yield LoadedCounty(store, small_county, result)
    finally:
        store.close()


@pytest.fixture(scope="session")
def true_person(loaded_county: LoadedCounty) -> dict[str, str]:
    """Graph person uid -> the true person most of its source records describe."""
    from collections import Counter, defaultdict

    from tests.truth import source_row_labels

    labels = source_row_labels(loaded_county.root)
    votes: dict[str, Counter] = defaultdict(Counter)
    for f, r, w, puid in loaded_county.result.assignments:  # type: ignore[attr-defined]
        votes[puid][labels[(f, r, w)]] += 1
    return {puid: c.most_common(1)[0][0] for puid, c in votes.items()}
