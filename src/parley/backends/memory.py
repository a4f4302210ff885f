"""In-process implementations of the shared-state interfaces: one process, no services."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any

from parley.backends.interfaces import PresenceStatus, message_version

# Buckets that have refilled completely hold no information; sweep them every so many hits
# so a stream of distinct keys (addresses, usernames) cannot grow memory without bound.
RATE_LIMIT_SWEEP_EVERY_HITS = 10_000
# Untouched this long, any bucket is full again: the slowest rule (registrations per hour)
# refills within an hour.
BUCKET_FULL_SECONDS = 3600.0


class MemoryPresenceStore:
    """Presence in this process: its sockets end with it, so nothing ever expires."""

    def __init__(self) -> None:
        self._sockets: dict[uuid.UUID, dict[str, PresenceStatus]] = defaultdict(dict)
        self._announced: dict[uuid.UUID, str] = {}

    async def refresh_sockets(self, sockets: dict[str, tuple[uuid.UUID, PresenceStatus]]) -> None:
        return None

    async def expire(self) -> set[uuid.UUID]:
        return set()

    async def swap_announced(self, user_id: uuid.UUID, status: str) -> str:
        previous = self._announced.get(user_id, "offline")
        if status == "offline":
            self._announced.pop(user_id, None)
        else:
            self._announced[user_id] = status
        return previous

    async def add_socket(self, user_id: uuid.UUID, socket_id: str) -> None:
        self._sockets[user_id][socket_id] = "online"

    async def set_socket_status(
        self, user_id: uuid.UUID, socket_id: str, status: PresenceStatus
    ) -> None:
        sockets = self._sockets.get(user_id)
        if sockets is not None and socket_id in sockets:
            sockets[socket_id] = status

    async def remove_socket(self, user_id: uuid.UUID, socket_id: str) -> None:
        sockets = self._sockets.get(user_id)
        if sockets is None:
            return
        sockets.pop(socket_id, None)
        if not sockets:
            del self._sockets[user_id]

    async def statuses(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, PresenceStatus]:
        result: dict[uuid.UUID, PresenceStatus] = {}
        for user_id in user_ids:
            sockets = self._sockets.get(user_id)
            if sockets:
                away = all(status == "away" for status in sockets.values())
                result[user_id] = "away" if away else "online"
        return result


@dataclass
class _Bucket:
    tokens: float
    updated: float


class MemoryRateLimiter:
    """Token buckets keyed by string, refilled continuously."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._hits = 0

    async def hit(self, key: str, per_second: float, burst: int) -> float | None:
        now = time.monotonic()
        self._hits += 1
        if self._hits % RATE_LIMIT_SWEEP_EVERY_HITS == 0:
            self._sweep(now)

        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(burst), updated=now)
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * per_second)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / per_second

    def _sweep(self, now: float) -> None:
        stale = [k for k, b in self._buckets.items() if now - b.updated > BUCKET_FULL_SECONDS]
        for key in stale:
            del self._buckets[key]


class MemoryRecentMessages:
    """The newest messages of each conversation, in this process."""

    def __init__(self, size: int, max_conversations: int) -> None:
        self._size = size
        self._max_conversations = max_conversations
        # Least recently used first, so memory stays bounded however many conversations.
        self._conversations: OrderedDict[uuid.UUID, dict[int, tuple[str, dict[str, Any]]]] = (
            OrderedDict()
        )

    async def newest(
        self, conversation_id: uuid.UUID, last_seq: int, limit: int
    ) -> list[dict[str, Any]] | None:
        held = self._conversations.get(conversation_id, {})
        if held:
            self._conversations.move_to_end(conversation_id)
        wanted = range(last_seq, max(0, last_seq - limit), -1)
        if any(seq not in held for seq in wanted):
            return None
        return [held[seq][1] for seq in wanted]

    async def forget(self, conversation_ids: set[uuid.UUID]) -> None:
        for conversation_id in conversation_ids:
            self._conversations.pop(conversation_id, None)

    async def store(self, conversation_id: uuid.UUID, messages: list[dict[str, Any]]) -> None:
        held = self._conversations.setdefault(conversation_id, {})
        self._conversations.move_to_end(conversation_id)
        while len(self._conversations) > self._max_conversations:
            self._conversations.popitem(last=False)
        for message in messages:
            seq, version = message["seq"], message_version(message)
            if seq not in held or held[seq][0] <= version:
                held[seq] = (version, message)
        for seq in sorted(held)[: max(0, len(held) - self._size)]:
            del held[seq]
