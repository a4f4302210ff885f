"""Access tokens (short-lived HS256 JWTs) and opaque refresh tokens (stored as hashes)."""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import uuid
from datetime import timedelta
from pathlib import Path

import jwt

from parley.clock import Clock
from parley.errors import Unauthorized

logger = logging.getLogger(__name__)

ALGORITHM = "HS256"
# 32 random bytes: the key length HS256 is defined for.
SECRET_BYTES = 32
SECRET_FILE_NAME = "jwt-secret"


def load_or_create_secret(configured: str | None, data_dir: Path) -> str:
    """The signing secret: configured, else generated once and kept in the data folder."""
    if configured:
        return configured
    path = data_dir / SECRET_FILE_NAME
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    # Created with owner-only permissions before the secret is written into it.
    path.touch(mode=0o600, exist_ok=False)
    path.write_text(secret)
    logger.info("generated a JWT signing secret in %s", path)
    return secret


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccessTokens:
    def __init__(self, secret: str, ttl: timedelta, clock: Clock) -> None:
        self._secret = secret
        self.ttl = ttl
        self._clock = clock

    def issue(self, user_id: uuid.UUID) -> str:
        now = self._clock.now()
        claims = {
            "sub": str(user_id),
            "iat": int(now.timestamp()),
            # Rounded up: the token lives at least as long as the `expiresIn` clients are told.
            "exp": math.ceil(now.timestamp() + self.ttl.total_seconds()),
            "typ": "access",
            # Two tokens issued in the same second still differ.
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> uuid.UUID:
        """The user id of a valid token; `Unauthorized` for an expired, forged or odd one."""
        try:
            # Expiry is checked against the injected clock below, not PyJWT's wall clock.
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": ["sub", "exp"], "verify_exp": False},
            )
        except jwt.PyJWTError:
            raise Unauthorized("invalid access token") from None
        if claims.get("typ") != "access" or not isinstance(claims["exp"], int | float):
            raise Unauthorized("invalid access token")
        if claims["exp"] <= self._clock.now().timestamp():
            raise Unauthorized("access token expired")
        try:
            return uuid.UUID(str(claims["sub"]))
        except ValueError:
            raise Unauthorized("invalid access token") from None
