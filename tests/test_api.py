"""The exchange API in process (FastAPI's test client) over the loaded small county:
each level of detail against the county's truth, refusals outside an agreement, the
bad-input table, rate limits, revocation, client certificates, and the audit trail."""

from __future__ import annotations

import asyncio
import gc
import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.parameters import Parameters

from api.app import create_app
from api.runtime import Runtime, build_runtime
from api.settings import ApiSettings, model_path
from graph import load_settings
from graph.access.audit import AuditLog
from tests.api_helpers import (
    CERT_HEADER,
    NHS_SYSTEM,
    OPERATION,
    S17,
    S47,
    TEST_CERT,
    Truth,
    by_nhs,
    enquiry,
    involvement_kinds,
    params,
    token,
)


@pytest.fixture(scope="module")
def runtime(loaded_county, engine_dir: Path, tmp_path_factory) -> Runtime:
    data = tmp_path_factory.mktemp("api_data")
    settings = load_settings(data_dir=data)
    model = model_path(settings)
    model.parent.mkdir(parents=True)
    shutil.copy(engine_dir / "loads" / model.name, model)
    api = ApiSettings(
        organisation="Northmere Children's Services",
        phone="01632 960000",
        client_cert_header=CERT_HEADER,
    )
    return build_runtime(settings, api, store=loaded_county.store)


@pytest.fixture(scope="module")
def http(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime, start_inbox=False))


@pytest.fixture(scope="module")
def truth(loaded_county) -> Truth:
    return Truth(loaded_county.root)


def ask(http: TestClient, headers: dict[str, str], body: object) -> tuple[int, dict]:
    reply = http.post(OPERATION, content=json.dumps(body), headers=headers)
    return reply.status_code, reply.json()


def audit(runtime: Runtime) -> AuditLog:
    return runtime.exchange.audit


@pytest.mark.parametrize("level", ["existence", "contact", "involvements"])
def test_each_level_answers_what_its_agreement_allows(http, runtime, truth, level):
    client = runtime.clients.add("Southshire Police", [S47], level)
    headers = token(http, client)
    for child in truth.known_children[:8]:
        status, answer = ask(http, headers, by_nhs(child["nhs_number"]))
        assert status == 200, answer
        got = params(answer)
        assert got["match"][0]["valueBoolean"] is True
        assert bool(got["contact"]) == (level != "existence")
        if got["contact"]:
            assert got["contact"][0]["resource"]["name"] == "Northmere Children's Services"
        if level == "involvements":
            assert involvement_kinds(answer) == truth.kinds[child["person_id"]]
        else:
            assert not got["involvement"]
        # the answer is written as fhir.resources itself writes it
        model = Parameters.model_validate(answer)
        assert json.loads(model.model_dump_json(by_alias=True, exclude_none=True)) == answer
    entries = [e for e in audit(runtime).entries() if e["user"] == client.client.client_id]
    assert len(entries) == 8
    assert all(e["action"] == "partner_enquiry" and e["reason"] == S47 for e in entries)
    assert all(len(e["children"]) == 1 and e["detail"]["outcome"] == "match" for e in entries)


def test_a_child_nobody_knows_is_no_match_and_nothing_else(http, runtime, truth):
    client = runtime.clients.add("Southshire Health", [S47], "involvements")
    status, answer = ask(http, token(http, client), by_nhs(truth.unknown_nhs_number()))
    assert status == 200
    got = params(answer)
    assert got["match"][0]["valueBoolean"] is False
    assert got["matchGrade"][0]["valueCoding"]["code"] == "certainly-not"
    assert not got["contact"] and not got["involvement"]


def test_matching_by_name_and_birth_date_with_a_preferred_name(http, runtime, truth):
    client = runtime.clients.add("Southshire School", [S47], "contact")
    headers = token(http, client)
    child = truth.known_children[3]
    names = [
        {"use": "official", "family": child["surname"], "given": ["Xanthippe"]},
        {"use": "usual", "given": [child["given_name"]]},
    ]
    status, answer = ask(http, headers, enquiry(name=names, birthDate=child["dob"]))
    assert status == 200
    assert params(answer)["match"][0]["valueBoolean"] is True
    [entry] = [e for e in audit(runtime).entries() if e["user"] == client.client.client_id]
    assert entry["detail"]["rule"] in ("name_and_birth_date", "probabilistic")


