"""The membership rule every conversation-scoped action starts with."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.conversations.models import Conversation, Participant
from parley.errors import NotFound


async def get_participant(
    session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID
) -> Participant | None:
    return await session.scalar(
        select(Participant).where(
            Participant.conversation_id == conversation_id, Participant.user_id == user_id
        )
    )


async def require_participant(
    session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID
) -> Participant:
    """The caller's membership; a conversation they are not in does not exist for them."""
    participant = await get_participant(session, conversation_id, user_id)
    if participant is None:
        raise NotFound("conversation not found")
    return participant


async def require_conversation(
    session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID, lock: bool = False
) -> tuple[Conversation, Participant]:
    """The conversation and the caller's membership in it. `lock` holds the conversation's
    row until the transaction ends, so that changes to its membership run one at a time
    (PostgreSQL; SQLite's writes already do)."""
    query = (
        select(Conversation, Participant)
        .join(Participant, Participant.conversation_id == Conversation.id)
        .where(Conversation.id == conversation_id, Participant.user_id == user_id)
    )
    if lock:
        query = query.with_for_update(of=Conversation)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound("conversation not found")
    return row[0], row[1]
