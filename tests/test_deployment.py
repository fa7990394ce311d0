"""Safe defaults: the app listens on this machine only unless told, what the command line
writes is its owner's only, and secrets files stay out of git."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graph.engines.falkordb_start import _recorded_pid, _running

ROOT = Path(__file__).resolve().parent.parent
JIGSAW = [sys.executable, "-c", "from ui.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> set[str]:
    """Local addresses the kernel has a socket listening on ``port`` at (IPv4, hex)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


@pytest.mark.parametrize(
    ("args", "addresses"),
    [((), {"0100007F"}), (("--host", "0.0.0.0"), {"00000000"})],
    ids=["default", "every interface"],
)
def test_serve_listens_on_this_machine_only_unless_told(tmp_path, args, addresses):
    port = _free_port()
    env = {**os.environ, "JIGSAW_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [*JIGSAW, "serve", "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _listening(port) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.3)
        assert _listening(port) == addresses
        engine = _recorded_pid(tmp_path / "graph")  # started before the app listens
        assert engine is not None and _running(engine)
        # Stopped as a service manager stops it, at once: the signal to `jigsaw serve`
        # alone reaches the app, which stops the engine it started on its way out.
        proc.terminate()
        assert proc.wait(timeout=60) is not None
        deadline = time.monotonic() + 30
        while _running(engine) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _running(engine), "the app's engine outlived the app"
        assert not _listening(port)
    finally:  # the group too: an app a failed run orphaned is stopped with it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        proc.wait(timeout=30)


def test_the_image_starts_the_app_with_options_that_exist():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    cmd = next(line for line in lines if line.startswith("CMD"))
    assert "jigsaw serve --host 0.0.0.0 --port 8501" in cmd
    shown = subprocess.run(
        [*JIGSAW, "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert "--host" in shown.stdout and "--port" in shown.stdout


def test_what_the_command_line_writes_is_its_owner_s_only(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    env = {**os.environ, "JIGSAW_DATA_DIR": str(data)}
    made = subprocess.run(
        [*JIGSAW, "generate", "--children", "200", "--out", str(data / "county")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    assert data.stat().st_mode & 0o777 == 0o700  # an existing data directory is closed
    files = [p for p in data.rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        assert path.stat().st_mode & 0o077 == 0, path
    for path in (p for p in data.rglob("*") if p.is_dir()):
        assert path.stat().st_mode & 0o077 == 0, path


@pytest.mark.parametrize(
    "path",
    [
        ".streamlit/secrets.toml",
        ".env",
        ".env.production",
        "jigsaw.toml",
        "data/users.json",
        "server.key",
        "tls/cert.pem",
        "api/partner.p12",
    ],
)
def test_secrets_files_are_ignored_by_git(path):
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, f"{path} is not ignored"


def test_the_example_env_file_is_not_ignored():
    kept = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", ".env.example"], cwd=ROOT, check=False
    )
    assert kept.returncode == 1
