from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from parley.messages.schemas import MessageView
from parley.schemas import MAX_SEQ, InputModel, Timestamp, WireModel
from parley.users.schemas import UserPublic

Role = Literal["owner", "admin", "member"]


class ParticipantView(UserPublic):
    """The participant's public user view at the top level, plus their membership."""

    role: Role
    joined_at: Timestamp
    last_read_seq: int
    last_read_at: Timestamp | None


class ConversationShared(WireModel):
    """A conversation as every participant sees it: what `conversationUpdated` carries."""

    id: uuid.UUID
    type: Literal["direct", "group"]
    name: str | None
    participant_count: int
    participants: list[ParticipantView]
    last_seq: int
    last_message: MessageView | None
    created_at: Timestamp
    updated_at: Timestamp
    last_activity_at: Timestamp


class ConversationView(ConversationShared):
    """A conversation as one participant sees it, with their unread count."""

    unread_count: int


class ConversationPage(WireModel):
    items: list[ConversationView]
    next_cursor: str | None


class ParticipantPage(WireModel):
    items: list[ParticipantView]
    next_cursor: str | None


class ConversationCreate(InputModel):
    type: Literal["direct", "group"]
    participant_ids: list[str]
    name: str | None = None


class ConversationRename(InputModel):
    name: str


class ParticipantsAdd(InputModel):
    user_ids: list[str]


class RoleChange(InputModel):
    role: Literal["admin", "member"]


class ReadMarker(InputModel):
    seq: int = Field(ge=0, le=MAX_SEQ)


class ReadReceipt(WireModel):
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    seq: int
    read_at: Timestamp


class MarkReadEvent(ReadMarker):
    conversation_id: str


class MarkReadAck(WireModel):
    last_read_seq: int
