"""``python -m benchmarks.copy_hashes --keys 2``: the copy's recorded hashes at scale.

Records that many million made-up hashes of the copy's shape (a quarter ``Person``,
half ``LIVES_AT``, a quarter ``ATTENDANCE``) with :meth:`CopyState.record`, then times in
this process's CPU seconds what a delta's copy does with them: read them
(:meth:`CopyState.trusted`), look up a night's items (5,000 of each kind), change them
(2,000 changed, 500 removed, 500 added: :meth:`CopyState.updated`) and write them back.
Run with ``PYTHONHASHSEED=0`` to have two trees write the same record (``--keep DIR``
keeps it to compare).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from graph.access.copy_state import CopyState
from graph.access.projection import PAIR
from graph.store import Counts


def _made_up(n: int) -> dict[str, dict[str, int]]:
    def key(prefix: str) -> str:
        return f"{prefix}-{random.getrandbits(64):016x}"

    return {
        "Person": {key("p"): random.getrandbits(63) for _ in range(n // 4)},
        "LIVES_AT": {key("p") + PAIR + key("a"): random.getrandbits(63) for _ in range(n // 2)},
        "ATTENDANCE": {
            key("p") + PAIR + f"s{random.randrange(900)}": random.getrandbits(63)
            for _ in range(n // 4)
        },
    }


def _picked(of: Any, keys: set[str]) -> dict[str, int]:
    """The night's items of a kind: by :meth:`Kind.picked`, or from a dict (main's
    hashes before 2026-12-07 were a dict a kind), to time both trees alike."""
    if isinstance(of, dict):
        return {key: of[key] for key in keys if key in of}
    return of.picked(keys)


def run(home: Path, n: int) -> dict[str, float]:
    random.seed(1)
    kinds = _made_up(n)
    counts = Counts({"Person": n // 4}, {"LIVES_AT": n // 2, "ATTENDANCE": n // 4})
    state = CopyState.beside(home, "g")
    state.record("spare", counts, kinds, [], fresh=True)
    night = {kind: sorted(random.sample(sorted(of), 5000)) for kind, of in kinds.items()}
    changed = {
        kind: {key: 1 for key in keys[:2000]} | {f"new{i}": 2 for i in range(500)}
        for kind, keys in night.items()
    }
    removed = [(kind, key) for kind, keys in night.items() for key in keys[2000:2500]]
    del kinds
    took: dict[str, float] = {}
    clock = time.process_time
    at = clock()
    known = state.trusted("spare", counts)
    assert known is not None
    took["read"], at = clock() - at, clock()
    found = sum(len(_picked(known[kind], set(keys))) for kind, keys in night.items())
    took["looked up"], at = clock() - at, clock()
    hashes = state.updated("spare", changed, removed, fresh=False, base=known)
    took["changed"], at = clock() - at, clock()
    state.write("published", counts, hashes)
    took["written"] = clock() - at
    assert found == 15_000
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=float, default=2, help="millions of recorded hashes")
    parser.add_argument("--keep", type=Path, default=None, help="keep the record here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jigsaw-hashes-") as tmp:
        took = run(args.keep or Path(tmp), int(args.keys * 1e6))
    print(" / ".join(f"{name} {s:.2f} s" for name, s in took.items()))


if __name__ == "__main__":
    main()
