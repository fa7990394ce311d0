"""One benchmark stage, run in its own process so its peak memory is its own.

Each prints one JSON line of figures on stdout; the parent adds wall time and peak
resident memory from the operating system's accounting of that child process.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from graph.store import GraphStore

AS_OF = dt.date(2026, 11, 2)


def generate(children: int, out: Path) -> dict:
    from synthetic.generate import generate as make

    manifest = make(children, 1, out, as_of=AS_OF)
    rows = sum(info["rows"] for info in manifest["extracts"].values())
    return {"children": children, "people": manifest["people"], "rows": rows}


def _store(engine: Path | str, max_rows: int = 10_000_000):
    """The embedded engine in directory ``engine``, or the Neo4j server that
    ``NEO4J_URI`` (with ``NEO4J_USER``/``NEO4J_PASSWORD``) names when ``engine`` is
    ``neo4j``. Queries run with the app's row cap, so a page's figure is that page's
    work (a saved query's first 5,000 rows, with the rest cut as the app cuts them)."""
    import os

    if str(engine) == "neo4j":
        from graph import load_settings, open_store

        return open_store(
            load_settings(
                graph_url=os.environ["NEO4J_URI"],
                neo4j_user=os.environ.get("NEO4J_USER", "neo4j"),
                neo4j_password=os.environ.get("NEO4J_PASSWORD", ""),
                query_timeout_ms=600_000,
                max_rows=max_rows,
            )
        )
    from graph.engines.falkordb import FalkorDBStore

    return FalkorDBStore(
        graph_name="bench", directory=Path(engine), timeout_ms=600_000, max_rows=max_rows
    )


def load(county: Path, engine: Path | str, loads: Path | None = None) -> dict:
    """A first load of ``county``, its report and quarantine kept in ``loads`` (the
    Data page reads them)."""
    from benchmarks.delta import StageCPU
    from graph import load_settings
    from graph.family_rules import count_breaks
    from loaders.load import run_load
    from loaders.quality import groups_beside, labels_from_csv, measure_groups
    from ui.cli.collector import collector_for_load

    settings = load_settings()  # as jigsaw load runs: its linkage memory and read workers
    store = _store(engine)
    store.drop_all()
    store.ensure_schema()
    started = time.perf_counter()
    cpu = StageCPU(store.server_pid() if hasattr(store, "server_pid") else None)
    with collector_for_load() as collect:  # as `jigsaw load` runs it

        def after_stage(name: str) -> None:
            collect(name)
            cpu.stage(name)  # the CPU survives a busy machine where wall time does not

        result = run_load(
            store,
            county,
            as_of=AS_OF,
            relaxed_fsync=True,
            loads_dir=loads,
            linkage_memory=settings.linkage_memory,
            read_workers=settings.load_workers,
            after_stage=after_stage,
        )
    load_seconds = time.perf_counter() - started
    labels = county / "truth" / "source_rows.csv"
    quality = measure_groups(result.assignments, labels_from_csv(labels), groups_beside(labels))
    report = result.report
    breaks = count_breaks(store)
    engine_peak_mb = _server_peak_mb(store)
    started = time.perf_counter()
    store.close()  # as `jigsaw load` ends: waits for the snapshot the load asked for
    return {
        "load_seconds": round(load_seconds, 2),
        "snapshot_seconds": round(time.perf_counter() - started, 2),
        "engine_peak_mb": engine_peak_mb,
        "rows": report.rows_read,
        "people": report.people,
        "seconds": report.seconds,
        "cpu_seconds": cpu.seconds,  # stage -> [the load's process, its readers, the engine]
        "write_seconds": report.write_seconds,
        "peak_mb": report.peak_mb,
        "precision": round(quality["everyone"].precision, 4),
        "recall": round(quality["everyone"].recall, 4),
        "groups": {
            name: [
                round(q.precision, 4),
                round(q.recall, 4),
                round(q.split_share, 4),
                round(q.merged_share, 4),
            ]
            for name, q in quality.items()
            if name != "everyone"
        },
        "prevented": report.links_prevented,
        "refused_relationships": report.relationships_refused,
        "rule_breaks": breaks,
        "closes": report.closes,
    }


def _server_peak_mb(store) -> int | None:
    """The embedded engine's own peak memory (a separate process the load's figure
    does not include), from the kernel's high-water mark; None for a remote server."""
    pid = getattr(store, "server_pid", lambda: None)()
    try:
        status = Path(f"/proc/{pid}/status").read_text() if pid else ""
    except OSError:
        return None
    kb = next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None
    )
    return kb // 1024 if kb else None


def _percentiles(samples: list[float]) -> dict:
    samples = sorted(samples)
    if not samples:
        return {"n": 0}
    q = (
        statistics.quantiles(samples, n=100, method="inclusive")
        if len(samples) > 1
        else (samples * 99)
    )
    return {
        "n": len(samples),
        "p50": round(q[49], 2),
        "p95": round(q[94], 2),
        "p99": round(q[98], 2),
    }


