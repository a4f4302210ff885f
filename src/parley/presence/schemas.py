from __future__ import annotations

import uuid
from typing import Literal

from parley.schemas import InputModel, Timestamp, WireModel
from parley.users.schemas import Presence


class PresenceChanged(WireModel):
    user_id: uuid.UUID
    status: Presence
    last_seen_at: Timestamp | None


class HeartbeatEvent(InputModel):
    status: Literal["online", "away"] | None = None


class TypingEvent(InputModel):
    conversation_id: str
    is_typing: bool


class UserTyping(WireModel):
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    is_typing: bool


class Empty(WireModel):
    pass
