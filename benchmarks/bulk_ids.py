"""What the bulk writer's consecutive-id shortcut saves: after bulk insertion creates a
slice of nodes, their ids are needed for the relationships to them. The writer finds the
first through the uid index and has the engine confirm the rest follow it (one query a
slice); without the shortcut every uid is looked up through the index. Both timed on
the same freshly inserted nodes of the embedded engine.

    uv run python -m benchmarks.bulk_ids --nodes 500000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from graph.bulk import NodeShape
from graph.engines.falkordb import FalkorDBStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        store = FalkorDBStore(
            graph_name="ids", directory=Path(scratch), timeout_ms=600_000, max_rows=5_000
        )
        store.ensure_schema()
        writer = store.bulk_writer()
        shape = NodeShape("SourceRecord", ("uid", "source"))
        uids = [f"bench:{i:09d}" for i in range(args.nodes)]
        writer.begin([shape])
        writer.create_nodes(shape, [{"uid": u, "source": "bench"} for u in uids])
        writer.finish()
        slices = [uids[i : i + writer.chunk] for i in range(0, len(uids), writer.chunk)]
        started = time.perf_counter()
        for part in slices:
            assert isinstance(writer._created_span("SourceRecord", part), int)
        span = time.perf_counter() - started
        started = time.perf_counter()
        for part in slices:
            assert len(writer._lookup("SourceRecord", part)) == len(part)
        lookup = time.perf_counter() - started
        store.close()
        per_million = 1_000_000 / args.nodes
        print(f"{args.nodes:,} nodes in slices of {writer.chunk:,}")
        print(f"consecutive-span check: {span:.2f} s ({span * per_million:.1f} s a million)")
        print(f"index lookup of each:   {lookup:.2f} s ({lookup * per_million:.1f} s a million)")


if __name__ == "__main__":
    main()
