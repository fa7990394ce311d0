"""Linkage quality against a labelled set: pairwise precision and recall.

Used with the synthetic county's ground truth (every source row's true person), and
usable with any clerical review sample a council labels: a pair of records is a
true link when both have the same label, a found link when both were given the same
person. Counting pairs (not clusters) is the usual measure for record linkage.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Quality:
    records: int
    true_pairs: int
    found_pairs: int
    correct_pairs: int
    true_people: int
    found_people: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.found_pairs if self.found_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    def __str__(self) -> str:
        return (
            f"precision {self.precision:.4f}, recall {self.recall:.4f} over "
            f"{self.records:,} records ({self.true_people:,} true people, "
            f"{self.found_people:,} found)"
        )


def _pairs(counter: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in counter.values())


def pairwise_quality(labelled: Iterable[tuple[Hashable, Hashable]]) -> Quality:
    """``labelled`` yields (true label, assigned person) for each record."""
    items = list(labelled)
    truth = Counter(t for t, _ in items)
    found = Counter(f for _, f in items)
    both = Counter(items)
    return Quality(len(items), _pairs(truth), _pairs(found), _pairs(both), len(truth), len(found))
