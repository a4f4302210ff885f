"""The recent-message cache, in-process and in Redis, held to the same rules."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from parley.backends.interfaces import RecentMessages, message_version
from parley.backends.memory import MemoryRecentMessages
from parley.backends.redis_state import RedisGuard, RedisRecentMessages, connect
from tests.support.services import RedisServer

SIZE = 5


def message(
    seq: int, content: str = "x", edited: str | None = None, deleted: bool = False
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_OID, str(seq))),
        "seq": seq,
        "content": "" if deleted else content,
        "editedAt": edited,
        "deletedAt": "2026-01-01T00:00:09.000Z" if deleted else None,
    }


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[RecentMessages]:
    if request.param == "memory":
        yield MemoryRecentMessages(SIZE, max_conversations=3)
        return
    redis: RedisServer = request.getfixturevalue("redis")
    client = connect(redis.url, 1.0)
    guard = RedisGuard(lambda: None, pause_seconds=1.0)
    yield RedisRecentMessages(client, f"test_{uuid.uuid4().hex}", SIZE, 60, guard)
    await client.aclose()


def test_deleted_beats_edited_beats_sent_and_later_edits_win() -> None:
    sent = message_version(message(1))
    early = message_version(message(1, edited="2026-01-01T00:00:01.000Z"))
    late = message_version(message(1, edited="2026-01-01T00:00:02.000Z"))
    deleted = message_version(message(1, deleted=True))
    assert sent < early < late < deleted


async def test_newest_is_a_hit_only_when_every_seq_is_held(cache: RecentMessages) -> None:
    conversation = uuid.uuid4()
    assert await cache.newest(conversation, 3, 10) is None
    await cache.store(conversation, [message(3), message(2)])
    assert await cache.newest(conversation, 3, 10) is None  # seq 1 is missing
    assert [m["seq"] for m in await cache.newest(conversation, 3, 2) or []] == [3, 2]
    await cache.store(conversation, [message(1)])
    assert [m["seq"] for m in await cache.newest(conversation, 3, 10) or []] == [3, 2, 1]
    assert await cache.newest(conversation, 4, 2) is None  # a send the cache has not seen


async def test_an_older_copy_never_replaces_a_newer_one(cache: RecentMessages) -> None:
    conversation = uuid.uuid4()
    edited = message(1, "edited", edited="2026-01-01T00:00:01.000Z")
    await cache.store(conversation, [edited])
    await cache.store(conversation, [message(1, "original")])  # a fill read before the edit
    assert (await cache.newest(conversation, 1, 1) or [{}])[0]["content"] == "edited"
    await cache.store(conversation, [message(1, deleted=True)])
    await cache.store(conversation, [edited])
    assert (await cache.newest(conversation, 1, 1) or [{}])[0]["deletedAt"] is not None


async def test_only_the_newest_messages_are_kept(cache: RecentMessages) -> None:
    conversation = uuid.uuid4()
    await cache.store(conversation, [message(seq) for seq in range(1, 9)])
    assert [m["seq"] for m in await cache.newest(conversation, 8, SIZE) or []] == [8, 7, 6, 5, 4]
    assert await cache.newest(conversation, 8, SIZE + 1) is None


async def test_forgotten_conversations_miss(cache: RecentMessages) -> None:
    conversation = uuid.uuid4()
    await cache.store(conversation, [message(1)])
    await cache.forget({conversation})
    assert await cache.newest(conversation, 1, 1) is None


async def test_in_process_cache_keeps_a_bounded_number_of_conversations() -> None:
    cache = MemoryRecentMessages(SIZE, max_conversations=2)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for conversation in (first, second, third):
        await cache.store(conversation, [message(1)])
    assert await cache.newest(first, 1, 1) is None
    assert await cache.newest(third, 1, 1) is not None
