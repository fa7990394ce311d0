"""The data about the data, in words: the latest load, what it held back and dropped,
and the audit trail, for the Data and Audit trail pages.

A load report names its directory on the server; only the directory's own name is
shown. Reasons quoting date formats read as people write them (dd/mm/yyyy).
"""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

from ui.present.sources import source_name
from ui.present.words import blank, code, field, formats_in_words, moment, whole


def load_heading(report: Any) -> str:
    """One sentence: which extracts (the directory's name, never its server path), as
    at which day, when."""
    name = PurePath(str(report.directory)).name or "extracts"
    return (
        f"Latest load: the extracts in “{name}”, as at {moment(report.as_of)}, started "
        f"{moment(report.started_at)}."
    )


def load_rows(report: Any) -> list[dict[str, str]]:
    """A row per source: rows read, loaded, merged, held back, values dropped, and
    whether the accounts close (read = loaded + merged + held back)."""
    rows = [
        {
            "Source": source_name(s.source),
            "Files": whole(s.files),
            "Rows read": whole(s.read),
            "Loaded": whole(s.loaded),
            "Merged": whole(s.merged),
            "Held back": whole(s.quarantined),
            "Values dropped": whole(s.values_dropped),
            "Adds up": "Yes" if s.closes else "No",
        }
        for s in sorted(report.sources.values(), key=lambda s: s.source)
    ]
    return rows


def load_summary(report: Any) -> str:
    return (
        f"{whole(report.people)} people from {whole(report.identity_records)} identity "
        f"records; {whole(report.review_pairs)} possible duplicates await review; "
        f"{whole(report.alerts)} new alerts."
    )


def file_problems(report: Any) -> list[str]:
    return [
        formats_in_words(f"{PurePath(f.file).name}: {f.refused or f.problem}")
        for f in report.file_problems
    ]


def held_back(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Quarantined rows: where from, why (in words), and the row as read."""
    return [
        {
            "Source": source_name(r.get("source")),
            "File": blank(r.get("file")),
            "Row": blank(r.get("row")),
            "Why": formats_in_words(blank(r.get("reason"))),
            "Row as read": _row_as_read(r.get("raw")),
        }
        for r in rows
    ]


def dropped(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Values dropped from kept rows: where, which field, the value masked, and why."""
    return [
        {
            "Source": source_name(r.get("source")),
            "File": blank(r.get("file")),
            "Row": blank(r.get("row")),
            "Column": blank(r.get("column")),
            "Field": field(str(r.get("field") or "").rpartition(".")[2]),
            "Value (masked)": blank(r.get("value")),
            "Why": formats_in_words(blank(r.get("reason"))),
        }
        for r in rows
    ]


def _row_as_read(raw: object) -> str:
    text = blank(raw)
    if not text.startswith("{"):
        return text
    try:
        values = json.loads(text)
    except ValueError:
        return text
    return "; ".join(f"{k}: {blank(v)}" for k, v in values.items() if blank(v))


def audit_rows(entries: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Audit entries newest first, in words; children counted, not listed by id."""
    rows = []
    for e in sorted(entries, key=lambda e: str(e.get("at") or ""), reverse=True):
        children = e.get("children") or []
        rows.append(
            {
                "When": moment(e.get("at")),
                "Who": blank(e.get("user")),
                "Role": field(str(e.get("role") or "")),
                "What": _action(str(e.get("action") or "")),
                "Children": whole(len(children)) if children else "",
                "Reason": blank(e.get("reason")),
            }
        )
    return rows


def _action(action: str) -> str:
    said = code("audit_action", action)
    return field(action) if said == action else said
