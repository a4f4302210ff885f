"""Redis implementations of the shared-state interfaces, for several processes.

Keys all start with the configured prefix. Multi-step changes run as Lua scripts, so each
is atomic on the server: two processes never both rotate a refresh token or both expire
a socket. Redis failures are translated here: refresh tokens answer `Unavailable`; the
rate limiter lets requests through (a limit is not worth an outage); presence callers
decide for themselves.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from parley.backends.interfaces import (
    PresenceStatus,
    Rotation,
    RotationOutcome,
    message_version,
)
from parley.errors import Unavailable

logger = logging.getLogger(__name__)


class RedisGuard:
    """What the stores share about Redis's health.

    It counts every failed call for the metrics, and for a moment after a call timed out makes
    calls fail at once: a Redis that stopped answering (rather than refusing, which fails fast
    anyway) costs one caller the timeout per pause, not every caller on every call.
    """

    def __init__(self, on_error: Callable[[], None], pause_seconds: float) -> None:
        self._on_error = on_error
        self._pause_seconds = pause_seconds
        self._paused_until = 0.0

    @property
    def paused(self) -> bool:
        return time.monotonic() < self._paused_until

    def failed(self, error: RedisError) -> None:
        self._on_error()
        if isinstance(error, RedisTimeoutError):
            self._paused_until = time.monotonic() + self._pause_seconds


def connect(url: str, timeout_seconds: float) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        decode_responses=True,
    )


# KEYS: token, family of token is read inside. ARGV: now_ms, grace_ms, next_hash, ttl_s, prefix
_ROTATE = """
local token = redis.call('HMGET', KEYS[1], 'family', 'user', 'spent')
local family, user, spent = token[1], token[2], token[3]
if not family then return {'invalid'} end
local family_key = ARGV[5] .. ':rtf:' .. family
local now = tonumber(ARGV[1])
if spent and now - tonumber(spent) > tonumber(ARGV[2]) then
  for _, member in ipairs(redis.call('SMEMBERS', family_key)) do
    redis.call('DEL', ARGV[5] .. ':rt:' .. member)
  end
  redis.call('DEL', family_key)
  return {'theft', user, family}
end
if not spent then redis.call('HSET', KEYS[1], 'spent', ARGV[1]) end
local next_key = ARGV[5] .. ':rt:' .. ARGV[3]
redis.call('HSET', next_key, 'family', family, 'user', user)
redis.call('EXPIRE', next_key, ARGV[4])
redis.call('SADD', family_key, ARGV[3])
redis.call('EXPIRE', family_key, ARGV[4])
return {'rotated', user, family}
"""

# KEYS: token. ARGV: prefix
_REVOKE = """
local family = redis.call('HGET', KEYS[1], 'family')
if not family then return 0 end
local family_key = ARGV[1] .. ':rtf:' .. family
for _, member in ipairs(redis.call('SMEMBERS', family_key)) do
  redis.call('DEL', ARGV[1] .. ':rt:' .. member)
