"""``jigsaw audit``: check, export and search the audit trail (administrators only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ui.cli.auth import User, fail, signed_in

app = typer.Typer(
    help="The audit trail: verify the chain and its head, export, who looked at a child. "
    "Administrators only (--as ADMIN).",
    no_args_is_help=True,
)
Witness = Annotated[
    list[str] | None,
    typer.Option(
        "--witness",
        help="SEQ:HASH of a head the external witness (syslog) recorded; the log's entry "
        "SEQ must have that hash (repeatable).",
    ),
]


def _checkpoints(pairs: list[str] | None) -> dict[int, str]:
    out: dict[int, str] = {}
    for pair in pairs or []:
        seq, _, digest = pair.partition(":")
        if not seq.strip().isdigit() or len(digest.strip()) != 64:
            raise typer.BadParameter(f"{pair!r} is not SEQ:HASH", param_hint="--witness")
        out[int(seq)] = digest.strip()
    return out


@app.command()
def verify(user: User = "", witness: Witness = None) -> None:
    """Check the chain and compare its end with the head kept outside the log: exit 1
    and name the first bad entry if anything was changed, removed or added."""
    checkpoints = _checkpoints(witness)
    principal, log = signed_in(user, "read_audit")
    verdict = log.check(checkpoints)
    log.record(
        user=principal.username,
        role=principal.role,
        action="verify_audit",
        detail={"entries": verdict.entries, "intact": verdict.broken is None},
    )
    for note in verdict.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    if verdict.broken:
        broken = verdict.broken
        typer.secho(
            f"audit trail broken at entry {broken.line}: {broken.why}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    witnessed = f"; {len(checkpoints)} witnessed checkpoint(s) match" if checkpoints else ""
    typer.echo(f"audit trail intact ({verdict.entries:,} entries, head matches{witnessed})")


@app.command()
def head(user: User = "") -> None:
    """The head now (entries and last hash): note it somewhere else to check against later."""
    _principal, log = signed_in(user, "read_audit")
    current = log.read_head()
    if current is None:
        fail("the audit trail has no head yet")
        return
    typer.echo(f"{current.count}:{current.hash}")


@app.command()
def export(out: Annotated[Path, typer.Option(help="CSV file to write.")], user: User = "") -> None:
    """Write the whole trail as CSV."""
    principal, log = signed_in(user, "read_audit")
    out.write_text(log.export_csv(), encoding="utf-8")
    log.record(
        user=principal.username,
        role=principal.role,
        action="export_audit",
        detail={"file": out.name, "via": "cli"},
    )
    typer.echo(f"audit trail written to {out}")


@app.command()
def child(uid: str, user: User = "") -> None:
    """Who has looked at this child's record, when, and why (for break glass)."""
    principal, log = signed_in(user, "read_audit")
    entries = log.about_child(uid)
    log.record(
        user=principal.username,
        role=principal.role,
        action="read_audit",
        detail={"child": uid, "via": "cli"},
    )
    for e in entries:
        why = f" because: {e['reason']}" if e.get("reason") else ""
        typer.echo(f"{e['at']}  {e['user']:<16} {e['role']:<24} {e['action']}{why}")
