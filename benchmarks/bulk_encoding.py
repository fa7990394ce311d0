"""The FalkorDB bulk writer's encoding alone, no engine: CPU seconds (best of five) to
encode people's rows, source records' ``DESCRIBES`` rows and relationships given as
columns, with the sending replaced by counting the bytes (equal bytes, equal output).

    uv run python -m benchmarks.bulk_encoding
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from typing import Any

from graph.bulk import EdgeShape
from graph.engines.falkordb_bulk import FalkorBulkWriter
from loaders.write import PEOPLE, SOURCE_RECORDS

PEOPLE_ROWS = 100_000


class _Counting(FalkorBulkWriter):
    """Encodes as the writer does and counts the bytes instead of sending them."""

    sent = 0

    def _send(self, commands: Iterable[Any]) -> None:
        self.sent = sum(len(command[2]) for command in commands)


def _best(run: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    rng = random.Random(1)
    shape = PEOPLE.node_shape
    assert shape is not None
    names = [f"name{i}" for i in range(5000)]
    people = []
    for i in range(PEOPLE_ROWS):
        row: dict[str, Any] = {
            f: rng.choice(names) if rng.random() < 0.7 else None for f in shape.fields
        }
        row |= {"uid": f"P{i:07d}", "dob": f"2010-01-{i % 28 + 1:02d}", "fsm": bool(i % 2)}
        row |= {"child": bool(i % 3), "open_service_count": i % 3}
        people.append(row)
    uids = [f"P{i:07d}" for i in range(PEOPLE_ROWS)]
    described = [
        {"uid": f"S{i}", "person": uids[i % PEOPLE_ROWS], "probability": 0.5 + i % 7 / 100}
        for i in range(2 * PEOPLE_ROWS)
    ]
    n = 4 * PEOPLE_ROWS
    columns = {
        "person": [uids[i % PEOPLE_ROWS] for i in range(n)],
        "other": [uids[i * 7 % PEOPLE_ROWS] for i in range(n)],
        "from": [f"2020-01-{i % 28 + 1:02d}" for i in range(n)],
        "to": [None] * n,
        "kind": ["birth", "step"] * (n // 2),
    }
    between = EdgeShape(
        "PARENT_OF",
        ("Person", "person"),
        ("Person", "other"),
        ("from", "to", "kind"),
        ("from", "to"),
    )
    writer = _Counting(None, None)  # type: ignore[arg-type]
    writer._ids["Person"] = dict(zip(uids, range(PEOPLE_ROWS), strict=True))
    writer._own_span = lambda _label, _uids: 1000  # type: ignore[method-assign]
    for what, run in (
        (f"{PEOPLE_ROWS:,} people", lambda: writer.create_nodes(shape, people)),
        (
            f"{len(described):,} DESCRIBES",
            lambda: writer.create_edges(SOURCE_RECORDS.rels[0].shape(), described),
        ),
        (f"{n:,} relationships as columns", lambda: writer.create_edges(between, columns)),
    ):
        seconds = _best(run)
        print(f"{what}: {seconds:.3f} s of CPU, {writer.sent:,} bytes")


if __name__ == "__main__":
    main()
