"""The README's main-job command on the embedded default: generate, load, accounts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from graph.access.accounts import Accounts
from graph.access.policy import load_policy

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
    made = _printed_accounts(done.stdout)
    assert {a["role"] for a in made} >= {"social_worker", "analyst", "administrator"}
    social_worker = next(a for a in made if a["role"] == "social_worker")
    principal = Accounts(tmp_path / "users.json").authenticate(
        social_worker["username"], social_worker["password"]
    )
    assert principal is not None and principal.professional  # holds real cases
    users_written = (tmp_path / "users.json").stat().st_mtime
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
            [
                sys.executable,
                "-c",
                "from ui.cli import main; main()",
                "plan",
                "alerts",
                "--as",
                account["username"],
                "--format",
                "json",
            ],
            cwd=ROOT,
            env={**env, "JIGSAW_PASSWORD": account["password"]},
            capture_output=True,
            text=True,
            check=True,
        )
        received += len(json.loads(listed.stdout)["rows"])
    assert received > 0
    # the passwords were printed once and are on disk nowhere; what is on disk is its
    # owner's only (the graph, its append-only file, reports, quarantine, audit trail)
    assert not (tmp_path / "demo-accounts.json").exists()
    stored = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_socket()]
    assert any(p.name == "quarantine.csv" for p in stored)
    assert any(p.suffix == ".aof" or "appendonly" in str(p) for p in stored)
    assert (tmp_path / "audit" / "audit.jsonl") in stored
    for path in stored:
        assert path.stat().st_mode & 0o777 == 0o600, path
        if path.stat().st_size < 50_000_000:
            content = path.read_bytes()
            assert not any(a["password"].encode() in content for a in made), path
    for path in [tmp_path, *(p for p in tmp_path.rglob("*") if p.is_dir())]:
        assert path.stat().st_mode & 0o777 == 0o700, path
    # a second demo on the same directory is refused unless asked for
    again = subprocess.run(
        [sys.executable, "-c", "from ui.cli import main; main()", "demo", "--no-serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 2 and "--force" in again.stderr
    assert (tmp_path / "users.json").stat().st_mtime == users_written


def _printed_accounts(stdout: str) -> list[dict[str, str]]:
    """The demo accounts as the demo printed them: username, password, role."""
    roles = set(load_policy().roles)
    made = []
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] in roles and parts[1].startswith("demo-"):
            made.append(
                {
                    "username": parts[0],
                    "password": parts[1],
                    "role": parts[2],
                    "stands_for": " ".join(parts[3:]),
                }
            )
    return made
