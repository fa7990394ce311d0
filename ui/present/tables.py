"""Query and planning results as tables a practitioner reads.

Columns get labels (``child_name`` -> "Child"); ids are left out of what is shown and
kept beside each row, so the page can open the row's record; dates read "3 Mar 2014";
counts of children are whole numbers; codes of a known list read as their words; a
restricted value reads "restricted".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from graph.access.policy import Restricted
from planning.code_labels import is_code
from ui.present.sources import sources_list
from ui.present.words import blank, case_kind, code, day, field, moment, year_group

# Columns whose values are codes of a list, by the column's name
COLUMN_LISTS = {
    "placement_type": "placement_type",
    "legal_status": "legal_status",
    "reason_end": "reason_end",
    "reason_new": "reason_new",
    "latest_category": "cp_category",
    "initial_category": "cp_category",
    "category_code": "cp_category",
    "participation": "participation",
    "primary_need": "sen_need",
    "need_code": "sen_need",
    "ethnicity": "ethnicity",
    "language": "language",
    "sex": "sex",
    "missing_kind": "missing",
}
COUNT_WORDS = ("children", "count", "cases", "pupils", "people", "number", "rows")
ID_KINDS = {"child", "person"}


def is_id(name: str, kind: str | None = None) -> bool:
    """Whether a column holds ids (shown to nobody; used to open records)."""
    return kind in ID_KINDS or name == "uid" or name.endswith(("_uid", "_uids"))


def cell(name: str, value: object, kind: str | None = None) -> Any:
    """One value in words (numbers stay numbers, for sorting and charts)."""
    if isinstance(value, Restricted):
        return "restricted"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(t for t in (str(cell(name, v, kind)) for v in value) if t)
    if kind == "case_kind" or name in ("kind", "case_kind", "kinds"):
        return case_kind(value)
    if isinstance(value, dt.datetime):
        return moment(value)
    if isinstance(value, dt.date):
        return day(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float):
        if any(w in name for w in COUNT_WORDS):
            return round(value)
        return round(value, 1)
    if name == "year_group":
        return year_group(value)
    if isinstance(value, str) and name in ("known_from", "source", "sources"):
        return sources_list(value)
    if isinstance(value, str):
        listed = COLUMN_LISTS.get(name)
        if listed and is_code(listed, value):
            return code(listed, value)
        if kind == "dob" or name.endswith(("_date", "dob")) or name in ("date", "start", "end"):
            return day(value) or value
        return blank(value)
    return value


def shown(
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    kinds: Mapping[str, str] | None = None,
    *,
    pseudonymised: bool = False,
) -> tuple[list[str], list[dict[str, Any]], list[str | None]]:
    """(labels, display rows, each row's child uid or None). Id columns are left out,
    except pseudonyms for analysts, shown as "Pseudonym"."""
    kinds = kinds or {}
    subject = next((c for c in columns if kinds.get(c) == "child"), None)
    if subject is None:
        subject = next((c for c in columns if c in ("child_uid", "uid")), None)
    keep = [c for c in columns if not is_id(c, kinds.get(c)) or (pseudonymised and c == subject)]
    labels = [("Pseudonym" if pseudonymised and c == subject else field(c)) for c in keep]
    out, uids = [], []
    for row in rows:
        pairs = zip(keep, labels, strict=True)
        out.append({label: cell(c, row.get(c), kinds.get(c)) for c, label in pairs})
        uid = row.get(subject) if subject and not pseudonymised else None
        uids.append(str(uid) if uid else None)
    # a column of numbers stays numeric (sortable), its blanks empty (pages show no
    # placeholder for them); any other column's blanks are empty text
    for label in labels:
        values = [r[label] for r in out if r[label] != ""]
        if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            for r in out:
                r[label] = None if r[label] == "" else r[label]
    return labels, out, uids
