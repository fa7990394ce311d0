"""``jigsaw api`` with two worker processes over the one embedded engine: every answer
audited in one unbroken trail, and a client's rate limit shared out so that together
the workers never allow more than its agreement."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from limits import parse as parse_rate

from api.clients import Clients
from api.runtime import worker_share
from api.settings import api_dir
from graph import load_settings
from graph.access.audit import audit_log
from graph.exchange import ENQUIRY, REFUSED
from tests.api_helpers import OPERATION, S47, Truth, by_nhs


@pytest.mark.parametrize(
    ("rate", "workers", "each"),
    [("60/minute", 1, 60), ("60/minute", 2, 30), ("10/second", 3, 3), ("1/hour", 4, 1)],
)
def test_each_worker_allows_its_share_of_the_agreed_rate(rate, workers, each):
    share = worker_share(rate, workers)
    agreed = parse_rate(rate)
    assert share.amount == each and share.get_expiry() == agreed.get_expiry()


def test_the_rate_limiter_starts_no_thread_and_sweeps_old_counters(monkeypatch):
    """``limits``' memory storage started a timer thread up to 100 times a second; this
    one sweeps expired counters in line, and still refuses what is over the rate."""
    import threading

    from limits.strategies import SlidingWindowCounterRateLimiter

    from api.runtime import SweptMemory

    storage = SweptMemory()
    limiter = SlidingWindowCounterRateLimiter(storage)
    threads = threading.active_count()
    rate = parse_rate("5/second")
    assert [limiter.hit(rate, "c") for _ in range(7)] == [True] * 5 + [False] * 2
    assert threading.active_count() == threads
    clock = [1_000.0]
    monkeypatch.setattr("api.runtime.time.monotonic", lambda: clock[0])
    monkeypatch.setattr("limits.storage.memory.time.time", lambda: clock[0])
    storage._swept = clock[0]
    limiter.hit(rate, "old")
    clock[0] += 10 * SweptMemory.SWEEP_S
    limiter.hit(rate, "new")
    assert not any("/old/" in key for key in storage.storage)


def test_two_workers_answer_audit_and_keep_the_agreed_rate(
    loaded_county, engine_dir, tmp_path, monkeypatch
):
    from ui.cli.api import api_beside

    monkeypatch.setenv("JIGSAW_GRAPH_URL", str(engine_dir))  # the session's engine
    monkeypatch.setenv("JIGSAW_GRAPH_NAME", "loaded_small")
    monkeypatch.setenv("JIGSAW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JIGSAW_API_WORKERS", "2")
    settings = load_settings()
    clients = Clients(api_dir(settings) / "clients.json")
    busy = clients.add("Southshire Busy", [S47], "existence", rate="4/minute")
    free = clients.add("Southshire MASH", [S47], "existence", rate="1000/minute")
    children = Truth(loaded_county.root).known_children[:6]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def ask(http: httpx.Client, registered, nhs: str) -> int:
        token = http.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": registered.client.client_id,
            "client_secret": registered.secret}).json()["access_token"]  # fmt: skip
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        return http.post(OPERATION, content=json.dumps(by_nhs(nhs)), headers=headers).status_code

    with api_beside(port) as url:
        # one keep-alive connection reaches one worker, which allows half of 4 a minute
        with httpx.Client(base_url=url) as http:
            busy_codes = [ask(http, busy, children[0]["nhs_number"]) for _ in range(4)]
        answered = []
        for child in children:  # a connection each, whichever worker takes it
            with httpx.Client(base_url=url) as http:
                answered.append(ask(http, free, child["nhs_number"]))
    assert busy_codes == [200, 200, 429, 429]
    assert answered == [200] * len(children)
    trail = audit_log(settings.data_dir)
    assert trail.verify() is None
    entries = list(trail.entries())
    mash = [e for e in entries if e["user"] == free.client.client_id and e["action"] == ENQUIRY]
    assert len(mash) == len(children) and all(len(e["children"]) == 1 for e in mash)
    refused = [e for e in entries if e["user"] == busy.client.client_id and e["action"] == REFUSED]
    assert len(refused) == 2
