"""Signing in, the same way for the app and the command line: throttled, audited.

A password (people) or an operator token (service accounts) is checked only when
neither the account nor the client address is waiting out a backoff; every failure
and every refused attempt is audited with the address, never with what was typed as
the secret. The account name is recorded only when such an account exists, so a
password typed into the username box does not end up in the trail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from graph.access.accounts import Accounts
from graph.access.audit import AuditLog, audit_log
from graph.access.policy import Principal
from graph.access.throttle import Throttle
from graph.settings import Settings

NO_MATCH = "That username and password do not match an active account."
UNKNOWN = "(no such account)"


class SignInRefused(PermissionError):
    """Sign-in failed or must wait; the message is safe to show (it never says which)."""


@dataclass(frozen=True)
class Door:
    """Accounts, throttle and audit trail of one data directory."""

    accounts: Accounts
    throttle: Throttle
    audit: AuditLog

    @classmethod
    def of(cls, settings: Settings) -> Door:
        data = Path(settings.data_dir)
        throttle = Throttle(
            data / "sign-in-failures.json",
            free=settings.sign_in_free_failures,
            max_wait_s=settings.sign_in_max_wait_s,
        )
        return cls(Accounts(data / "users.json"), throttle, audit_log(data, settings.audit_syslog))

    def sign_in(
        self,
        username: str,
        *,
        password: str | None = None,
        token: str | None = None,
        address: str | None = None,
        via: str = "app",
    ) -> Principal:
        """The principal for a correct secret, or :class:`SignInRefused`."""
        username = username.strip()
        keys = [f"account:{username.lower()}", f"address:{address or 'local'}"]
        who = username if self.accounts.exists(username) else UNKNOWN
        detail = {
            "via": via,
            "address": address or "local",
            "with": "token" if token else "password",
        }
        wait = self.throttle.wait(keys)
        if wait > 0:
            self.audit.record(user=who, role="", action="sign_in_throttled", detail=detail)
            raise SignInRefused(
                f"Too many failed sign-ins for this account or from this address: try again "
                f"in {math.ceil(wait)} s."
            )
        if token is not None:
            principal = self.accounts.authenticate_token(username, token)
        else:
            principal = self.accounts.authenticate(username, password or "")
        if principal is None:
            failures = self.throttle.failed(keys)
            self.audit.record(
                user=who, role="", action="sign_in_failed", detail={**detail, "failures": failures}
            )
            raise SignInRefused(NO_MATCH)
        self.throttle.succeeded(keys[0])
        return principal
