"""What services may ask of the real-time layer. Nothing here knows about Socket.IO."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from pydantic import BaseModel


def wire(model: BaseModel) -> dict[str, Any]:
    """A model as the JSON-ready dict every emit carries."""
    return model.model_dump(mode="json", by_alias=True)


class Broadcaster(Protocol):
    """Emit events to the sockets of conversations and users, and move sockets between rooms.

    A conversation's events reach every socket of every participant; a user's reach every
    socket of that user. Room changes apply to every socket of the user at once.
    """

    async def to_conversation(
        self,
        conversation_id: uuid.UUID,
        event: str,
        payload: dict[str, Any],
        exclude_user: uuid.UUID | None = None,
    ) -> None: ...

    async def to_users(
        self, user_ids: Iterable[uuid.UUID], event: str, payload: dict[str, Any]
    ) -> None: ...

    async def join_conversation(
        self, user_ids: Iterable[uuid.UUID], conversation_id: uuid.UUID
    ) -> None: ...

    async def leave_conversation(
        self, user_ids: Iterable[uuid.UUID], conversation_id: uuid.UUID
    ) -> None: ...
