"""``jigsaw users``: local accounts for the embedded default and the demo.

Once an enabled administrator account exists, every command here needs one
(``--as ADMIN``); before that, whoever can write the data directory creates the first
accounts. Every change is audited.
"""

from __future__ import annotations

from typing import Annotated

import typer

from graph import load_settings
from graph.access.accounts import AccountError, Accounts
from graph.access.audit import audit_log
from graph.access.policy import load_policy
from ui.cli.auth import User, fail, signed_in

app = typer.Typer(help="Local accounts (argon2-hashed passwords).", no_args_is_help=True)
tokens = typer.Typer(help="Operator tokens of service accounts, for scripts.", no_args_is_help=True)
app.add_typer(tokens, name="token")
BOOTSTRAP = "(no administrator yet)"


def _accounts() -> Accounts:
    return Accounts(load_settings().data_dir / "users.json")


def _managed(user: str, action: str, **detail: object) -> Accounts:
    """The accounts, once the caller may manage them; the change is audited."""
    accounts = _accounts()
    if accounts.has_admin():
        principal, log = signed_in(user, "manage_users")
        who, role = principal.username, principal.role
    else:
        settings = load_settings()
        log, who, role = audit_log(settings.data_dir, settings.audit_syslog), BOOTSTRAP, ""
    log.record(user=who, role=role, action=action, detail={**detail, "via": "cli"})
    return accounts


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
    service: Annotated[
        bool, typer.Option(help="A service account: no password, operator tokens only.")
    ] = False,
    password: Annotated[str | None, typer.Option(help="Asked for when not given.")] = None,
    user: User = "",
) -> None:
    """Create an account. There is no default password."""
    accounts = _managed(user, "add_account", account=username, role=role)
    try:
        if sso:
            accounts.add_sso(username, role, teams=team, professional=professional)
        elif service:
            accounts.add_service(username, role, teams=team, professional=professional)
        else:
            if password is None:
                password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
            accounts.add(username, role, password, teams=team, professional=professional)
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"account {username} created with role {role}")


@app.command("list")
def list_(user: User = "") -> None:
    """Accounts, their roles and whether they are disabled."""
    accounts = _managed(user, "list_accounts")
    titles = {k: v.title for k, v in load_policy().roles.items()}
    for a in accounts.list():
        state = "disabled" if a.disabled else "active"
        kind = " (service)" if a.service else ""
        typer.echo(f"{a.username:<20} {titles.get(a.role, a.role):<36} {state}{kind}")


@app.command("disable")
def disable(username: str, user: User = "") -> None:
    """Stop an account signing in and end its open sessions (kept for the audit trail)."""
    accounts = _managed(user, "disable_account", account=username)
    try:
        accounts.disable(username)
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"account {username} disabled")


@tokens.command("create")
def token_create(
    username: str,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    user: User = "",
) -> None:
    """Issue an operator token for a service account. It is shown once: keep it in the
    script's secret store and pass it as JIGSAW_TOKEN."""
    accounts = _managed(user, "issue_token", account=username, label=label)
    try:
        token = accounts.issue_token(username, label)
    except AccountError as exc:
        fail(str(exc))
        return
    typer.echo(token)


@tokens.command("revoke")
def token_revoke(username: str, token_id: str, user: User = "") -> None:
    """Revoke a token by its id (the part after jgt_ and before the dot)."""
    accounts = _managed(user, "revoke_token", account=username, token=token_id)
    try:
        accounts.revoke_token(username, token_id)
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"token {token_id} of {username} revoked")


@tokens.command("list")
def token_list(username: str, user: User = "") -> None:
    """A service account's tokens: id, label, when issued (never the token)."""
    accounts = _managed(user, "list_tokens", account=username)
    account = next((a for a in accounts.list() if a.username == username), None)
    for t in account.tokens if account else []:
        typer.echo(f"{t['id']}  {t['created']}  {t['label']}")
