"""The Streamlit app on the loaded small county, page by page, with Streamlit's AppTest.

Rendered output is checked as text (what a user would see), including that restricted
values never appear for roles that may not see them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from graph.access.accounts import Accounts
from graph.access.audit import AuditLog
from graph.access.policy import Principal, load_policy
from tests.conftest import AS_OF
from ui.network import external_urls, legend_html, svg
from ui.network_layout import family_tree

APP = str(Path(__file__).resolve().parent.parent / "ui" / "app" / "main.py")


@pytest.fixture
def app_env(loaded_county, engine_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("JIGSAW_GRAPH_URL", str(engine_dir))
    monkeypatch.setenv("JIGSAW_GRAPH_NAME", "loaded_small")
    monkeypatch.setenv("JIGSAW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JIGSAW_DEMO_MODE", raising=False)
    loads = engine_dir / "loads"
    if loads.exists() and not (tmp_path / "loads").exists():
        (tmp_path / "loads").symlink_to(loads)
    return tmp_path


def _child_with_case(store, kind: str = "CP") -> dict:
    return store.read(
        "MATCH (c:Child)-[:HAS_CASE]->(k:Case {kind: $kind, status: 'open'})<-[w:WORKS_ON]-"
        "(p:Professional) WHERE w.to IS NULL "
        "RETURN c.uid AS uid, c.full_name AS name, p.uid AS worker, k.reason AS reason "
        "ORDER BY uid LIMIT 1",
        {"kind": kind},
    ).rows[0]


def _app(principal: Principal, page: str | None = None, **state) -> AppTest:
    """The whole app, signed in as ``principal`` (whose account is made if missing: the
    app re-reads the account on every request)."""
    accounts = Accounts(Path(os.environ["JIGSAW_DATA_DIR"]) / "users.json")
    if not accounts.exists(principal.username):
        accounts.add(
            principal.username,
            principal.role,
            "a long enough password",
            teams=list(principal.teams),
            professional=principal.professional,
        )
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["principal"] = principal
    for key, value in state.items():
        at.session_state[key] = value
    if page:
        at.query_params["page"] = page
    return at


def _text(at: AppTest, skip_columns: tuple[str, ...] = ()) -> str:
    """What the user reads, choices offered included: Markdown escapes
    (ui.app.plain.literal) undone; tables' ``skip_columns`` left out."""
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption]
    parts += [e.value for e in at.text]
    parts += [e.value for e in at.title]
    parts += [e.proto.label for e in at.get("page_link")]
    parts += [e.value for e in at.header] + [e.value for e in at.subheader]
    parts += [str(e.value) for e in at.error] + [str(e.value) for e in at.info]
    parts += [str(e.value) for e in at.warning] + [str(e.value) for e in at.success]
    for frame in at.dataframe:  # blanks show as blank (placeholder="")
        value = frame.value.drop(columns=[c for c in skip_columns if c in frame.value])
        parts.append(value.astype(object).where(value.notna(), "").to_string())
    for table in at.table:
        parts.append(table.value.to_string())
    for choice in (*at.radio, *at.selectbox, *at.multiselect):  # the choices offered
        parts += [choice.label, *choice.options]
    text = "\n".join(str(p) for p in parts)
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text).replace("\u2060", "")


def test_sign_in_is_required_and_works(app_env):
    Accounts(app_env / "users.json").add("jo", "social_worker", "a long enough password")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "Sign in" in [b.label for b in at.button] or at.text_input
    at.text_input[0].input("jo")
    at.text_input[1].input("wrong password!!")
    at.button[0].click().run()
    assert any("do not match" in str(e.value) for e in at.error)
    at.text_input[1].input("a long enough password")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["principal"].username == "jo"


def test_find_a_child_by_misspelt_name(app_env, loaded_county):
    child = _child_with_case(loaded_county.store)
    given, family = child["name"].split(" ", 1)
    at = _page("Find a child", Principal("sw", "social_worker"))
    assert not at.exception
    at.text_input(key="find_text").input(f"{given} {family[:-1]}x").run()
    assert not at.exception
    assert child["name"] in _text(at)


def test_record_in_full_for_own_caseload_and_notes_save(app_env, loaded_county):
    child = _child_with_case(loaded_county.store)
    sw = Principal("sw", "social_worker", professional=child["worker"])
    at = _page("Child record", sw, child=child["uid"])
    text = _text(at)
    assert child["name"] in text and "Limited view" not in text
    assert "Child protection plan" in text
    at.text_area[0].input("Met family at school; next visit Friday.")
    _click(at, "Save note")
    assert not at.exception
    assert "Met family at school" in _text(at)
    entries = list(AuditLog(app_env / "audit" / "audit.jsonl").entries())
    assert {"view_child", "add_note"} <= {e["action"] for e in entries}


