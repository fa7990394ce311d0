"""``python -m benchmarks.returns --children 1500``: each national return's figures.

A county is generated with its returns (or ``--county DIR`` one generated earlier with
``jigsaw generate --returns``) and loaded whole, with no mapping, as a council would
load it. For each return (a directory under ``returns/``) the table gives, from the
load's own report, the rows its files hold, the rows loaded, merged (a row another file
already gave) and quarantined, and how many of its columns are not kept;
from a second load of that return's files alone into an empty graph, the facts it
writes (nodes of :data:`graph.schema.RETURN_FACT_LABELS`), the other nodes (cases,
schools, addresses, source records ...) and the people; and, against the county's truth,
how many true children its kept rows describe and how many of them its rows reached:

- *linked right*: true children one of whose rows (a row carrying identity: names,
  date of birth, identifiers) went to the person that the whole load made of them (the
  person most of that child's rows went to);
- *people its rows went to*: the people its identity rows were linked to (more than
  the true children linked right: a child split in two);
- *rows on another child*: identity rows that went to a person made of someone else;
- *attached by id*: rows that name the child only by the return's own id (SSDA903's
  episodes, reviews ...) and hang from the person another file of the return
  describes, so they are right when that file's row is.

Prints a markdown table; no assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

AS_OF = dt.date(2026, 11, 2)
SEED = 23


def _store(engine: Path, name: str):
    from graph.engines.falkordb import FalkorDBStore

    store = FalkorDBStore(
        graph_name=name, directory=engine, timeout_ms=600_000, max_rows=10_000_000
    )
    store.drop_all()
    store.ensure_schema()
    return store


def _truth(county: Path) -> pd.DataFrame:
    rows = pd.read_csv(county / "truth" / "source_rows.csv", dtype=str, keep_default_na=False)
    rows = rows[rows.file.str.startswith("returns/")].copy()
    rows["row"] = rows.row.astype(int)
    rows["filename"] = rows.file.str.split("#").str[0]
    return rows


def _true_person(assignments: list[tuple[str, int, str, str]], labels: dict) -> dict[str, str]:
    """Each person the load made: the true person most of its identity rows are."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for file, row, _role, puid in assignments:
        if (file, row) in labels:
            votes[puid][labels[(file, row)]] += 1
    return {puid: c.most_common(1)[0][0] for puid, c in votes.items()}


def _facts_alone(county: Path, files: list[str], engine: Path) -> tuple[int, int, int, float]:
    """(return facts, other nodes, people, seconds) of one return's files loaded alone
    into an empty graph."""
    from graph.schema import RETURN_FACT_LABELS
    from loaders.load import run_load

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for name in files:
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(county / name)
        store = _store(engine, "returns_alone")
        try:
            started = time.perf_counter()
            run_load(store, root, as_of=AS_OF, loads_dir=None)
            seconds = time.perf_counter() - started
            labels = store.counts().labels
        finally:
            store.drop_all()
            store.close()
    facts = sum(labels.get(label, 0) for label in RETURN_FACT_LABELS)
    others = sum(labels.values()) - facts - labels.get("Person", 0)
    return facts, others, labels.get("Person", 0), seconds


def measure(county: Path, engine: Path) -> list[dict]:
    from loaders.load import run_load

    truth = _truth(county)
    store = _store(engine, "returns_whole")
    try:
        result = run_load(store, county, as_of=AS_OF, loads_dir=None)
    finally:
        store.close()
    everyone = pd.read_csv(county / "truth" / "source_rows.csv", dtype=str, keep_default_na=False)
    labels = {
        (f, int(r)): p
        for f, r, p in zip(everyone.file, everyone.row, everyone.person_id, strict=True)
        if p
    }
    true_of = _true_person(result.assignments, labels)
    person_of = {(f, r): puid for f, r, role, puid in result.assignments if role == "person"}
    quarantined = {(q.file, q.row) for q in result.quarantine}
    files = result.report.files
    out = []
    for directory in sorted(set(truth.file.str.split("/").str[1])):
        rows = truth[truth.file.str.startswith(f"returns/{directory}/")]
        mine = [f for f in files.values() if f.pack and f.file in set(rows.file)]
        kept = rows[[(f, r) not in quarantined for f, r in zip(rows.file, rows.row, strict=True)]]
        kept = kept[kept.person_id != ""]
        right: set[str] = set()
        went_to: set[str] = set()
        wrong = attached = 0
        for f, r, pid in zip(kept.file, kept.row, kept.person_id, strict=True):
            puid = person_of.get((f, r))
            if puid is None:
                attached += 1
                continue
            went_to.add(puid)
            if true_of.get(puid) == pid:
                right.add(pid)
            else:
                wrong += 1
        facts, others, people, seconds = _facts_alone(
            county, sorted(set(rows.filename)), engine / "alone"
        )
        out.append(
            {
                "return": directory,
                "pack": ", ".join(sorted({f.pack for f in mine})),
                "files": len(mine),
                "read": sum(f.read for f in mine),
                "loaded": sum(f.loaded for f in mine),
                "merged": sum(f.merged for f in mine),
                "quarantined": sum(f.quarantined for f in mine),
                "not kept": len({n.split(":")[0] for f in mine for n in f.not_kept}),
                "facts alone": facts,
                "other nodes alone": others,
                "people alone": people,
                "seconds alone": round(seconds, 1),
                "true children": kept.person_id.nunique(),
                "people its rows went to": len(went_to),
                "linked right": len(right),
                "rows on another child": wrong,
                "attached by id": attached,
            }
        )
    return out


def table(rows: list[dict]) -> str:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "| --- |" + " ---: |" * (len(columns) - 1)]
    for r in rows:
        lines.append(
            "| " + " | ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in r.values()) + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.returns")
    parser.add_argument("--children", type=int, default=1_500)
    parser.add_argument(
        "--county",
        type=Path,
        default=None,
        help="a county generated earlier with jigsaw generate --returns",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        county = args.county
        if county is None:
            from synthetic.generate import generate

            county = Path(scratch) / "county"
            generate(args.children, SEED, county, as_of=AS_OF, returns=True)
        print(table(measure(county, Path(scratch) / "engine")))


if __name__ == "__main__":
    main()
