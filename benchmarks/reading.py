"""The read stage alone: a load's reading and validating of a directory of extracts.

Prints one JSON line: wall seconds, CPU seconds of this process and of its reading
processes (``StageCPU``), the rows kept, quarantined and dropped, and a digest of each
(records, quarantine, dropped values, the report's counts), so two versions of the code
can be compared on the same extracts: the same digests, less CPU. ``--reading``: read
through a :class:`loaders.intake.Reading` with a fresh record beside it, as a first load
does (each file's reading is then also kept for the next load, and the record made as a
load's read stage makes it, :meth:`Reading.pack`). ``--after BASE``: read
as a night's delta load does, on the day ``--as-of``, after a first load's reading of the
extracts ``BASE`` (read and recorded first, on the extracts' own day, not measured).

    uv run python -m benchmarks.reading DIR [--workers N] [--reading] [--min-bytes B]
    uv run python -m benchmarks.reading WEEK_DIR --after DIR --as-of 2026-11-09
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import loaders.extracts
from benchmarks.delta import StageCPU
from loaders.intake import Reading, mapped_extracts
from loaders.mapping import load_mappings
from loaders.progress import Silent
from loaders.reading import read_all
from loaders.report import LoadReport
from loaders.validate import Quarantined, Record

AS_OF = dt.date(2026, 11, 2)  # the synthetic extracts' day


def _digest(items: list) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(repr(item).encode())
    return digest.hexdigest()[:12]


def _record(r: Record) -> tuple:
    values = sorted((k, repr(v)) for k, v in r.values.items())
    return (r.uid, r.source, r.file, r.row, r.entity, values, r.notes, r.trust_ids, r.adults)


def _refused(q: Quarantined) -> tuple:
    return (q.source, q.file, q.row, q.reason, sorted(q.raw.items()))


def measure(
    root: Path,
    workers: int | None = None,
    loads: Path | None = None,
    *,
    day: dt.date = AS_OF,
    full: bool = True,
) -> dict:
    """Read and validate every extract under ``root`` as a load does; the figures.
    ``loads``: a load reports' folder to read through (:class:`Reading`), none if None;
    ``full``: read every file as a full load does, else as a delta."""
    report = LoadReport(str(root), "", day.isoformat())
    records: list[Record] = []
    quarantine: list[Quarantined] = []
    dropped: list = []
    sources = load_mappings()
    cpu = StageCPU()
    started = time.perf_counter()
    reading = None if loads is None else Reading(loads, day, full=full)
    read_all(
        root,
        sources,
        day,
        report,
        records,
        quarantine,
        Silent(),
        workers,
        dropped=dropped,
        reading=reading,
    )
    changes = ""
    if reading is not None:
        changes = _digest(sorted(reading.tally().items()))
        reading.pack()  # the record made, as a load's read stage ends
    wall = time.perf_counter() - started
    cpu.stage("read")
    process, readers, _ = cpu.seconds["read"]
    counts = json.dumps(report.to_json(), default=repr, sort_keys=True)
    return {
        "wall_s": round(wall, 1),
        "cpu_process_s": process,
        "cpu_readers_s": readers,
        "records": len(records),
        "quarantined": len(quarantine),
        "dropped": len(dropped),
        "digest_records": _digest([_record(r) for r in records]),
        "digest_quarantine": _digest([_refused(q) for q in quarantine]),
        "digest_dropped": _digest([asdict(d) for d in dropped]),
        "digest_report": hashlib.sha256(counts.encode()).hexdigest()[:12],
        "digest_changes": changes,
        "load_average": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reading")
    parser.add_argument("root", type=Path, help="a directory of extracts")
    parser.add_argument("--workers", type=int, default=None, help="reading processes")
    parser.add_argument(
        "--reading", action="store_true", help="read as a load does, keeping each reading"
    )
    parser.add_argument(
        "--min-bytes",
        type=int,
        default=None,
        help="read in reading processes from this many bytes of extracts (a smaller county too)",
    )
    parser.add_argument(
        "--after",
        type=Path,
        default=None,
        help="extracts a first load read: then read the directory as a delta after it",
    )
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=AS_OF, help="the day")
    args = parser.parse_args()
    if args.min_bytes is not None:  # what every read of this run takes as its threshold
        loaders.extracts.PARALLEL_MIN_BYTES = args.min_bytes
    if args.after is not None:
        with tempfile.TemporaryDirectory() as loads:
            first = Reading(Path(loads), AS_OF)
            list(first.outcomes(mapped_extracts(args.after, load_mappings()), args.workers))
            first.save()
            figures = measure(args.root, args.workers, Path(loads), day=args.as_of, full=False)
        print(json.dumps(figures), flush=True)
        return
    if not args.reading:
        print(json.dumps(measure(args.root, args.workers)), flush=True)
        return
    with tempfile.TemporaryDirectory() as loads:
        print(json.dumps(measure(args.root, args.workers, Path(loads))), flush=True)


if __name__ == "__main__":
    main()
