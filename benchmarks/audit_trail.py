"""The anchored audit trail's cost: one entry's write, writers in several processes,
and verifying a long trail.

Each write fsyncs three times (the pending head, the line, the committed head), so its
time is mostly the disk's fsync; the figures are for the disk the trail is on.

    uv run python -m benchmarks.audit_trail --dir data/bench-audit --entries 100000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from graph.access.audit import AuditLog, Head

WRITER = (
    "import sys, time; from graph.access.audit import AuditLog; log = AuditLog(sys.argv[1])\n"
    "for i in range(int(sys.argv[2])):\n"
    "    log.record(user='bench', role='r', action='view_child', children=[f'P-{i}'])"
)


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def one_writer(path: Path, n: int) -> list[float]:
    log = AuditLog(path)
    times = []
    for i in range(n):
        start = time.perf_counter()
        log.record(user="bench", role="social_worker", action="view_child", children=[f"P-{i}"])
        times.append((time.perf_counter() - start) * 1000)
    return times


def many_writers(path: Path, processes: int, each: int) -> float:
    """Entries a second with ``processes`` processes writing at once."""
    start = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(each)])
        for _ in range(processes)
    ]
    for proc in procs:
        proc.wait()
    return processes * each / (time.perf_counter() - start)


def long_trail(path: Path, entries: int) -> float:
    """Seconds to verify a trail of ``entries`` (written directly, without fsync: the
    chain and head are the same as record() would leave)."""
    log = unsynced(AuditLog(path))
    for i in range(entries):
        log.record(user="bench", role="social_worker", action="search", children=[f"P-{i}"])
    start = time.perf_counter()
    verdict = log.check()
    assert verdict.broken is None and verdict.entries == entries
    return time.perf_counter() - start


def unsynced(log: AuditLog) -> AuditLog:
    """``log`` writing without fsync: a long trail for a benchmark, quickly (the chain
    and head are the same as record() would leave)."""
    log._write_line = _append_unsynced(log.path)  # type: ignore[method-assign]
    log._write_head = _head_unsynced(log)  # type: ignore[method-assign]
    return log


def _append_unsynced(path: Path) -> Callable[[bytes], None]:
    def write(line: bytes) -> None:
        with path.open("ab") as fh:
            fh.write(line)

    return write


def _head_unsynced(log: AuditLog) -> Callable[..., None]:
    def write(head: Head, *, sync: bool = True) -> None:
        log.head_path.write_text(json.dumps(head.as_json()))

    return write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="a scratch directory")
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    if args.dir.exists():
        shutil.rmtree(args.dir)
    args.dir.mkdir(parents=True)
    try:
        times = one_writer(args.dir / "one" / "audit.jsonl", args.writes)
        rate = many_writers(args.dir / "many" / "audit.jsonl", args.processes, args.writes // 2)
        seconds = long_trail(args.dir / "long" / "audit.jsonl", args.entries)
    finally:
        shutil.rmtree(args.dir, ignore_errors=True)
    print("| measure | figure |\n| --- | --- |")
    print(
        f"| one entry, one writer ({args.writes} writes) | p50 {_percentile(times, 50):.1f} ms, "
        f"p95 {_percentile(times, 95):.1f} ms |"
    )
    print(f"| {args.processes} processes writing at once | {rate:,.0f} entries/s |")
    print(
        f"| verify {args.entries:,} entries | {seconds:.2f} s "
        f"({args.entries / seconds:,.0f} entries/s) |"
    )
    print(f"(cores: {os.cpu_count()})")


if __name__ == "__main__":
    main()
