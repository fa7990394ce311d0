"""Asking a partner: the same operation, sent (``jigsaw ask`` and the app's page).

The credentials a partner issued to us are kept in ``partners.json`` in the API's
directory (0600), keyed by the partner's base URL. Every ask is audited with who asked,
of whom, why and what came back.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fhir.resources.R4B.episodeofcare import EpisodeOfCare
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.parameters import Parameters

from api.fhir import FHIR_JSON, dump
from api.standard import (
    NHS_NUMBER_SYSTEM,
    OPERATION_PATH,
    PARAM_CONTACT,
    PARAM_GRADE,
    PARAM_INVOLVEMENT,
    PARAM_MATCH,
    PARAM_NOTE,
    PARAM_PATIENT,
    PARAM_REASON,
    TOKEN_PATH,
)
from graph.access.audit import AuditLog
from graph.access.policy import Principal, allowed
from graph.exchange import ASKED
from loaders.identifiers import check_nhs_number


class AskError(RuntimeError):
    """The partner could not be asked, or refused; the message says why."""


@dataclass(frozen=True)
class Partner:
    url: str
    client_id: str
    client_secret: str = field(repr=False)


PARTNERS_FILE = "partners.json"


def partners_in(api_directory: Path) -> Partners:
    """The partners kept in the API's directory (:func:`api.settings.api_dir`)."""
    return Partners(Path(api_directory) / PARTNERS_FILE)


