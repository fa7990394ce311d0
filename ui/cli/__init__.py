"""The ``jigsaw`` command line. Each command group lives in its own module."""

from __future__ import annotations

import sys

import typer

from graph import GraphError, SettingsError
from ui.cli import audit, db, plan, query, users
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
app.command()(generate)
app.command()(load)
app.command()(demo)
app.command()(serve)


def main() -> None:
    """Entry point: known failures print one clear line, not a traceback."""
    try:
        app()
    except (GraphError, SettingsError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
