"""Review pairs as a load writes them: the pairs linkage left for a person to decide
(kept, with every decision, in ``graph.review_queue``)."""

from __future__ import annotations

from graph.review_queue import pair_uid
from loaders.linkage import ReviewCandidate


def candidate_rows(
    candidates: list[ReviewCandidate], person_of: dict[str, str]
) -> tuple[list[dict], list[dict]]:
    """The pairs linkage left for a person to decide (``GraphRows.review_pairs``), and
    the two people each proposes to join (``review_links``): a load writes them with
    everything else (``loaders.write.STEPS``)."""
    rows = []
    links = []
    for c in candidates:
        uid = pair_uid(c.left, c.right)
        left, right = sorted((c.left, c.right))
        rows.append(
            {
                "uid": uid,
                "probability": c.probability,
                "agreed": c.agreed,
                "evidence": c.evidence or None,
                "named_records": list(c.named) or None,
                "reason": c.reason or None,
                "impact": c.impact,
                "left_record": left,
                "right_record": right,
                "status": "pending",  # when first written: a later load keeps the decision
            }
        )
        a, b = person_of.get(left), person_of.get(right)
        if a and b and a != b:
            links += [{"review_pair": uid, "person": a}, {"review_pair": uid, "person": b}]
    return rows, links
