"""The app's "Ask a partner" page against a real partner: the exchange API served by
uvicorn on this machine over the loaded small county. The answer is shown as plain
text, and the ask is audited on the asking side and answered in the partner's trail."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from streamlit.testing.v1 import AppTest

from api.app import create_app
from api.client import partners_in
from api.runtime import build_runtime
from api.settings import ApiSettings, api_dir
from graph import load_settings
from graph.access.accounts import Accounts
from graph.access.audit import audit_log
from graph.access.policy import Principal
from graph.exchange import ASKED, ENQUIRY
from tests.api_helpers import S47, Truth

APP = str(Path(__file__).resolve().parent.parent / "ui" / "app" / "main.py")


@pytest.fixture(scope="module")
def partner(loaded_county, tmp_path_factory):
    """The partner: its own data directory, the small county's graph, a real server."""
    settings = load_settings(data_dir=tmp_path_factory.mktemp("partner"))
    runtime = build_runtime(
        settings,
        ApiSettings(organisation="Southshire Children's Services"),
        store=loaded_county.store,
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(runtime, start_inbox=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the partner's API did not start"
        time.sleep(0.1)
    assert httpx.get(f"{url}/health").status_code == 200
    try:
        yield url, runtime
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_asking_a_partner_from_the_app_shows_plain_text_and_is_audited(
    partner, loaded_county, engine_dir, tmp_path, monkeypatch
):
    url, runtime = partner
    monkeypatch.setenv("JIGSAW_GRAPH_URL", str(engine_dir))
    monkeypatch.setenv("JIGSAW_GRAPH_NAME", "loaded_small")
    monkeypatch.setenv("JIGSAW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JIGSAW_DEMO_MODE", raising=False)
    creds = runtime.clients.add("Northmere social care", [S47], "involvements")
    partners_in(api_dir(load_settings())).add(url, creds.client.client_id, creds.secret)
    Accounts(tmp_path / "users.json").add("sw", "social_worker", "a long enough password")
    child = Truth(loaded_county.root).known_children[0]

    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["principal"] = Principal("sw", "social_worker")
    at.query_params["page"] = "ask"
    at.run()
    assert not at.exception
    at.text_input(key="ask_nhs").input(child["nhs_number"])
    at.button[0].click().run()
    assert not at.exception
    shown = "\n".join(t.value for t in at.text)
    assert "match: yes (certain)" in shown
    assert "contact: Southshire Children's Services" in shown
    assert not [m for m in at.markdown if "match" in m.value]  # plain text, never Markdown

    [asked] = [e for e in audit_log(tmp_path).entries() if e["action"] == ASKED]
    assert asked["user"] == "sw" and asked["reason"] == S47 and asked["detail"]["match"]
    answered = [
        e
        for e in runtime.exchange.audit.entries()
        if e["action"] == ENQUIRY and e["user"] == creds.client.client_id
    ]
    assert len(answered) == 1 and answered[0]["detail"]["outcome"] == "match"


def test_jigsaw_demo_serves_the_api_beside_the_app_and_stops_it(
    loaded_county, engine_dir, tmp_path, monkeypatch
):
    """What ``jigsaw demo`` runs the app inside: the API in its own process, answering
    until the app stops, then stopped."""
    from ui.cli.api import api_beside

    monkeypatch.setenv("JIGSAW_GRAPH_URL", str(engine_dir))  # the session's engine, not a new one
    monkeypatch.setenv("JIGSAW_GRAPH_NAME", "loaded_small")
    monkeypatch.setenv("JIGSAW_DATA_DIR", str(tmp_path))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with api_beside(port) as url:
        assert httpx.get(f"{url}/health").json()["ok"] is True
        assert (
            "/fhir/Patient/$person-info-query" in httpx.get(f"{url}/openapi.json").json()["paths"]
        )
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)
