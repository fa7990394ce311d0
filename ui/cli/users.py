"""``jigsaw users``: local accounts for the embedded default and the demo."""

from __future__ import annotations

from typing import Annotated

import typer

from graph import load_settings
from graph.access.accounts import AccountError, Accounts
from graph.access.policy import load_policy

app = typer.Typer(help="Local accounts (argon2-hashed passwords).", no_args_is_help=True)


def _accounts() -> Accounts:
    return Accounts(load_settings().data_dir / "users.json")


@app.command("add")
def add(
    username: str,
    role: Annotated[str, typer.Option(help="A role from the access policy.")],
    team: Annotated[list[str] | None, typer.Option(help="Team uid (repeatable).")] = None,
    professional: Annotated[
        str | None, typer.Option(help="Their Professional uid (their own caseload).")
    ] = None,
    sso: Annotated[
        bool, typer.Option(help="Signs in only through the council's identity provider.")
    ] = False,
    password: Annotated[str | None, typer.Option(help="Asked for when not given.")] = None,
) -> None:
    """Create an account. There is no default password."""
    try:
        if sso:
            _accounts().add_sso(username, role, teams=team, professional=professional)
        else:
            if password is None:
                password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
            _accounts().add(username, role, password, teams=team, professional=professional)
    except AccountError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"account {username} created with role {role}")


@app.command("list")
def list_() -> None:
    """Accounts, their roles and whether they are disabled."""
    titles = {k: v.title for k, v in load_policy().roles.items()}
    for a in _accounts().list():
        state = "disabled" if a.disabled else "active"
        typer.echo(f"{a.username:<20} {titles.get(a.role, a.role):<36} {state}")


@app.command("disable")
def disable(username: str) -> None:
    """Stop an account signing in (kept for the audit trail)."""
    try:
        _accounts().disable(username)
    except AccountError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"account {username} disabled")
