"""Sessions, sign-in throttling, the command line's --as, service tokens, and writes
outside a user's scope."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from graph.access import guard
from graph.access.accounts import Accounts
from graph.access.audit import audit_log
from graph.access.policy import Principal
from graph.access.signin import Door, SignInRefused
from graph.access.throttle import Throttle
from graph.settings import load_settings
from ui.cli import app

APP = str(Path(__file__).resolve().parent.parent / "ui" / "app" / "main.py")
PASSWORD = "a long enough password"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


# -- throttling ------------------------------------------------------------------------


def test_backoff_doubles_after_the_free_failures_and_is_capped(tmp_path):
    clock = Clock()
    throttle = Throttle(tmp_path / "f.json", free=3, max_wait_s=60, clock=clock)
    keys = ["account:jo", "address:10.0.0.5"]
    waits = []
    for _ in range(10):
        throttle.failed(keys)
        waits.append(throttle.wait(keys))
    assert waits == [0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    clock.now += 59
    assert throttle.wait(keys) == 1
    clock.now += 1
    assert throttle.wait(keys) == 0


def test_a_success_clears_the_account_but_not_the_address(tmp_path):
    clock = Clock()
    throttle = Throttle(tmp_path / "f.json", free=2, clock=clock)
    for _ in range(5):
        throttle.failed(["account:jo", "address:a"])
    throttle.succeeded("account:jo")
    assert throttle.wait(["account:jo"]) == 0
    assert throttle.wait(["address:a"]) > 0  # one good account cannot reset guessing
    clock.now += 25 * 3600
    assert throttle.wait(["address:a"]) == 0  # forgotten after a day


def _door(tmp_path: Path, **settings: object) -> Door:
    return Door.of(load_settings(data_dir=tmp_path, **settings))


def test_25_wrong_passwords_then_the_right_one_is_refused_and_all_audited(tmp_path):
    door = _door(tmp_path)
    door.accounts.add("jo", "social_worker", PASSWORD)
    refused = []
    for i in range(25):
        with pytest.raises(SignInRefused) as exc:
            door.sign_in("jo", password=f"guess number {i}", address="10.0.0.5")
        refused.append(str(exc.value))
    with pytest.raises(SignInRefused, match="try again in"):
        door.sign_in("jo", password=PASSWORD, address="10.0.0.5")
    assert sum("do not match" in r for r in refused) == 3  # then only the wait is said
    # from another address too: the account itself waits
    with pytest.raises(SignInRefused, match="try again in"):
        door.sign_in("jo", password=PASSWORD, address="10.9.9.9")
    entries = list(door.audit.entries())
    actions = [e["action"] for e in entries]
    assert actions.count("sign_in_failed") == 3
    assert actions.count("sign_in_throttled") == 24
    text = json.dumps(entries)
    assert "guess number" not in text and PASSWORD not in text  # never the secret
    assert all(e["user"] == "jo" and e["detail"]["address"] for e in entries)


def test_guessing_many_accounts_from_one_address_is_throttled(tmp_path):
    door = _door(tmp_path)
    for name in ("amy", "bob", "cat", "dan"):
        door.accounts.add(name, "school_dsl", PASSWORD)
    for name in ("amy", "bob", "cat"):
        with pytest.raises(SignInRefused, match="do not match"):
            door.sign_in(name, password="wrong password!", address="10.0.0.7")
    with pytest.raises(SignInRefused, match="try again"):
        door.sign_in("dan", password=PASSWORD, address="10.0.0.7")
    assert door.sign_in("dan", password=PASSWORD, address="10.0.0.8").username == "dan"


def test_a_password_typed_as_the_username_is_not_recorded(tmp_path):
    door = _door(tmp_path)
    with pytest.raises(SignInRefused):
        door.sign_in("Tr0ub4dor&3-secret", password="x", address="10.0.0.5")
    (entry,) = door.audit.entries()
    assert "Tr0ub4dor" not in json.dumps(entry) and entry["user"] == "(no such account)"


# -- the app's sessions ----------------------------------------------------------------


@pytest.fixture
def app_dir(tmp_path, monkeypatch, engine_dir, loaded_county) -> Path:
    monkeypatch.setenv("JIGSAW_GRAPH_URL", str(engine_dir))
    monkeypatch.setenv("JIGSAW_GRAPH_NAME", "loaded_small")
    monkeypatch.setenv("JIGSAW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JIGSAW_DEMO_MODE", raising=False)
    return tmp_path


def _signed_in(app_dir: Path, username: str = "jo", role: str = "social_worker") -> AppTest:
    accounts = Accounts(app_dir / "users.json")
    if not accounts.exists(username):
        accounts.add(username, role, PASSWORD)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input[0].input(username)
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception and at.session_state["principal"].username == username
    return at


def _next(at: AppTest) -> AppTest:
    """The session's next request. (A fresh AppTest on the same session state: AppTest
    reruns the last page's module on its own, not main.py, once st.navigation ran.)"""
    following = AppTest.from_file(APP, default_timeout=60)
    for key in ("principal", "last_seen"):
        if key in at.session_state:
            following.session_state[key] = at.session_state[key]
    return following.run()


