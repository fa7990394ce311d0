"""A child's record in sections a practitioner reads, for the page and the meeting pack.

Each function takes the record as the viewer may see it (``guard.child_record``) and
returns rows of labelled text: names for people, words for codes, UK dates, ages.
Restricted values read "restricted"; unknowns are blank.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from graph.access.policy import Restricted
from ui.present.chronology import REASON_LIST
from ui.present.sources import sources_list
from ui.present.words import (
    age,
    blank,
    case_kind,
    code,
    day,
    field,
    moment,
    plural,
    whole,
    year_group,
)

# Person fields shown under the name, in this order, with the code list each uses
IDENTITY = (
    ("dob", None),
    ("sex", "sex"),
    ("ethnicity", "ethnicity"),
    ("language", "language"),
    ("upn", None),
    ("nhs_number", None),
    ("uln", None),
    ("la_child_id", None),
)
FLAGS = (
    ("young_carer", "Young carer"),
    ("fsm", "Free school meals"),
    ("eal", "English as an additional language"),
)
# the order cases' kinds are flagged in, most serious first
FLAG_ORDER = ("CP", "CLA", "CIN", "CL", "YJ", "EHCP", "SEN support", "EH", "EWO", "HV", "Transport")


def text(value: object) -> str:
    return "restricted" if isinstance(value, Restricted) else blank(value)


def name(record: dict[str, Any]) -> str:
    return text(record["person"].get("full_name")) or "Name not known"


def identity(record: dict[str, Any], today: dt.date | None = None) -> list[tuple[str, str]]:
    """(label, value) for what identifies the child, blanks left out."""
    person = record["person"]
    out = []
    for key, codes in IDENTITY:
        value = person.get(key)
        if isinstance(value, Restricted):
            shown = "restricted"
        elif key == "dob":
            shown = day(value) + (f" (age {age(value, today)})" if value else "")
        else:
            shown = code(codes, value) if codes else blank(value)
        if shown.strip():
            out.append((field(key), shown))
    return out


def flags(record: dict[str, Any]) -> list[str]:
    """Open involvement and characteristics, in words ("Child protection plan")."""
    kinds = {c.get("kind") for c in record["cases"] if c.get("status") == "open"}
    out = [case_kind(k) for k in FLAG_ORDER if k in kinds]
    out += sorted({str(c["flag"]).capitalize() for c in record["cases"] if c.get("flag")})
    out += [label for key, label in FLAGS if record["person"].get(key) is True]
    return out


def homes(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Where the child lives now, each with its safety notes for visits."""
    out = []
    for a in record["addresses"]:
        if a.get("to") is not None:
            continue
        line = text(a.get("line1"))
        where = ", ".join(x for x in (line, blank(a.get("town")), blank(a.get("postcode"))) if x)
        decile = a.get("imd_decile")
        out.append(
            {
                "address": where or "Address not known",
                "since": day(a.get("from")),
                "deprivation": f"deprivation decile {whole(decile)} of 10" if decile else "",
                "safety": [blank(n) for n in a.get("safety_notes") or [] if blank(n)],
            }
        )
    return out


def home_line(home: dict[str, Any]) -> str:
    return home["address"] + (f" (since {home['since']})" if home["since"] else "")


def pack_tables(record: dict[str, Any], today: dt.date) -> list[tuple[str, list[dict]]]:
    """The meeting pack's tables, with a title each, those with rows only (the page
    and the PDF show the same)."""
    tables = (
        ("Family", family(record, today)),
        ("Professionals involved", professionals(record)),
        ("Cases and plans", cases(record)),
        ("Needs", needs(record)),
        ("Schools", schools(record)),
    )
    return [(title, rows) for title, rows in tables if rows]


def chronology_rows(entries: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Chronology entries as a table's rows."""
    return [
        {"When": e["when"], "Agency": e["agency"], "What": e["what"], "Source": e["source"]}
        for e in entries
    ]


def family(record: dict[str, Any], today: dt.date | None = None) -> list[dict[str, str]]:
    return [
        {
            "Name": text(m.get("name")) or "Name not known",
            "Relationship": _relation(m.get("relation")),
            "Date of birth": day(m.get("dob")),
            "Age": age(m.get("dob"), today),
        }
        for m in record["family"]
    ]


def _relation(relation: object) -> str:
    """``parent (birth)`` -> "Parent (birth)"; "child", "sibling" as words."""
    words = blank(relation)
    return words[:1].upper() + words[1:]


def professionals(record: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "Name": text(p.get("name")),
            "Role": text(p.get("role")),
            "Team": text(p.get("team")),
            "Email": text(p.get("email")),
            "Phone": text(p.get("phone")),
            "Involved for": case_kind(p.get("for_case")),
        }
        for p in record["professionals"]
    ]


