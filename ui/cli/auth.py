"""Who is running a command: ``--as USER`` signs in, as in the app.

A person's account asks for its password (or reads ``JIGSAW_PASSWORD``, for scripts
and tests); a service account takes an operator token from ``JIGSAW_TOKEN``. Sign-in
is throttled and failures are audited exactly as in the app (graph.access.signin).
"""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer

from graph import load_settings
from graph.access.audit import AuditLog
from graph.access.policy import Action, Principal, allowed
from graph.access.signin import Door, SignInRefused

PASSWORD_ENV = "JIGSAW_PASSWORD"
TOKEN_ENV = "JIGSAW_TOKEN"
User = Annotated[
    str,
    typer.Option(
        "--as",
        help=f"The account to act as (audited): asks for its password, or reads "
        f"{PASSWORD_ENV}; a service account's token is read from {TOKEN_ENV}.",
    ),
]


def fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def signed_in(user: str, action: Action | None = None) -> tuple[Principal, AuditLog]:
    """The signed-in principal (and the audit trail to record its actions in); exits
    with a message when sign-in fails or the role may not do ``action``."""
    if not user.strip():
        fail("say which account you act as: --as USER")
    door = Door.of(load_settings())
    token = os.environ.get(TOKEN_ENV)
    password = None if token else os.environ.get(PASSWORD_ENV)
    if token is None and password is None:
        try:
            password = getpass.getpass(f"Password for {user}: ")
        except (EOFError, OSError):
            fail(f"no password: type it at the prompt, or set {PASSWORD_ENV} (or {TOKEN_ENV})")
    try:
        principal = door.sign_in(user, password=password, token=token, via="cli")
    except SignInRefused as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits
    if action is not None and not allowed(principal, action):
        door.audit.record(
            user=principal.username,
            role=principal.role,
            action="refused",
            detail={"wanted": action, "via": "cli"},
        )
        fail(f"a {principal.rules.title or principal.role} may not {action.replace('_', ' ')}")
    return principal, door.audit
