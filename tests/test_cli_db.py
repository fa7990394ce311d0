"""`jigsaw db ...` as a user runs it: a real process on the embedded default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

JIGSAW = str(Path(sys.executable).parent / "jigsaw")


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JIGSAW_")}
    environment.update(env)
    return subprocess.run(
        [JIGSAW, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120
    )


def test_status_on_the_embedded_default(tmp_path):
    assert run(["db", "init"], tmp_path).returncode == 0
    done = run(["db", "status", "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["health"]["ok"] and report["health"]["engine"] == "falkordb-embedded"
    assert report["health"]["location"] == str((tmp_path / "data" / "graph").resolve())
    assert report["schema_complete"] and report["nodes"] == 0
    human = run(["db", "status"], tmp_path)
    assert "FalkorDB" in human.stdout and "constraints and indexes present" in human.stdout


def test_bad_setting_is_one_clear_line(tmp_path):
    done = run(["db", "status"], tmp_path, JIGSAW_GRAPH_URL="postgres://x")
    assert done.returncode == 2
    assert done.stderr.startswith("error: bad Jigsaw settings: JIGSAW_GRAPH_URL")
    assert "Traceback" not in done.stderr


def test_help_lists_commands(tmp_path):
    done = run(["--help"], tmp_path)
    assert done.returncode == 0 and "db" in done.stdout
