"""Accounts and sessions: register, login, refresh, logout.

Invariants: passwords are stored only as argon2id hashes; refresh tokens only as SHA-256
hashes, one family per login; a spent refresh token is honoured again only within the grace
period, after which presenting it revokes its family. Unknown users and wrong passwords
fail alike, in the same time.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from parley.auth.passwords import Passwords
from parley.auth.schemas import LoginIn, RegisterIn, Session
from parley.auth.tokens import AccessTokens, hash_refresh_token, new_refresh_token
from parley.backends.interfaces import RefreshTokenStore, RotationOutcome
from parley.clock import Clock
from parley.config import Settings
from parley.db.engine import Database
from parley.errors import Conflict, Unauthorized, Unavailable, ValidationFailed
from parley.ratelimit import RateLimits
from parley.users.models import User
from parley.users.service import own_view, search_key
from parley.validation import check_length, check_username

logger = logging.getLogger(__name__)

CREDENTIALS_REJECTED = "wrong username or password"
# Users known to exist, so authenticating a request costs no query; cleared when full
# (about 100 bytes an entry).
KNOWN_USERS_CACHE_SIZE = 100_000


class AuthService:
    def __init__(
        self,
        database: Database,
        passwords: Passwords,
        access_tokens: AccessTokens,
        refresh_tokens: RefreshTokenStore,
        rate_limits: RateLimits,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._database = database
        self._passwords = passwords
        self._access_tokens = access_tokens
        self._refresh_tokens = refresh_tokens
        self._rate_limits = rate_limits
        self._settings = settings
        self._clock = clock
        self._known_users: set[uuid.UUID] = set()

    async def authenticate(self, access_token: str) -> uuid.UUID:
        """The user an access token speaks for; `Unauthorized` otherwise.

        A well-signed token can outlive its user's row (a database reset under a kept
        secret), so the user's existence is checked too, once per user per process: users
        are never deleted, so a user seen once stays valid.
        """
        user_id = self._access_tokens.verify(access_token)
        if user_id in self._known_users:
            return user_id
        async with self._database.reading() as session:
            exists = await session.scalar(select(User.id).where(User.id == user_id))
        if exists is None:
            raise Unauthorized("invalid access token")
        if len(self._known_users) >= KNOWN_USERS_CACHE_SIZE:
            self._known_users.clear()
        self._known_users.add(user_id)
        return user_id

    async def register(self, request: RegisterIn, address: str) -> Session:
        await self._rate_limits.register(address)
        s = self._settings
        check_username(request.username, s.username_min_length, s.username_max_length)
        email = _check_email(request.email, s.email_max_length)
        check_length("password", request.password, s.password_min_length, s.password_max_length)
        display_name = request.display_name
        if display_name is None:
            display_name = request.username
        check_length("displayName", display_name, 1, s.display_name_max_length)

        password_hash = await self._passwords.hash(request.password)

        now = self._clock.now()
        user = User(
            id=uuid.uuid4(),
            username=request.username,
            username_key=request.username.lower(),
            email=email,
            email_key=email.lower(),
            display_name=display_name,
            display_name_key=search_key(display_name),
            avatar_url=None,
            password_hash=password_hash,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self._database.transaction() as session:
                taken = await session.scalar(
                    select(User.id).where(
                        or_(
                            User.username_key == user.username_key, User.email_key == user.email_key
                        )
                    )
                )
                if taken is not None:
                    raise Conflict("username or email is taken")
                session.add(user)
        except IntegrityError:
            raise Conflict("username or email is taken") from None
        try:
            started = await self._start_session(user, uuid.uuid4())
        except Unavailable:
            # No session, no account: the client will retry with the same username.
            async with self._database.transaction() as db:
                await db.execute(delete(User).where(User.id == user.id))
            raise
        logger.info("registered user", extra={"user_id": str(user.id)})
        return started

    async def login(self, request: LoginIn, address: str) -> Session:
        await self._rate_limits.login(request.username, address)
        key = request.username.lower()
        async with self._database.reading() as session:
            column = User.email_key if "@" in key else User.username_key
            user = await session.scalar(select(User).where(column == key))

        if not await self._passwords.verify(user.password_hash if user else None, request.password):
            raise Unauthorized(CREDENTIALS_REJECTED)
        assert user is not None

        if self._passwords.needs_rehash(user.password_hash):
            await self._rehash(user.id, request.password)
        return await self._start_session(user, uuid.uuid4())

    async def refresh(self, refresh_token: str) -> Session:
        next_token = new_refresh_token()
        now = self._clock.now()
        rotation = await self._refresh_tokens.rotate(
            hash_refresh_token(refresh_token),
            hash_refresh_token(next_token),
            now,
            timedelta(seconds=self._settings.refresh_grace_seconds),
            now + timedelta(seconds=self._settings.refresh_token_ttl_seconds),
        )
        if rotation.outcome is RotationOutcome.THEFT:
            logger.warning(
                "spent refresh token presented again; login revoked",
                extra={"user_id": str(rotation.user_id)},
            )
        if rotation.outcome is not RotationOutcome.ROTATED or rotation.user_id is None:
            raise Unauthorized("invalid refresh token")

        async with self._database.reading() as session:
            user = await session.get(User, rotation.user_id)
        if user is None:
            raise Unauthorized("invalid refresh token")
        return self._session_view(user, next_token)

    async def logout(self, refresh_token: str) -> None:
        await self._refresh_tokens.revoke_family(hash_refresh_token(refresh_token))

    async def _start_session(self, user: User, family_id: uuid.UUID) -> Session:
        refresh_token = new_refresh_token()
        expires_at = self._clock.now() + timedelta(seconds=self._settings.refresh_token_ttl_seconds)
        await self._refresh_tokens.issue(
            hash_refresh_token(refresh_token), family_id, user.id, expires_at
        )
        return self._session_view(user, refresh_token)

    def _session_view(self, user: User, refresh_token: str) -> Session:
        return Session(
            user=own_view(user),
            access_token=self._access_tokens.issue(user.id),
            refresh_token=refresh_token,
            expires_in=int(self._access_tokens.ttl.total_seconds()),
        )

    async def _rehash(self, user_id: uuid.UUID, password: str) -> None:
        password_hash = await self._passwords.hash(password)
        async with self._database.transaction() as session:
            user = await session.get(User, user_id)
            if user is not None:
                user.password_hash = password_hash


def _check_email(email: str, maximum: int) -> str:
    """A syntactically valid address; returned as given (text is stored as sent)."""
    if len(email) > maximum:
        raise ValidationFailed(f"email must be at most {maximum} characters")
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(f"email is not valid: {exc}") from None
    return email
