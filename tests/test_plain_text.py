"""Text from data and from users is shown as itself: never Markdown, never a link.

A child whose every text field holds Markdown, HTML and bare web addresses is written
into a graph of its own, and the pages are rendered with Streamlit's AppTest. Each
piece of Markdown the pages send to the browser is parsed the way the browser's
renderer (react-markdown with remark-gfm) would: CommonMark by markdown-it-py, plus
GitHub's autolink literals, matched with the patterns remark-gfm itself uses. No
link, image or HTML may result; the hostile text must still be there, as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from graph import alerts
from graph.access.policy import Principal
from ui.app.plain import literal

BEACON = "![b](http://host.invalid/beacon.png)"
HOSTILE = (
    f"{BEACON} [Sign in again](http://evil.invalid/login) <img src=x onerror=alert(1)> "
    "www.evil.invalid mail.me@evil.invalid :red[alarm] $x^2$ **bold** <https://x.invalid>"
)
PAGE = "from ui.app.screens import {module}\n{module}.render()"

# remark-gfm's autolink literals (mdast-util-gfm-autolink-literal): found in text
# after escapes are read, so escaping alone does not stop them
GFM_URL = re.compile(r"(https?://|www(?=\.))([-.\w]+)([^ \t\r\n]*)", re.I)
GFM_EMAIL = re.compile(r"(?<![\w.+-])([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)")


@pytest.fixture
def hostile(store, engine_dir, tmp_path, monkeypatch) -> dict:
    """A child, its home, school, case, worker, notes and an alert, all hostile."""
    if not hasattr(store, "graph_name"):
        pytest.skip("pages read the embedded engine here")
    store.write(
        """
        CREATE (c:Person:Child {uid: 'P-hostile', full_name: $t, given_name: $t,
                family_name: $t, dob: date('2015-03-04'), sex: 'F', upn: $t})
        CREATE (a:Address {uid: 'A-hostile', line1: $t, postcode: $t,
                postcode_district: $t, imd_decile: 2})
        CREATE (c)-[:LIVES_AT {from: date('2020-01-01')}]->(a)
        CREATE (a)-[:HAS_NOTE]->(:Note {uid: 'N-safety', kind: 'safety', text: $t})
        CREATE (c)-[:HAS_NOTE]->(:Note {uid: 'N-update', kind: 'update', text: $t,
                author: $t, at: '2026-11-01T10:00:00'})
        CREATE (s:School {uid: 'S-hostile', name: $t, phase: 'Primary'})
        CREATE (c)-[:ATTENDS {from: date('2020-09-01')}]->(s)
        CREATE (w:Professional {uid: 'W-hostile', name: $t, role: 'Social Worker'})
        CREATE (k:Case {uid: 'K-hostile', kind: 'CIN', status: 'open',
                start: date('2026-01-05'), reason: $t})
        CREATE (k)-[:WITH_SERVICE]->(:Service {uid: 'SVC-hostile', name: $t})
        CREATE (c)-[:HAS_CASE]->(k)
        CREATE (w)-[:WORKS_ON {from: date('2026-01-05')}]->(k)
        CREATE (m:Person:Adult {uid: 'P-parent', full_name: $t, dob: date('1990-01-01')})
        CREATE (m)-[:PARENT_OF {kind: 'birth'}]->(c)
        """,
        {"t": HOSTILE},
    )
    alerts.raise_alerts(
        store,
        [
            {
                "uid": "AL-hostile",
                "worker": "W-hostile",
                "child": "P-hostile",
                "kind": "attendance_fall",
                "key": "k",
                "created_at": "2026-11-22T09:00",
                "text": HOSTILE,
            }
        ],
    )
    monkeypatch.setenv("JIGSAW_GRAPH_URL", str(engine_dir))
    monkeypatch.setenv("JIGSAW_GRAPH_NAME", store.graph_name)
    monkeypatch.setenv("JIGSAW_DATA_DIR", str(tmp_path))
    return {"uid": "P-hostile", "worker": "W-hostile"}


def _markdown_sources(at: AppTest) -> Iterator[str]:
    """Every body the browser renders as Markdown (not the few that code writes as
    HTML on purpose, such as the network's legend: no data goes into those)."""
    for kind in (
        "markdown",
        "caption",
        "error",
        "info",
        "warning",
        "success",
        "header",
        "subheader",
        "title",
    ):
        for element in getattr(at, kind):
            if not getattr(element, "allow_html", False):
                yield str(element.value)
    for table in at.table:  # st.table reads each cell, and each header, as Markdown
        yield from (str(c) for c in table.value.columns)
        yield from (str(v) for row in table.value.itertuples(index=False) for v in row)


def _links_in(source: str) -> list[str]:
    """Links, images and raw HTML the browser's Markdown renderer would make."""
    found = []
    for block in MarkdownIt("commonmark").enable("table").parse(source):
        if block.type == "html_block":
            found.append(block.content)
        for token in block.children or []:
            if token.type in ("link_open", "image", "html_inline"):
                found.append(token.type)
            if token.type == "text":
                found += [m.group(0) for m in GFM_URL.finditer(token.content)]
                found += [m.group(0) for m in GFM_EMAIL.finditer(token.content)]
    return found


def _shown(at: AppTest) -> str:
    """The text the user reads, as the renderer gives it."""
    parts = [e.value for e in at.text]
    for source in _markdown_sources(at):
        for block in MarkdownIt("commonmark").parse(source):
            parts += [t.content for t in block.children or [] if t.type == "text"]
    return "\n".join(parts).replace("\u2060", "")


def _render(module: str, principal: Principal, **state: object) -> AppTest:
    at = AppTest.from_string(PAGE.format(module=module), default_timeout=120)
    at.session_state["principal"] = principal
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_the_oracle_sees_links_where_the_browser_would():
    """The check below is not vacuous: unescaped, every trick is found."""
    found = _links_in(HOSTILE)
    assert "image" in found and "link_open" in found and "html_inline" in found
    assert any(f.startswith("www.") for f in found) and any("@" in f for f in found)
    assert _links_in("Call 01234 567890 at 10:30.") == []


def test_literal_leaves_nothing_to_render():
    for value in (HOSTILE, "# heading\n> quote\n    code\n1. item", "a\\b*c*", None, 42):
        assert _links_in(literal(value)) == [], value
        html = MarkdownIt("commonmark").render(literal(value))
        assert set(re.findall(r"<[^>]*>", html)) <= {"<p>", "</p>", "<br />"}, html


def test_the_record_page_shows_hostile_text_as_text(hostile):
    at = _render(
        "record",
        Principal("sw", "social_worker", professional=hostile["worker"]),
        child=hostile["uid"],
    )
    assert not at.exception, at.exception
    for source in _markdown_sources(at):
        assert _links_in(source) == [], source
    shown = _shown(at)
    assert shown.count(BEACON) >= 4  # name, address, safety note, note: all there, as text
    assert "Visit safety: " + HOSTILE in shown


def test_the_other_pages_show_hostile_text_as_text(hostile):
    worker = Principal("sw", "social_worker", professional=hostile["worker"])
    pages = [
        _render("home", worker),
        _render("network", worker, child=hostile["uid"]),
    ]
    finder = _render("find", worker)
    finder.text_input(key="find_text").input(hostile["uid"]).run()
    pages.append(finder)
    for at in pages:
        assert not at.exception, at.exception
        for source in _markdown_sources(at):
            assert _links_in(source) == [], source
    assert BEACON in _shown(pages[0]) and BEACON in _shown(finder)


@pytest.mark.parametrize(
    "child",
    [
        "[Your session expired: sign in here](http://evil.invalid/login)",
        "http://evil.invalid/login",
        "<a href='http://evil.invalid'>x</a>",
        BEACON,
    ],
)
def test_a_crafted_deep_link_draws_no_link_in_the_error(hostile, child):
    at = AppTest.from_string(PAGE.format(module="record"), default_timeout=60)
    at.session_state["principal"] = Principal("sw", "social_worker")
    at.query_params["child"] = child
    at.run()
    assert not at.exception
    errors = [str(e.value) for e in at.error]
    assert errors and all(_links_in(e) == [] for e in errors), errors
    assert "No one has that reference" in _shown(at)  # and the crafted text is not echoed