def _signed_out(at: AppTest) -> bool:
    return "principal" not in at.session_state and any(b.label == "Sign in" for b in at.button)


def test_disabling_an_account_ends_its_session_at_the_next_request(app_dir):
    at = _next(_signed_in(app_dir))
    assert not _signed_out(at)
    Accounts(app_dir / "users.json").disable("jo")
    at = _next(at)
    assert _signed_out(at)
    assert any("no longer active" in str(i.value) for i in at.info)
    actions = [e["action"] for e in audit_log(app_dir).entries()]
    assert actions[-1] == "session_ended"
    # and nothing was shown to it after the disable: no page ran (no view audited)
    assert "view_child" not in actions and "view_alerts" not in actions


def test_a_changed_role_applies_at_the_next_request(app_dir):
    at = _signed_in(app_dir)
    accounts = Accounts(app_dir / "users.json")
    stored = json.loads(accounts.path.read_text())
    stored[0]["role"] = "school_dsl"
    accounts.path.write_text(json.dumps(stored))
    at = _next(at)
    assert at.session_state["principal"].role == "school_dsl"


def test_an_idle_session_ends(app_dir, monkeypatch):
    monkeypatch.setenv("JIGSAW_SESSION_IDLE_MINUTES", "30")
    at = _signed_in(app_dir)
    at.session_state["last_seen"] = time.time() - 29 * 60
    at = _next(at)
    assert not _signed_out(at)  # within the limit: still signed in, and the clock restarts
    assert time.time() - at.session_state["last_seen"] < 60
    at.session_state["last_seen"] = time.time() - 31 * 60
    at = _next(at)
    assert _signed_out(at)
    assert any("30 minutes" in str(i.value) for i in at.info)
    assert [e["action"] for e in audit_log(app_dir).entries()][-1] == "session_expired"


def test_sign_in_in_the_app_is_throttled(app_dir):
    Accounts(app_dir / "users.json").add("jo", "social_worker", PASSWORD)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input[0].input("jo")
    for i in range(4):
        at.text_input[1].input(f"wrong password {i}")
        at.button[0].click().run()
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert "principal" not in at.session_state
    assert any("try again in" in str(e.value) for e in at.error)
    actions = [e["action"] for e in audit_log(app_dir).entries()]
    assert actions.count("sign_in_failed") == 3 and "sign_in" not in actions


# -- the command line ------------------------------------------------------------------