class Partners:
    """The credentials partners gave us, in one file readable only by this user."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _load(self) -> dict[str, Partner]:
        if not self.path.exists():
            return {}
        return {p["url"]: Partner(**p) for p in json.loads(self.path.read_text())}

    def add(self, url: str, client_id: str, client_secret: str) -> Partner:
        partners = self._load()
        partner = Partner(url.rstrip("/"), client_id, client_secret)
        partners[partner.url] = partner
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".partners")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump([p.__dict__ for p in partners.values()], fh, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
        return partner

    def get(self, url: str) -> Partner:
        partner = self._load().get(url.rstrip("/"))
        if partner is None:
            raise AskError(f"no credentials for {url}; add them with jigsaw api partners add {url}")
        return partner

    def list(self) -> list[Partner]:
        return list(self._load().values())


@dataclass
class Answer:
    """What the partner said, read from its Parameters."""

    match: bool
    grade: str
    contact: dict[str, Any] | None
    involvements: list[dict[str, Any]]
    note: str = ""
    raw: str = ""

    def lines(self) -> list[str]:
        """The answer in words, a line each (the command line and the app show these)."""
        out = [f"match: {'yes' if self.match else 'no'} ({self.grade})"]
        if self.note:
            out.append(self.note)
        if self.contact:
            out.append(f"contact: {self.contact['name']}  {'; '.join(self.contact['telecom'])}")
        out += [
            f"  {i['service']} ({i['kind']}) {i['status']} {i['start']}..{i['end'] or ''}"
            f"  team: {i['team']}  {i['contact']}"
            for i in self.involvements
        ]
        return out


def enquiry(
    reason: str,
    *,
    nhs_number: str = "",
    given: str = "",
    family: str = "",
    birth_date: str = "",
) -> Parameters:
    """The request, built and validated as a FHIR model."""
    patient: dict[str, Any] = {"resourceType": "Patient"}
    if nhs_number:
        checked = check_nhs_number(nhs_number)
        if not checked.ok:
            raise AskError(checked.reason)
        patient["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": checked.value}]
    if family or given:
        patient["name"] = [
            {"use": "official", "family": family or None, "given": [given] if given else None}
        ]
    if birth_date:
        patient["birthDate"] = birth_date
    return Parameters.model_validate(
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": PARAM_PATIENT, "resource": patient},
                {"name": PARAM_REASON, "valueUri": reason},
            ],
        }
    )


def ask(partner: Partner, request: Parameters, *, timeout: float = 10.0) -> Answer:
    """Send one enquiry: a token by client credentials, then the operation."""
    with httpx.Client(base_url=partner.url, timeout=timeout) as http:
        try:
            token = http.post(
                TOKEN_PATH,
                data={"grant_type": "client_credentials"},
                auth=(partner.client_id, partner.client_secret),
            )
            if token.status_code != 200:
                raise AskError(f"{partner.url} refused our credentials: {token.text[:200]}")
            reply = http.post(
                OPERATION_PATH,
                content=dump(request),
                headers={
                    "Authorization": f"Bearer {token.json()['access_token']}",
                    "Content-Type": FHIR_JSON,
                    "Accept": FHIR_JSON,
                },
            )
        except httpx.HTTPError as exc:
            raise AskError(f"{partner.url} could not be reached: {exc}") from None
    if reply.status_code != 200:
        raise AskError(f"{partner.url} answered {reply.status_code}: {_diagnostics(reply.text)}")
    return read_answer(reply.text)


def read_answer(text: str) -> Answer:
    params = Parameters.model_validate_json(text)
    found: dict[str, Any] = {"involvements": []}
    for p in params.parameter or []:
        if p.name == PARAM_MATCH:
            found["match"] = bool(p.valueBoolean)
        elif p.name == PARAM_GRADE and p.valueCoding is not None:
            found["grade"] = p.valueCoding.code
        elif p.name == PARAM_CONTACT and isinstance(p.resource, Organization):
            org = p.resource
            found["contact"] = {
                "name": org.name,
                "telecom": [f"{t.system}: {t.value}" for t in org.telecom or []],
            }
        elif p.name == PARAM_INVOLVEMENT and isinstance(p.resource, EpisodeOfCare):
            found["involvements"].append(_involvement(p.resource))
        elif p.name == PARAM_NOTE:
            found["note"] = p.valueString or ""
    return Answer(
        match=found.get("match", False),
        grade=found.get("grade", ""),
        contact=found.get("contact"),
        involvements=found["involvements"],
        note=found.get("note", ""),
        raw=text,
    )


def _involvement(episode: EpisodeOfCare) -> dict[str, Any]:
    codes = {c.system: c for t in episode.type or [] for c in t.coding or []}
    service = next((c for c in codes.values() if c.display), None)
    lead = next(iter(episode.contained or []), None)
    return {
        "service": service.display if service else "",
        "kind": ", ".join(c.code for c in codes.values() if c.code and not c.display),
        "status": episode.status,
        "start": str(episode.period.start) if episode.period and episode.period.start else "",
        "end": str(episode.period.end) if episode.period and episode.period.end else "",
        "team": episode.careManager.display if episode.careManager else "",
        "contact": ", ".join(t.value for t in getattr(lead, "telecom", None) or [] if t.value),
    }


def _diagnostics(text: str) -> str:
    try:
        return "; ".join(
            i.diagnostics or i.code for i in OperationOutcome.model_validate_json(text).issue
        )
    except ValueError:
        return text[:200]


def ask_as(
    principal: Principal | None,
    audit: AuditLog,
    partner: Partner,
    request: Parameters,
    *,
    child: str | None = None,
) -> Answer:
    """Ask as a signed-in user: only roles that may search children may ask, and the
    ask is audited (with our child's uid when asked from their record)."""
    if principal is None or not allowed(principal, "search"):
        raise PermissionError("your role may not ask partners about children")
    reason = next(p.valueUri for p in request.parameter or [] if p.name == PARAM_REASON)
    asked = {
        "user": principal.username,
        "role": principal.role,
        "action": ASKED,
        "children": [child] if child else [],
        "reason": reason,
    }
    try:
        answer = ask(partner, request)
    except AskError as exc:
        audit.record(**asked, detail={"partner": partner.url, "error": str(exc)[:300]})
        raise
    audit.record(
        **asked,
        detail={
            "partner": partner.url,
            "match": answer.match,
            "grade": answer.grade,
            "involvements": len(answer.involvements),
        },
    )
    return answer
