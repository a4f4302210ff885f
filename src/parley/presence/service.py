"""Presence: online, away, offline, across every socket of a user, on every process.

Invariants:
- A user is online while any socket is connected, away when every connected socket said
  away, else offline; `lastSeenAt` is written when they go offline.
- Who is told: every user who shares a conversation with them, once each, through their
  user rooms; never the user themselves. Only changes are announced, once across all
  processes: what was last announced lives in the presence store, swapped atomically.
- Going offline waits `presence_offline_delay_seconds` (under the contract's 2 s) so that a
  reload, which closes one socket and opens another, does not flap.
- This process refreshes its sockets in the store every third of the expiry, and sweeps
  sockets whose process stopped refreshing them (it died), announcing their users offline.
- Presence is best effort: when the store is unavailable, connections, messages and
  everything else go on, and the next refresh puts this process's sockets back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import update

from parley.backends.interfaces import PresenceStatus, PresenceStore
from parley.clock import Clock
from parley.db.engine import Database
from parley.errors import Unavailable
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
        expiry_seconds: float,
        clock: Clock,
    ) -> None:
        self._store = store
        self._database = database
        self._broadcaster = broadcaster
        self._contacts_of = contacts_of
        self._offline_delay_seconds = offline_delay_seconds
        self._expiry_seconds = expiry_seconds
        self._clock = clock
        # This process's sockets: socket id -> (user, status). The store's copy is rebuilt
        # from it on every refresh.
        self._local: dict[str, tuple[uuid.UUID, PresenceStatus]] = {}
        self._pending_offline: dict[uuid.UUID, asyncio.Task[None]] = {}
        # Users whose change could not be settled while the store was away; the upkeep
        # settles them again, announcing even if the store (restarted empty) has no record.
        self._unsettled: set[uuid.UUID] = set()
        self._gone: dict[str, uuid.UUID] = {}  # sockets closed while the store was away
        self._upkeep: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin refreshing this process's sockets and sweeping expired ones."""
        self._upkeep = asyncio.create_task(self._keep_up())

    async def socket_connected(self, user_id: uuid.UUID, socket_id: str) -> None:
        await self._best_effort(self._store.add_socket(user_id, socket_id))
        await self._settle(user_id)
        # Only now does the upkeep refresh it: its refresh restores what contacts were told,
        # which must not come before this first announcement.
        self._local[socket_id] = (user_id, "online")

    async def socket_status(
        self, user_id: uuid.UUID, socket_id: str, status: PresenceStatus
    ) -> None:
        if socket_id in self._local:
            self._local[socket_id] = (user_id, status)
        await self._best_effort(self._store.set_socket_status(user_id, socket_id, status))
        await self._settle(user_id)

    async def socket_disconnected(self, user_id: uuid.UUID, socket_id: str) -> None:
        self._local.pop(socket_id, None)
        try:
            await self._store.remove_socket(user_id, socket_id)
        except Unavailable:
            self._gone[socket_id] = user_id  # removed by the upkeep once the store is back
        await self._settle(user_id)

    async def close(self) -> None:
        """On shutdown: stop the upkeep; everyone waiting to go offline was last seen now."""
        if self._upkeep is not None:
            self._upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._upkeep
        leaving = list(self._pending_offline)
        for task in self._pending_offline.values():
            task.cancel()
        self._pending_offline.clear()
        if not leaving:
            return
        await self._write_last_seen(leaving, self._clock.now())
        # Nobody else will announce them: their sockets were here, and are gone.
        for user_id in leaving:
            try:
                if await self._current(user_id) == "offline":
                    await self._store.swap_announced(user_id, "offline")
                    await self._announce(user_id, "offline", self._clock.now())
            except Unavailable:
                logger.warning("offline not announced at shutdown: shared state unavailable")

    async def _keep_up(self) -> None:
        interval = self._expiry_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self._store.refresh_sockets(dict(self._local))
                for socket_id, user_id in list(self._gone.items()):
                    await self._store.remove_socket(user_id, socket_id)
                    del self._gone[socket_id]
                for user_id in await self._store.expire():
                    await self._settle(user_id)
                retry, self._unsettled = self._unsettled, set()
                for user_id in retry:
                    await self._settle(user_id, force=True)
            except Unavailable:
                logger.warning("presence upkeep skipped: shared state unavailable")
            except Exception:
                logger.exception("presence upkeep failed")

    async def _current(self, user_id: uuid.UUID) -> Presence:
        return (await self._store.statuses([user_id])).get(user_id, "offline")

    async def _settle(self, user_id: uuid.UUID, force: bool = False) -> None:
        """Announce the user's status if it differs from what contacts were last told.

        `force` announces it anyway: after an outage of the store, what it remembers of
        earlier announcements cannot be trusted.
        """
        try:
            current = await self._current(user_id)
            if current == "offline":
                if user_id not in self._pending_offline:
                    going = self._go_offline(user_id, force)
                    self._pending_offline[user_id] = asyncio.create_task(going)
                return
            pending = self._pending_offline.pop(user_id, None)
            if pending is not None:
                pending.cancel()
            if await self._store.swap_announced(user_id, current) != current or force:
                await self._announce(user_id, current, None)
        except Unavailable:
            logger.warning("presence not updated: shared state unavailable")
            self._unsettled.add(user_id)

    async def _go_offline(self, user_id: uuid.UUID, force: bool) -> None:
        try:
            await asyncio.sleep(self._offline_delay_seconds)
            if await self._current(user_id) != "offline":
                return
            previous = await self._store.swap_announced(user_id, "offline")
            if previous == "offline" and not force:
                return  # nobody was told otherwise, or another process told them already
            last_seen_at = self._clock.now()
            await self._write_last_seen([user_id], last_seen_at)
            await self._announce(user_id, "offline", last_seen_at)
        except Unavailable:
            logger.warning("presence not updated: shared state unavailable")
            self._unsettled.add(user_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("announcing offline failed", extra={"user_id": str(user_id)})
        finally:
            if self._pending_offline.get(user_id) is asyncio.current_task():
                del self._pending_offline[user_id]

    async def _write_last_seen(self, user_ids: list[uuid.UUID], moment: datetime) -> None:
        async with self._database.transaction() as session:
            await session.execute(
                update(User).where(User.id.in_(user_ids)).values(last_seen_at=moment)
            )

    async def _announce(self, user_id: uuid.UUID, status: Presence, last_seen_at: object) -> None:
        contacts = await self._contacts_of(user_id)
        change = PresenceChanged(user_id=user_id, status=status, last_seen_at=last_seen_at)
        await self._broadcaster.to_users(contacts, "presence", wire(change))

    @staticmethod
    async def _best_effort(step: Awaitable[None]) -> None:
        try:
            await step
        except Unavailable:
            logger.warning("presence store not updated: shared state unavailable")