def test_a_near_miss_is_referred_and_reveals_nothing(http, runtime, truth):
    """The family name and birth date of a known child with another given name: some
    score between the thresholds, and get "no automatic match, refer to the contact",
    with nothing about the person (no name, date, involvement) in the answer."""
    client = runtime.clients.add("Southshire GP", [S47], "involvements")
    headers = token(http, client)
    seen = []
    for child in truth.known_children[:40]:
        body = enquiry(
            name=[{"family": child["surname"], "given": ["Zebedee"]}],
            birthDate=child["dob"],
        )
        status, answer = ask(http, headers, body)
        assert status == 200
        got = params(answer)
        grade = got["matchGrade"][0]["valueCoding"]["code"]
        seen.append(grade)
        text = json.dumps(answer)
        if grade == "possible":
            assert got["match"][0]["valueBoolean"] is False
            assert not got["involvement"]
            assert got["contact"] and got["note"]
            assert child["dob"] not in text and child["given_name"] not in text
    assert "possible" in seen


def test_a_reason_outside_the_agreement_is_refused_and_audited(http, runtime, truth):
    client = runtime.clients.add("Southshire Housing", [S17], "involvements")
    status, answer = ask(http, token(http, client), by_nhs(truth.known_children[0]["nhs_number"]))
    assert status == 403
    assert answer["resourceType"] == "OperationOutcome"
    assert "does not cover the reason" in answer["issue"][0]["diagnostics"]
    [entry] = [e for e in audit(runtime).entries() if e["user"] == client.client.client_id]
    assert entry["action"] == "partner_enquiry_refused" and entry["children"] == []
    assert entry["detail"]["status"] == 403


BAD_INPUT = {
    "malformed JSON": (b'{"resourceType": "Parameters", ', 400, "not valid JSON"),
    "not Parameters": (
        json.dumps({"resourceType": "Patient"}).encode(),
        400,
        "expected a Parameters",
    ),
    "NHS number fails its check": (json.dumps(by_nhs("9434765918")).encode(), 422, "modulus 11"),
    "missing reason": (json.dumps(by_nhs("9434765919", reason=None)).encode(), 422, "reason"),
    "unknown reason": (
        json.dumps(by_nhs("9434765919", reason="https://example.org/because")).encode(),
        422,
        "not on the agreed list",
    ),
    "unknown field": (
        json.dumps({**by_nhs("9434765919"), "colour": "blue"}).encode(),
        400,
        "Extra inputs",
    ),
    "unknown field in the Patient": (
        json.dumps(
            enquiry(identifier=[{"system": NHS_SYSTEM, "value": "9434765919"}], shoe=9)
        ).encode(),
        400,
        "Extra inputs",
    ),
    "unknown parameter": (
        json.dumps(
            {"resourceType": "Parameters", "parameter": [{"name": "colour", "valueString": "x"}]}
        ).encode(),
        400,
        "unknown parameter",
    ),
    "too little to identify": (
        json.dumps(enquiry(name=[{"family": "Smith"}])).encode(),
        422,
        "needs an NHS number",
    ),
    "10 MB body": (
        b'{"resourceType": "Parameters", "id": "' + b"x" * 10_000_000 + b'"}',
        413,
        "over the limit",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT), ids=list(BAD_INPUT))
def test_bad_input_is_a_4xx_outcome_matches_nothing_and_is_audited(http, runtime, case):
    body, status, says = BAD_INPUT[case]
    client = runtime.clients.add(f"Bad input {case}", [S47], "involvements")
    reply = http.post(OPERATION, content=body, headers=token(http, client))
    assert reply.status_code == status
    outcome = reply.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert says in outcome["issue"][0]["diagnostics"]
    entries = [e for e in audit(runtime).entries() if e["user"] == client.client.client_id]
    assert [e["action"] for e in entries] == ["partner_enquiry_refused"]
    assert entries[0]["children"] == [] and entries[0]["detail"]["status"] == status