def test_school_dsl_sees_flag_not_child_protection(app_env, loaded_county):
    child = _child_with_case(loaded_county.store)
    dsl = Principal("dsl", "school_dsl", professional=child["worker"])
    at = _page("Child record", dsl, child=child["uid"])
    text = _text(at)
    assert "known to social care" in text.lower()
    assert "Child protection plan" not in text  # no case kind
    if child["reason"]:
        assert child["reason"] not in text


def test_limited_view_then_break_glass_is_audited(app_env, loaded_county):
    child = _child_with_case(loaded_county.store)
    other = Principal("sw2", "social_worker", professional="W-nobody")
    at = _page("Child record", other, child=child["uid"])
    assert "Limited view" in _text(at)
    at.text_input[-1].input("Child at hospital out of hours, duty call")
    _click(at, "Break glass")
    assert "break glass" in _text(at).lower()
    text = _text(at)
    assert "Opened with break glass for " in text and "break glass: break glass" not in text.lower()
    purpose = load_policy().break_glass_purposes[0]
    entries = AuditLog(app_env / "audit" / "audit.jsonl").about_child(child["uid"])
    assert any(
        e["reason"] == f"{purpose}: Child at hospital out of hours, duty call"
        and e["detail"]["purpose"] == purpose
        for e in entries
    )


def test_family_network_draws_offline(app_env, loaded_county):
    child = _child_with_case(loaded_county.store)
    sw = Principal("sw", "social_worker", professional=child["worker"])
    at = _page("Family network", sw, child=child["uid"])
    assert not at.exception
    assert "people (" in _text(at)


def test_network_drawing_fetches_nothing_from_the_internet():
    network = {
        "focus": "a",
        "nodes": [
            {"uid": "a", "label": "Person", "name": "A", "child": True, "open_cases": ["CIN"]},
            {"uid": "b", "label": "Address", "name": "1 Road", "child": False, "open_cases": []},
        ],
        "edges": [{"source": "a", "target": "b", "type": "LIVES_AT"}],
    }
    page = svg(family_tree(network)) + legend_html()
    assert 'data-uid="a"' in page and "1 Road" in page
    assert external_urls(page) == set()


def test_saved_query_runs_and_offers_csv(app_env, loaded_county):
    at = _page("Saved queries", Principal("tm", "team_manager"))
    at.selectbox[0].select("Young carers").run()
    _click(at, "Run")
    assert not at.exception
    assert "row(s)" in _text(at)
    assert at.get("download_button")


def test_analyst_adhoc_cypher_and_pseudonyms(app_env):
    at = _page("Saved queries", Principal("ana", "analyst"))
    _click(at, "Run read-only")
    assert not at.exception
    assert "row(s)" in _text(at)
    app = _app(Principal("ana", "analyst")).run()
    assert "Child record" not in _page_titles(app)


def test_caseload_and_data_pages(app_env, loaded_county):
    at = _page("Caseload map", Principal("tm", "team_manager"))
    assert not at.exception and "Unallocated" in _text(at) + str([m.label for m in at.metric])
    at = _page("Data", Principal("tm", "team_manager"))
    assert not at.exception
    text = _text(at)
    assert "Quarantine" in text and "Possible duplicates page" in text
    # every value a load dropped from a kept row is listed: where, masked, why
    report = loaded_county.result.report
    dropped = sum(s.values_dropped for s in report.sources.values())
    assert f"{dropped:,} value(s) dropped" in text and dropped > 0
    frames = [f.value for f in at.dataframe if "Why" in f.value and "Column" in f.value]
    assert len(frames[-1]) == dropped
    at = _page("Possible duplicates", Principal("tm", "team_manager"))
    assert not at.exception and "await a decision" in _text(at)


def test_data_page_shows_analysts_no_raw_values(app_env, loaded_county):
    """The quarantine holds raw source rows (names, UPNs, dates of birth): an analyst
    sees where each came from and why, with the values withheld (tests/privacy_truth)."""
    from tests.privacy_truth import County, leaks

    county = County(loaded_county.root)
    secrets = county.secrets(county.everyone())
    manager = _text(_page("Data", Principal("tm", "team_manager")))
    assert leaks([{"page": manager}], secrets)  # the raw values are there to withhold
    at = _page("Data", Principal("ana", "analyst"))
    assert not at.exception
    frames = [f.value for f in at.dataframe]
    assert frames and all(len(f) for f in frames)
    assert not leaks([{"page": _text(at)}], secrets)


