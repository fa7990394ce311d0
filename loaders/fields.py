"""The canonical fields a source mapping may map columns to, and how each is parsed.

A council adds a source by mapping its columns onto these names; everything after
reading (validation, linkage, loading) speaks only this vocabulary. Each field has
a type, and the type decides how a raw cell is parsed and what counts as invalid,
so a new source gets the same checks as ours without new code.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from loaders import identifiers as ids

FieldType = Literal[
    "text",
    "name",
    "date",
    "datetime",
    "int",
    "bool",
    "code",
    "upn",
    "nhs",
    "uln",
    "postcode",
    "float",
]


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    description: str


def _fields(*items: tuple[str, FieldType, str]) -> dict[str, Field]:
    return {name: Field(name, kind, text) for name, kind, text in items}


FIELDS: dict[str, Field] = _fields(
    # the person a row describes
    ("person.given_name", "name", "first / forename"),
    ("person.middle_names", "name", "middle names"),
    ("person.family_name", "name", "surname / family name"),
    ("person.full_name", "name", "a whole name in one column (split on the last space)"),
    ("person.dob", "date", "date of birth"),
    ("person.sex", "code", "F, M or U after the mapping's code map"),
    ("person.ethnicity", "code", "ethnicity code"),
    ("person.language", "code", "first language code"),
    ("person.upn", "upn", "Unique Pupil Number"),
    ("person.nhs_number", "nhs", "NHS number"),
    ("person.uln", "uln", "Unique Learner Number"),
    ("person.la_child_id", "text", "the council case system's own person id"),
    ("person.fsm", "bool", "eligible for free school meals"),
    ("person.eal", "bool", "English as an additional language"),
    ("person.young_carer", "bool", "recorded as a young carer"),
    ("person.role", "code", "role in the row's family (child, mother, father, ...)"),
    # where they live
    ("address.uprn", "text", "Unique Property Reference Number"),
    ("address.line1", "text", "first address line"),
    ("address.town", "text", "town"),
    ("address.postcode", "postcode", "postcode"),
    ("address.from", "date", "date they began to live there"),
    ("address.to", "date", "date they stopped living there"),
    ("address.lsoa", "text", "LSOA code"),
    ("address.lat", "float", "latitude"),
    ("address.lon", "float", "longitude"),
    # a parent or carer named on the same row
    ("parent.given_name", "name", "parent's first name"),
    ("parent.family_name", "name", "parent's surname"),
    ("parent.full_name", "name", "parent's whole name"),
    ("parent.nhs_number", "nhs", "parent's NHS number"),
    ("parent.kind", "code", "birth, step, adoptive, foster, guardian or parent"),
    # school
    ("school.urn", "text", "the school's URN"),
    ("school.name", "text", "school name"),
    ("school.phase", "code", "phase of education"),
    ("school.kind", "text", "type of establishment"),
    ("school.postcode", "postcode", "school postcode"),
    ("school.lat", "float", "school latitude"),
    ("school.lon", "float", "school longitude"),
    ("school.low_age", "int", "youngest age"),
    ("school.high_age", "int", "oldest age"),
    ("enrolment.from", "date", "date the pupil joined the school"),
    ("enrolment.year_group", "text", "national curriculum year"),
    # SEN
    ("sen.provision", "code", "SEN support or EHCP (empty for none)"),
    ("sen.primary_need", "code", "SEN2 primary need code"),
    ("sen.secondary_need", "code", "SEN2 secondary need code"),
    ("sen.since", "date", "date the need was identified"),
    ("sen.need", "code", "a SEN2 need code, ranked by sen.rank (one row per need)"),
    ("sen.rank", "int", "the rank of sen.need (1 = primary)"),
    # a case or episode of work
    ("case.ref", "text", "the system's own case reference"),
    ("case.kind", "code", "CIN, CP, CLA, CL, EHCP, SEN support, EH, YJ, HV, EWO, Transport"),
    ("case.start", "date", "start date"),
    ("case.end", "date", "end date (empty while open)"),
    ("case.reason", "text", "reason, category or outcome"),
    ("case.worker_id", "text", "allocated worker's staff id"),
    ("case.worker_name", "name", "allocated worker's name (resolved against staff)"),
    ("case.placement_la", "text", "placing/placement local authority"),
    ("case.placement_type", "text", "placement type"),
    # attendance and exclusions
    ("attendance.academic_year", "text", "academic year such as 2025-26"),
    ("attendance.term", "code", "Autumn, Spring or Summer"),
    ("attendance.possible", "int", "possible sessions"),
    ("attendance.authorised", "int", "authorised absence sessions"),
    ("attendance.unauthorised", "int", "unauthorised absence sessions"),
    ("exclusion.date", "date", "start date"),
    ("exclusion.kind", "code", "SUSP or PERM"),
    ("exclusion.sessions", "int", "sessions"),
    ("exclusion.reason", "code", "reason code"),
    # family group
    ("family.ref", "text", "the system's family or household reference"),
    # a second person row refers to (relationship extracts)
    ("related.la_child_id", "text", "the other person's case-system id"),
    ("related.kind", "code", "relationship of the other person to this one"),
    ("related.from", "date", "relationship start"),
    ("related.to", "date", "relationship end"),
    # notes
    ("note.ref", "text", "note id"),
    ("note.text", "text", "note text"),
    ("note.author", "name", "author"),
    ("note.at", "datetime", "when written"),
    # admissions offers
    ("offer.urn", "text", "offered school URN"),
    ("offer.entry_point", "code", "Reception, Year 7 or Year 12"),
    ("offer.date", "date", "offer date"),
    # what the statutory returns say (loaders/packs): codes are the returns' own
    ("person.dod", "date", "date of death"),
    ("person.disabled", "bool", "has a disability (yes/no, where no list is given)"),
    ("disability.code", "code", "a disability (CIN census code: MOB, HAND, PC, ..., NONE)"),
    ("referral.ref", "text", "the system's own referral (episode of need) reference"),
    ("referral.date", "date", "referral date (start of the episode of need)"),
    ("referral.source", "code", "source of referral (1A ... 10)"),
    ("referral.need", "code", "primary need code (N0 ... N9)"),
    ("referral.nfa", "bool", "referral closed with no further action"),
    ("referral.closed", "date", "closure date of the episode of need"),
    ("referral.closure_reason", "code", "reason for closure (RC1 ... RC9)"),
    ("assessment.ref", "text", "the system's own assessment reference"),
    ("assessment.kind", "code", "social care or EHC needs"),
    ("assessment.start", "date", "assessment start date"),
    ("assessment.end", "date", "assessment authorised, completed or decided"),
    ("assessment.factors", "text", "factors identified at assessment (codes, comma separated)"),
    ("assessment.outcome", "text", "outcome of the assessment"),
    ("s47.ref", "text", "the system's own section 47 enquiry reference"),
    ("s47.start", "date", "section 47 enquiry start date"),
    ("s47.icpc_target", "date", "initial child protection conference target date"),
    ("s47.icpc_date", "date", "initial child protection conference date"),
    ("s47.icpc_not_required", "bool", "no initial conference was needed"),
    ("s47.outcome", "text", "outcome of the enquiry"),
    ("cin_plan.ref", "text", "the system's own child in need plan reference"),
    ("cin_plan.start", "date", "child in need plan start date"),
    ("cin_plan.end", "date", "child in need plan end date"),
    ("cp_plan.ref", "text", "the system's own child protection plan reference"),
    ("cp_plan.start", "date", "child protection plan start date"),
    ("cp_plan.end", "date", "child protection plan end date"),
    ("cp_plan.initial_category", "code", "initial category of abuse (NEG, PHY, SAB, EMO, MUL)"),
    ("cp_plan.latest_category", "code", "latest category of abuse"),
    ("cp_plan.previous", "int", "number of previous child protection plans"),
    ("review.kind", "code", "CP (conference review), CLA (looked-after review) or EHCP"),
    ("review.date", "date", "review date"),
    ("review.participation", "code", "how the child took part (PN0 ... PN7)"),
    ("episode.ref", "text", "the system's own looked-after episode reference"),
    ("episode.start", "date", "date the episode of care began (DECOM)"),
    ("episode.end", "date", "date the episode ceased (DEC)"),
    ("episode.reason_new", "code", "reason for new episode (S, L, P, T, B, U)"),
    ("episode.legal_status", "code", "legal status (C1, C2, D1, E1, J1 ... V4)"),
    ("episode.need", "code", "category of need (N1 ... N8)"),
    ("episode.placement_type", "code", "placement type (A3 ... Z1)"),
    ("episode.provider", "code", "placement provider (PR0 ... PR5)"),
    ("episode.reason_end", "code", "reason the episode ceased (X1, E11 ... E8)"),
    ("episode.reason_change", "code", "reason the placement changed (CARPL ... OTHER)"),
    ("episode.home_postcode", "postcode", "postcode of the home the child was taken from"),
    ("episode.placement_postcode", "postcode", "postcode of the placement"),
    ("episode.urn", "text", "Ofsted URN of the placement"),
    ("episode.placement_la", "text", "local authority of the placement"),
    ("care.start", "date", "date the child started to be looked after (the period of care)"),
    ("care.end", "date", "date the child ceased to be looked after"),
    ("care.reason_end", "code", "reason the child ceased to be looked after (E11 ... E8)"),
    ("care.legal_status", "code", "the child's legal status now (C1, C2, ... V4)"),
    ("missing.kind", "code", "MISSING or AWAY from placement"),
    ("missing.start", "date", "missing or away from placement: start date"),
    ("missing.end", "date", "missing or away from placement: end date"),
    ("uasc.status", "code", "unaccompanied asylum-seeking child (yes, or a status)"),
    ("uasc.since", "date", "date the status began"),
    ("uasc.ceased", "date", "date the child ceased to be UASC"),
    ("outcome.kind", "code", "OC2 (looked after 12 months) or OC3 (care leaver)"),
    ("outcome.date", "date", "when the outcome was recorded"),
    ("outcome.in_touch", "code", "care leaver: in touch (YES, NO, DIED, REFU, NREQ, RHOM)"),
    ("outcome.activity", "code", "care leaver: main activity (F1 ... G6, 0)"),
    ("outcome.accommodation", "code", "care leaver: accommodation (B1 ... Z2, 0)"),
    ("outcome.sdq_score", "int", "strengths and difficulties score (0 to 40)"),
    ("outcome.sdq_reason", "code", "why no strengths and difficulties score (SDQ1 ... SDQ5)"),
    ("outcome.convicted", "bool", "convicted or given a final warning in the year"),
    ("outcome.health_check", "bool", "health check up to date"),
    ("outcome.immunisations", "bool", "immunisations up to date"),
    ("outcome.teeth_check", "bool", "teeth checked"),
    ("outcome.health_assessment", "bool", "health assessment up to date"),
    ("outcome.substance_misuse", "bool", "identified as having a substance misuse problem"),
    ("outcome.intervention_received", "bool", "received an intervention for it"),
    ("outcome.intervention_offered", "bool", "offered an intervention for it"),
    ("adoption.decided", "date", "date of the decision the child should be placed for adoption"),
    ("adoption.matched", "date", "date the child was matched with adopters"),
    ("adoption.foster_carers", "bool", "adopted by their former foster carers"),
    ("adoption.adopters", "int", "number of adopters"),
    ("adoption.adopter_sex", "code", "adopters' sex (M1, F1, MM, FF, MF)"),
    ("adoption.adopter_status", "code", "adopters' legal status (L0 ... L4)"),
    ("adoption.ceased", "date", "date the child stopped being placed for adoption"),
    ("adoption.ceased_reason", "code", "why the child stopped being placed for adoption"),
    ("permanence.kind", "code", "previous permanence before care (P1 ... P4, Z1)"),
    ("permanence.la", "text", "local authority that made the previous permanence order"),
    ("permanence.date", "date", "date of the previous permanence order"),
    ("request.date", "date", "date an EHC needs assessment request was received"),
    ("request.outcome", "code", "outcome of the request"),
    ("request.outcome_date", "date", "date of the request's outcome"),
    ("enrolment.to", "date", "date the pupil left the school or placement"),
    ("allocation.worker_id", "text", "allocated social worker's id"),
    ("allocation.from", "date", "allocation start"),
    ("allocation.to", "date", "allocation end"),
    ("allocation.reason_end", "code", "why the allocation ended"),
    # reference data
    ("area.lsoa", "text", "LSOA code"),
    ("area.name", "text", "LSOA name"),
    ("area.imd_decile", "int", "IMD decile (1 = most deprived)"),
    ("area.local_authority", "text", "local authority name"),
    ("staff.id", "text", "staff id"),
    ("staff.name", "name", "name"),
    ("staff.role", "text", "job title"),
    ("staff.team_id", "text", "team id"),
    ("staff.team", "text", "team name"),
    ("staff.service", "code", "service code after the code map"),
    ("staff.email", "text", "email"),
    ("staff.phone", "text", "phone"),
)


class CellError(ValueError):
    """A cell that cannot be read as its field's type; the message is the reason."""


