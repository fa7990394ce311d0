"""Partner organisations allowed to ask, and what each data-sharing agreement allows.

One JSON file, replaced atomically on every change and readable only by its owner.
A client's secret is shown once, when the client is added, and kept only as an argon2
hash; revoking a client stops its tokens at their next request.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from limits import parse as parse_rate

from api.standard import LEVELS, REASON_BY_URI

_hasher = PasswordHasher()


class ClientError(ValueError):
    """A client operation that cannot be done; the message says why."""


@dataclass
class Client:
    """One partner's registration: its agreement, in the terms the API enforces."""

    client_id: str
    organisation: str
    reasons: list[str]
    level: str
    secret_hash: str
    rate: str = "60/minute"
    may_notify: bool = False
    cert_sha256: str | None = None  # a certificate the proxy must have verified
    agreement: str = ""  # the data-sharing agreement's reference or URI
    created_at: str = ""
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass
class Registered:
    client: Client
    secret: str = field(repr=False)


class Clients:
    """The registry file; reads are cached until the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cache: tuple[float, dict[str, Client]] | None = None

    def _load(self) -> dict[str, Client]:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        with self._lock:
            if self._cache is None or self._cache[0] != stamp:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._cache = (stamp, {c["client_id"]: Client(**c) for c in data})
            return self._cache[1]

    def _save(self, clients: dict[str, Client]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".clients")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump([asdict(c) for c in clients.values()], fh, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def add(
        self,
        organisation: str,
        reasons: list[str],
        level: str,
        *,
        rate: str = "60/minute",
        may_notify: bool = False,
        cert_sha256: str | None = None,
        agreement: str = "",
    ) -> Registered:
        organisation = organisation.strip()
        if not organisation:
            raise ClientError("name the partner organisation")
        unknown = [r for r in reasons if r not in REASON_BY_URI]
        if unknown or not reasons:
            raise ClientError(
                f"unknown reason(s) {', '.join(unknown) or '(none given)'}; the agreed list: "
                + ", ".join(REASON_BY_URI)
            )
        if level not in LEVELS:
            raise ClientError(f"unknown level {level!r}; levels: {', '.join(LEVELS)}")
        try:
            parse_rate(rate)
        except ValueError:
            raise ClientError(f"{rate!r} is not a rate such as 60/minute") from None
        if cert_sha256 is not None:
            cert_sha256 = cert_sha256.replace(":", "").lower()
            if len(cert_sha256) != 64 or any(c not in "0123456789abcdef" for c in cert_sha256):
                raise ClientError("a certificate fingerprint is 64 hex digits (SHA-256)")
        clients = dict(self._load())
        client_id = "c-" + secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        client = Client(
            client_id=client_id,
            organisation=organisation,
            reasons=sorted(set(reasons)),
            level=level,
            secret_hash=_hasher.hash(secret),
            rate=rate,
            may_notify=may_notify,
            cert_sha256=cert_sha256,
            agreement=agreement,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        clients[client_id] = client
        self._save(clients)
        return Registered(client, secret)

    def list(self) -> list[Client]:
        return sorted(self._load().values(), key=lambda c: (c.organisation, c.client_id))

    def get(self, client_id: str) -> Client | None:
        return self._load().get(client_id)

    def revoke(self, client_id: str) -> Client:
        clients = dict(self._load())
        client = clients.get(client_id)
        if client is None:
            raise ClientError(f"no client {client_id!r}")
        if client.revoked_at is None:
            client.revoked_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            self._save(clients)
        return client

    def authenticate(self, client_id: str, secret: str) -> Client | None:
        """The active client whose secret this is; None otherwise (never says which)."""
        client = self._load().get(client_id)
        if client is None:
            _hasher.hash(secret)  # the same work either way: no client enumeration by timing
            return None
        try:
            _hasher.verify(client.secret_hash, secret)
        except (VerificationError, InvalidHashError):
            return None
        return client if client.active else None
