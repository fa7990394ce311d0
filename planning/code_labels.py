"""The words for every code the graph holds: the DfE's lists, declared once.

Read from ``code_labels.yaml`` beside this module (or the file ``JIGSAW_CODE_LABELS``
names); SEN primary needs come from the planning code's own list. Sources often hold
words already (an ethnicity of "White British", a CIN reason of "N1 Abuse or neglect"),
so a value is looked up as a code, then as a code followed by its words, and is
otherwise shown as it is.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import yaml

from planning.transitions import NEED_NAMES

LABELS_FILE = Path(__file__).with_name("code_labels.yaml")

# Which list a returns pack's field takes its codes from (loaders/packs/*/pack.yaml).
PACK_FIELDS = {
    "person.sex": "sex",
    "person.ethnicity": "ethnicity",
    "disability.code": "disability",
    "referral.source": "referral_source",
    "referral.need": "need",
    "referral.closure_reason": "closure_reason",
    "cp_plan.initial_category": "cp_category",
    "cp_plan.latest_category": "cp_category",
    "episode.reason_new": "reason_new",
    "episode.legal_status": "legal_status",
    "episode.need": "need",
    "episode.placement_type": "placement_type",
    "episode.provider": "provider",
    "episode.reason_end": "reason_end",
    "episode.reason_change": "reason_change",
    "missing.kind": "missing",
    "review.participation": "participation",
    "outcome.in_touch": "in_touch",
    "outcome.activity": "activity",
    "outcome.accommodation": "accommodation",
    "permanence.kind": "permanence",
    "sen.need": "sen_need",
    "sen.primary_need": "sen_need",
}


@cache
def lists(path: str | None = None) -> dict[str, dict[str, str]]:
    """Every list: name -> {code: words}."""
    chosen = Path(path or os.environ.get("JIGSAW_CODE_LABELS") or LABELS_FILE)
    data = yaml.safe_load(chosen.read_text(encoding="utf-8")) or {}
    out = {name: {str(k): str(v) for k, v in codes.items()} for name, codes in data.items()}
    out["sen_need"] = dict(NEED_NAMES)
    return out


def words(list_name: str, value: object) -> str:
    """What ``value`` of the list means; a value that is no code of it, as it is."""
    if value is None:
        return ""
    text = str(value).strip()
    codes = lists().get(list_name, {})
    if text in codes:
        return codes[text]
    head, _, rest = text.partition(" ")
    if head in codes and rest:  # "N1 Abuse or neglect": the code's words, said once
        return codes[head]
    return text


def is_code(list_name: str, value: object) -> bool:
    return value is not None and str(value).strip() in lists().get(list_name, {})