end
redis.call('DEL', family_key, KEYS[1])
return 1
"""


class RedisRefreshTokenStore:
    """Tokens as hashes `<prefix>:rt:<hash>` with a TTL; families as sets `<prefix>:rtf:<id>`."""

    def __init__(self, client: aioredis.Redis, prefix: str, guard: RedisGuard) -> None:
        self._client = client
        self._prefix = prefix
        self._guard = guard
        self._rotate = client.register_script(_ROTATE)
        self._revoke = client.register_script(_REVOKE)

    def _key(self, token_hash: str) -> str:
        return f"{self._prefix}:rt:{token_hash}"

    async def issue(
        self, token_hash: str, family_id: uuid.UUID, user_id: uuid.UUID, expires_at: datetime
    ) -> None:
        ttl = max(1, int((expires_at - datetime.now(expires_at.tzinfo)).total_seconds()))
        family_key = f"{self._prefix}:rtf:{family_id}"
        async with _translated(self._guard), self._client.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._key(token_hash), mapping={"family": str(family_id), "user": str(user_id)}
            )
            pipe.expire(self._key(token_hash), ttl)
            pipe.sadd(family_key, token_hash)
            pipe.expire(family_key, ttl)
            await pipe.execute()

    async def rotate(
        self,
        token_hash: str,
        next_hash: str,
        now: datetime,
        grace: timedelta,
        next_expires_at: datetime,
    ) -> Rotation:
        ttl = max(1, int((next_expires_at - now).total_seconds()))
        args: list[str | int] = [
            _ms(now),
            int(grace.total_seconds() * 1000),
            next_hash,
            ttl,
            self._prefix,
        ]
        async with _translated(self._guard):
            result: list[str] = await self._rotate(keys=[self._key(token_hash)], args=args)
        if result[0] == "invalid":
            return Rotation(RotationOutcome.INVALID)
        outcome = RotationOutcome.THEFT if result[0] == "theft" else RotationOutcome.ROTATED
        return Rotation(outcome, uuid.UUID(result[1]), uuid.UUID(result[2]))

    async def revoke_family(self, token_hash: str) -> None:
        async with _translated(self._guard):
            await self._revoke(keys=[self._key(token_hash)], args=[self._prefix])


# KEYS: bucket. ARGV: now_ms, per_second, burst. Returns milliseconds to wait, 0 when allowed.
_TAKE = """
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local now, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) / 1000 * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate * 1000) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait
"""


class RedisRateLimiter:
    """Token buckets shared by every process; on a Redis failure, requests go through."""

    def __init__(self, client: aioredis.Redis, prefix: str, guard: RedisGuard) -> None:
        self._prefix = prefix
        self._guard = guard
        self._take = client.register_script(_TAKE)

    async def hit(self, key: str, per_second: float, burst: int) -> float | None:
        if self._guard.paused:
            return None
        try:
            wait_ms = await self._take(
                keys=[f"{self._prefix}:rl:{key}"], args=[_ms_now(), per_second, burst]
            )
        except RedisError as error:
            self._guard.failed(error)
            logger.warning("rate limit skipped: redis unavailable (%s)", type(error).__name__)
            return None
        return int(wait_ms) / 1000 if int(wait_ms) > 0 else None


# KEYS: expiry zset. ARGV: now_ms, prefix. Removes sockets past their term; returns them.
_EXPIRE = """
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, member in ipairs(gone) do
  redis.call('ZREM', KEYS[1], member)
  local separator = string.find(member, '|', 1, true)
  local user = string.sub(member, 1, separator - 1)
  redis.call('HDEL', ARGV[2] .. ':presence:' .. user, string.sub(member, separator + 1))
end
return gone
"""

# KEYS: user hash. ARGV: socket, status. Changes the status of a socket still present.
_SET_STATUS = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 0
"""


class RedisPresenceStore:
    """Sockets per user in `<prefix>:presence:<user>` (socket -> status), each with a term in
    the sorted set `<prefix>:presence:expiry`; what contacts were told in
    `<prefix>:presence:announced:<user>`."""

    def __init__(
        self, client: aioredis.Redis, prefix: str, expiry_seconds: float, guard: RedisGuard
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._guard = guard
        self._expiry_ms = int(expiry_seconds * 1000)
        self._expiry_key = f"{prefix}:presence:expiry"
        self._expire = client.register_script(_EXPIRE)
        self._set_status = client.register_script(_SET_STATUS)

    def _user_key(self, user_id: uuid.UUID) -> str:
        return f"{self._prefix}:presence:{user_id}"

    async def add_socket(self, user_id: uuid.UUID, socket_id: str) -> None:
        term = _ms_now() + self._expiry_ms
        async with _translated(self._guard), self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._user_key(user_id), socket_id, "online")
            pipe.zadd(self._expiry_key, {f"{user_id}|{socket_id}": term})
            await pipe.execute()

    async def refresh_sockets(self, sockets: dict[str, tuple[uuid.UUID, PresenceStatus]]) -> None:
        if not sockets:
            return
        term = _ms_now() + self._expiry_ms
        async with _translated(self._guard), self._client.pipeline(transaction=False) as pipe:
            for socket_id, (user_id, status) in sockets.items():
                pipe.hset(self._user_key(user_id), socket_id, status)
            pipe.zadd(
                self._expiry_key,
                {f"{user_id}|{socket_id}": term for socket_id, (user_id, _) in sockets.items()},
            )
            # A Redis restarted empty forgot what contacts were told; a live socket means they
            # were told its user is present, so that user's later offline is announced.
            for user_id, status in {user: status for user, status in sockets.values()}.items():
                pipe.set(f"{self._prefix}:presence:announced:{user_id}", status, nx=True)
            await pipe.execute()

    async def set_socket_status(
        self, user_id: uuid.UUID, socket_id: str, status: PresenceStatus
    ) -> None:
        async with _translated(self._guard):
            await self._set_status(keys=[self._user_key(user_id)], args=[socket_id, status])

    async def remove_socket(self, user_id: uuid.UUID, socket_id: str) -> None:
        async with _translated(self._guard), self._client.pipeline(transaction=True) as pipe:
            pipe.hdel(self._user_key(user_id), socket_id)
            pipe.zrem(self._expiry_key, f"{user_id}|{socket_id}")
            await pipe.execute()

    async def statuses(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, PresenceStatus]:
        if not user_ids:
            return {}
        async with _translated(self._guard), self._client.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.hvals(self._user_key(user_id))
            values: list[list[str]] = await pipe.execute()
        result: dict[uuid.UUID, PresenceStatus] = {}
        for user_id, sockets in zip(user_ids, values, strict=True):
            if sockets:
                result[user_id] = "away" if all(s == "away" for s in sockets) else "online"
        return result

    async def expire(self) -> set[uuid.UUID]:
        async with _translated(self._guard):
            gone: list[str] = await self._expire(
                keys=[self._expiry_key], args=[_ms_now(), self._prefix]
            )
        return {uuid.UUID(member.split("|", 1)[0]) for member in gone}

    async def swap_announced(self, user_id: uuid.UUID, status: str) -> str:
        key = f"{self._prefix}:presence:announced:{user_id}"
        async with _translated(self._guard):
            previous: Any = (
                await self._client.getdel(key)
                if status == "offline"
                else await self._client.set(key, status, get=True)
            )
        return str(previous) if previous is not None else "offline"


