"""Local accounts for the embedded default and the demo: argon2-hashed passwords.

Production councils sign in through their identity provider (OIDC via Streamlit's
``st.login``); these accounts are for a laptop install and the demo. There is no
default password: accounts are created with ``jigsaw users add``, and only ``jigsaw
demo`` creates demo accounts, whose passwords it prints once in the terminal.

Service accounts (``--service``) have no password: scripts act as them on the command
line with an operator token (``jigsaw users token create``), shown once and kept
only as an argon2 hash, like a password. Every session re-reads its account
(:meth:`Accounts.current`), so disabling one ends its sessions at their next request.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from graph.access.policy import Principal, load_policy
from graph.files import private_dir, write_private

_hasher = PasswordHasher()
MIN_PASSWORD = 12
TOKEN_PREFIX = "jgt_"


class AccountError(ValueError):
    """An account operation that cannot be done; the message says why."""


@dataclass
class Account:
    username: str
    role: str
    password_hash: str
    teams: list[str] = field(default_factory=list)
    professional: str | None = None
    disabled: bool = False
    service: bool = False  # signs in only with an operator token (command line)
    tokens: list[dict[str, str]] = field(default_factory=list)  # id, hash, label, created

    def principal(self) -> Principal:
        return Principal(self.username, self.role, tuple(self.teams), self.professional)


class Accounts:
    """Accounts in one JSON file, replaced atomically on every change."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _load(self) -> dict[str, Account]:
        if not self.path.exists():
            return {}
        data = json.loads(self.path.read_text(encoding="utf-8"))
        return {a["username"]: Account(**a) for a in data}

    def _save(self, accounts: dict[str, Account]) -> None:
        private_dir(self.path.parent)
        text = json.dumps([asdict(a) for a in accounts.values()], indent=2)
        write_private(self.path, text.encode())

    def add(
        self,
        username: str,
        role: str,
        password: str,
        *,
        teams: list[str] | None = None,
        professional: str | None = None,
    ) -> Account:
        _check_username(username)
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
        return self._create(
            Account(username.strip(), role, _hasher.hash(password), list(teams or []), professional)
        )

    def add_sso(
        self,
        username: str,
        role: str,
        *,
        teams: list[str] | None = None,
        professional: str | None = None,
    ) -> Account:
        """An account that signs in only through the council's identity provider
        (OIDC): the username is the email the provider vouches for; no password."""
        if "@" not in username:
            raise AccountError("a single sign-on account is the user's email address")
        return self._create(Account(username.strip(), role, "sso", list(teams or []), professional))

    def add_service(
        self,
        username: str,
        role: str,
        *,
        teams: list[str] | None = None,
        professional: str | None = None,
    ) -> Account:
        """An account for scripts: no password, signs in with operator tokens only."""
        _check_username(username)
        return self._create(
            Account(
                username.strip(), role, "service", list(teams or []), professional, service=True
            )
        )

    def _create(self, account: Account) -> Account:
        roles = load_policy().roles
        if account.role not in roles:
            raise AccountError(f"unknown role {account.role!r}; roles: {', '.join(roles)}")
        accounts = self._load()
        if account.username in accounts:
            raise AccountError(f"{account.username} already has an account")
        accounts[account.username] = account
        self._save(accounts)
        return account

    def principal_for_sso(self, email: str | None) -> Principal | None:
        """The principal for an email the identity provider signed in, if it has an
        enabled account here: signing in proves who, the account says what role."""
        account = self._load().get((email or "").strip())
        if account is None or account.disabled:
            return None
        return account.principal()

    def issue_token(self, username: str, label: str = "") -> str:
        """A new operator token for a service account: returned once, stored hashed."""
        accounts = self._load()
        account = accounts.get(username)
        if account is None or not account.service:
            raise AccountError(
                f"{username!r} is not a service account (jigsaw users add --service)"
            )
        token_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
        account.tokens.append(
            {
                "id": token_id,
                "hash": _hasher.hash(secret),
                "label": label,
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
        )
        self._save(accounts)
        return f"{TOKEN_PREFIX}{token_id}.{secret}"

    def revoke_token(self, username: str, token_id: str) -> None:
        accounts = self._load()
        account = accounts.get(username)
        kept = [t for t in (account.tokens if account else []) if t["id"] != token_id]
        if account is None or len(kept) == len(account.tokens):
            raise AccountError(f"{username!r} has no token {token_id!r}")
        account.tokens = kept
        self._save(accounts)

    def authenticate_token(self, username: str, token: str) -> Principal | None:
        """The principal for a live operator token of an enabled service account."""
        account = self._load().get(username.strip())
        token_id, _, secret = token.removeprefix(TOKEN_PREFIX).partition(".")
        held = next((t for t in account.tokens if t["id"] == token_id), None) if account else None
        if account is None or held is None:
            _hasher.hash(secret)  # the same work either way
            return None
        try:
            _hasher.verify(held["hash"], secret)
        except (VerificationError, InvalidHashError):
            return None
        return None if account.disabled or not account.service else account.principal()

    def current(self, username: str) -> Principal | None:
        """The account as it is now (role and teams may have changed), or None once it
        is disabled or removed: sessions call this on every request."""
        account = self._load().get(username)
        if account is None or account.disabled:
            return None
        return account.principal()

    def exists(self, username: str) -> bool:
        return username.strip() in self._load()

    def has_admin(self) -> bool:
        """Whether an enabled account may manage users (after the first, only it may)."""
        roles = load_policy().roles
        return any(
            not a.disabled and a.role in roles and roles[a.role].admin
            for a in self._load().values()
        )

    def list(self) -> list[Account]:
        return sorted(self._load().values(), key=lambda a: a.username)

    def disable(self, username: str) -> None:
        accounts = self._load()
        if username not in accounts:
            raise AccountError(f"no account {username!r}")
        accounts[username].disabled = True
        self._save(accounts)

    def authenticate(self, username: str, password: str) -> Principal | None:
        """The principal for a correct, enabled account; None otherwise (never says which)."""
        account = self._load().get(username.strip())
        if account is None:
            _hasher.hash(password)  # same work either way: no user enumeration by timing
            return None
        try:
            _hasher.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return None if account.disabled else account.principal()


def _check_username(username: str) -> None:
    name = username.strip()
    if not name or not name.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise AccountError("a username is letters, digits, dots, dashes or underscores")


def demo_password() -> str:
    return "demo-" + secrets.token_hex(4) + "-county"


def demo_mode() -> bool:
    return os.environ.get("JIGSAW_DEMO_MODE", "").lower() in ("1", "true", "yes")
