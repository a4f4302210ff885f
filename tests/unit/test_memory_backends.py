from __future__ import annotations

import uuid

from parley.backends.memory import MemoryPresenceStore, MemoryRateLimiter


async def test_rate_limiter_allows_the_burst_then_asks_to_wait() -> None:
    limiter = MemoryRateLimiter()
    for _ in range(5):
        assert await limiter.hit("k", per_second=1.0, burst=5) is None
    retry_after = await limiter.hit("k", per_second=1.0, burst=5)
    assert retry_after is not None and 0 < retry_after <= 1.0


async def test_rate_limiter_keys_are_independent() -> None:
    limiter = MemoryRateLimiter()
    assert await limiter.hit("a", per_second=0.001, burst=1) is None
    assert await limiter.hit("b", per_second=0.001, burst=1) is None
    assert await limiter.hit("a", per_second=0.001, burst=1) is not None


async def test_presence_is_online_while_any_socket_is_not_away() -> None:
    store = MemoryPresenceStore()
    user = uuid.uuid4()
    await store.add_socket(user, "tab1")
    await store.add_socket(user, "tab2")
    await store.set_socket_status(user, "tab1", "away")
    assert await store.statuses([user]) == {user: "online"}
    await store.set_socket_status(user, "tab2", "away")
    assert await store.statuses([user]) == {user: "away"}
    await store.remove_socket(user, "tab1")
    await store.remove_socket(user, "tab2")
    assert await store.statuses([user]) == {}