def test_no_token_wrong_type_and_revoked_clients_are_refused(http, runtime, truth):
    body = json.dumps(by_nhs(truth.known_children[0]["nhs_number"]))
    reply = http.post(OPERATION, content=body, headers={"Content-Type": "application/fhir+json"})
    assert reply.status_code == 401 and reply.json()["resourceType"] == "OperationOutcome"
    client = runtime.clients.add("Southshire Council Tax", [S47], "existence")
    headers = token(http, client)
    reply = http.post(OPERATION, content=body, headers={**headers, "Content-Type": "text/plain"})
    assert reply.status_code == 415
    runtime.clients.revoke(client.client.client_id)
    reply = http.post(OPERATION, content=body, headers=headers)
    assert reply.status_code == 401
    wrong = http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client.client.client_id,
            "client_secret": "guess",
        },
    )
    assert wrong.status_code == 401


def test_over_the_rate_limit_is_429_and_audited(http, runtime, truth):
    client = runtime.clients.add("Southshire Busy", [S47], "existence", rate="3/minute")
    headers = token(http, client)
    body = json.dumps(by_nhs(truth.known_children[0]["nhs_number"]))
    codes = [http.post(OPERATION, content=body, headers=headers).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    refused = [
        e
        for e in audit(runtime).entries()
        if e["user"] == client.client.client_id and e["action"] == "partner_enquiry_refused"
    ]
    assert len(refused) == 2


def test_every_partner_route_refuses_a_request_without_a_token(http, runtime):
    """Each route the OpenAPI description files under ``exchange`` (a partner's: the
    enquiry, notifications and any added later) answers 401 without a token, or with a
    revoked client's, and the refusal is audited: the one check holds for routes wired
    as a dependency and for those that call it themselves."""
    spec = http.get("/openapi.json").json()
    routes = [
        (path, method)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "exchange" in operation.get("tags", [])
    ]
    assert len(routes) >= 2
    client = runtime.clients.add("Southshire Revoked", [S47], "existence")
    revoked = token(http, client)
    runtime.clients.revoke(client.client.client_id)
    before = sum(1 for e in audit(runtime).entries() if e["action"] == "partner_enquiry_refused")
    for path, method in routes:
        for headers in ({}, revoked):
            reply = http.request(
                method,
                path,
                content="{}",
                headers={**headers, "Content-Type": "application/fhir+json"},
            )
            assert reply.status_code == 401, (path, method, headers)
            assert reply.json()["resourceType"] == "OperationOutcome"
    after = sum(1 for e in audit(runtime).entries() if e["action"] == "partner_enquiry_refused")
    assert after - before == 2 * len(routes)


def test_a_token_bound_to_a_certificate_needs_that_certificate(http, runtime, truth):
    import hashlib
    import ssl
    from urllib.parse import quote

    fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(TEST_CERT)).hexdigest()
    client = runtime.clients.add("Southshire MASH", [S47], "existence", cert_sha256=fingerprint)
    cert = quote(TEST_CERT)
    headers = token(http, client, cert=cert)
    body = json.dumps(by_nhs(truth.known_children[0]["nhs_number"]))
    assert http.post(OPERATION, content=body, headers=headers).status_code == 200
    without = {k: v for k, v in headers.items() if k != CERT_HEADER}
    assert http.post(OPERATION, content=body, headers=without).status_code == 401
    # no secret needed where the proxy vouches for the certificate (tls_client_auth)
    reply = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client.client.client_id},
        headers={CERT_HEADER: cert},
    )
    assert reply.status_code == 200


