"""Local accounts for the embedded default and the demo: argon2-hashed passwords.

Production councils sign in through their identity provider (OIDC via Streamlit's
``st.login``); these accounts are for a laptop install and the demo. There is no
default password: accounts are created with ``jigsaw users add``, and only demo mode
(``JIGSAW_DEMO_MODE=true``, set by ``jigsaw demo``) creates demo accounts, whose
passwords it shows on every page.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from graph.access.policy import Principal, load_policy

_hasher = PasswordHasher()
MIN_PASSWORD = 12


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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump([asdict(a) for a in accounts.values()], fh, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def add(
        self,
        username: str,
        role: str,
        password: str,
        *,
        teams: list[str] | None = None,
        professional: str | None = None,
    ) -> Account:
        username = username.strip()
        if (
            not username
            or not username.replace(".", "").replace("-", "").replace("_", "").isalnum()
        ):
            raise AccountError("a username is letters, digits, dots, dashes or underscores")
        roles = load_policy().roles
        if role not in roles:
            raise AccountError(f"unknown role {role!r}; roles: {', '.join(roles)}")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
        accounts = self._load()
        if username in accounts:
            raise AccountError(f"{username} already has an account")
        account = Account(username, role, _hasher.hash(password), list(teams or []), professional)
        accounts[username] = account
        self._save(accounts)
        return account

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
        roles = load_policy().roles
        if role not in roles:
            raise AccountError(f"unknown role {role!r}; roles: {', '.join(roles)}")
        accounts = self._load()
        if username in accounts:
            raise AccountError(f"{username} already has an account")
        account = Account(username, role, "sso", list(teams or []), professional)
        accounts[username] = account
        self._save(accounts)
        return account

    def principal_for_sso(self, email: str | None) -> Principal | None:
        """The principal for an email the identity provider signed in, if it has an
        enabled account here: signing in proves who, the account says what role."""
        account = self._load().get((email or "").strip())
        if account is None or account.disabled:
            return None
        return account.principal()

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


DEMO_ACCOUNTS: tuple[tuple[str, str, list[str]], ...] = (
    ("social.worker", "social_worker", []),
    ("send.caseworker", "send_caseworker", []),
    ("school.dsl", "school_dsl", []),
    ("analyst", "analyst", []),
    ("team.manager", "team_manager", []),
    ("admin", "administrator", []),
)


def demo_password() -> str:
    return "demo-" + secrets.token_hex(4) + "-county"


def demo_mode() -> bool:
    return os.environ.get("JIGSAW_DEMO_MODE", "").lower() in ("1", "true", "yes")
