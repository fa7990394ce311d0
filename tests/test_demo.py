"""The README's main-job command on the embedded default: generate, load, accounts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from graph.access.accounts import Accounts

ROOT = Path(__file__).resolve().parent.parent


def test_demo_generates_loads_and_creates_accounts(tmp_path):
    env = {**os.environ, "JIGSAW_DATA_DIR": str(tmp_path), "JIGSAW_GRAPH_NAME": "demo_test"}
    env.pop("JIGSAW_GRAPH_URL", None)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ui.cli import main; main()",
            "demo",
            "--children",
            "300",
            "--no-serve",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "yes |" in done.stdout  # the report's accounting closes
    report = json.loads((tmp_path / "loads" / "latest" / "report.json").read_text())
    assert report["finished"] and report["closes"] and report["people"] > 300
    made = json.loads((tmp_path / "demo-accounts.json").read_text())
    social_worker = next(a for a in made if a["role"] == "social_worker")
    principal = Accounts(tmp_path / "users.json").authenticate(
        social_worker["username"], social_worker["password"]
    )
    assert principal is not None and principal.professional  # holds real cases
    # next week's extracts were loaded too: the workers the demo accounts stand for have alerts
    assert "alerts raised for allocated professionals" in " ".join(done.stdout.split())
    status = subprocess.run(
        [sys.executable, "-c", "from ui.cli import main; main()", "db", "status", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(status.stdout)["labels"]["Child"] > 250
    assert json.loads(status.stdout)["labels"].get("Alert", 0) > 0
    # the workers the demo accounts stand for are the ones next week's changes concern
    received = 0
    for account in made:
        if not account["stands_for"] or account["role"] == "team_manager":
            continue
        listed = subprocess.run(
            [sys.executable, "-c", "from ui.cli import main; main()", "plan", "alerts", "--as",
             account["username"], "--format", "json"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        received += len(json.loads(listed.stdout)["rows"])
    assert received > 0
