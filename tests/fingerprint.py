"""A graph's fingerprint: every node and relationship with its properties, in no order.

Two graphs with the same fingerprint hold the same nodes (labels and properties), and
the same relationships (type, the uids of both ends, properties), each as many times.
Left out: when something was written (properties named ``*_at``: a load's own moment,
which no two loads share) and the order of list properties (a derived list follows
the order relationships were created in, which is not part of the model).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

from graph import GraphStore

NODES = "MATCH (n) RETURN labels(n) AS l, properties(n) AS p"
EDGES = (
    "MATCH (a)-[r]->(b) RETURN type(r) AS t, labels(a) AS al, a.uid AS a, "
    "labels(b) AS bl, b.uid AS b, properties(r) AS p"
)


def written_when(name: str) -> bool:
    return name.endswith("_at")


def _value(value: Any) -> str:
    return repr(sorted(value, key=repr) if isinstance(value, list) else value)


def _props(props: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, _value(v)) for k, v in props.items() if not written_when(k)))


@dataclass
class Fingerprint:
    nodes: Counter
    edges: Counter

    @property
    def digest(self) -> str:
        lines = sorted(
            [repr((n, c)) for n, c in self.nodes.items()]
            + [repr((e, c)) for e, c in self.edges.items()]
        )
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def differences(self, other: Fingerprint, shown: int = 8) -> str:
        """What one graph holds that the other does not, a few of each, for a failure."""
        parts = []
        for name, mine, theirs in (
            ("nodes", self.nodes, other.nodes),
            ("relationships", self.edges, other.edges),
        ):
            for side, extra in (("only left", mine - theirs), ("only right", theirs - mine)):
                if extra:
                    items = sorted(extra.elements(), key=repr)
                    parts.append(f"{name} {side}: {len(items)}")
                    parts += [f"  {item}" for item in items[:shown]]
        return "\n".join(parts) or "the same"


def fingerprint(store: GraphStore) -> Fingerprint:
    """The graph's fingerprint (see the module's docstring)."""
    nodes: Counter = Counter()
    edges: Counter = Counter()
    for r in store.read(NODES, max_rows=10**8).rows:
        nodes[(tuple(sorted(r["l"])), _props(r["p"]))] += 1
    for r in store.read(EDGES, max_rows=10**8).rows:
        ends = (tuple(sorted(r["al"])), r["a"], tuple(sorted(r["bl"])), r["b"])
        edges[(r["t"], *ends, _props(r["p"]))] += 1
    return Fingerprint(nodes, edges)
