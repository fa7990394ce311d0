"""``jigsaw api`` with two worker processes over the one embedded engine: every answer
audited in one unbroken trail, and a client's rate limit shared out so that together
the workers never allow more than its agreement."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest
from limits import parse as parse_rate

from api.clients import Clients
from api.ratelimit import Rate, RateLimiter, worker_share
from api.settings import api_dir
from graph import load_settings
from graph.access.audit import audit_log
from graph.exchange import ENQUIRY, REFUSED
from tests.api_helpers import OPERATION, S47, Truth, by_nhs, token


@pytest.mark.parametrize(
    ("rate", "workers", "each"),
    [("60/minute", 1, 60), ("60/minute", 2, 30), ("10/second", 3, 3), ("1/hour", 4, 1)],
)
def test_each_worker_allows_its_share_of_the_agreed_rate(rate, workers, each):
    share = worker_share(rate, workers)
    agreed = parse_rate(rate)
    assert share.amount == each and share.seconds == agreed.get_expiry()


def test_the_rate_limiter_refuses_over_the_rate_and_starts_no_thread():
    """Over the rate refused (and not counted), allowed again as the window slides; the
    window before counts by how much of it is still within a window's length of now.
    Counted by hand: 5 a second, windows starting at whole seconds."""
    import threading

    clock = [1_000.0]
    limiter = RateLimiter(clock=lambda: clock[0])
    rate = Rate(5, 1.0)
    threads = threading.active_count()
    assert [limiter.hit(rate, "c") for _ in range(7)] == [True] * 5 + [False] * 2
    assert limiter.hit(rate, "other")  # each client counts alone
    assert threading.active_count() == threads
    clock[0] = 1_001.5  # half the window before within reach: 5 * 0.5 = 2.5, counted as 2
    assert [limiter.hit(rate, "c") for _ in range(4)] == [True] * 3 + [False]
    clock[0] = 1_002.7  # the window before's 3 weigh 0.3: 0.9, counted as 0
    assert [limiter.hit(rate, "c") for _ in range(6)] == [True] * 5 + [False]
    clock[0] = 1_003.25  # those 5 weigh 0.75: 3.75, counted as 3, so two more
    assert [limiter.hit(rate, "c") for _ in range(3)] == [True, True, False]
    clock[0] = 1_010.0  # long after: nothing counted
    assert [limiter.hit(rate, "c") for _ in range(6)] == [True] * 5 + [False]


def test_the_rate_limiter_agrees_with_limits_own(monkeypatch):
    """The same answers as ``limits``' sliding window counter over its memory storage,
    for a run of requests at irregular times (its clock and ours the same)."""
    import random

    from limits.storage import MemoryStorage
    from limits.strategies import SlidingWindowCounterRateLimiter

    clock = [1_000_000.0]
    monkeypatch.setattr("limits.storage.memory.time.time", lambda: clock[0])
    theirs = SlidingWindowCounterRateLimiter(MemoryStorage())
    ours = RateLimiter(clock=lambda: clock[0])
    rng = random.Random(3)
    answers = []
    for _ in range(400):
        clock[0] += rng.choice([0.0, 0.01, 0.05, 0.3, 0.9, 2.5])
        answers.append((ours.hit(Rate(4, 1.0), "c"), theirs.hit(parse_rate("4/second"), "c")))
    assert all(a == b for a, b in answers), answers
    assert {a for a, _ in answers} == {True, False}


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
        headers = token(http, registered)
        return http.post(OPERATION, content=json.dumps(by_nhs(nhs)), headers=headers).status_code

    with api_beside(port) as url:
        # the four in one of the limiter's minutes (its windows are of the machine's
        # monotonic clock, the workers' too): across a window's turn the earlier window
        # weighs less, and a request the test expects refused may be let in
        if time.monotonic() % 60 > 45:
            time.sleep(60.5 - time.monotonic() % 60)
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
