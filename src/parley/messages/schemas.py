from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from parley.schemas import MAX_SEQ, InputModel, Timestamp, WireModel


class MessageView(WireModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    client_id: str
    type: str
    content: str
    metadata: dict[str, Any]
    created_at: Timestamp
    edited_at: Timestamp | None
    deleted_at: Timestamp | None


class MessagesPage(WireModel):
    items: list[MessageView]
    has_more: bool


class MessageCreate(InputModel):
    client_id: str
    content: str
    type: str | None = None
    metadata: dict[str, Any] | None = None


class MessageEdit(InputModel):
    content: str


class MessageDeleted(WireModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    deleted_at: Timestamp


# Socket payloads: ids arrive as strings so a malformed one can answer `not_found`.


class SendMessageEvent(MessageCreate):
    conversation_id: str


class EditMessageEvent(MessageEdit):
    message_id: str


class DeleteMessageEvent(InputModel):
    message_id: str


class SyncEvent(InputModel):
    conversation_id: str
    after_seq: int = Field(ge=0, le=MAX_SEQ)
    limit: int | None = None


class DeletedAck(WireModel):
    id: uuid.UUID
