"""FHIR in and out: the enquiry read from a ``Parameters`` resource, and the answer,
its involvements and any error as FHIR R4 JSON (``fhir.resources``' R4B models, the
R4-compatible release the package ships; it has no plain R4 models).

What comes from outside is validated by those models: every request, each resource in
it as its own model (nested in the ``Parameters``, the library takes two to three times
as long for the same rules), and the contact from the settings, once a process. What
this module builds itself from the graph's data, an answer's ``Parameters`` and each
involvement's ``EpisodeOfCare``, is not validated again on every answer: its shapes are
this code's, and ``tests/test_api.py`` validates each of them with the models (every
involvement of a loaded county among them). The values the graph gives it are held to
the FHIR types they fill as they are built (codes, dates; empty strings dropped), so a
bad value still fails the answer instead of being sent. Written by orjson, nulls and
empty values dropped, as FHIR JSON has none.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from api.settings import ApiSettings
from api.standard import (
    ADDRESS_KEY_EXTENSION,
    CASE_KIND_SYSTEM,
    FHIR_GENDER_TO_SEX,
    LEGAL_NAME_USES,
    MATCH_GRADE_SYSTEM,
    NHS_NUMBER_SYSTEM,
    PARAM_CONTACT,
    PARAM_GRADE,
    PARAM_INVOLVEMENT,
    PARAM_MATCH,
    PARAM_NOTE,
    PARAM_PATIENT,
    PARAM_REASON,
    PREFERRED_NAME_USES,
    REASON_BY_URI,
    SERVICE_SYSTEM,
)
from loaders.identifiers import check_nhs_number, check_postcode

FHIR_JSON = "application/fhir+json"


class Invalid(ValueError):
    """A request the API cannot take: its HTTP status, FHIR issue code and why."""

    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics


@dataclass
class Enquiry:
    """Who is asked about, in the terms matching compares."""

    reason: str
    nhs: str = ""
    given: str = ""
    family: str = ""
    preferred: list[str] = field(default_factory=list)  # preferred given names
    dob: str = ""  # ISO date
    sex: str = ""
    postcode: str = ""
    uprn: str = ""

    def summary(self) -> dict[str, Any]:
        """What the audit keeps of the request: what was asked with, not the values."""
        return {
            "with": [
                name
                for name, value in (
                    ("nhs_number", self.nhs),
                    ("name", self.family),
                    ("birth_date", self.dob),
                    ("postcode", self.postcode),
                    ("preferred_names", self.preferred),
                )
                if value
            ]
        }


def read_json(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Invalid(400, "structure", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Invalid(400, "structure", "the body must be a JSON object (a FHIR resource)")
    return data


def validated(model: type, data: dict[str, Any], *, where: str = "", recurs: bool = False) -> Any:
    """The resource as its model; unknown fields and wrong types are refused. ``where``:
    its place in the request, for the diagnostics; ``recurs``: content that comes again
    and again unchanged, validated once (the model then shared: read it, never change it)."""
    expected = model.get_resource_type()
    if data.get("resourceType") != expected:
        raise Invalid(
            400,
            "structure",
            f"expected a {expected} resource, got {data.get('resourceType')!r}",
        )
    try:
        if recurs:
            return _valid_once(model, orjson.dumps(data, option=orjson.OPT_SORT_KEYS))
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in [*where.split('.'), *e['loc']] if p) or expected}: "
            f"{e['msg']}"
            for e in exc.errors()[:5]
        )
        raise Invalid(400, "structure", f"not a valid {expected} resource: {problems}") from None


def _apart(data: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """The ``Parameters`` without the resources its parameters hold, and those resources
    (each validated as its own model: nested, the library takes three times as long)."""
    parameter = data.get("parameter")
    if not isinstance(parameter, list) or not all(isinstance(p, dict) for p in parameter):
        return data, []  # not Parameters' shape: its validation says why
    without = [{k: v for k, v in p.items() if k != "resource"} for p in parameter]
    return {**data, "parameter": without}, [p.get("resource") for p in parameter]


def read_enquiry(body: bytes) -> Enquiry:
    """The ``$person-info-query`` request, checked: raises :class:`Invalid` with why."""
    envelope, resources = _apart(read_json(body))
    params: Parameters = validated(Parameters, envelope, recurs=True)
    patient: Patient | None = None
    reason: str | None = None
    for i, p in enumerate(params.parameter or []):
        if p.name == PARAM_PATIENT:
            resource = resources[i] if i < len(resources) else None
            if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
                raise Invalid(400, "structure", f"parameter {PARAM_PATIENT!r} must be a Patient")
            patient = validated(Patient, resource, where=f"parameter.{i}.resource")
        elif p.name == PARAM_REASON:
            reason = p.valueUri
            if reason is None:
                raise Invalid(400, "structure", f"parameter {PARAM_REASON!r} must be a valueUri")
        else:
            raise Invalid(
                400,
                "not-supported",
                f"unknown parameter {p.name!r}; the operation takes {PARAM_PATIENT!r} "
                f"and {PARAM_REASON!r}",
            )
    if reason is None:
        raise Invalid(
            422, "required", f"the {PARAM_REASON!r} parameter (a lawful reason) is missing"
        )
    if reason not in REASON_BY_URI:
        raise Invalid(
            422,
            "code-invalid",
            f"reason {reason!r} is not on the agreed list: " + ", ".join(REASON_BY_URI),
        )
    if patient is None:
        raise Invalid(422, "required", f"the {PARAM_PATIENT!r} parameter (a Patient) is missing")
    return enquiry_from_patient(patient, reason)


def enquiry_from_patient(patient: Patient, reason: str) -> Enquiry:
    enquiry = Enquiry(reason=reason)
    for ident in patient.identifier or []:
        if ident.system == NHS_NUMBER_SYSTEM:
            checked = check_nhs_number(ident.value)
            if not checked.ok:
                raise Invalid(422, "value", checked.reason)
            enquiry.nhs = checked.value
    for name in patient.name or []:
        givens = [g for g in (name.given or []) if g and g.strip()]
        if name.use in LEGAL_NAME_USES and not enquiry.family:
            enquiry.family = (name.family or "").strip()
            enquiry.given = givens[0].strip() if givens else ""
        elif name.use in PREFERRED_NAME_USES:
            enquiry.preferred += [g.strip() for g in givens]
    if patient.birthDate is not None:
        enquiry.dob = patient.birthDate.isoformat()
    enquiry.sex = FHIR_GENDER_TO_SEX.get(patient.gender or "", "")
    for address in patient.address or []:
        if address.postalCode and not enquiry.postcode:
            checked = check_postcode(address.postalCode)
            enquiry.postcode = checked.value if checked.ok else ""
        enquiry.uprn = enquiry.uprn or address_uprn(address)
    if not enquiry.nhs and not (enquiry.family and enquiry.given and enquiry.dob):
        raise Invalid(
            422,
            "required",
            "an enquiry needs an NHS number, or a family name, a given name and a birth date",
        )
    return enquiry


def address_uprn(address: Any) -> str:
    """The UPRN from UK Core's address key extension, where a sender gives one."""
    for ext in address.extension or []:
        if ext.url != ADDRESS_KEY_EXTENSION:
            continue
        parts = {e.url: e for e in ext.extension or []}
        kind, value = parts.get("type"), parts.get("value")
        code = kind.valueCoding.code if kind is not None and kind.valueCoding else None
        if code == "UPRN" and value is not None and value.valueString:
            return value.valueString.strip()
    return ""


