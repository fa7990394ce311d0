"""Single values in words: UK dates, ages, counts, field names, codes, blanks.

Every page and the meeting pack format values here, so a date reads "3 Mar 2014"
everywhere and nothing shows "None", "nan" or a field's name.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from graph.dates import read_date, read_day, years_old
from planning.code_labels import words as code_words

# Field names as practitioners say them. A field not listed reads as its name in words.
FIELDS = {
    "uid": "Reference",
    "full_name": "Name",
    "given_name": "First name",
    "middle_names": "Middle names",
    "family_name": "Last name",
    "other_names": "Other names",
    "dob": "Date of birth",
    "sex": "Sex",
    "ethnicity": "Ethnicity",
    "language": "First language",
    "upn": "UPN",
    "nhs_number": "NHS number",
    "uln": "ULN",
    "la_child_id": "Council child id",
    "fsm": "Free school meals",
    "eal": "English as an additional language",
    "young_carer": "Young carer",
    "child_name": "Child",
    "year_group": "Year group",
    "expected_school": "Expected school",
    "current_school": "School now",
    "ehc_plan": "EHC plan",
    "sen_support": "SEN support",
    "transport_now": "Transport now",
    "transport_likely": "Transport likely",
    "distance_km": "Distance (km)",
    "district": "Area",
    "postcode_district": "Area",
    "imd_decile": "Deprivation decile",
    "academic_year": "Academic year",
    "children": "Children",
    "category": "Need",
    "term": "Term",
    "area": "Area",
    "band": "Risk",
    "score": "Score",
    "factors": "Why",
    "school": "School",
    "needs": "Needs",
    "offer": "Offer",
    "kind": "Kind",
    "status": "Status",
    "service": "Service",
    "professional": "Worker",
    "team": "Team",
    "cases": "Cases",
    "at": "When",
    "user": "User",
    "role": "Role",
    "action": "Action",
    "reason": "Reason",
    "source": "Source",
    "file": "File",
    "row": "Row",
    "column": "Column",
    "field": "Field",
    "value": "Value",
    "raw": "Row as read",
    "entry_point": "Starting",
    "attendance_pct": "Attendance %",
    "miles_to_school": "Miles to school",
    "basis": "Why this school",
    "current_setting": "Now at",
    "school_urn": "School URN",
    "known_from": "Known from",
    "starts": "Starts",
    "worker": "Worker",
    "worker_name": "Worker",
}

_MISSING = {"", "none", "nan", "nat", "null", "<na>"}


def blank(value: object) -> str:
    """A value as text, with unknowns blank: never "None", "nan" or "NaT"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"
    if isinstance(value, dt.datetime | dt.date):
        return day(value)
    if isinstance(value, list | tuple | set):
        return ", ".join(t for t in (blank(v) for v in value) if t)
    text = str(value)
    return "" if text.strip().lower() in _MISSING else text


def day(value: object) -> str:
    """A date as a UK reader writes it: 3 Mar 2014 (blank when unknown)."""
    when = read_date(value)
    if when is None:
        return blank(value) if not isinstance(value, dt.date) else ""
    return f"{when.day} {when:%b %Y}"


def moment(value: object) -> str:
    """A date and time: 3 Mar 2014, 16:55 (the date alone when no time is known)."""
    when = read_date(value)
    if isinstance(when, dt.datetime):
        return f"{day(when)}, {when:%H:%M}"
    return day(value)


def age(dob: object, today: dt.date | None = None) -> str:
    """How old: "7", or "11 months" / "3 weeks" for a baby (blank when unknown)."""
    born = read_day(dob)
    if born is None:
        return ""
    today = today or dt.date.today()
    if born > today:
        return "not yet born"
    years = years_old(born, today) or 0
    if years >= 2:
        return str(years)
    months = (today.year - born.year) * 12 + today.month - born.month - (today.day < born.day)
    if months >= 1:
        return plural(months, "month")
    return plural((today - born).days // 7, "week")


def whole(value: object) -> str:
    """A count of children or cases: a whole number with thousands separated."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{round(float(value)):,}"  # type: ignore[arg-type]


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def field(name: str) -> str:
    """A field's label: "dob" -> "Date of birth"; unknown names in words."""
    if name in FIELDS:
        return FIELDS[name]
    text = re.sub(r"_uid$|_id$", "", name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def case_kind(kind: object) -> str:
    """A case kind in words: CP -> Child protection plan."""
    return code_words("case_kind", kind)


def year_group(value: object) -> str:
    """A national curriculum year group in words: "7" -> "Year 7", "N2" -> "Nursery 2"."""
    text = blank(value).strip()
    return f"Year {text}" if text.isdigit() else code_words("year_group", text)


def code(list_name: str, value: object) -> str:
    return code_words(list_name, value)


# strptime directives (in load reasons and the like) as a reader writes them
_FORMATS = {
    "%d": "dd",
    "%m": "mm",
    "%Y": "yyyy",
    "%y": "yy",
    "%b": "Mon",
    "%B": "Month",
    "%H": "hh",
    "%M": "mm",
    "%S": "ss",
    "%a": "Day",
    "%A": "Day",
    "%j": "ddd",
}
_DIRECTIVE = re.compile(r"%[a-zA-Z]")


def formats_in_words(text: str) -> str:
    """Date formats in a message as people write them: '%Y-%m-%d' -> 'yyyy-mm-dd'."""
    return _DIRECTIVE.sub(lambda m: _FORMATS.get(m.group(0), ""), text)
