"""``jigsaw serve``: start the Streamlit app, offline, headless."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

APP = Path(__file__).resolve().parent.parent / "app" / "main.py"


def streamlit_command(port: int, host: str | None = None) -> list[str]:
    """How the app is started: headless, no usage statistics, no file watcher (also what
    the browser tests start, so they test the served configuration). ``host`` is the
    address to listen on (Streamlit's default, every interface, when not given)."""
    address = ["--server.address", host] if host else []
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--global.developmentMode",
        "false",
        *address,
    ]


def serve_command(port: int = 8501, *, host: str | None = None, demo: bool = False) -> None:
    env = dict(os.environ)
    if demo:
        env["JIGSAW_DEMO_MODE"] = "true"
    command = streamlit_command(port, host)
    typer.echo(f"Jigsaw is at http://localhost:{port} (Ctrl+C stops it)")
    raise typer.Exit(subprocess.call(command, env=env))


def serve(
    port: Annotated[int, typer.Option(help="Port for the app.")] = 8501,
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on (e.g. 0.0.0.0 in a container)."),
    ] = None,
) -> None:
    """Start the explorer app (no internet needed: nothing is fetched from a CDN)."""
    serve_command(port, host=host)