# -- building answers --------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """A resource's FHIR JSON data, either validated by its ``fhir.resources`` model
    (:meth:`checked`: what comes from outside) or built by this module (:meth:`built`:
    shapes the tests validate, values held to their types as they are put in)."""

    model: type
    data: dict[str, Any]

    @classmethod
    def checked(cls, data: dict[str, Any]) -> Resource:
        """A resource validated as its model, each resource it contains as its own."""
        data = _clean(data)
        for inner in data.get("contained", ()):
            _model(inner).model_validate(inner)
        model = _model(data)
        model.model_validate({k: v for k, v in data.items() if k != "contained"})
        return cls(model, data)

    @classmethod
    def built(cls, data: dict[str, Any]) -> Resource:
        """A resource this module made (nulls and empty values dropped)."""
        return cls(_model(data), _clean(data))

    def json(self) -> bytes:
        return orjson.dumps(self.data)


def _model(data: dict[str, Any]) -> type:
    return get_fhir_model_class(data["resourceType"])


@functools.lru_cache(maxsize=256)
def _valid_once(model: type, text: bytes) -> Any:
    """Data that recurs unchanged as its model (raises as ``model_validate`` does; what
    passed is remembered, what failed is not)."""
    return model.model_validate(orjson.loads(text))


def _clean(value: Any) -> Any:
    """FHIR JSON holds no nulls, no empty strings and no empty arrays or objects."""
    if isinstance(value, dict):
        kept = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        kept = [_clean(v) for v in value]
        return [v for v in kept if v not in (None, "", [], {})]
    return value


# FHIR R4's own patterns for the primitive types an answer fills from the graph
_CODE = re.compile(r"[^\s]+( [^\s]+)*")
_DATE = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
    r"(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?"
)


def _code(value: object) -> str:
    text = str(value)
    if not _CODE.fullmatch(text):
        raise ValueError(f"{text!r} is not a FHIR code")
    return text


def _day(value: object) -> str | None:
    if isinstance(value, dt.date):
        return value.isoformat()
    if not value:
        return None
    if not _DATE.fullmatch(str(value)):
        raise ValueError(f"{value!r} is not a FHIR date")
    return str(value)


def organisation(settings: ApiSettings) -> Resource:
    """The contact for lawful follow-up, as the draft's example gives it."""
    telecom = [
        {"system": system, "value": value, "use": "work"}
        for system, value in (("phone", settings.phone), ("email", settings.email))
        if value
    ]
    address = (
        [{"line": [settings.address], "postalCode": settings.postcode or None, "country": "GB"}]
        if settings.address
        else None
    )
    return Resource.checked(  # the operator's settings: validated, once a process
        {
            "resourceType": "Organization",
            "name": settings.organisation,
            "telecom": telecom or None,
            "address": address,
        }
    )