_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TRUE = {"1", "y", "yes", "true", "t"}
_FALSE = {"0", "n", "no", "false", "f", ""}
_MAX_CELL = 2_000


def clean_text(raw: object) -> str:
    """Trim and collapse spaces; refuse absurdly long cells.

    Formula-looking text ("=HYPERLINK(...)") is kept as text: it is only dangerous
    when a spreadsheet opens an export, so exports neutralise it (see ``safe_cell``).
    """
    if type(raw) is str and raw.isprintable() and "  " not in raw:
        # the common cell: its only white space is single plain spaces (every other
        # space character is unprintable), so trimming is all the cleaning it needs
        text = raw.strip()
    elif raw is None:
        return ""
    else:
        if isinstance(raw, float) and raw.is_integer():  # False for inf and nan
            raw = int(raw)
        text = _SPACE.sub(" ", str(raw)).strip()
        if not text.isprintable():  # NUL and other control characters: noise, unstorable
            text = _CONTROL.sub("", text)
    if len(text) > _MAX_CELL:
        raise CellError(f"value is {len(text):,} characters long (limit {_MAX_CELL:,})")
    return text


IN_THE_FUTURE = "is in the future"  # why a date is refused; a later day may read it


def parse_date(text: str, formats: list[str], *, today: dt.date, past_only: bool = True) -> dt.date:
    """The first format that reads the text; two-digit years fall in the past."""
    value = None
    for fmt in formats:
        try:
            value = _fixed_date(text, fmt) or dt.datetime.strptime(text, fmt).date()
            break
        except ValueError:
            continue
    if value is None:
        raise CellError(f"{text!r} is not a date in the format {' or '.join(formats)}")
    if "%y" in fmt and value > today:  # "15/03/68" is 1968, not 2068
        value = value.replace(year=value.year - 100)
    if past_only and value > today:
        raise CellError(f"date {value.isoformat()} {IN_THE_FUTURE}")
    if value.year < 1900:
        raise CellError(f"date {value.isoformat()} is before 1900")
    return value


