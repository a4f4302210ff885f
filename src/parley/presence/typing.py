"""Typing indicators.

Invariants: `userTyping` reaches every socket of the other participants and none of the
typist's. The server remembers who is typing where until the state goes stale
(`typing_timeout_seconds` without a repeat), so that when a user's last socket leaves it can
tell each conversation they were typing in that they stopped.
"""

from __future__ import annotations

import uuid

from parley.clock import Clock
from parley.conversations.membership import require_participant
from parley.db.engine import Database
from parley.presence.schemas import UserTyping
from parley.ratelimit import RateLimits
from parley.realtime.interface import Broadcaster, wire


class TypingService:
    def __init__(
        self,
        database: Database,
        broadcaster: Broadcaster,
        rate_limits: RateLimits,
        timeout_seconds: float,
        clock: Clock,
    ) -> None:
        self._database = database
        self._broadcaster = broadcaster
        self._rate_limits = rate_limits
        self._timeout_seconds = timeout_seconds
        self._clock = clock
        # user -> conversation -> monotonic time of the last `isTyping: true`
        self._typing: dict[uuid.UUID, dict[uuid.UUID, float]] = {}

    async def set_typing(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, is_typing: bool
    ) -> None:
        await self._rate_limits.typing(user_id)
        async with self._database.reading() as session:
            await require_participant(session, conversation_id, user_id)

        conversations = self._typing.setdefault(user_id, {})
        if is_typing:
            conversations[conversation_id] = self._clock.monotonic()
        else:
            conversations.pop(conversation_id, None)
        if not conversations:
            self._typing.pop(user_id, None)
        await self._emit(user_id, conversation_id, is_typing)

    async def user_left(self, user_id: uuid.UUID) -> None:
        """The user's last socket is gone: end every typing state that is still fresh."""
        conversations = self._typing.pop(user_id, {})
        fresh_after = self._clock.monotonic() - self._timeout_seconds
        for conversation_id, since in conversations.items():
            if since >= fresh_after:
                await self._emit(user_id, conversation_id, False)

    async def _emit(self, user_id: uuid.UUID, conversation_id: uuid.UUID, is_typing: bool) -> None:
        event = UserTyping(conversation_id=conversation_id, user_id=user_id, is_typing=is_typing)
        await self._broadcaster.to_conversation(
            conversation_id, "userTyping", wire(event), exclude_user=user_id
        )
