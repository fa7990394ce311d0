"""The ``jigsaw`` command line. Each command group lives in its own module."""

from __future__ import annotations

import sys

import typer

from graph import GraphError, SettingsError, load_settings
from graph.files import private_umask
from ui.cli import api, audit, db, plan, query, users
from ui.cli.generate import generate
from ui.cli.load import demo, load
from ui.cli.serve import serve

app = typer.Typer(
    name="jigsaw",
    help="Jigsaw: a single record of every child, joined up from council extracts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(query.app, name="query")
app.add_typer(audit.app, name="audit")
app.add_typer(plan.app, name="plan")
app.add_typer(api.app, name="api")
app.command()(generate)
app.command()(load)
app.command()(demo)
app.command()(serve)
app.command()(api.ask)


def main() -> None:
    """Entry point: known failures print one clear line, not a traceback. Everything
    the command (and the embedded engine it starts) writes is readable by its owner
    only, and an existing data directory is closed to others."""
    private_umask()
    try:
        data = load_settings().data_dir
        if data.is_dir() and data.stat().st_mode & 0o077:
            data.chmod(0o700)
        app()
    except (GraphError, SettingsError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