def test_demo_mode_says_so(app_env, monkeypatch):
    monkeypatch.setenv("JIGSAW_DEMO_MODE", "true")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("Demo mode" in str(w.value) for w in at.warning)
    assert not at.table  # no passwords on the page: they were printed once, in the terminal


# -- helpers -----------------------------------------------------------------------


def _page_titles(at: AppTest) -> list[str]:
    from ui.app import context

    return [getattr(p, "title", "") for p in context.PAGES.values()]


PAGE_SCRIPT = """
from ui.app.screens import {module}
{module}.render()
"""


def _page(title: str, principal: Principal, **state: object) -> AppTest:
    """Run one page on its own (AppTest and st.navigation's page routing do not mix on
    reruns); main.py's sign-in and page list are tested through the whole app."""
    modules = {
        "Find a child": "find",
        "Child record": "record",
        "Family network": "network",
        "Saved queries": "queries",
        "Caseload map": "caseload",
        "Data": "data",
        "Possible duplicates": "review",
    }
    page = AppTest.from_string(PAGE_SCRIPT.format(module=modules[title]), default_timeout=60)
    page.session_state["principal"] = principal
    for key, value in state.items():
        page.session_state[key] = value
    return page.run()


def _click(at: AppTest, label: str) -> None:
    button = next(
        b for b in list(at.button) + list(at.get("form_submit_button")) if b.label == label
    )
    button.click().run()


ROLES = tuple(load_policy().roles)  # every role the policy defines


@pytest.mark.parametrize("role", ROLES)
def test_role_by_page_matrix_shows_nothing_the_policy_withholds(app_env, loaded_county, role):
    """For a child with an open child protection plan held by someone else: the record
    page's rendered text holds no CP detail unless the role sees CP in full, and roles
    with no record access get none; pages a role may not open are not offered."""
    from graph.access.policy import allowed

    child = _child_with_case(loaded_county.store, "CP")
    rules = load_policy().roles[role]
    principal = Principal("u", role, professional="W-someone-else")
    app = _app(principal).run()
    assert not app.exception
    offered = set(_page_titles(app))
    for action, title in (
        ("view_child", "Child record"),
        ("run_adhoc", None),
        ("read_audit", "Audit trail"),
        ("view_caseload", "Caseload map"),
    ):
        if title:
            assert (title in offered) == allowed(principal, action), (role, title)
    if not allowed(principal, "view_child"):
        return
    # the same child, seen by a worker on the case (full view for their role)
    on_case = Principal("u", role, professional=child["worker"])
    at = _page("Child record", on_case, child=child["uid"])
    text = _text(at)
    cp_visible = "CP" in rules.case_kinds.full
    assert ("Child protection plan: opened" in text) == cp_visible, role
    if child["reason"] and not cp_visible:
        assert child["reason"] not in text, role
    if "CP" in rules.case_kinds.flag:
        assert "known to social care" in text.lower(), role
    # and by someone off the case: the limited view never shows case details or notes
    at = _page("Child record", principal, child=child["uid"])
    text = _text(at)
    assert "Limited view" in text
    assert "Child protection plan: opened" not in text
    assert not child["reason"] or child["reason"] not in text


def test_audit_page_for_administrators(app_env):
    AuditLog(app_env / "audit" / "audit.jsonl").record(
        user="sw", role="social_worker", action="view_child", children=["P-42"]
    )
    at = _page_audit(Principal("admin", "administrator"))
    assert "intact" in _text(at)
    at.text_input(key="audit_child").input("P-42").run()
    assert "Viewed a record" in _text(at)
    denied = _page_audit(Principal("sw", "social_worker"))
    assert "only administrators" in _text(denied)


def _page_audit(principal: Principal) -> AppTest:
    page = AppTest.from_string(PAGE_SCRIPT.format(module="audit"), default_timeout=60)
    page.session_state["principal"] = principal
    return page.run()


# -- planning ahead and alerts ---------------------------------------------------------


def _planning(principal: Principal) -> AppTest:
    page = AppTest.from_string(PAGE_SCRIPT.format(module="planning"), default_timeout=120)
    page.session_state["principal"] = principal
    return page.run()


def _team_with_risk(store) -> str:
    """The team holding open cases of the most pupils on the risk of NEET list (a team
    manager's list shows only their team's caseload)."""
    from queries.runner import run_saved

    pupils = [r["child_uid"] for r in run_saved(store, "risk_of_neet").rows]
    return store.read(
        "UNWIND $uids AS u MATCH (:Person {uid: u})-[:HAS_CASE]->(:Case {status: 'open'})"
        "<-[w:WORKS_ON]-(:Professional)-[:IN_TEAM]->(t:Team) WHERE w.to IS NULL "
        "RETURN t.uid AS team, count(*) AS n ORDER BY n DESC, team LIMIT 1",
        {"uids": pupils},
    ).rows[0]["team"]