def test_who_asked_about_this_child(http, runtime, truth):
    from graph.access import guard
    from graph.access.policy import Principal

    client = runtime.clients.add("Southshire Ambulance", [S47], "existence")
    child = truth.known_children[5]
    status, _ = ask(http, token(http, client), by_nhs(child["nhs_number"]))
    assert status == 200
    [entry] = [e for e in audit(runtime).entries() if e["user"] == client.client.client_id]
    uid = entry["children"][0]
    worker = Principal("sw", "social_worker", (), None)
    asked = guard.partner_enquiries(worker, audit(runtime), uid)
    assert any(a["organisation"] == "Southshire Ambulance" and a["reason"] == S47 for a in asked)
    assert all(uid in e["children"] for e in audit(runtime).about_child(uid))


def test_the_app_factory_leaves_the_collector_as_it_found_it(runtime):
    """Freezing start-up's objects is the server's entry point's to do (``jigsaw api``),
    not the factory's or its lifespan's: an app made and started and stopped in a
    process leaves the collector's state as it was."""
    state = gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()
    app = create_app(runtime, start_inbox=False)
    assert (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()) == state
    with TestClient(app) as client:  # runs the lifespan
        assert client.get("/health").status_code == 200
        assert (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()) == state
    assert (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()) == state


def test_the_openapi_description_names_the_operation(http):
    spec = http.get("/openapi.json").json()
    assert OPERATION in spec["paths"] and "/fhir/Communication" in spec["paths"]
    assert "oauth2" in json.dumps(spec["components"]["securitySchemes"]).lower()


def test_every_api_setting_is_documented():
    text = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    for name in ApiSettings.model_fields:
        assert f"JIGSAW_API_{name.upper()}" in text, name


def test_every_answer_the_api_builds_is_what_the_fhir_models_accept(runtime, loaded_county):
    """Answers are built without validating them again each time: every shape they take
    is validated here by the whole ``Parameters`` model (every involvement of every
    person in the loaded county, each grade, with and without the contact and the note),
    and the model writes back exactly what was built."""
    from api import fhir
    from graph import exchange
    from graph.engines.async_reads import async_reads

    store = loaded_county.store
    reads = async_reads(store)
    with_cases = "MATCH (p:Person)-[:HAS_CASE]->(:Case) RETURN DISTINCT p.uid AS uid ORDER BY uid"
    uids = [r["uid"] for r in store.read(with_cases).rows]
    assert len(uids) > 100
    settings, contact = runtime.exchange.settings, runtime.exchange.contact
    shapes = set()
    for i, uid in enumerate(uids):
        asked = fhir.Enquiry(reason=S47, nhs="9434765919" if i % 2 else "")
        rows = asyncio.run(exchange.involvements(reads, uid))
        episodes = [fhir.episode(r, settings, asked) for r in rows]
        grade = ("certain", "probable")[i % 2]
        answer = fhir.answer(match=True, grade=grade, contact=contact, involvements=episodes)
        whole = Parameters.model_validate(json.loads(answer.json()))
        assert json.loads(whole.model_dump_json(by_alias=True, exclude_none=True)) == answer.data
        shapes |= {json.dumps(sorted(_keys(e.data))) for e in episodes}
    assert len(shapes) > 1  # leads with and without a team, email or phone; open and closed
    for grade in ("possible", "certainly-not"):
        for kept in (None, contact):
            note = "refer to the contact" if grade == "possible" else None
            answer = fhir.answer(match=False, grade=grade, contact=kept, note=note)
            Parameters.model_validate(json.loads(answer.json()))


def test_involvements_read_with_the_match_are_those_read_alone(loaded_county):
    """By NHS number an answer's involvements come in the same read as the match: the
    same rows, in the same order, as reading them on their own; none are read when the
    agreement does not allow them."""
    from graph import exchange
    from graph.engines.async_reads import async_reads

    store = loaded_county.store
    reads = async_reads(store)
    people = store.read(
        "MATCH (p:Person)-[:HAS_CASE]->(:Case) WHERE p.nhs_number IS NOT NULL "
        "RETURN DISTINCT p.uid AS uid, p.nhs_number AS nhs ORDER BY uid LIMIT 150"
    ).rows
    assert len(people) == 150

    async def check() -> None:
        for person in people:
            alone = await exchange.involvements(reads, person["uid"])
            assert alone
            [found] = await exchange.by_nhs_number(reads, person["nhs"], involvements=True)
            assert found["cases_read"] and found["cases"] == alone
            [found] = await exchange.by_nhs_number(reads, person["nhs"])
            assert not found["cases_read"] and found["cases"] == []

    asyncio.run(check())


