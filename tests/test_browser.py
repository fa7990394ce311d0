"""End to end in headless Chromium against `streamlit run` on the loaded small county.

Every request that leaves localhost is refused and recorded: the app must work fully
offline. Each page must render without console errors; the family network must draw
its nodes; a saved query must run and download. Screenshots land in
docs/screenshots/ (the README shows them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.access.accounts import Accounts
from ui.cli.serve import streamlit_command

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "end to end password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(loaded_county, engine_dir, tmp_path_factory) -> Iterator[tuple[str, dict, Path]]:
    data = tmp_path_factory.mktemp("e2e")
    child = loaded_county.store.read(
        "MATCH (c:Child)-[:HAS_CASE]->(k:Case {status: 'open'})<-[w:WORKS_ON]-(p:Professional)"
        " WHERE w.to IS NULL AND k.kind IN ['CIN', 'CP', 'CLA']"
        " MATCH (c)<-[:PARENT_OF]-(:Person)"
        " RETURN c.uid AS uid, c.full_name AS name, p.uid AS worker ORDER BY uid LIMIT 1"
    ).rows[0]
    Accounts(data / "users.json").add("e2e", "team_manager", PASSWORD)
    Accounts(data / "users.json").add("sw", "social_worker", PASSWORD, professional=child["worker"])
    Accounts(data / "users.json").add("boss", "administrator", PASSWORD)
    Accounts(data / "users.json").add("ana", "analyst", PASSWORD)
    loads = engine_dir / "loads"
    if loads.exists():
        (data / "loads").symlink_to(loads)
    port = _free_port()
    env = {
        **os.environ,
        "JIGSAW_GRAPH_URL": str(engine_dir),
        "JIGSAW_GRAPH_NAME": "loaded_small",
        "JIGSAW_DATA_DIR": str(data),
    }
    proc = subprocess.Popen(
        streamlit_command(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the app did not start")
    try:
        yield url, child, data
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def browser_page(server):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: ./test.sh installs it (scripts/test-deps.sh)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, accept_downloads=True
        )
        outside: list[str] = []
        errors: list[str] = []

        def route(r):
            host = r.request.url.split("/")[2].split(":")[0]
            if host in ("localhost", "127.0.0.1") or r.request.url.startswith(("data:", "blob:")):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        yield page, outside, errors
        browser.close()


def _sign_in(page, url: str, user: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(user)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=30_000)


def _nav(page, title: str) -> None:
    page.get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title).wait_for(timeout=30_000)
    page.wait_for_timeout(3000)


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_pages_render_offline_with_no_console_errors(server, browser_page):
    url, _child, _data = server
    page, outside, errors = browser_page
    _sign_in(page, url, "e2e")
    for title, name in (
        ("Find a child", "find"),
        ("Saved queries", "queries"),
        ("Caseload map", "caseload"),
        ("Data", "data"),
        ("Planning ahead", "planning"),
        ("My alerts", "alerts"),
    ):
        _nav(page, title)
        _shot(page, name)
    assert not outside, f"requests left localhost: {outside[:5]}"
    assert not errors, errors[:5]


def test_record_network_and_query_download(server, browser_page):
    url, child, data = server
    page, outside, errors = browser_page
    _sign_in(page, url, "sw")
    _nav(page, "Find a child")
    page.get_by_label("Name, date of birth").fill(child["name"])
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Open").first.click()
    page.get_by_role("heading", name="Child record").wait_for(timeout=30_000)
    page.get_by_text("Professionals involved").wait_for(timeout=30_000)
    page.wait_for_timeout(4000)  # data grids draw on a canvas after the page settles
    _shot(page, "record")
    _nav(page, "Family network")
    frame = page.frame_locator("iframe").first
    frame.locator("canvas").first.wait_for(timeout=30_000)
    page.wait_for_timeout(2500)
    drawn = page.frames[-1].evaluate("network.body.data.nodes.length")
    assert drawn >= 3
    _shot(page, "network")
    _nav(page, "Saved queries")
    page.get_by_role("button", name="Run").first.click()
    page.get_by_text("row(s) in").wait_for(timeout=30_000)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    page.wait_for_timeout(1000)
    from graph.access.audit import AuditLog

    actions = [e["action"] for e in AuditLog(data / "audit" / "audit.jsonl").entries()]
    assert {"sign_in", "search", "view_child", "view_network", "run_query", "export"} <= set(
        actions
    ), actions
    assert not outside, outside[:5]
    assert not errors, errors[:5]


# -- nothing leaves without an audit entry; nothing from the data becomes a link ---------

# Every visible control on the page that offers a download, an export or a copy, except
# the app's own (audited) download buttons.
OFFERED = """() => [...document.querySelectorAll('button, a, [role=button], [role=menuitem]')]
  .filter(e => !e.closest('[data-testid="stDownloadButton"]') && e.getClientRects().length)
  .filter(e => /download|export|\\bcsv\\b|copy/i.test([e.getAttribute('aria-label'),
      e.getAttribute('title'), e.textContent, e.hasAttribute('download') ? 'download' : '']
      .join(' ')))
  .map(e => e.outerHTML.slice(0, 160))"""
DATA_ELEMENTS = (
    '[data-testid="stDataFrame"], [data-testid="stVegaLiteChart"], '
    '[data-testid="stArrowVegaLiteChart"], [data-testid="stTable"]'
)


def _audit(data: Path) -> list[dict]:
    from graph.access.audit import AuditLog

    return list(AuditLog(data / "audit" / "audit.jsonl").entries())


def _downloads_are_all_audited(page, data: Path, where: str) -> int:
    """No table or chart offers its own download; every download button the page has
    writes an audit entry naming what it gave. Returns how many buttons there were."""
    offered = list(page.evaluate(OFFERED))
    for element in page.locator(DATA_ELEMENTS).all():
        if not element.is_visible():
            continue
        element.scroll_into_view_if_needed()
        element.hover()
        page.wait_for_timeout(400)  # the element's toolbar shows on hover
        offered += page.evaluate(OFFERED)
    assert not offered, (where, offered[:3])
    buttons = page.locator('[data-testid="stDownloadButton"] button')
    for i in range(buttons.count()):
        if not buttons.nth(i).is_visible():
            continue
        before = len(_audit(data))
        with page.expect_download() as download:
            buttons.nth(i).click()
        assert download.value.suggested_filename.endswith(".csv")
        page.wait_for_timeout(500)
        new = _audit(data)[before:]
        exports = [e for e in new if e["action"] in ("export", "export_audit")]
        assert exports, (where, [e["action"] for e in new])
        assert exports[0]["detail"]["file"] == download.value.suggested_filename
    return buttons.count()


def test_no_page_offers_an_unaudited_download(server, browser_page):
    url, child, data = server
    page, outside, errors = browser_page
    visited, buttons = [], 0
    _sign_in(page, url, "e2e")
    for title in ("My alerts", "Find a child", "Caseload map", "Data"):
        _nav(page, title)
        buttons += _downloads_are_all_audited(page, data, title)
        visited.append(title)
    _nav(page, "Saved queries")
    page.get_by_role("button", name="Run").first.click()
    page.get_by_text("row(s) in").wait_for(timeout=30_000)
    buttons += _downloads_are_all_audited(page, data, "Saved queries")
    _nav(page, "Planning ahead")
    for tab in ("Risk of NEET", "Transitions ahead", "Needs forecast"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(3000)
        buttons += _downloads_are_all_audited(page, data, tab)
    exported = [e for e in _audit(data) if e["action"] == "export"]
    assert any(e["children"] for e in exported)  # the audit says whose data left
    _sign_in(page, url, "sw")
    _open_record(page, child)
    buttons += _downloads_are_all_audited(page, data, "Child record")
    _sign_in(page, url, "boss")
    _nav(page, "Audit trail")
    buttons += _downloads_are_all_audited(page, data, "Audit trail")
    _sign_in(page, url, "ana")
    _nav(page, "Saved queries")
    page.get_by_role("button", name="Run read-only").click()
    page.get_by_text("row(s) in").wait_for(timeout=30_000)
    buttons += _downloads_are_all_audited(page, data, "ad-hoc Cypher")
    assert buttons >= 6  # the check clicked real download buttons
    assert not outside, outside[:5]
    assert not errors, errors[:5]


def _open_record(page, child: dict) -> None:
    _nav(page, "Find a child")
    page.get_by_label("Name, date of birth").fill(child["name"])
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Open").first.click()
    page.get_by_text("Professionals involved").wait_for(timeout=30_000)
    page.wait_for_timeout(3000)


def test_signing_out_leaves_no_pages_in_the_sidebar(server, browser_page):
    url, _child, data = server
    page, _outside, errors = browser_page
    _sign_in(page, url, "e2e")
    # the sidebar draws after the page: wait for it before counting (a busy machine)
    page.get_by_role("link", name="Find a child").wait_for(timeout=30_000)
    assert page.get_by_role("link", name="Find a child").count() == 1
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    for title in ("Find a child", "Caseload map", "Data", "My alerts"):
        assert page.get_by_role("link", name=title).count() == 0, title
    assert page.locator('[data-testid="stSidebarNav"] a').count() == 0
    assert _audit(data)[-1]["action"] == "sign_out"
    assert not errors, errors[:5]


def test_text_from_the_data_fetches_nothing_and_links_nowhere(server, browser_page, loaded_county):
    url, child, _data = server
    page, outside, _errors = browser_page
    beacon = "![b](http://beacon.invalid/pixel.png) [Sign in](http://evil.invalid/login)"
    store = loaded_county.store
    store.write(
        "MATCH (c:Person {uid: $uid}) CREATE (c)-[:HAS_NOTE]->(:Note {uid: 'N-beacon', "
        "kind: 'update', text: $text, author: $text, at: '2026-11-20T10:00:00'})",
        {"uid": child["uid"], "text": beacon},
    )
    try:
        _sign_in(page, url, "sw")
        _open_record(page, child)
        page.get_by_text(beacon).first.wait_for(timeout=30_000)  # shown, as text
        crafted = "[Your session expired: sign in again](http://evil.invalid/login)"
        page.goto(f"{url}/?page=record&child={urllib.parse.quote(crafted)}")
        page.get_by_label("Username").fill("sw")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("No one has the id").wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        assert page.locator('a[href*="evil.invalid"]').count() == 0
        assert page.locator('img[src*="beacon.invalid"]').count() == 0
    finally:
        store.write("MATCH (n:Note {uid: 'N-beacon'}) DETACH DELETE n")
    assert not [u for u in outside if "invalid" in u], outside
