"""Two Jigsaw instances on this machine, each with its own synthetic county (different
seeds) in its own embedded graph, each serving the API on real uvicorn servers, asking
each other about their children at each level of detail, refused outside their
agreements, with every exchange in both audit trails. Expected answers come from the
counties' truth. Each level's request and answer, and a refusal, are kept in
artifacts/exchange/ (docs/api.md shows them)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.client import AskError, Partner, ask, enquiry
from api.fhir import dump
from graph.access.audit import AuditLog
from graph.engines.falkordb_start import stop as stop_engine
from tests.api_helpers import S17, S47, Truth, involvement_kinds

JIGSAW = [sys.executable, "-c", "from ui.cli import main; main()"]
AS_OF = "2026-11-02"
PASSWORD = "a-long-test-password"
EXAMPLES = Path(__file__).resolve().parent.parent / "artifacts" / "exchange"


def _keep(name: str, request: str, status: int, answer: str) -> None:
    """One exchange as it went, for the docs."""
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    exchange = {"request": json.loads(request), "status": status, "answer": json.loads(answer)}
    (EXAMPLES / f"{name}.json").write_text(json.dumps(exchange, indent=1), encoding="utf-8")


class Instance:
    def __init__(self, root: Path, name: str, seed: int) -> None:
        self.county = root / f"county_{name}"
        self.data = root / f"data_{name}"
        self.env = {
            **os.environ,
            "JIGSAW_DATA_DIR": str(self.data),
            "JIGSAW_API_ORGANISATION": f"{name} Children's Services",
            "JIGSAW_API_INBOX_DELAY_S": "0",
            "JIGSAW_PASSWORD": PASSWORD,
        }
        import datetime as dt

        from synthetic.generate import generate

        generate(300, seed, self.county, as_of=dt.date.fromisoformat(AS_OF))
        self.jigsaw("db", "init")
        self.jigsaw("load", str(self.county), "--as-of", AS_OF)
        self.truth = Truth(self.county)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = subprocess.Popen([*JIGSAW, "api", "--port", str(self.port)], env=self.env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise AssertionError(f"the {name} API did not start")

    def jigsaw(self, *args: str) -> str:
        done = subprocess.run(
            [*JIGSAW, *args], env=self.env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"jigsaw {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def register(self, partner: str, level: str, *reasons: str, notify: bool = False) -> dict:
        args = ["api", "clients", "add", partner, "--level", level]
        for r in reasons:
            args += ["--reason", r]
        return json.loads(self.jigsaw(*args, *(["--notify"] if notify else [])).splitlines()[0])

    def audit(self) -> list[dict]:
        return list(AuditLog(self.data / "audit" / "audit.jsonl").entries())

    def stop(self) -> None:
        """The API server, then the embedded engine its commands started (it outlives
        them: falkordblite keeps a server running for the next client)."""
        self.server.terminate()
        self.server.wait(timeout=60)
        stop_engine(self.data / "graph")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("exchange")
    north = Instance(root, "Northmere", 21)
    try:
        south = Instance(root, "Southshire", 22)
    except BaseException:
        north.stop()
        raise
    try:
        yield north, south
    finally:
        north.stop()
        south.stop()


@pytest.mark.slow  # two counties generated, loaded and served: about a minute
@pytest.mark.parametrize("level", ["existence", "contact", "involvements"])
def test_each_instance_asks_the_other_at_each_level(pair, level):
    for asker, answerer in (pair, pair[::-1]):
        creds = answerer.register(f"{asker.url} partner", level, S47)
        partner = Partner(answerer.url, creds["client_id"], creds["client_secret"])
        child = answerer.truth.known_children[0]
        request = enquiry(S47, nhs_number=child["nhs_number"])
        answer = ask(partner, request)
        _keep(f"{level}-{answerer.county.name}", dump(request), 200, answer.raw)
        assert answer.match and answer.grade == "certain"
        assert (answer.contact is not None) == (level != "existence")
        if answer.contact:
            assert answer.contact["name"] == answerer.env["JIGSAW_API_ORGANISATION"]
        if level == "involvements":
            got = involvement_kinds(json.loads(answer.raw))
            assert got == answerer.truth.kinds[child["person_id"]]
        else:
            assert answer.involvements == []
        # a child of the asker's county is not in the answerer's
        stranger = asker.truth.known_children[0]
        if stranger["nhs_number"] not in {p["nhs_number"] for p in answerer.truth.people.values()}:
            other = ask(partner, enquiry(S47, nhs_number=stranger["nhs_number"]))
            assert not other.match and other.contact is None and other.involvements == []
        entries = [e for e in answerer.audit() if e["user"] == creds["client_id"]]
        assert entries and all(e["action"] == "partner_enquiry" for e in entries)
        assert entries[0]["detail"]["level"] == level and entries[0]["reason"] == S47


@pytest.mark.slow
def test_outside_the_agreement_is_refused_and_audited_on_the_answering_side(pair):
    _, south = pair
    creds = south.register("Northmere housing", "involvements", S17)
    partner = Partner(south.url, creds["client_id"], creds["client_secret"])
    child = south.truth.known_children[1]
    request = enquiry(S47, nhs_number=child["nhs_number"])
    with pytest.raises(AskError, match="403"):
        ask(partner, request)
    # the refusal as sent: an OperationOutcome naming the reasons the agreement covers
    token = httpx.post(
        f"{south.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    ).json()
    refused = httpx.post(
        f"{south.url}/fhir/Patient/$person-info-query",
        content=dump(request),
        headers={
            "Authorization": f"Bearer {token['access_token']}",
            "Content-Type": "application/fhir+json",
        },
    )
    outcome = refused.json()
    assert refused.status_code == 403 and outcome["resourceType"] == "OperationOutcome"
    assert S17 in outcome["issue"][0]["diagnostics"] and outcome["issue"][0]["code"] == "forbidden"
    _keep("refused", dump(request), refused.status_code, refused.text)
    entries = [e for e in south.audit() if e["user"] == creds["client_id"]]
    assert [e["action"] for e in entries] == ["partner_enquiry_refused"] * 2
    assert all(e["children"] == [] for e in entries)
    south.jigsaw("api", "clients", "revoke", creds["client_id"])
    with pytest.raises(AskError, match="refused our credentials"):
        ask(partner, enquiry(S17, nhs_number=child["nhs_number"]))


@pytest.mark.slow
def test_jigsaw_ask_from_the_command_line_is_audited_on_both_sides(pair):
    north, south = pair
    creds = south.register("Northmere social care", "involvements", S47)
    north.jigsaw("users", "add", "asker", "--role", "social_worker", "--password", PASSWORD)
    north.jigsaw(
        "api",
        "partners",
        "add",
        south.url,
        "--client-id",
        creds["client_id"],
        "--client-secret",
        creds["client_secret"],
    )
    child = south.truth.known_children[2]
    out = north.jigsaw(
        "ask",
        "--partner",
        south.url,
        "--nhs-number",
        child["nhs_number"],
        "--reason",
        S47,
        "--as",
        "asker",
    )
    assert "match: yes" in out and "contact: Southshire" in out
    asked = [e for e in north.audit() if e["action"] == "ask_partner"]
    assert asked and asked[-1]["user"] == "asker" and asked[-1]["detail"]["match"] is True
    answered = [e for e in south.audit() if e["user"] == creds["client_id"]]
    assert [e["detail"]["outcome"] for e in answered] == ["match"]
    # the child asked about carries the enquiry on the answering side
    uid = answered[0]["children"][0]
    assert answered[0]["role"] == "partner: Northmere social care" and uid
