from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from parley.db.base import Base, UTCDateTime


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(64))
    # Lower-cased copies: uniqueness and look-ups ignore case, the originals stay as typed.
    username_key: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(256))
    # Case-folded in Python, for search: SQLite's lower() and LIKE fold only ASCII.
    display_name_key: Mapped[str] = mapped_column(String(256), index=True)
    avatar_url: Mapped[str | None] = mapped_column(String(4096))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Written when the user's last socket leaves; the public view shows it while offline.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
