"""Many people using the app at once, while a load runs: ``python -m benchmarks.many_users``.

Starts the app (one Streamlit process, or several on consecutive ports, each user
keeping to one as a proxy's sticky sessions would), signs in caseworkers who hold
cases in the graph, and has Locust drive them (:mod:`benchmarks.locustfile`) through
finding a child, opening records, drawing family networks and running saved queries,
for a set time. With ``--during DIR`` a ``jigsaw load DIR`` runs meanwhile; with
``--delta WEEK`` that load is a night's delta over the graph: ``WEEK`` is the same county
a week later (``synthetic.week_later``, made from ``--county`` when missing, as
``benchmarks.delta`` makes it) and the load starts from the record of the load that made
the graph (``ENGINE_DIR/loads-embedded``, as ``benchmarks --stages load --engine`` leaves
it), so it reads, links and writes only what changed, as a council's nightly load does.
Prints p50 / p95 / p99 and errors per action, over the whole run and while the load ran,
and each app process's CPU (of one core, and a request) and memory, which says whether
one Streamlit process is what binds. The graph is changed by the load: run it on a copy
(of the engine's folder and the ``pseudonym`` folder beside it, which the run uses).

    uv run python -m benchmarks.many_users --graph ENGINE_DIR --users 50 --minutes 10 \\
        --delta data/county-week-later --county data/county

A benchmark, not a test: nothing here asserts a time (the suite smoke-runs it small).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from graph.files import private_dir
from graph.processes import cpu_seconds
from ui.present.words import field as in_words

if TYPE_CHECKING:
    from graph.store import GraphStore

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a benchmark password, not a real one"
ROLE = "social_worker"
TARGET_P95_MS = 200  # the single view's target with many users
ACTIONS = (
    "sign in",
    "find a child",
    "child record",
    "family network",
    "saved query",
    "refused: not on the caseload",
)  # the last: locustfile.REFUSED


@dataclass
class Sampled:
    """A process's CPU (share of one core) and resident memory, sampled as it runs."""

    pid: int
    cpu: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    _first: float | None = None
    _last: tuple[float, float] | None = None

    @property
    def seconds(self) -> float:
        """CPU seconds it used between the first sample and the last."""
        return self._last[1] - self._first if self._last and self._first is not None else 0.0

    def sample(self) -> None:
        ticks = cpu_seconds(self.pid)
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return
        if ticks is None:
            return
        now = time.monotonic()
        if self._last is not None and now > self._last[0]:
            self.cpu.append((ticks - self._last[1]) / (now - self._last[0]))
        self._first = ticks if self._first is None else self._first
        self._last = (now, ticks)
        kb = next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
        )
        self.rss_mb.append(kb / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.many_users")
    parser.add_argument("--graph", type=Path, required=True, help="the embedded engine's dir")
    parser.add_argument("--graph-name", default="bench")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--processes", type=int, default=1, help="app processes")
    parser.add_argument("--port", type=int, default=8601)
    parser.add_argument("--during", type=Path, default=None, help="extracts to load meanwhile")
    parser.add_argument(
        "--delta",
        type=Path,
        default=None,
        help="the county a week later (synthetic.week_later), loaded meanwhile as a delta "
        "over the graph from the record its load left in GRAPH/loads-embedded",
    )
    parser.add_argument(
        "--county",
        type=Path,
        default=None,
        help="the extracts the graph was loaded from: the week later is made from them "
        "into --delta's directory when it holds none",
    )
    parser.add_argument("--as-of", default=None, help="the load's day (default: the week's)")
    parser.add_argument("--load-after", type=float, default=60, help="seconds before the load")
    parser.add_argument("--think", default="2,6", help="seconds between a user's actions")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.delta is not None:
        args.during, args.as_of = args.delta, args.as_of or _week_later(args.delta, args.county)
    table = run(args)
    print(table)
    if args.out:
        args.out.write_text(table)
        print(f"written to {args.out}")


def _week_later(week: Path, county: Path | None) -> str:
    """The week later's day, the week made first from ``county`` when ``week`` holds none."""
    summary = week / "week_later.json"
    if not summary.exists():
        if county is None:
            raise SystemExit(f"{week} holds no week later: name the county it follows (--county)")
        from synthetic.week_later import write_week_later

        write_week_later(county, week, seed=1)
    return json.loads(summary.read_text())["as_of"]


def run(args: argparse.Namespace) -> str:
    work = Path(tempfile.mkdtemp(prefix="jigsaw-many-users-"))
    env = {
        **os.environ,
        "JIGSAW_DATA_DIR": str(private_dir(work / "data")),
        "JIGSAW_GRAPH_URL": str(args.graph.resolve()),
        "JIGSAW_GRAPH_NAME": args.graph_name,
        "PYTHONPATH": str(ROOT),
    }
    # the graph's pseudonym key and its copies' recorded hashes, where its load kept them
    # (beside the engine's folder, as a store's default): a delta's copy over the graph
    # is then written as a night's is, not afresh under a new key
    if (args.graph.parent / "pseudonym").is_dir():
        env["JIGSAW_PSEUDONYM_DIR"] = str((args.graph.parent / "pseudonym").resolve())
    apps: list[subprocess.Popen] = []
    try:
        setup = _setup(env, args)
        ports = [args.port + i for i in range(args.processes)]
        apps = [_start_app(port, env) for port in ports]
        setup["urls"] = [f"http://127.0.0.1:{port}" for port in ports]
        think = [float(x) for x in args.think.split(",")]
        setup["think_min"], setup["think_max"] = think[0], think[-1]
        sessions = work / "sessions.json"
        sessions.write_text(json.dumps(setup))
        return _drive(args, env | {"JIGSAW_BENCH_SESSIONS": str(sessions)}, apps, work)
    finally:
        for app in apps:
            app.terminate()
        for app in apps:
            app.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def _setup(env: dict[str, str], args: argparse.Namespace) -> dict:
    """Accounts for the caseworkers holding the most open cases, their children, names
    to search for, and the saved queries a caseworker runs about a child."""
    from benchmarks.stages import child_names
    from graph import load_settings, open_store
    from graph.access.accounts import Accounts
    from queries.library import load_library

    os.environ.update(
        {k: env[k] for k in ("JIGSAW_DATA_DIR", "JIGSAW_GRAPH_URL", "JIGSAW_GRAPH_NAME")}
    )
    settings = load_settings()
    store = open_store(settings)
    try:
        held = store.read(
            """
            MATCH (w:Professional)-[r:WORKS_ON]->(k:Case)<-[:HAS_CASE]-(c:Person)
            WHERE r.to IS NULL AND k.status = 'open'
            WITH w, collect(DISTINCT c.uid) AS children
            RETURN w.uid AS worker, children ORDER BY size(children) DESC, worker LIMIT $n
            """,
            {"n": args.users},
            max_rows=args.users,
        ).rows
        names = child_names(store, 500)
        if args.delta is not None:
            _as_last_loaded(store, args.graph / "loads-embedded", settings.data_dir / "loads")
    finally:
        store.close()
    accounts = Accounts(settings.data_dir / "users.json")
    made = []
    for i, row in enumerate(held):
        username = f"bench-sw-{i}"
        accounts.add(username, ROLE, PASSWORD, professional=row["worker"])
        made.append(
            {
                "username": username,
                "password": PASSWORD,
                "professional": row["worker"],
                "children": row["children"][:50],
            }
        )
    queries = []
    for q in load_library():
        child = [p for p in q.params if p.kind == "child"]
        others = [
            p for p in q.params if p.kind != "child" and p.default is None and p.kind != "date"
        ]
        if ROLE in q.roles and len(child) == 1 and not others:
            queries.append(
                {"title": q.title, "child_label": child[0].label or in_words(child[0].name)}
            )
    return {"accounts": made, "names": names, "queries": queries}


def _as_last_loaded(store: GraphStore, record: Path, loads: Path) -> None:
    """The app's loads directory (where ``jigsaw load`` keeps what a delta starts from)
    made a copy of the record the graph's own load left, with who its people are kept
    from the graph when that load predates keeping them."""
    from benchmarks.delta import keep_as_loads_do

    if not record.is_dir():
        raise SystemExit(f"no load's record in {record}: a delta starts from the graph's load")
    shutil.copytree(record, loads, ignore=shutil.ignore_patterns("*.lock"))
    keep_as_loads_do(store, loads)


def _start_app(port: int, env: dict[str, str]) -> subprocess.Popen:
    from ui.cli.serve import streamlit_command

    app = subprocess.Popen(
        streamlit_command(port),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return app
        except OSError:
            time.sleep(0.5)
    app.terminate()
    raise SystemExit(f"the app on port {port} did not start")


@dataclass
class Loading:
    """The load run beside the users: when it ran (wall clock, as the timings are), how
    it ended, and its peak memory from the kernel's accounting."""

    process: subprocess.Popen
    log: Path
    began: float = field(default_factory=time.time)
    ended: float | None = None
    status: int = 0
    peak_mb: float = 0.0

    def done(self, *, wait: bool = False) -> bool:
        """Whether it has ended (waiting for it with ``wait``)."""
        if self.ended is None:
            pid, status, usage = os.wait4(self.process.pid, 0 if wait else os.WNOHANG)
            if pid:
                self.ended, self.peak_mb = time.time(), usage.ru_maxrss / 1024
                self.status = os.waitstatus_to_exitcode(status)
        return self.ended is not None


def _drive(args: argparse.Namespace, env: dict[str, str], apps: list, work: Path) -> str:
    seconds = int(args.minutes * 60)
    prefix = work / "locust"
    timings = work / "timings.csv"
    locust = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "benchmarks" / "locustfile.py"),
            "--headless",
            "-u",
            str(args.users),
            "-r",
            str(max(1, args.users // 10)),
            "-t",
            f"{seconds}s",
            "--csv",
            str(prefix),
            "--only-summary",
            "--stop-timeout",
            "30",
            "--host",
            "http://127.0.0.1",
        ],
        env=env | {"JIGSAW_BENCH_TIMINGS": str(timings)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampled = [Sampled(app.pid) for app in apps]
    started = time.monotonic()
    load: Loading | None = None
    while locust.poll() is None:
        for s in sampled:
            s.sample()
        elapsed = time.monotonic() - started
        if args.during is not None and load is None and elapsed >= args.load_after:
            load = _start_load(args, env, work / "load.log")
        if load is not None:
            load.done()
        time.sleep(2)
    _, errors = locust.communicate()
    if load is not None:
        load.done(wait=True)  # still loading when the users stopped: its whole time
        if args.out:  # its report (what it read, linked and wrote), kept beside the table
            shutil.copy(load.log, args.out.with_suffix(".load.log"))
    table = _table(args, prefix, sampled, load, _read_timings(timings), errors)
    began = load.began if load is not None else None
    return table + _refusals_checked(env, Path(f"{timings}.refused"), began)


def _refusals_checked(env: dict[str, str], path: Path, began: float | None) -> str:
    """Each child a page refused as not on the user's caseload, judged by the app's own
    rule (``policy.child_access``) on the graph after the users and the load: refused
    wrongly if the user holds the child then (access must not waver while a load
    writes), or if refused before the load ``began`` (or with none: the users' children
    are their caseload's); else rightly (the load closed or moved the case)."""
    if not path.exists():
        return ""
    refused = [line.split(",") for line in path.read_text().splitlines() if line]
    if not refused:
        return ""
    from graph import load_settings, open_store
    from graph.access.policy import Principal, child_access
    from graph.views import caseworkers_of

    os.environ.update(
        {k: env[k] for k in ("JIGSAW_DATA_DIR", "JIGSAW_GRAPH_URL", "JIGSAW_GRAPH_NAME")}
    )
    store = open_store(load_settings())
    try:
        held = caseworkers_of(store, sorted({child for _, _, child in refused}))
    finally:
        store.close()
    wrongly = 0
    for at, worker, child in refused:
        workers, teams = held.get(child, ([], []))
        principal = Principal("bench", ROLE, professional=worker)
        before = began is None or float(at) < began
        wrongly += before or child_access(principal, workers=workers, teams=teams).full
    return (
        f"- refused as not on the user's caseload: {len(refused):,} pages; "
        f"{len(refused) - wrongly:,} rightly (after the load began, a child the user holds "
        f"no case of by the graph after the run), **{wrongly:,} wrongly**\n"
    )


def _start_load(args: argparse.Namespace, env: dict[str, str], log: Path) -> Loading:
    """``jigsaw load`` of ``--during`` (or ``--delta``) into the graph the app reads."""
    command = [sys.executable, "-c", "from ui.cli import main; main()", "load", str(args.during)]
    command += ["--as-of", args.as_of] if args.as_of else []
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return Loading(process, log)


def _read_timings(path: Path) -> list[tuple[float, str, float, bool]]:
    """Every action the users took: when it ended (wall clock), its name, its ms, failed."""
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    return [(float(at), name, float(ms), failed == "1") for at, name, ms, failed in rows]


def _percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (sorted)."""
    return values[max(0, math.ceil(share * len(values)) - 1)]


def _table(
    args: argparse.Namespace,
    prefix: Path,
    sampled: list[Sampled],
    load: Loading | None,
    timings: list[tuple[float, str, float, bool]],
    errors: str,
) -> str:
    stats = {}
    path = Path(f"{prefix}_stats.csv")
    if path.exists():
        with path.open(newline="") as fh:
            stats = {r["Name"]: r for r in csv.DictReader(fh)}
    lines = [
        f"# {args.users} app users for {args.minutes:g} min, {args.processes} app process(es)"
        + (
            f", while loading {args.during.name}" + (" (a delta)" if args.delta else "")
            if args.during
            else ""
        ),
        "",
        "| Action | Requests | Errors | p50 ms | p95 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in (*ACTIONS, "Aggregated"):
        r = stats.get(name)
        if r:
            lines.append(
                f"| {name} | {int(r['Request Count']):,} | {int(r['Failure Count']):,} | "
                f"{r['50%']} | {r['95%']} | {r['99%']} |"
            )
    if load is not None and load.ended is not None:
        lines += _while_loading(load, timings)
    lines += ["", f"Target: a child record p95 under {TARGET_P95_MS} ms, no errors.", ""]
    requests = sum(int(r["Request Count"]) for name, r in stats.items() if name != "Aggregated")
    for i, s in enumerate(sampled):
        if s.cpu:
            busy = sum(c >= 0.95 for c in s.cpu) / len(s.cpu)
            lines.append(
                f"- app process {i + 1}: CPU mean {sum(s.cpu) / len(s.cpu):.0%} of a core, "
                f"max {max(s.cpu):.0%}, at least 95% in {busy:.0%} of 2 s samples; "
                f"memory peak {max(s.rss_mb):,.0f} MB"
            )
    used = sum(s.seconds for s in sampled)
    if requests and used:
        lines.append(
            f"- the app processes' CPU a request: {used / requests * 1000:,.0f} ms "
            f"({used:,.0f} s for {requests:,} requests)"
        )
    if load is not None and load.ended is not None:
        lines.append(
            f"- the load meanwhile took {load.ended - load.began:.1f} s "
            f"(peak {load.peak_mb:,.0f} MB), exit status {load.status}"
        )
        if load.status:
            tail = load.log.read_text(errors="replace").splitlines()[-15:]
            lines += [f"  > {line}" for line in tail]
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists():
        with failures.open(newline="") as fh:
            for r in list(csv.DictReader(fh))[:5]:
                lines.append(f"- error: {r['Name']}: {r['Error'][:200]} ({r['Occurrences']}x)")
    if not stats:
        lines.append(f"- locust wrote no figures: {errors[-1000:]}")
    return "\n".join(lines) + "\n"


def _while_loading(load: Loading, timings: list[tuple[float, str, float, bool]]) -> list[str]:
    """The actions that ended while the load ran, as the table above gives them all."""
    assert load.ended is not None
    lines = [
        "",
        f"While the load ran ({load.ended - load.began:.0f} s):",
        "",
        "| Action | Requests | Errors | p50 ms | p95 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in ACTIONS:
        during = [
            (ms, failed)
            for at, n, ms, failed in timings
            if n == name and load.began <= at <= load.ended
        ]
        if during:
            ms = sorted(m for m, _ in during)
            lines.append(
                f"| {name} | {len(ms):,} | {sum(f for _, f in during):,} | "
                + " | ".join(f"{_percentile(ms, q):,.0f}" for q in (0.5, 0.95, 0.99))
                + " |"
            )
    return lines


if __name__ == "__main__":
    main()
