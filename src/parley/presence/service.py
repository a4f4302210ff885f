"""Presence: online, away, offline, across every socket of a user.

Invariants:
- A user is online while any socket is connected, away when every connected socket said
  away, else offline; `lastSeenAt` is written when they go offline.
- Who is told: every user who shares a conversation with them, once each, through their
  user rooms; never the user themselves. Only changes are announced.
- Going offline waits `presence_offline_delay_seconds` (under the contract's 2 s) so that a
  reload, which closes one socket and opens another, does not flap.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import update

from parley.backends.interfaces import PresenceStatus, PresenceStore
from parley.clock import Clock
from parley.db.engine import Database
from parley.presence.schemas import PresenceChanged
from parley.realtime.interface import Broadcaster, wire
from parley.users.models import User
from parley.users.schemas import Presence

logger = logging.getLogger(__name__)

ContactsOf = Callable[[uuid.UUID], Awaitable[list[uuid.UUID]]]


class PresenceService:
    def __init__(
        self,
        store: PresenceStore,
        database: Database,
        broadcaster: Broadcaster,
        contacts_of: ContactsOf,
        offline_delay_seconds: float,
        clock: Clock,
    ) -> None:
        self._store = store
        self._database = database
        self._broadcaster = broadcaster
        self._contacts_of = contacts_of
        self._offline_delay_seconds = offline_delay_seconds
        self._clock = clock
        # What contacts were last told about each user this process announced.
        self._announced: dict[uuid.UUID, Presence] = {}
        self._pending_offline: dict[uuid.UUID, asyncio.Task[None]] = {}

    async def socket_connected(self, user_id: uuid.UUID, socket_id: str) -> None:
        await self._store.add_socket(user_id, socket_id)
        await self._settle(user_id)

    async def socket_status(
        self, user_id: uuid.UUID, socket_id: str, status: PresenceStatus
    ) -> None:
        await self._store.set_socket_status(user_id, socket_id, status)
        await self._settle(user_id)

    async def socket_disconnected(self, user_id: uuid.UUID, socket_id: str) -> None:
        await self._store.remove_socket(user_id, socket_id)
        await self._settle(user_id)

    async def close(self) -> None:
        """On shutdown: everyone still waiting to go offline was last seen now."""
        leaving = list(self._pending_offline)
        for task in self._pending_offline.values():
            task.cancel()
        self._pending_offline.clear()
        if leaving:
            async with self._database.transaction() as session:
                await session.execute(
                    update(User).where(User.id.in_(leaving)).values(last_seen_at=self._clock.now())
                )

    async def _current(self, user_id: uuid.UUID) -> Presence:
        return (await self._store.statuses([user_id])).get(user_id, "offline")

    async def _settle(self, user_id: uuid.UUID) -> None:
        """Announce the user's status if it differs from what contacts were last told."""
        current = await self._current(user_id)
        if current == "offline":
            if user_id in self._announced and user_id not in self._pending_offline:
                self._pending_offline[user_id] = asyncio.create_task(self._go_offline(user_id))
            return
        pending = self._pending_offline.pop(user_id, None)
        if pending is not None:
            pending.cancel()
        if self._announced.get(user_id) != current:
            self._announced[user_id] = current
            await self._announce(user_id, current, None)

    async def _go_offline(self, user_id: uuid.UUID) -> None:
        try:
            await asyncio.sleep(self._offline_delay_seconds)
            if await self._current(user_id) != "offline":
                return
            self._announced.pop(user_id, None)
            last_seen_at = self._clock.now()
            async with self._database.transaction() as session:
                await session.execute(
                    update(User).where(User.id == user_id).values(last_seen_at=last_seen_at)
                )
            await self._announce(user_id, "offline", last_seen_at)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("announcing offline failed", extra={"user_id": str(user_id)})
        finally:
            if self._pending_offline.get(user_id) is asyncio.current_task():
                del self._pending_offline[user_id]

    async def _announce(self, user_id: uuid.UUID, status: Presence, last_seen_at: object) -> None:
        contacts = await self._contacts_of(user_id)
        change = PresenceChanged(user_id=user_id, status=status, last_seen_at=last_seen_at)
        await self._broadcaster.to_users(contacts, "presence", wire(change))