# KEYS: the conversation's sorted set. ARGV: size, ttl_s, then (seq, version, json) triples.
# A message replaces the cached copy of its seq only if it is not older (see message_version).
_STORE_RECENT = """
for i = 3, #ARGV, 3 do
  local seq, version, body = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local held = redis.call('ZRANGEBYSCORE', KEYS[1], seq, seq)
  local newer = true
  if held[1] then
    local separator = string.find(held[1], '|', 1, true)
    newer = string.sub(held[1], 1, separator - 1) <= version
  end
  if newer then
    redis.call('ZREMRANGEBYSCORE', KEYS[1], seq, seq)
    redis.call('ZADD', KEYS[1], seq, version .. '|' .. body)
  end
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[1]) + 1))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 0
"""


class RedisRecentMessages:
    """The newest messages of each conversation in `<prefix>:recent:<conversation>`, a sorted
    set by seq of "<version>|<message JSON>", expiring when unused."""

    def __init__(
        self, client: aioredis.Redis, prefix: str, size: int, ttl_seconds: int, guard: RedisGuard
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._size = size
        self._ttl_seconds = ttl_seconds
        self._guard = guard
        self._store = client.register_script(_STORE_RECENT)

    def _key(self, conversation_id: uuid.UUID) -> str:
        return f"{self._prefix}:recent:{conversation_id}"

    async def newest(
        self, conversation_id: uuid.UUID, last_seq: int, limit: int
    ) -> list[dict[str, Any]] | None:
        lowest = max(1, last_seq - limit + 1)
        async with _translated(self._guard):
            held = await self._client.zrevrangebyscore(self._key(conversation_id), last_seq, lowest)
        messages = [json.loads(str(member).split("|", 1)[1]) for member in held]
        if [m["seq"] for m in messages] != list(range(last_seq, lowest - 1, -1)):
            return None
        return messages

    async def forget(self, conversation_ids: set[uuid.UUID]) -> None:
        async with _translated(self._guard):
            await self._client.delete(*(self._key(c) for c in conversation_ids))

    async def store(self, conversation_id: uuid.UUID, messages: list[dict[str, Any]]) -> None:
        args: list[str | int] = [self._size, self._ttl_seconds]
        for message in messages:
            args += [message["seq"], message_version(message), json.dumps(message)]
        async with _translated(self._guard):
            await self._store(keys=[self._key(conversation_id)], args=args)


@asynccontextmanager
async def _translated(guard: RedisGuard) -> AsyncIterator[None]:
    """Redis failures become the contract's `unavailable` at this boundary."""
    if guard.paused:
        raise Unavailable("shared state unavailable")
    try:
        yield
    except RedisError as error:
        guard.failed(error)
        raise _unavailable(error) from error


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _ms_now() -> int:
    return int(time.time() * 1000)


def _unavailable(error: RedisError) -> Unavailable:
    logger.error("redis unavailable: %s", type(error).__name__)
    return Unavailable("shared state unavailable")
