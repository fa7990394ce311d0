"""What ``jigsaw db status`` and the app's data page report about the store."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from graph.store import Counts, GraphStore, Health, IndexState


@dataclass(frozen=True)
class StoreStatus:
    health: Health
    counts: Counts
    schema: list[IndexState]

    def as_dict(self) -> dict[str, object]:
        return {
            "health": asdict(self.health),
            "nodes": self.counts.nodes,
            "relationships": self.counts.relationships,
            "labels": self.counts.labels,
            "relationship_types": self.counts.relationship_types,
            "schema": [asdict(s) for s in self.schema],
            "schema_complete": all(s.present for s in self.schema),
        }


def store_status(store: GraphStore) -> StoreStatus:
    health = store.health()
    return StoreStatus(health=health, counts=store.counts(), schema=store.schema_state())
