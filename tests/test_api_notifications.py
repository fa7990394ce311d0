"""Tell us once, end to end: a partner's ``POST /fhir/Communication`` notifications
(an address change, an involvement opened) are validated on arrival, loaded through the
normal load path while no other load runs, joined to the right child (by the county's
truth), raise the alert a load raises when a SEND child moves, and change nothing when
sent again. Its own small county in its own graph: the loads write to it."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.runtime import build_runtime
from api.settings import ApiSettings
from api.standard import (
    ADDRESS_KEY_EXTENSION,
    CASE_KIND_SYSTEM,
    NOTIFICATION_PATH,
    NOTIFICATION_SYSTEM,
    REASONS,
)
from graph import load_settings, open_store
from graph.engines.falkordb_start import stop as stop_engine
from graph.exchange import NOTIFIED
from loaders.load import LOAD_LOCK, one_load_at_a_time, run_load
from loaders.progress import Silent
from tests.api_helpers import _rows

AS_OF = dt.date(2026, 11, 2)
GENDER = {"F": "female", "M": "male"}


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """A 300-child county loaded into a graph of its own, and graph uid -> true person."""
    from synthetic.generate import generate
    from tests.truth import source_row_labels

    root = tmp_path_factory.mktemp("notify")
    generate(300, 33, root / "county", as_of=AS_OF)
    settings = load_settings(data_dir=root / "data")
    store = open_store(settings)
    store.ensure_schema()
    result = run_load(store, root / "county", as_of=AS_OF, loads_dir=settings.data_dir / "loads")
    labels = source_row_labels(root / "county")
    true_person = {}
    for f, r, w, puid in result.assignments:
        true_person.setdefault(puid, labels[(f, r, w)])
    runtime = build_runtime(settings, ApiSettings(inbox_delay_s=0), store=store)
    try:
        yield root, settings, runtime, true_person
    finally:
        runtime.close()
        stop_engine(settings.data_dir / "graph")  # the embedded engine outlives its clients


def _send_child(root: Path) -> tuple[dict, dict, dict]:
    """From the truth: a child with an open, allocated SEND case who lives somewhere,
    that case, and another address in the county to move to."""
    truth = root / "county" / "truth"
    people = {p["person_id"]: p for p in _rows(truth / "people.csv")}
    living = {r["person_id"]: r["uprn"] for r in _rows(truth / "residences.csv") if not r["end"]}
    for case in _rows(truth / "cases.csv"):
        child = people[case["person_id"]]
        send = case["kind"] in ("EHCP", "SEN support") and case["status"] == "open"
        if send and case["worker_id"] and child["is_child"] == "1" and child["person_id"] in living:
            home = living[case["person_id"]]
            new = next(
                a
                for a in _rows(truth / "addresses.csv")
                if a["uprn"] != home and a["in_county"] == "1"
            )
            return child, case, new
    raise AssertionError("no child with an open allocated SEND case in the county")


def _patient(child: dict, **more) -> dict:
    return {
        "resourceType": "Patient",
        "id": "p",
        "name": [{"use": "official", "family": child["surname"], "given": [child["given_name"]]}],
        "birthDate": child["dob"],
        "gender": GENDER[child["sex"]],
        **more,
    }


def _moved(child: dict, new: dict, ident: str, moved_in: str = "2026-11-20") -> dict:
    address = {
        "line": [new["line1"]],
        "city": new["town"],
        "postalCode": new["postcode"],
        "period": {"start": moved_in},
        "extension": [
            {
                "url": ADDRESS_KEY_EXTENSION,
                "extension": [
                    {"url": "type", "valueCoding": {"code": "UPRN"}},
                    {"url": "value", "valueString": new["uprn"]},
                ],
            }
        ],
    }
    return {
        "resourceType": "Communication",
        "status": "completed",
        "identifier": [{"value": ident}],
        "topic": {"coding": [{"system": NOTIFICATION_SYSTEM, "code": "address-changed"}]},
        "contained": [_patient(child, address=[address])],
        "subject": {"reference": "#p"},
    }


def _opened(child: dict, ident: str) -> dict:
    episode = {
        "resourceType": "EpisodeOfCare",
        "id": "e",
        "status": "active",
        "identifier": [{"value": "YJ-77"}],
        "type": [{"coding": [{"system": CASE_KIND_SYSTEM, "code": "YJ"}]}],
        "patient": {"reference": "#p"},
        "period": {"start": "2026-11-18"},
    }
    return {
        "resourceType": "Communication",
        "status": "completed",
        "identifier": [{"value": ident}],
        "topic": {"coding": [{"system": NOTIFICATION_SYSTEM, "code": "involvement-opened"}]},
        "contained": [_patient(child), episode],
        "subject": {"reference": "#p"},
        "payload": [{"contentReference": {"reference": "#e"}}],
    }


def _lock_waiters(path: Path) -> int:
    """Processes' or threads' flock requests blocked on ``path`` (Linux's /proc/locks)."""
    inode = f":{path.stat().st_ino} "
    return sum(
        1
        for line in Path("/proc/locks").read_text().splitlines()
        if "->" in line and "FLOCK" in line and inode in line
    )


def test_a_partners_notifications_are_loaded_once_joined_to_the_child_and_alert(county):
    root, settings, runtime, true_person = county
    store = runtime.store
    child, case, new = _send_child(root)
    http = TestClient(create_app(runtime, start_inbox=False))
    client = runtime.clients.add("Northmere Health", [REASONS[0].uri], "existence", may_notify=True)
    token, _ = runtime.tokens.issue(client.client.client_id, None)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}

    def send(body: dict) -> int:
        return http.post(NOTIFICATION_PATH, content=json.dumps(body), headers=headers).status_code

    # validated on arrival: a move with no date is refused with why, and nothing waits
    undated = _moved(child, new, "N-0")
    del undated["contained"][0]["address"][0]["period"]
    reply = http.post(NOTIFICATION_PATH, content=json.dumps(undated), headers=headers)
    assert reply.status_code == 422 and "period.start" in reply.text
    assert send(_moved(child, new, "N-1")) == 202
    assert send(_opened(child, "N-2")) == 202
    assert send(_moved(child, new, "N-1")) == 200  # the same again: nothing changes
    assert send(_moved(child, new, "N-1", moved_in="2026-11-21")) == 409  # same id, other news

    people_before = store.read("MATCH (p:Person) RETURN count(p) AS n").rows[0]["n"]
    # a load of the graph is running (jigsaw load takes the same lock): the notifications wait
    lock = settings.data_dir / "loads" / LOAD_LOCK
    with one_load_at_a_time(settings.data_dir / "loads", Silent()):
        loading = threading.Thread(target=runtime.loader.run_once)
        loading.start()
        deadline = time.monotonic() + 120
        while _lock_waiters(lock) == 0:
            assert loading.is_alive(), "the notifications were loaded while another load ran"
            assert time.monotonic() < deadline, "the notifications' load never asked for the lock"
            time.sleep(0.05)
        assert runtime.loader.loaded == 0
    loading.join(timeout=600)
    assert runtime.loader.loaded == 1

    # joined to the right child (the truth's), nobody new
    rows = store.read(
        "MATCH (s:SourceRecord {source: 'partner_notifications'})-[:DESCRIBES]->(p:Person) "
        "RETURN p.uid AS uid",
    ).rows
    assert len(rows) == 2 and {r["uid"] for r in rows} == {rows[0]["uid"]}
    uid = rows[0]["uid"]
    assert true_person[uid] == child["person_id"]
    assert store.read("MATCH (p:Person) RETURN count(p) AS n").rows[0]["n"] == people_before
    home = store.read(
        "MATCH (:Person {uid: $uid})-[l:LIVES_AT]->(a:Address) WHERE l.to IS NULL "
        "RETURN a.postcode AS postcode",
        {"uid": uid},
    ).rows
    assert new["postcode"] in {r["postcode"] for r in home}
    kinds = store.read(
        "MATCH (:Person {uid: $uid})-[:HAS_CASE]->(c:Case) RETURN c.kind AS kind, "
        "c.status AS status",
        {"uid": uid},
    ).rows
    assert {"kind": "YJ", "status": "open"} in kinds
    # the alert a load raises when a SEND child moves, to the child's SEND worker
    alerts = store.read(
        "MATCH (w:Professional)-[:ALERTED]->(a:Alert {kind: 'send_address'})"
        "-[:ABOUT]->(:Person {uid: $uid}) RETURN w.uid AS worker, a.text AS text",
        {"uid": uid},
    ).rows
    assert case["worker_id"] in {a["worker"] for a in alerts}
    assert any("moved to a new address" in a["text"] for a in alerts)

    # sent again after loading: still nothing new to load, nothing written twice
    assert send(_moved(child, new, "N-1")) == 200
    assert runtime.loader.run_once() == 0
    again = store.read(
        "MATCH (s:SourceRecord {source: 'partner_notifications'}) RETURN count(s) AS n"
    ).rows
    assert again[0]["n"] == 2
    notified = [e for e in runtime.exchange.audit.entries() if e["action"] == NOTIFIED]
    assert [e["detail"]["duplicate"] for e in notified] == [False, False, True, True]