def _keys(value: object, at: str = "") -> set[str]:
    if isinstance(value, dict):
        return {k for key, v in value.items() for k in {f"{at}.{key}", *_keys(v, f"{at}.{key}")}}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v, at)}
    return set()


def test_a_value_an_answer_cannot_hold_fails_it_instead_of_being_sent():
    """What the graph gives an answer is held to the FHIR type it fills: a date that is
    not a date, a code with spaces at its end or none at all; what comes from outside (the
    contact from the settings, and what a resource contains) is validated by its model."""
    from pydantic import ValidationError

    from api import fhir

    settings = ApiSettings(organisation="Northmere Children's Services", phone="01632 960000")
    asked = fhir.Enquiry(reason=S47, nhs="9434765919")
    lead = {"team": "Team A", "email": "a@b.uk", "role": "SW", "phone": ""}
    row = {
        "service": "csc",
        "service_name": "Social care",
        "kind": "cin",
        "status": "open",
        "start": "2024-01-02",
        "lead": lead,
    }
    built = fhir.episode(row, settings, asked)
    assert "end" not in built.data["period"]  # nothing empty is written
    assert [t["system"] for t in built.data["contained"][0]["telecom"]] == ["email"]
    for fault in ({"start": "2nd January 2024"}, {"kind": "cin "}, {"service": ""}):
        with pytest.raises(ValueError, match="not a FHIR"):
            fhir.episode({**row, **fault}, settings, asked)
    with pytest.raises(ValueError, match="not a FHIR"):
        fhir.answer(match=True, grade="not  a code")
    with pytest.raises(ValidationError):  # a contained resource is validated too
        bad = {"resourceType": "PractitionerRole", "x": 1}
        fhir.Resource.checked(
            {
                "resourceType": "EpisodeOfCare",
                "status": "active",
                "patient": {"display": "x"},
                "contained": [bad],
            }
        )


def test_while_the_engine_rebuilds_its_indexes_enquiries_are_told_to_ask_again(
    store, engine_dir, tmp_path
):
    """After an engine start FalkorDB rebuilds its indexes, and a search meanwhile can
    miss someone who is there: the API answers 503 (audited) and /health says so, until
    they are built. (An index built on 300,000 people stands for the rebuild.)"""
    from tests.conftest import embedded_store

    store.write("UNWIND range(1, 300000) AS i CREATE (:Person {uid: 'R-' + toString(i), k: i})")
    api_store = embedded_store(engine_dir, store.graph_name)  # as a process starting now
    try:
        runtime = build_runtime(load_settings(data_dir=tmp_path), ApiSettings(), store=api_store)
        http = TestClient(create_app(runtime, start_inbox=False))
        client = runtime.clients.add("Southshire Police", [S47], "involvements")
        headers = token(http, client)
        store.write("CREATE INDEX FOR (p:Person) ON (p.k)")
        health = http.get("/health").json()
        reply = http.post(OPERATION, content=json.dumps(by_nhs("9434765919")), headers=headers)
        assert health["ok"] is True and health["indexes_ready"] is False
        assert reply.status_code == 503 and reply.headers["retry-after"]
        assert "rebuilding its indexes" in reply.json()["issue"][0]["diagnostics"]
        [entry] = [e for e in audit(runtime).entries() if e["user"] == client.client.client_id]
        assert entry["action"] == "partner_enquiry_refused" and entry["detail"]["status"] == 503
        api_store.await_indexes(120)
        assert http.get("/health").json()["indexes_ready"] is True
        reply = http.post(OPERATION, content=json.dumps(by_nhs("9434765919")), headers=headers)
        assert reply.status_code == 200
    finally:
        api_store.close()