def schools(record: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "School": text(s.get("name")),
            "Phase": text(s.get("phase")),
            "Year group": year_group(s.get("year_group")),
            "From": day(s.get("from")),
            "To": day(s.get("to")) or ("now" if s.get("from") else ""),
        }
        for s in record["schools"]
    ]


def cases(record: dict[str, Any]) -> list[dict[str, str]]:
    """Cases shown in full (flags are in :func:`flags`), open first."""
    rows = []
    for c in record["cases"]:
        kind = c.get("kind")
        if not isinstance(kind, str):
            continue
        reason = c.get("reason")
        rows.append(
            {
                "Service": text(c.get("service")),
                "Involvement": case_kind(kind),
                "Status": text(c.get("status")).capitalize(),
                "Opened": day(c.get("start")),
                "Closed": day(c.get("end")),
                "Reason": text(reason)
                if isinstance(reason, Restricted)
                else code(REASON_LIST.get(kind, ""), reason),
                "Worker": ", ".join(text(w) for w in c.get("workers") or [] if w),
                "Team": ", ".join(text(t) for t in c.get("teams") or [] if t),
            }
        )
    return rows


def needs(record: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "Need": code("sen_need", n.get("code")) or text(n.get("name")),
            "Primary or secondary": {1: "Primary", 2: "Secondary"}.get(n.get("rank"), ""),
            "Identified": day(n.get("from")),
        }
        for n in record["needs"]
    ]


def disabilities(record: dict[str, Any]) -> list[str]:
    return [
        code("disability", d.get("code")) or text(d.get("name"))
        for d in record.get("disabilities", [])
    ]


def attendance(record: dict[str, Any]) -> list[dict[str, Any]]:
    """By term: the share of sessions attended (a number, for the chart) and the counts."""
    rows = []
    for t in record["attendance"]:
        possible, absent = t.get("possible") or 0, t.get("absent") or 0
        rows.append(
            {
                "Term": text(t.get("term")),
                "School": text(t.get("school")),
                "Attendance %": round(100 * (1 - absent / possible), 1) if possible else None,
                "Sessions missed": whole(absent),
                "Unauthorised": whole(t.get("unauthorised")),
            }
        )
    return rows


def notes(record: dict[str, Any]) -> list[dict[str, str]]:
    """Newest first, each with who wrote it (the professional's name) and when."""
    return [
        {
            "When": moment(n.get("at")),
            "Who": text(n.get("author")),
            "Kind": code("note_kind", n.get("kind")),
            "Text": text(n.get("text")),
        }
        for n in record["notes"]
    ]


def enquiries(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Partner enquiries (guard.partner_enquiries), newest first, in words."""
    return [
        {
            "When": moment(r.get("at")),
            "Organisation": text(r.get("organisation")),
            "Why": text(r.get("reason")),
            "Answer": text(r.get("outcome")).replace("_", " ").capitalize(),
            "Told": text(r.get("returned")),
        }
        for r in sorted(rows, key=lambda r: str(r.get("at")), reverse=True)
    ]


def sources(record: dict[str, Any]) -> str:
    return sources_list(record["person"].get("sources"))


def access_line(record: dict[str, Any]) -> tuple[str, str] | None:
    """What kind of view this is, in one sentence, and how to show it (info/warning);
    None for an ordinary full view."""
    access = record["access"]
    reason = str(access.get("reason") or "").strip()
    if access.get("break_glass"):
        return ("warning", f"Opened with break glass for {reason}. This view is audited.")
    if not access.get("full"):
        return (
            "info",
            f"Limited view: {_sentence(reason)}. You see who the child is and "
            "which services know them, not the details.",
        )
    return None


def _sentence(reason: str) -> str:
    """The policy's reason, without a repeated label ("limited view: ...")."""
    for label in ("limited view:", "break glass:"):
        if reason.lower().startswith(label):
            reason = reason[len(label) :].strip()
    return reason[:1].lower() + reason[1:] if reason else "this child is not on your caseload"


def counts(record: dict[str, Any]) -> str:
    """A one-line summary: how many cases, schools, notes."""
    shown = [c for c in record["cases"] if isinstance(c.get("kind"), str)]
    open_ = [c for c in shown if c.get("status") == "open"]
    return ", ".join(
        (
            plural(len(open_), "open case"),
            plural(len(record["schools"]), "school"),
            plural(len(record["notes"]), "note"),
        )
    )
