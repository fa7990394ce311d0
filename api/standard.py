"""What the draft standards fix, declared once: names, systems, reasons, levels.

From the DfE's draft Data Exchange Standard (``SocialCareData/data-exchange-standard``,
v0.3) and Person Standard (``SocialCareData/person-standard``, v0.3). Where the drafts
leave something open, the choice made here is marked "ours" and documented in
``docs/api.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# -- the operation (fixed by the draft) -------------------------------------------------
OPERATION = "$person-info-query"
OPERATION_PATH = "/fhir/Patient/$person-info-query"
NOTIFICATION_PATH = "/fhir/Communication"  # ours: the draft names no inbound operation
TOKEN_PATH = "/oauth/token"
PARAM_PATIENT = "resource"  # the draft's name for the Patient parameter
PARAM_REASON = "reason"  # a valueUri
PARAM_MATCH = "match"  # valueBoolean
PARAM_CONTACT = "contact"  # an Organization
PARAM_INVOLVEMENT = "involvement"  # ours: one EpisodeOfCare each (the draft: "to be developed")
PARAM_GRADE = "matchGrade"  # ours, from FHIR $match's match-grade codes
PARAM_NOTE = "note"  # ours: a sentence for the person reading the answer

# -- the person (Person Standard) -------------------------------------------------------
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
LEGAL_NAME_USES = (None, "official")  # FHIR NameUse: the registered name
PREFERRED_NAME_USES = ("usual", "nickname")  # the standard's "preferred names"
# UK Core's address key extension carries the UPRN (the Person Standard names no FHIR path)
ADDRESS_KEY_EXTENSION = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AddressKey"
FHIR_GENDER_TO_SEX = {"female": "F", "male": "M"}  # other, unknown: not compared

# -- ours: code systems for what we send and accept ---------------------------------------
SERVICE_SYSTEM = "urn:jigsaw:service"  # social-care, send, early-help, ...
CASE_KIND_SYSTEM = "urn:jigsaw:case-kind"  # CIN, CP, CLA, EHCP, EH, YJ, HV, ...
NOTIFICATION_SYSTEM = "urn:jigsaw:notification"
MATCH_GRADE_SYSTEM = "http://terminology.hl7.org/CodeSystem/match-grade"


@dataclass(frozen=True)
class Reason:
    """A lawful reason to ask, as a URI the agreed list holds."""

    uri: str
    title: str


# The agreed list: a request names one of these; an agreement allows some of them.
REASONS: tuple[Reason, ...] = (
    Reason(
        "https://www.legislation.gov.uk/ukpga/1989/41/section/47",
        "Children Act 1989 s.47: enquiry into significant harm",
    ),
    Reason(
        "https://www.legislation.gov.uk/ukpga/1989/41/section/17",
        "Children Act 1989 s.17: assessing a child in need",
    ),
    Reason(
        "https://www.legislation.gov.uk/ukpga/2004/31/section/11",
        "Children Act 2004 s.11: duty to safeguard and promote welfare",
    ),
    Reason(
        "https://www.gov.uk/government/publications/working-together-to-safeguard-children--2",
        "Working Together to Safeguard Children (2023): multi-agency information sharing",
    ),
)
REASON_BY_URI = {r.uri: r for r in REASONS}

Level = Literal["existence", "contact", "involvements"]
# What each level of an agreement returns; each includes the one before.
LEVELS: dict[str, str] = {
    "existence": "whether the child is known (match yes or no)",
    "contact": "and, when known, who to contact",
    "involvements": "and the child's service involvements (service, status, dates, team)",
}


def level_at_least(level: str, wanted: str) -> bool:
    order = list(LEVELS)
    return order.index(level) >= order.index(wanted)


# Inbound notifications (ours): what a partner may tell us.
NOTIFICATION_KINDS = {
    "involvement-opened": "an involvement with the child began",
    "involvement-closed": "an involvement with the child ended",
    "address-changed": "the child moved to a new address",
}
