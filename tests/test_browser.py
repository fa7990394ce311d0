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