# The usual formats' fields by position, for a text of exactly their shape (every other
# text, or format, goes through strptime, which reads these alike and is slower).
_FIXED = {
    "%Y-%m-%d": ("-", 4, 7, (0, 4), (5, 7), (8, 10)),
    "%d/%m/%Y": ("/", 2, 5, (6, 10), (3, 5), (0, 2)),
}


def _fixed_date(text: str, fmt: str) -> dt.date | None:
    """``text`` read in ``fmt`` when both have the usual shape (ValueError: no such date);
    None when either has another (strptime decides)."""
    shape = _FIXED.get(fmt)
    if shape is None or len(text) != 10 or not text.isascii():
        return None
    mark, first, second, year, month, day = shape
    if text[first] != mark or text[second] != mark:
        return None
    parts = [text[a:b] for a, b in (year, month, day)]
    if not all(part.isdigit() for part in parts):
        return None
    return dt.date(*map(int, parts))


def parse_value(
    field: Field,
    raw: object,
    *,
    formats: list[str],
    codes: dict[str, str] | None,
    today: dt.date,
) -> object:
    """Parse one cell; '' and None mean missing. Raises CellError with the reason."""
    if type(raw) is not str:  # a spreadsheet's typed cell
        if isinstance(raw, dt.datetime) and field.type in ("date", "datetime"):
            raw_date = raw.date() if field.type == "date" else raw
            return _check_past(raw_date, today) if field.type == "date" else raw.isoformat()
        if isinstance(raw, dt.date) and field.type == "date":
            return _check_past(raw, today)
    text = clean_text(raw)
    if codes is not None and field.type in IDENTIFIER_TYPES and text in codes:
        text = codes[text]  # a return's "not known" code (UPN unknown: UN1 ... UN5)
    elif codes is not None and field.type in ("code", "bool", "text"):
        if text in codes:
            text = codes[text]
        else:
            lowered = _lowered(codes)
            if text.lower() in lowered:
                text = lowered[text.lower()]
            elif text and field.type == "code":
                raise CellError(f"code {text!r} is not in the mapping's code list")
    if text == "":
        return None
    match field.type:
        case "text" | "code":
            return text
        case "name":
            if text.isalpha() or any(ch.isalpha() for ch in text):
                return text
            raise CellError(f"{text!r} is not a name")
        case "date":
            return _parse_date_cached(text, tuple(formats), today)
        case "datetime":
            for fmt in formats:
                try:
                    return dt.datetime.strptime(text, fmt).isoformat(timespec="minutes")
                except ValueError:
                    continue
            raise CellError(f"{text!r} is not a date and time in the format {formats[0]}")
        case "int":
            try:
                number = float(text)
            except ValueError:
                raise CellError(f"{text!r} is not a whole number") from None
            if number != int(number) or abs(number) > 10**9:
                raise CellError(f"{text!r} is not a whole number")
            return int(number)
        case "float":
            try:
                return float(text)
            except ValueError:
                raise CellError(f"{text!r} is not a number") from None
        case "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise CellError(f"{text!r} is not yes/no")
        case "upn":
            return _checked(ids.check_upn(text))
        case "nhs":
            return _checked(ids.check_nhs_number(text))
        case "uln":
            return _checked(ids.check_uln(text))
        case "postcode":
            return _checked(ids.check_postcode(text))
    raise AssertionError(field.type)