@pytest.fixture
def cli_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("JIGSAW_DATA_DIR", str(tmp_path))
    for name in ("JIGSAW_PASSWORD", "JIGSAW_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_as_needs_the_account_s_password(cli_dir):
    Accounts(cli_dir / "users.json").add("admin", "administrator", PASSWORD)
    runner = CliRunner()
    prompted = runner.invoke(app, ["audit", "head", "--as", "admin"], input=PASSWORD + "\n")
    assert prompted.exit_code == 2 and "no head" in prompted.output  # signed in, nothing yet
    wrong = runner.invoke(app, ["audit", "head", "--as", "admin"], env={"JIGSAW_PASSWORD": "no"})
    assert wrong.exit_code == 2 and "do not match" in wrong.output
    right = runner.invoke(
        app, ["users", "list", "--as", "admin"], env={"JIGSAW_PASSWORD": PASSWORD}
    )
    assert right.exit_code == 0 and "admin" in right.output


def test_service_accounts_sign_in_with_tokens_kept_hashed(cli_dir):
    accounts = Accounts(cli_dir / "users.json")
    accounts.add("admin", "administrator", PASSWORD)
    runner = CliRunner()
    as_admin = {"JIGSAW_PASSWORD": PASSWORD}
    made = runner.invoke(
        app,
        ["users", "add", "nightly", "--role", "analyst", "--service", "--as", "admin"],
        env=as_admin,
    )
    assert made.exit_code == 0, made.output
    issued = runner.invoke(
        app,
        ["users", "token", "create", "nightly", "--label", "weekly", "--as", "admin"],
        env=as_admin,
    )
    token = issued.output.strip()
    assert issued.exit_code == 0 and token.startswith("jgt_")
    assert token.split(".", 1)[1] not in accounts.path.read_text()  # only its hash is kept
    door = _door(cli_dir)
    assert door.sign_in("nightly", token=token).role == "analyst"
    with pytest.raises(SignInRefused):
        door.sign_in("nightly", password="service")  # no password signs a service account in
    with pytest.raises(SignInRefused):
        door.sign_in("admin", token=token)  # a token is its own account's only
    listed = runner.invoke(
        app, ["users", "token", "list", "nightly", "--as", "admin"], env=as_admin
    )
    token_id = token.removeprefix("jgt_").split(".")[0]
    assert token_id in listed.output and "weekly" in listed.output and token not in listed.output
    revoked = runner.invoke(
        app, ["users", "token", "revoke", "nightly", token_id, "--as", "admin"], env=as_admin
    )
    assert revoked.exit_code == 0
    with pytest.raises(SignInRefused):
        door.sign_in("nightly", token=token)


def test_users_commands_need_an_administrator_once_there_is_one(cli_dir):
    runner = CliRunner()
    first = runner.invoke(
        app, ["users", "add", "boss", "--role", "administrator", "--password", PASSWORD]
    )
    assert first.exit_code == 0, first.output  # the first account: no one to ask
    unsigned = runner.invoke(
        app, ["users", "add", "eve", "--role", "administrator", "--password", PASSWORD]
    )
    assert unsigned.exit_code == 2 and not Accounts(cli_dir / "users.json").exists("eve")
    Accounts(cli_dir / "users.json").add("sw", "social_worker", PASSWORD)
    not_admin = runner.invoke(
        app, ["users", "disable", "boss", "--as", "sw"], env={"JIGSAW_PASSWORD": PASSWORD}
    )
    assert not_admin.exit_code == 2 and "may not manage users" in not_admin.output
    entries = list(audit_log(cli_dir).entries())
    assert [(e["user"], e["action"]) for e in entries if e["action"] == "add_account"] == [
        ("(no administrator yet)", "add_account")
    ]


# -- writes outside scope ----------------------------------------------------------------


def _held_child(store) -> dict:
    return store.read(
        "MATCH (c:Child)-[:HAS_CASE]->(k:Case {status: 'open'})<-[w:WORKS_ON]-(p:Professional)"
        " WHERE w.to IS NULL RETURN c.uid AS uid, p.uid AS worker ORDER BY uid LIMIT 1"
    ).rows[0]


def _notes(store, uid: str) -> int:
    return store.read(
        "MATCH (:Person {uid: $uid})-[:HAS_NOTE]->(n:Note {kind: 'update'}) RETURN count(n) AS n",
        {"uid": uid},
    ).rows[0]["n"]


def test_a_note_on_a_limited_view_is_refused_and_audited(loaded_county, tmp_path):
    store = loaded_county.store
    child = _held_child(store)
    log = audit_log(tmp_path)
    before = _notes(store, child["uid"])
    dsl = Principal("dsl", "school_dsl", professional="W-not-on-the-case")
    with pytest.raises(guard.AccessDenied, match="not on your or your team's caseload"):
        guard.add_note(store, dsl, log, child["uid"], "I should not be able to write this")
    assert _notes(store, child["uid"]) == before
    (entry,) = log.entries()
    assert entry["action"] == "add_note_refused" and entry["children"] == [child["uid"]]


def test_a_note_on_an_unknown_id_is_an_error_and_nothing_is_audited(loaded_county, tmp_path):
    log = audit_log(tmp_path)
    sw = Principal("sw", "social_worker", professional="W-anyone")
    with pytest.raises(guard.NotFound):
        guard.add_note(loaded_county.store, sw, log, "P-no-such-child", "a note about no one")
    assert list(log.entries()) == []


def test_the_record_page_offers_no_note_form_on_a_limited_view(app_dir, loaded_county):
    child = _held_child(loaded_county.store)
    page = AppTest.from_string(
        "from ui.app.screens import record\nrecord.render()", default_timeout=60
    )
    page.session_state["principal"] = Principal("dsl", "school_dsl", professional="W-other")
    page.session_state["child"] = child["uid"]
    page.run()
    assert not page.exception
    assert "Break glass" in [b.label for b in page.get("form_submit_button")]
    assert "Save note" not in [b.label for b in page.get("form_submit_button")]
    assert not page.text_area
