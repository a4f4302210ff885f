"""Profiles and user search.

Invariants: usernames and emails are unique ignoring case (the `*_key` columns); the public
view never carries an email; presence comes from the presence store, `lastSeenAt` only
while offline.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.backends.interfaces import PresenceStore
from parley.clock import Clock
from parley.config import Settings
from parley.db.engine import Database
from parley.errors import NotFound, Unavailable
from parley.users.models import User
from parley.users.schemas import UserOwn, UserPublic, UserUpdate
from parley.validation import check_length, check_url


def own_view(user: User) -> UserOwn:
    return UserOwn(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        avatar_url=user.avatar_url,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def search_key(text: str) -> str:
    """The form names are compared in when searching: case folded for every script."""
    return text.casefold()


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class UsersService:
    def __init__(
        self, database: Database, presence: PresenceStore, settings: Settings, clock: Clock
    ) -> None:
        self._database = database
        self._presence = presence
        self._settings = settings
        self._clock = clock

    async def public_views(self, users: Sequence[User]) -> list[UserPublic]:
        """Public views with presence, looked up for all users at once.

        Without the shared state (Redis away) everyone reads as offline: a conversation list
        or a profile is worth more than an exact presence dot.
        """
        try:
            statuses = await self._presence.statuses([user.id for user in users])
        except Unavailable:
            statuses = {}
        views = []
        for user in users:
            status = statuses.get(user.id, "offline")
            views.append(
                UserPublic(
                    id=user.id,
                    username=user.username,
                    display_name=user.display_name,
                    avatar_url=user.avatar_url,
                    created_at=user.created_at,
                    updated_at=user.updated_at,
                    presence=status,
                    last_seen_at=user.last_seen_at if status == "offline" else None,
                )
            )
        return views

    async def get_own(self, user_id: uuid.UUID) -> UserOwn:
        async with self._database.reading() as session:
            return own_view(await require_user(session, user_id))

    async def get_view(self, caller_id: uuid.UUID, user_id: uuid.UUID) -> UserOwn | UserPublic:
        """The caller's own view for their own id, the public view for anyone else's."""
        async with self._database.reading() as session:
            user = await require_user(session, user_id)
        if user.id == caller_id:
            return own_view(user)
        return (await self.public_views([user]))[0]

    async def update_me(self, user_id: uuid.UUID, update: UserUpdate) -> UserOwn:
        limits = self._settings
        if update.display_name is not None:
            check_length("displayName", update.display_name, 1, limits.display_name_max_length)
        # `null` means "unchanged" (the contract's rule for optional fields), so an empty
        # string is how a user removes their avatar.
        if update.avatar_url:
            check_url("avatarUrl", update.avatar_url, limits.avatar_url_max_length)

        async with self._database.transaction() as session:
            user = await require_user(session, user_id)
            if update.display_name is not None:
                user.display_name = update.display_name
                user.display_name_key = search_key(update.display_name)
            if update.avatar_url is not None:
                user.avatar_url = update.avatar_url or None
            user.updated_at = self._clock.now()
        return own_view(user)

    async def search(self, caller_id: uuid.UUID, query: str, limit: int) -> list[UserPublic]:
        """Users other than the caller whose username or display name starts with `query`."""
        limit = min(limit, self._settings.page_size_max)
        pattern = escape_like(search_key(query)) + "%"
        async with self._database.reading() as session:
            users = (
                await session.scalars(
                    select(User)
                    .where(
                        User.id != caller_id,
                        or_(
                            User.username_key.like(pattern, escape="\\"),
                            User.display_name_key.like(pattern, escape="\\"),
                        ),
                    )
                    .order_by(User.username_key)
                    .limit(limit)
                )
            ).all()
        return await self.public_views(users)


async def require_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    return user
