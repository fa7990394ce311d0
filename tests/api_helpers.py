"""Shared pieces of the exchange API tests: requests built the way a partner would, and
expected answers read from a synthetic county's ground truth (never through the code
under test)."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
S47 = "https://www.legislation.gov.uk/ukpga/1989/41/section/47"
S17 = "https://www.legislation.gov.uk/ukpga/1989/41/section/17"
OPERATION = "/fhir/Patient/$person-info-query"
CERT_HEADER = "X-Client-Cert"  # the header a client certificate comes in, behind the proxy

# A self-signed test certificate (public test data, no key kept), for client certificates.
TEST_CERT = """-----BEGIN CERTIFICATE-----
MIIBhDCCASmgAwIBAgIUc25zxLbF4PHEF9Lv5MFJMHCg4H8wCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMdGVzdC1wYXJ0bmVyMB4XDTI2MTIwMjE3NDUwMloXDTM2MTEy
OTE3NDUwMlowFzEVMBMGA1UEAwwMdGVzdC1wYXJ0bmVyMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEiSPOgn25+ex8SEbcE0YQ8NmngHUpDfwVG4BjrSg2qmLvMMYU
gLflCFiz3A2T2nDgC6buFgf/0jALMT9H3KFnVKNTMFEwHQYDVR0OBBYEFCki41Q3
iy6pYEue2KYgrwXxjaN2MB8GA1UdIwQYMBaAFCki41Q3iy6pYEue2KYgrwXxjaN2
MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhALB8LLUBhzhI8cRF
n+JZenRqNiBLhJeOmcmXeJlgHrw2AiEAkudBY0btiVgroPaNtAv/QF+u1p8oaLo1
NEExQcFXZtU=
-----END CERTIFICATE-----
"""


def enquiry(reason: str | None = S47, **patient: Any) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": "resource", "resource": {"resourceType": "Patient", **patient}}
    ]
    if reason is not None:
        params.append({"name": "reason", "valueUri": reason})
    return {"resourceType": "Parameters", "parameter": params}


def by_nhs(nhs: str, reason: str | None = S47) -> dict[str, Any]:
    return enquiry(reason, identifier=[{"system": NHS_SYSTEM, "value": nhs}])


def params(answer: dict[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for p in answer["parameter"]:
        out[p["name"]].append(p)
    return out


def involvement_kinds(answer: dict[str, Any]) -> set[tuple[str, str]]:
    kinds = set()
    for p in params(answer)["involvement"]:
        episode = p["resource"]
        code = next(
            c["code"] for c in episode["type"][0]["coding"] if c["system"].endswith("case-kind")
        )
        kinds.add((code, "closed" if episode["status"] == "finished" else "open"))
    return kinds


class Truth:
    """A county's truth: children, the NHS numbers its extracts carry, their cases."""

    def __init__(self, root: Path) -> None:
        t = root / "truth"
        self.people = {p["person_id"]: p for p in _rows(t / "people.csv")}
        self.kinds: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for c in _rows(t / "cases.csv"):
            self.kinds[c["person_id"]].add((c["kind"], c["status"]))
        for x in _rows(t / "transport.csv"):
            self.kinds[x["person_id"]].add(("Transport", "closed" if x["end"] else "open"))
        # NHS numbers as the social care extract holds them (a mistyped one is not the child's)
        held = {r["NHS_NUMBER"] for r in _rows(root / "social_care" / "persons.csv")}
        self.known_children = [
            p
            for p in self.people.values()
            if p["is_child"] == "1" and p["nhs_number"] and p["nhs_number"] in held
        ]

    def unknown_nhs_number(self) -> str:
        """A valid NHS number nobody in the county has (modulus 11, computed here)."""
        taken = {p["nhs_number"] for p in self.people.values()}
        for body in range(900_000_000, 900_100_000):
            digits = f"{body:09d}"
            check = 11 - sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
            check = 0 if check == 11 else check
            if check != 10 and digits + str(check) not in taken:
                return digits + str(check)
        raise AssertionError("no free NHS number")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def token(http: Any, registered: Any, cert: str | None = None) -> dict[str, str]:
    """The headers of an ask by ``registered`` (a client and its secret): its bearer
    token, FHIR's content type and, given ``cert``, its client certificate."""
    headers = {CERT_HEADER: cert} if cert else {}
    reply = http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": registered.client.client_id,
            "client_secret": registered.secret,
        },
        headers=headers,
    )
    assert reply.status_code == 200, reply.text
    return {
        "Authorization": f"Bearer {reply.json()['access_token']}",
        "Content-Type": "application/fhir+json",
        **headers,
    }