def test_planning_page_risk_transitions_and_forecast(app_env, loaded_county):
    team = _team_with_risk(loaded_county.store)
    at = _planning(Principal("tm", "team_manager", teams=(team,)))
    assert not at.exception, at.exception
    text = _text(at)
    assert "Risk of NEET" in [t.label for t in at.tabs]
    assert "(+" in text  # factor explanations with their weights
    # as at the day the load kept the factors, so the list is read, not worked out
    assert at.date_input(key="risk_as_of").value == AS_OF
    assert any(b.label == "Download CSV" for b in at.get("download_button"))
    # transitions: Year 7 starters grouped by expected school
    at.radio[0].set_value("Year 7").run()
    assert "By expected school" in _text(at)
    # the forecast chart and table render
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    entries = list(AuditLog(app_env / "audit" / "audit.jsonl").entries())
    assert {"run_query", "plan_ahead"} <= {e["action"] for e in entries}


def test_planning_page_redacts_needs_for_a_health_visitor(app_env, loaded_county):
    at = _planning(Principal("hv", "health_visitor"))
    assert not at.exception, at.exception
    labels = [t.label for t in at.tabs]
    assert "Risk of NEET" not in labels and "Transitions ahead" in labels
    at.radio[0].set_value("Year 12").run()
    frames = [f.value for f in at.dataframe if "Needs" in f.value.columns]
    assert frames and set(frames[0]["Needs"]) <= {"restricted", ""}
    assert "restricted" in set(frames[0]["Needs"])  # there were needs, and they are withheld
    assert set(frames[0]["Transport now"]) == {"restricted"}


def test_home_page_lists_own_alerts_and_marks_them_seen(app_env, loaded_county):
    from graph import alerts

    store = loaded_county.store
    child = _child_with_case(store, "CIN")
    row = {
        "uid": "AL-test-home",
        "worker": child["worker"],
        "child": child["uid"],
        "kind": "attendance_fall",
        "key": "2026-27 Spring",
        "created_at": "2026-11-22T09:00",
        "text": f"{child['name']}'s attendance fell to 80.0% in 2026-27 Spring",
    }
    alerts.raise_alerts(store, [row])
    try:
        mine = Principal("sw", "social_worker", professional=child["worker"])
        page = AppTest.from_string(PAGE_SCRIPT.format(module="home"), default_timeout=60)
        page.session_state["principal"] = mine
        page.run()
        assert row["text"] in _text(page)
        _click(page, "Mark as seen")
        assert "No new alerts" in _text(page)
        other = AppTest.from_string(PAGE_SCRIPT.format(module="home"), default_timeout=60)
        other.session_state["principal"] = Principal("x", "social_worker", professional="W-other")
        assert row["text"] not in _text(other.run())
        actions = [e["action"] for e in AuditLog(app_env / "audit" / "audit.jsonl").entries()]
        assert "view_alerts" in actions and "update" in actions
        # their manager sees the team's alerts, seen ones on request, and cannot mark them
        team = store.read(
            "MATCH (:Professional {uid: $w})-[:IN_TEAM]->(t:Team) RETURN t.uid AS uid",
            {"w": child["worker"]},
        ).rows[0]["uid"]
        boss = AppTest.from_string(PAGE_SCRIPT.format(module="home"), default_timeout=60)
        boss.session_state["principal"] = Principal("tm", "team_manager", teams=(team,))
        boss.run()
        boss.toggle[0].set_value(True).run()
        assert row["text"] in _text(boss) and "for " in _text(boss)
        assert not any(b.label == "Mark as seen" for b in boss.button)
    finally:
        store.write("MATCH (a:Alert {uid: 'AL-test-home'}) DETACH DELETE a")


def test_accepting_a_duplicate_while_a_load_writes_says_to_wait(app_env, loaded_county):
    """A merge moves a person aside, whose internal id a bulk load may be using: the
    page says so and merges nothing (the county is left as it was)."""
    writer = loaded_county.store.bulk_writer()
    writer.begin([])
    try:
        at = _page("Possible duplicates", Principal("tm", "team_manager"))
        same = [b for b in at.button if str(b.key).startswith("acc-")]
        assert same, "the small county should leave pairs for review"
        uid = str(same[0].key).removeprefix("acc-")
        at = same[0].click().run()
        at = at.button(key=f"confirm-{uid}").click().run()
        assert not at.exception
        assert "a load is writing" in _text(at)
        from graph import review_queue

        assert review_queue.pair(loaded_county.store, uid)["status"] == "pending"
    finally:
        writer.finish()
