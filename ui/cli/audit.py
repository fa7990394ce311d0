"""``jigsaw audit``: check, export and search the audit trail (administrators)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from graph import load_settings
from graph.access.audit import AuditLog

app = typer.Typer(
    help="The audit trail: verify the chain, export, who looked at a child.", no_args_is_help=True
)


def _log() -> AuditLog:
    return AuditLog(load_settings().data_dir / "audit" / "audit.jsonl")


@app.command()
def verify() -> None:
    """Check the hash chain: exit 1 and name the first bad entry if it was tampered with."""
    broken = _log().verify()
    if broken:
        typer.secho(
            f"audit trail broken at entry {broken.line}: {broken.why}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"audit trail intact ({sum(1 for _ in _log().entries()):,} entries)")


@app.command()
def export(out: Annotated[Path, typer.Option(help="CSV file to write.")]) -> None:
    """Write the whole trail as CSV."""
    out.write_text(_log().export_csv(), encoding="utf-8")
    typer.echo(f"audit trail written to {out}")


@app.command()
def child(uid: str) -> None:
    """Who has looked at this child's record, when, and why (for break glass)."""
    for e in _log().about_child(uid):
        why = f" because: {e['reason']}" if e.get("reason") else ""
        typer.echo(f"{e['at']}  {e['user']:<16} {e['role']:<24} {e['action']}{why}")
