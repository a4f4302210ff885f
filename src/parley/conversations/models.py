from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from parley.db.base import Base, BigIntId, UTCDateTime


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(String(16))  # "direct" | "group"
    name: Mapped[str | None] = mapped_column(String(512))
    # "<smaller user id>:<larger user id>" for direct conversations, null for groups: the
    # unique constraint on it is what keeps two people to one direct conversation.
    direct_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    # The seq of the newest message; sending increments it in the sending transaction.
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Participant(Base):
    __tablename__ = "participants"

    # Join order: a participant who leaves and comes back joins again at the end.
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # "owner" | "admin" | "member"
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_read_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("conversation_id", "user_id"),
        # A user's conversations (the list, the rooms to join on connect).
        Index("ix_participants_user_id_conversation_id", "user_id", "conversation_id"),
    )


Index(
    "ix_conversations_last_activity_at_id",
    Conversation.last_activity_at,
    Conversation.id,
)
