from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from parley.db.base import Base, UTCDateTime


class RefreshToken(Base):
    """A refresh token of the embedded store, kept only as its SHA-256 hash."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Every token rotated from one login shares the family; theft revokes the family.
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
