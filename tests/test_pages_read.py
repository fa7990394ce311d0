"""Every page, for every role, reads as words: no internal id, raw code, "None", "nan",
date format code, ISO date or server path on any of them.

The small county is loaded once; for each role the pages it may open are rendered with
Streamlit's AppTest, about a child with an open child protection plan held by the
role's own professional (so the record, network and meeting pack are full views), a
search is made and a saved query run. The text a user reads (Markdown escapes undone,
tables whole) is checked against patterns of what must never show.
"""

from __future__ import annotations

import re
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from graph.access.policy import Principal, allowed, load_policy
from planning.code_labels import lists
from queries.library import load_library
from tests.test_app import _text
from tests.test_app import app_env as app_env  # a fixture the walk uses
from tests.test_plain_text import _render

# (action the page needs, module), as main.py lists them
PAGES = [
    ("view_alerts", "home"),
    ("search", "find"),
    ("view_child", "record"),
    ("view_child", "pack"),
    ("view_network", "network"),
    ("search", "ask"),
    ("run_query", "queries"),
    ("view_caseload", "caseload"),
    ("plan_ahead", "planning"),
    ("view_data", "data"),
    ("review_linkage", "review"),
    ("read_audit", "audit"),
]

# Codes of these DfE lists never show bare: each has words (ui.present)
CODED = (
    "placement_type",
    "legal_status",
    "reason_end",
    "reason_new",
    "participation",
    "cp_category",
    "closure_reason",
    "need",
    "ethnicity",
    "exclusion_kind",
)
NEVER = {
    "person id": r"\bP-[0-9a-f]{12}\b",
    "note id": r"\bN-[0-9a-f]{16}\b",
    "address id": r"\b(?:PC-[A-Z0-9]{4,}|A-[a-z0-9 ]+-[A-Z0-9]{5,})\b",
    "worker id": r"\bW\d{5}\b",
    "source key": r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)*:[A-Za-z0-9]{4,}",
    "field name": r"\b[a-z]+_[a-z]+(?:_[a-z]+)*\b",
    "None or nan": r"\b(?:None|nan|NaN|NaT|null)\b",
    "date format code": r"%[YmdHMSbBy]",
    "ISO date": r"\b\d{4}-\d{2}-\d{2}\b|\d{2}T\d{2}:\d{2}",
    "server path": r"(?<![\w.])/(?:tmp|work|home|root|usr|var|opt|srv|mnt)/",
    "case kind code": r"\b(?:CIN|CP|CLA|EHCP|EWO)\b",
    "bare probability": r"\bp\s*[=<>]\s*[01]?\.\d",
}


def _coded_tokens() -> re.Pattern:
    codes = {c for name in CODED for c in lists()[name] if not c.isdigit() and len(c) >= 2}
    return re.compile(
        r"\b(?:" + "|".join(sorted(map(re.escape, codes), key=len, reverse=True)) + r")\b"
    )


def problems(text: str) -> list[str]:
    """What the text shows that it must not, as (what, the text around it)."""
    found = []
    # postcodes are words a reader needs, even where they hold something like a code
    plain = re.sub(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b", "", text)
    # and so are the names of the files a row came from (a data officer looks them up)
    plain = re.sub(r"\S+\.(?:csv|xlsx|xml|json)\b", "", plain)
    for what, pattern in NEVER.items():
        for m in re.finditer(pattern, plain):
            found.append(f"{what}: …{plain[max(0, m.start() - 40) : m.end() + 40]}…")
    for m in _coded_tokens().finditer(plain):
        found.append(f"raw code: …{plain[max(0, m.start() - 40) : m.end() + 40]}…")
    return found


def test_the_check_finds_what_it_looks_for():
    bad = (
        "P-9d1f33db1bdb social_care_episodes:0000042 child_uid None nan 2026-11-24T16:55 "
        "%Y-%m-%d /var/lib/jigsaw/loads U4 NEG CP p=0.93"
    )
    kinds = {p.split(":")[0] for p in problems(bad)}
    assert kinds >= {
        "person id",
        "source key",
        "field name",
        "None or nan",
        "ISO date",
        "date format code",
        "server path",
        "raw code",
        "case kind code",
        "bare probability",
    }
    assert problems("Foster care with other foster carers, long term · 3 Mar 2014 · NM6 5QL") == []


@pytest.fixture(scope="module")
def subject(loaded_county) -> dict:
    """A child with an open child protection plan, their worker and the worker's team."""
    return loaded_county.store.read(
        "MATCH (c:Child)-[:HAS_CASE]->(k:Case {kind: 'CP', status: 'open'})<-[w:WORKS_ON]-"
        "(p:Professional)-[:IN_TEAM]->(t:Team) WHERE w.to IS NULL "
        "MATCH (c)<-[:PARENT_OF]-(:Person) "
        "RETURN c.uid AS uid, c.full_name AS name, p.uid AS worker, t.uid AS team "
        "ORDER BY uid LIMIT 1"
    ).rows[0]


@pytest.fixture
def walk_env(app_env, loaded_county):
    boundaries = loaded_county.root / "maps" / "boundaries.geojson"
    shutil.copy(boundaries, app_env / "boundaries.geojson")
    return app_env


def _walk(module: str, principal: Principal, child: dict) -> list[AppTest]:
    """The page as the role meets it, after the one thing it is for (a search, a query)."""
    at = _render(module, principal, child=child["uid"])
    shown = [at]
    if module == "find":
        shown.append(at.text_input(key="find_text").input(child["name"]).run())
    if module == "queries" and at.selectbox:
        library = [q for q in load_library() if principal.role in q.roles and not q.params]
        if library:
            at.selectbox[0].select(library[0].title).run()
            button = next(b for b in at.get("form_submit_button") if b.label == "Run")
            shown.append(button.click().run())
    return shown


@pytest.mark.parametrize("role", tuple(load_policy().roles))
def test_every_page_reads_as_words(walk_env, loaded_county, subject, role):
    teams = (subject["team"],) if role == "team_manager" else ()
    principal = Principal("walker", role, teams=teams, professional=subject["worker"])
    found: dict[str, list[str]] = {}
    walked = 0
    for action, module in PAGES:
        if not allowed(principal, action):  # type: ignore[arg-type]
            continue
        for at in _walk(module, principal, subject):
            assert not at.exception, (role, module, at.exception)
            walked += 1
            # a held-back row and a dropped value are shown as the file holds them
            if bad := problems(_text(at, skip_columns=("Row as read", "Value (masked)"))):
                found[module] = bad[:5]
    assert walked, role
    assert not found, (role, found)


def test_a_limited_view_reads_as_words(walk_env, subject):
    other = Principal("walker", "social_worker", professional="W-someone-else")
    at = _render("record", other, child=subject["uid"])
    text = _text(at)
    assert "Limited view:" in text and "limited view: limited view" not in text.lower()
    assert not at.text_area and not problems(text)  # no "Add an update" on a limited view
