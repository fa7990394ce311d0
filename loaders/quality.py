"""Linkage quality against a labelled set: pairwise precision and recall.

Used with the synthetic county's ground truth (every source row's true person), and
usable with any clerical review sample a council labels: a pair of records is a
true link when both have the same label, a found link when both were given the same
person. Counting pairs (not clusters) is the usual measure for record linkage.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Quality:
    records: int
    true_pairs: int
    found_pairs: int
    correct_pairs: int
    true_people: int
    found_people: int
    # true people with two records or more, those whose records went to more than one
    # person (split), and true people sharing a person with someone else (merged)
    several: int = 0
    split: int = 0
    merged: int = 0

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.found_pairs if self.found_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def split_share(self) -> float:
        """Of the true people with two records or more, the share made several people."""
        return self.split / self.several if self.several else 0.0

    @property
    def merged_share(self) -> float:
        """Of the true people, the share made one person with someone else."""
        return self.merged / self.true_people if self.true_people else 0.0

    def __str__(self) -> str:
        return (
            f"precision {self.precision:.4f}, recall {self.recall:.4f} over "
            f"{self.records:,} records ({self.true_people:,} true people, "
            f"{self.found_people:,} found; split {self.split_share:.1%} of "
            f"{self.several:,} with several records, merged {self.merged_share:.1%})"
        )


def _pairs(counter: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in counter.values())


def pairwise_quality(labelled: Iterable[tuple[Hashable, Hashable]]) -> Quality:
    """``labelled`` yields (true label, assigned person) for each record."""
    items = list(labelled)
    truth = Counter(t for t, _ in items)
    found = Counter(f for _, f in items)
    both = Counter(items)
    found_of: dict[Hashable, set] = {}
    true_in: dict[Hashable, set] = {}
    for t, f in both:
        found_of.setdefault(t, set()).add(f)
        true_in.setdefault(f, set()).add(t)
    merged = {t for people in true_in.values() if len(people) > 1 for t in people}
    return Quality(
        len(items),
        _pairs(truth),
        _pairs(found),
        _pairs(both),
        len(truth),
        len(found),
        several=sum(1 for n in truth.values() if n > 1),
        split=sum(1 for t, fs in found_of.items() if len(fs) > 1),
        merged=len(merged),
    )


def labels_from_csv(path: Path) -> dict[tuple[str, int, str], str]:
    """A labelled sample: columns file, row, person_id and optionally related.

    ``related`` labels a second person named on the same row ("mother:P0001" labels the
    parent); the synthetic county's ``truth/source_rows.csv`` has this shape, and a
    council can write the same columns from a clerical review.
    """
    labels: dict[tuple[str, int, str], str] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("person_id"):
                labels[(row["file"], int(row["row"]), "person")] = row["person_id"]
            related = row.get("related") or ""
            if ":" in related:
                labels[(row["file"], int(row["row"]), "parent")] = related.split(":", 1)[1]
    return labels


def measure(
    assignments: Iterable[tuple[str, int, str, str]], labels: dict[tuple[str, int, str], str]
) -> Quality:
    """Quality of a load's assignments over the records the sample labels."""
    return pairwise_quality(
        (labels[(f, r, w)], person) for f, r, w, person in assignments if (f, r, w) in labels
    )


def groups_beside(path: Path) -> dict[str, str]:
    """Who is a child, for measuring children and adults apart: ``people.csv`` beside a
    labelled sample (person_id, is_child), as the synthetic county's truth folder holds;
    empty when there is none."""
    people = path.with_name("people.csv")
    if not people.exists():
        return {}
    with people.open(newline="", encoding="utf-8") as fh:
        return {
            row["person_id"]: "children" if row.get("is_child") == "1" else "adults"
            for row in csv.DictReader(fh)
            if row.get("person_id") and row.get("is_child") in ("0", "1")
        }


def measure_groups(
    assignments: Iterable[tuple[str, int, str, str]],
    labels: dict[tuple[str, int, str], str],
    groups: dict[str, str],
) -> dict[str, Quality]:
    """Quality over everyone labelled, and for each group of true people (children,
    adults) on its own."""
    pairs: dict[str, list[tuple[str, str]]] = {"everyone": []}
    for f, r, w, person in assignments:
        label = labels.get((f, r, w))
        if label is None:
            continue
        pairs["everyone"].append((label, person))
        group = groups.get(label)
        if group:
            pairs.setdefault(group, []).append((label, person))
    return {name: pairwise_quality(items) for name, items in pairs.items()}
