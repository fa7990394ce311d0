"""``jigsaw serve``: start the Streamlit app, offline, headless, on this machine only
unless ``--host`` says otherwise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

APP = Path(__file__).resolve().parent.parent / "app" / "main.py"
LOCAL = "127.0.0.1"
# The theme, as .streamlit/config.toml has it (a test keeps them the same), passed on the
# command line too so the app has it from any working directory: dark enough text that
# captions, drawn at 60% of it, keep AA contrast (4.5:1).
THEME = {"base": "light", "textColor": "#111111", "primaryColor": "#b3261e", "linkColor": "#0b57a4"}


def streamlit_command(port: int, host: str = LOCAL) -> list[str]:
    """How the app is started: headless, bound to ``host``, no usage statistics, no file
    watcher, no garbage collection after each page run, and no download or copy controls
    on tables (every download goes through
    the app's audited button): also what the browser tests start, so they test the
    served configuration. Run through :mod:`ui.app.server`, which loads the pages and
    opens the store before Streamlit serves anyone."""
    return [
        sys.executable,
        "-m",
        "ui.app.server",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--client.disableDataExport",
        "true",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--global.developmentMode",
        "false",
        # Streamlit collects garbage after every run of a page by default: with the
        # store, pandas and the loaders' modules in memory that took about 0.5 s of every
        # page (an empty Find page 0.55 -> 0.05 s); Python's own collector still runs
        "--runner.postScriptGC",
        "false",
        *(arg for key, value in THEME.items() for arg in (f"--theme.{key}", value)),
    ]


def serve_command(port: int = 8501, *, host: str = LOCAL, demo: bool = False) -> None:
    env = dict(os.environ)
    if demo:
        env["JIGSAW_DEMO_MODE"] = "true"
    command = streamlit_command(port, host)
    shown = "localhost" if host == LOCAL else host
    typer.echo(f"Jigsaw is at http://{shown}:{port} (Ctrl+C stops it)")
    raise typer.Exit(run_forwarding_stops(command, env))


def run_forwarding_stops(command: list[str], env: dict[str, str]) -> int:
    """Run the app's server, passing on any stop signal this process receives: a
    service manager or ``kill`` that stops ``jigsaw serve`` stops the app (and, through
    it, the embedded engine it started) instead of leaving it running orphaned."""
    child = subprocess.Popen(command, env=env)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    stops = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    before = {stop: signal.signal(stop, forward) for stop in stops}
    try:
        return child.wait()
    finally:
        for stop, handler in before.items():
            signal.signal(stop, handler)


def serve(
    port: Annotated[int, typer.Option(help="Port for the app.")] = 8501,
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on. The default serves this machine only; 0.0.0.0 "
            "serves every interface (in a container, or behind a TLS reverse proxy)."
        ),
    ] = LOCAL,
) -> None:
    """Start the explorer app (no internet needed: nothing is fetched from a CDN)."""
    serve_command(port, host=host)
