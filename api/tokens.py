"""OAuth2 client-credentials access tokens (JWTs signed with PyJWT) and the client
certificate a TLS-terminating proxy vouches for.

The signing key is generated on first use and kept in the API's directory (0600),
never in the repository or the graph. A client registered with a certificate gets
tokens bound to it (RFC 8705's ``cnf.x5t#S256``), which are refused when presented
without that certificate.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import secrets
import ssl
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import jwt

ALGORITHM = "HS256"
AUDIENCE = "jigsaw-exchange"
KEY_FILE = "token-key"


class TokenError(ValueError):
    """A token that cannot be accepted; the message is safe to send back."""


@dataclass(frozen=True)
class TokenClaims:
    client_id: str
    cert_sha256: str | None


class TokenIssuer:
    def __init__(self, directory: Path, minutes: int) -> None:
        self.key = _key(Path(directory) / KEY_FILE)
        self.minutes = minutes
        # tokens already verified, until they expire: a partner sends the same token with
        # every request for its lifetime, and checking it again gives the same answer
        self._verified: dict[str, tuple[float, TokenClaims]] = {}

    def issue(self, client_id: str, cert_sha256: str | None) -> tuple[str, int]:
        """A signed token and its lifetime in seconds."""
        now = dt.datetime.now(dt.UTC)
        claims: dict[str, object] = {
            "sub": client_id,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + dt.timedelta(minutes=self.minutes),
            "jti": uuid.uuid4().hex,
        }
        if cert_sha256:
            claims["cnf"] = {"x5t#S256": _b64_thumbprint(cert_sha256)}
        return jwt.encode(claims, self.key, algorithm=ALGORITHM), self.minutes * 60

    def verify(self, token: str) -> TokenClaims:
        known = self._verified.get(token)
        if known is not None and time.time() < known[0]:
            return known[1]
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("the access token has expired; ask for a new one") from None
        except jwt.InvalidTokenError:
            raise TokenError("the access token is not valid here") from None
        bound = (claims.get("cnf") or {}).get("x5t#S256")
        verified = TokenClaims(str(claims["sub"]), _hex_thumbprint(bound) if bound else None)
        if len(self._verified) >= 10_000:
            self._verified.clear()
        self._verified[token] = (float(claims["exp"]), verified)
        return verified


def certificate_sha256(header_value: str) -> str:
    """The SHA-256 fingerprint (hex) of a URL-encoded PEM certificate from the proxy."""
    try:
        der = ssl.PEM_cert_to_DER_cert(unquote(header_value).strip())
    except (ValueError, UnicodeError):
        raise TokenError("the client certificate the proxy passed cannot be read") from None
    return hashlib.sha256(der).hexdigest()


def _b64_thumbprint(hex_digest: str) -> str:
    return base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).rstrip(b"=").decode()


def _hex_thumbprint(b64: str) -> str:
    return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).hex()


def _key(path: Path) -> bytes:
    """The signing key, made once (32 random bytes) and kept readable only by us."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(32))
    return path.read_bytes()