def child_names(store: GraphStore, limit: int) -> list[str]:
    """Up to ``limit`` children's full names, for searches to ask by."""
    query = "MATCH (c:Child) RETURN c.full_name AS n LIMIT $n"
    rows = store.read(query, {"n": limit}, max_rows=limit).rows
    return [r["n"] for r in rows if r["n"]]


def queries(
    engine: Path | str,
    repeats: int,
    profile: str = "none",
    loads: Path | None = None,
    *,
    pages_only: bool = False,
) -> dict:
    """Percentiles of every query and page (of the pages alone with ``pages_only``);
    with ``profile`` "misses" (or "all"), the engine's profile of each saved query whose
    p95 missed its budget (or of each); ``loads``: where the load kept its report (the
    Data page's)."""
    from graph import views
    from graph.settings import Settings
    from queries.library import load_library
    from queries.runner import run_saved

    store = _store(engine, max_rows=Settings.model_fields["max_rows"].default)
    rng = random.Random(1)
    children = [
        r["uid"]
        for r in store.read(
            "MATCH (c:Child)<-[:PARENT_OF]-(:Person) RETURN DISTINCT c.uid AS uid",
            max_rows=1_000_000,
        ).rows
    ]
    names = child_names(store, 5000)
    picks = [rng.choice(children) for _ in range(repeats)] if children else []
    timings: dict[str, list[float]] = {}
    asked: dict[str, tuple[str, dict]] = {}  # saved query's label -> (id, last parameters)

    def timed(name: str, fn) -> None:
        start = time.perf_counter()
        fn()
        timings.setdefault(name, []).append((time.perf_counter() - start) * 1000)

    store.search_people("warm up")
    if pages_only:
        _pages(store, picks, names, rng, timed, loads, children)
        return {
            "percentiles": {name: _percentiles(v) for name, v in timings.items()},
            "profiles": {},
        }
    for uid in picks:
        timed("single view (all reads)", lambda uid=uid: views.child_record(store, uid))
        for depth in (1, 2, 3):
            timed(
                f"family network, {depth} hops",
                lambda uid=uid, d=depth: views.family_network(store, uid, depth=d, as_of=AS_OF),
            )
    for _ in range(repeats):
        name = rng.choice(names)
        timed("search by name (typo)", lambda n=name: views.find_children(store, n[:-1] + "x"))
    for q in load_library():
        for uid in picks[: max(3, repeats // 5)]:
            params = {p.name: uid for p in q.params if p.kind == "child"}
            params |= {  # a date's own default ("since 2020-09-01"), else the census day
                p.name: p.fixed_date or AS_OF.isoformat() for p in q.params if p.kind == "date"
            }
            timed(f"saved query {q.id}", lambda q=q, p=params: run_saved(store, q.id, p))
            asked[f"saved query {q.id}"] = (q.id, params)
    # the census day is the load's day, so the risk list above read the kept factors;
    # a week earlier it reads the answers kept for every day of the load's academic year
    # and the one before; two years earlier it works them out from the records
    for label, params in RISK_DAYS.items():
        name = f"saved query risk_of_neet, as at {label}"
        for _ in range(max(3, repeats // 5)):
            timed(name, lambda p=params: run_saved(store, "risk_of_neet", p))
        asked[name] = ("risk_of_neet", params)
    _pages(store, picks, names, rng, timed, loads, children)
    percentiles = {name: _percentiles(v) for name, v in timings.items()}
    return {"percentiles": percentiles, "profiles": _profiles(store, percentiles, asked, profile)}


def _profiles(store, percentiles: dict, asked: dict, which: str) -> dict[str, list]:
    """The engine's profile of one more run of each saved query chosen (its last
    parameters), as [depth, operator, rows, ms, db_hits] rows in plan order."""
    from benchmarks.budgets import SAVED_QUERY
    from graph import GraphError
    from queries.library import get_query
    from queries.runner import validate_params

    found: dict[str, list] = {}
    for label, (query_id, params) in asked.items():
        if which == "none" or (
            which == "misses" and percentiles[label].get("p95", 0) < SAVED_QUERY.limit
        ):
            continue
        query = get_query(query_id)
        values = query.with_config(validate_params(store, query, params))
        try:
            steps = store.profile(query.cypher, values, timeout_ms=query.timeout_ms)
        except GraphError as exc:  # the figures stand without it; say why it is missing
            found[label] = [[0, f"no profile: {exc}".replace("\n", " "), 0, None, None]]
            continue
        found[label] = [[s.depth, s.operator, s.rows, s.ms, s.db_hits] for s in steps]
    return found


# the risk list on days other than the load's: one of the academic years the load kept
# every day of (its own and the one before), and one before them
RISK_DAYS = {
    "another day of the kept years": {"as_of": (AS_OF - dt.timedelta(days=7)).isoformat()},
    "a day before the kept years": {"as_of": (AS_OF - dt.timedelta(days=730)).isoformat()},
}


def _pages(
    store,
    picks: list[str],
    names: list[str],
    rng: random.Random,
    timed,
    loads: Path | None,
    everyone: list[str],
) -> None:
    """Each app page's server-side work, through the same guarded calls the pages make
    (a team manager on the first child's cases; an administrator for the Data and Audit
    pages, on a trail in a scratch directory: :func:`_long_trail`)."""
    import tempfile

    from graph import views
    from graph.access import guard
    from graph.access.policy import BreakGlass, Principal, load_policy
    from planning.forecast import needs_forecast
    from planning.transitions import transitions
    from queries.runner import run_saved
    from ui.network import svg
    from ui.network_layout import family_tree
    from ui.present.caseload import NO_WORKER_NEEDED

    if not picks:
        return
    workers, teams = views.caseworkers(store, picks[0])
    mine = (teams or ["any"])[0]  # the caseload map opens on the manager's team
    who = Principal("bench", "team_manager", professional=(workers or [None])[0])
    admin = Principal("bench-admin", "administrator")
    audit = _long_trail(Path(tempfile.mkdtemp()) / "audit" / "audit.jsonl", everyone)
    glass = BreakGlass(load_policy().break_glass_purposes[0], "benchmark of the record page")
    for uid in picks[: max(3, len(picks) // 2)]:
        timed("page: find a child", lambda: guard.search(store, who, audit, rng.choice(names)))
        timed(
            "page: child record (break glass)",
            lambda uid=uid: (
                guard.child_record(store, who, audit, uid, break_glass=glass),
                guard.partner_enquiries(who, audit, uid),
            ),
        )
        timed("page: my alerts", lambda: guard.my_alerts(store, who, audit))
        timed(
            "page: family network, 2 hops drawn",
            lambda uid=uid: svg(
                family_tree(
                    views.family_network(store, uid, depth=2, as_of=AS_OF) | {"focus": uid}, AS_OF
                )
            ),
        )
        timed("page: audit trail, a child", lambda uid=uid: guard.audit_trail(admin, audit, uid))
        timed("page: audit trail, latest", lambda: guard.audit_trail(admin, audit))
    risk = {"as_of": AS_OF.isoformat()}
    for _ in range(3):
        for label, team in (("the manager's team", mine), ("every team", "any")):
            timed(
                f"page: caseload map, {label}",
                lambda t=team: guard.caseload(
                    store, who, audit, no_worker_needed=sorted(NO_WORKER_NEEDED), team=t
                ),
            )
        timed(
            "page: planning, risk of NEET",
            lambda: run_saved(store, "risk_of_neet", risk, principal=who, audit=audit),
        )
        for label, day in RISK_DAYS.items():
            timed(
                f"page: planning, risk of NEET as at {label}",
                lambda d=day: run_saved(store, "risk_of_neet", d, principal=who, audit=audit),
            )
        for entry in ("Reception", "Year 7", "Year 12"):
            timed(
                "page: planning, transitions",
                lambda e=entry: guard.transitions(store, who, audit, e, AS_OF, plan=transitions),
            )
        timed(
            "page: planning, needs forecast",
            lambda: guard.needs_forecast(store, who, audit, AS_OF, 3, forecast=needs_forecast),
        )
        if loads is not None:
            timed("page: data", lambda: _data_page(store, admin, audit, loads))


AUDIT_ENTRIES = 100_000  # the longest trail the Audit page is timed on


def _long_trail(path: Path, children: list[str]):
    """Weeks of a county's use: a third of an entry a child, at most
    :data:`AUDIT_ENTRIES` (written without fsync, as the audit trail benchmark writes
    its long trail; one in 10,000 names 20,000 children, as a caseload view does),
    checked in full once as ``jigsaw audit verify`` would, then 1,000 views more."""
    from benchmarks.audit_trail import unsynced
    from graph.access.audit import AuditLog

    log = unsynced(AuditLog(path))
    entries = min(AUDIT_ENTRIES, max(1_000, len(children) // 3))
    for i in range(entries):
        named = children[:20_000] if i % 10_000 == 0 else [children[i % len(children)]]
        log.record(
            user=f"user-{i % 700}", role="social_worker", action="view_child", children=named
        )
        if i == entries - 1_001:  # the views before today's: checked, and the index caught up
            log.check()
            log.about_child(children[0])
    return AuditLog(path)


def _data_page(store, principal, audit, loads: Path) -> None:
    """What the Data page reads: the latest report, quarantine and dropped values, and
    the review queue."""
    from graph import review_queue
    from graph.access import guard
    from loaders.report import latest_dropped, latest_quarantine, latest_report

    latest_report(loads)
    guard.quarantine(principal, audit, latest_quarantine(loads))
    guard.quarantine(principal, audit, latest_dropped(loads))
    review_queue.pending_count(store)
    review_queue.pending(store, first=25)


if __name__ == "__main__":
    stage, *args = sys.argv[1:]
    if stage == "generate":
        out = generate(int(args[0]), Path(args[1]))
    elif stage == "load":
        out = load(Path(args[0]), args[1], Path(args[2]) if len(args) > 2 else None)
    else:  # queries, or pages alone
        engine, repeats, profile, *loads = args
        out = queries(
            engine,
            int(repeats),
            profile,
            Path(loads[0]) if loads else None,
            pages_only=stage == "pages",
        )
    print(json.dumps(out, default=str))
