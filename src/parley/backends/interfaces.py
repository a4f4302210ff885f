"""The shared state of a Parley deployment, as interfaces.

Each has an embedded implementation (this process or its database) and, for deployments
of several processes, a Redis one. Services see only these protocols.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

PresenceStatus = Literal["online", "away"]


class RotationOutcome(enum.Enum):
    ROTATED = "rotated"  # the token was live (or spent within the grace): here is the next
    INVALID = "invalid"  # unknown, expired or revoked
    THEFT = "theft"  # spent before the grace period: the whole family is now revoked


@dataclass(frozen=True)
class Rotation:
    outcome: RotationOutcome
    user_id: uuid.UUID | None = None
    family_id: uuid.UUID | None = None


class RefreshTokenStore(Protocol):
    """Refresh tokens by hash, grouped in families: one family per login."""

    async def issue(
        self, token_hash: str, family_id: uuid.UUID, user_id: uuid.UUID, expires_at: datetime
    ) -> None: ...

    async def rotate(
        self,
        token_hash: str,
        next_hash: str,
        now: datetime,
        grace: timedelta,
        next_expires_at: datetime,
    ) -> Rotation:
        """Spend `token_hash` and store `next_hash` in its family, atomically.

        A token already spent is honoured again only within `grace` of its spending (two
        tabs refreshing at once); later, it is taken as stolen and its family is revoked.
        """
        ...

    async def revoke_family(self, token_hash: str) -> None:
        """Revoke every token of the login `token_hash` belongs to; unknown ones are ignored."""
        ...


class PresenceStore(Protocol):
    """Which sockets each user has, and what each said about the user's status.

    Each socket expires unless the process holding it refreshes it, so the sockets of a
    process that died go away; `expire` removes them, once, for whichever process asks first.
    """

    async def add_socket(self, user_id: uuid.UUID, socket_id: str) -> None: ...

    async def refresh_sockets(self, sockets: dict[str, tuple[uuid.UUID, PresenceStatus]]) -> None:
        """Re-assert this process's live sockets (socket id -> user, status) for another term."""
        ...

    async def expire(self) -> set[uuid.UUID]:
        """Remove every socket past its term; the users who lost one."""
        ...

    async def swap_announced(self, user_id: uuid.UUID, status: str) -> str:
        """Record what contacts are now told of the user; what they were told before.

        "offline" when nothing was recorded. Shared, so that several processes announce
        each change once.
        """
        ...

    async def set_socket_status(
        self, user_id: uuid.UUID, socket_id: str, status: PresenceStatus
    ) -> None: ...

    async def remove_socket(self, user_id: uuid.UUID, socket_id: str) -> None: ...

    async def statuses(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, PresenceStatus]:
        """The status of each user who has a socket: online unless every socket said away.

        Users without a socket are left out: they are offline.
        """
        ...


class RateLimiter(Protocol):
    async def hit(self, key: str, per_second: float, burst: int) -> float | None:
        """Take one token from the bucket `key`; return seconds to wait if it is empty."""
        ...


def message_version(message: dict[str, Any]) -> str:
    """Which of two copies of one message is newer: deleted beats edited beats sent, and a
    later edit beats an earlier one (timestamps in the contract's fixed ISO form sort as
    text)."""
    return ("1" if message["deletedAt"] else "0") + (message["editedAt"] or "")


class RecentMessages(Protocol):
    """The newest messages of each conversation (wire form), serving the first history page.

    Copies only replace older versions of themselves, so updates arriving out of order
    (processes racing) leave the newest. A read is a hit only when every seq it needs is
    held, counted down from the conversation's `last_seq` as the database knows it.
    """

    async def newest(
        self, conversation_id: uuid.UUID, last_seq: int, limit: int
    ) -> list[dict[str, Any]] | None:
        """Messages `last_seq` down to `last_seq - limit + 1` (or 1), newest first; None
        when any is missing."""
        ...

    async def store(self, conversation_id: uuid.UUID, messages: list[dict[str, Any]]) -> None:
        """Keep these copies (new, edited, deleted, or a page read from the database)."""
        ...

    async def forget(self, conversation_ids: set[uuid.UUID]) -> None:
        """Drop everything held for these conversations."""
        ...
