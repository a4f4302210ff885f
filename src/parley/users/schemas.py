from __future__ import annotations

import uuid
from typing import Literal

from parley.schemas import InputModel, Timestamp, WireModel

Presence = Literal["online", "away", "offline"]


class UserOwn(WireModel):
    """A user as they see themselves."""

    id: uuid.UUID
    username: str
    display_name: str
    email: str
    avatar_url: str | None
    created_at: Timestamp
    updated_at: Timestamp


class UserPublic(WireModel):
    """A user as everyone else sees them: no email, with presence."""

    id: uuid.UUID
    username: str
    display_name: str
    avatar_url: str | None
    created_at: Timestamp
    updated_at: Timestamp
    presence: Presence
    last_seen_at: Timestamp | None


class UserUpdate(InputModel):
    display_name: str | None = None
    avatar_url: str | None = None