def episode(row: dict[str, Any], settings: ApiSettings, enquiry: Enquiry) -> Resource:
    """One involvement: service, status, dates, and the lead professional's team and
    contact point (a contained PractitionerRole: role, team, email, phone; no name)."""
    lead = row.get("lead") or {}
    contained = []
    care_manager = None
    if lead.get("team") or lead.get("email") or lead.get("phone"):
        telecom = [
            {"system": system, "value": lead[key], "use": "work"}
            for system, key in (("email", "email"), ("phone", "phone"))
            if lead.get(key)
        ]
        contained.append(
            {
                "resourceType": "PractitionerRole",
                "id": "lead",
                "code": [{"text": lead["role"]}] if lead.get("role") else None,
                "organization": {"display": lead.get("team") or settings.organisation},
                "telecom": telecom or None,
            }
        )
        care_manager = {"reference": "#lead", "display": lead.get("team")}
    patient = (
        {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": enquiry.nhs}}
        if enquiry.nhs
        else {"display": "the person in the enquiry"}
    )
    return Resource.built(
        {
            "resourceType": "EpisodeOfCare",
            "contained": contained or None,
            "status": "finished" if row.get("status") == "closed" else "active",
            "type": [
                {
                    "coding": [
                        {
                            "system": SERVICE_SYSTEM,
                            "code": _code(row["service"]),
                            "display": row.get("service_name"),
                        },
                        {"system": CASE_KIND_SYSTEM, "code": _code(row["kind"])},
                    ]
                }
            ],
            "patient": patient,
            "managingOrganization": {
                "display": f"{settings.organisation}: {row.get('service_name') or row['service']}"
            },
            "period": {"start": _day(row.get("start")), "end": _day(row.get("end"))},
            "careManager": care_manager,
        }
    )


def answer(
    *,
    match: bool,
    grade: str,
    contact: Resource | None = None,
    involvements: list[Resource] = (),  # type: ignore[assignment]
    note: str | None = None,
) -> Resource:
    """The ``Parameters`` answer around its resources (the contact, an
    ``Organization``; each involvement, an ``EpisodeOfCare``)."""
    parameter: list[dict[str, Any]] = [
        {"name": PARAM_MATCH, "valueBoolean": match},
        {"name": PARAM_GRADE, "valueCoding": {"system": MATCH_GRADE_SYSTEM, "code": _code(grade)}},
    ]
    if contact is not None:
        parameter.append({"name": PARAM_CONTACT, "resource": contact.data})
    parameter += [{"name": PARAM_INVOLVEMENT, "resource": e.data} for e in involvements]
    if note:
        parameter.append({"name": PARAM_NOTE, "valueString": note})
    return Resource(Parameters, {"resourceType": "Parameters", "parameter": parameter})


def outcome(code: str, diagnostics: str, severity: str = "error") -> OperationOutcome:
    return OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
        }
    )


def dump(resource: Any) -> bytes:
    if isinstance(resource, Resource):
        return resource.json()
    return resource.model_dump_json(by_alias=True, exclude_none=True).encode()