_LOWERED: dict[int, tuple[dict[str, str], dict[str, str]]] = {}


def _lowered(codes: dict[str, str]) -> dict[str, str]:
    """The code map keyed in lower case, built once per map (not once per cell)."""
    cached = _LOWERED.get(id(codes))
    if cached is None or cached[0] is not codes:
        cached = (codes, {k.lower(): v for k, v in codes.items()})
        _LOWERED[id(codes)] = cached
    return cached[1]


@lru_cache(maxsize=200_000)
def _parse_date_cached(text: str, formats: tuple[str, ...], today: dt.date) -> dt.date:
    """Dates repeat a great deal (a pupil's birth date on every attendance row)."""
    return parse_date(text, list(formats), today=today)


def _checked(result: ids.IdCheck) -> str:
    if not result.ok:
        raise CellError(result.reason)
    return result.value


def _check_past(value: dt.date, today: dt.date) -> dt.date:
    if value > today:
        raise CellError(f"date {value.isoformat()} {IN_THE_FUTURE}")
    return value


IDENTIFIER_TYPES = {"upn", "nhs", "uln"}


# What a report may show of a value it dropped: codes and numbers in full, anything that
# could identify someone (identifiers, names, dates, postcodes, free text) masked.
SHOWN_TYPES = {"code", "int", "bool", "float"}


def masked(field: Field, raw: object) -> str:
    """A dropped value as the report shows it: enough to find it in the file (its first
    and last characters, its length), not enough to identify anyone."""
    text = clean_text(raw) if not isinstance(raw, str) else raw.strip()
    if field.type in SHOWN_TYPES or not text:
        return text[:40]
    if len(text) <= 4:
        return "*" * len(text)
    keep = 2 if len(text) > 8 else 1
    return text[:keep] + "*" * (len(text) - 2 * keep) + text[-keep:]


def safe_cell(value: object) -> object:
    """A value for a CSV/xlsx export that a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
