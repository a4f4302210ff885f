"""Production mode under faults: Redis down, PostgreSQL down, and a SIGTERM mid-burst.

docs/api.md: an acknowledged message is stored; `GET /api/health` answers 503 with the
failing check `"error"` when a dependency is down; errors answer `unavailable` (503).
What the contract leaves to Parley, and these tests hold it to: without Redis, sends are
still stored, acknowledged and fanned out to the sockets of the same process, rate limits
let requests through, and refresh answers `unavailable`; when Redis returns, the process
recovers without a restart: health, refresh, events between processes, and presence, which
catches up on what changed during the outage. Without the database, nothing is
acknowledged. SIGTERM drains: the process exits promptly, disconnecting its clients; it
loses nothing it acknowledged and acknowledges everything it stored. Logs stay JSON lines
throughout.

Every test starts its own PostgreSQL, Redis and Parley processes (never the session-wide
ones), and so runs in production mode only.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import socketio

from tests.conftest import TEST_JWT_SECRET
from tests.integration.helpers import (
    JSON,
    OFFLINE_WITHIN_SECONDS,
    OpenSocket,
    assert_problem,
    bearer,
    by_user,
    error_of,
    fetch_user,
    new_client_id,
    ok,
    rest_send,
    send,
    start_direct,
    start_group,
)
from tests.support.clients import (
    PASSWORD,
    Account,
    ChatSocket,
    api_client,
    register,
    unique_name,
)
from tests.support.server import ParleyServer
from tests.support.services import PostgresServer, RedisServer

# Short enough that a test sees presence upkeep run against a stopped Redis.
PRESENCE_EXPIRY_SECONDS = "3"
# python-socketio's Redis listener retries with a growing sleep (1, 2, 4 ... s) after it loses
# its connection; after a short outage it is back within a few seconds.
CROSS_PROCESS_RECOVERY_SECONDS = 15.0
# How long one try of the recovery poll waits for its message on the other process.
CROSS_PROCESS_TRY_SECONDS = 1.0
# The process must come back healthy this soon after Redis does (its clients reconnect on use).
HEALTH_RECOVERY_SECONDS = 10.0
# uvicorn's graceful shutdown is capped at 10 s; the process must be gone soon after.
SIGTERM_EXIT_SECONDS = 12.0
# A draining test sends until the process is gone; these bound each sender.
SENDS_PER_SENDER_MAX = 500
SENDERS_PER_SOCKET = 4
ACKS_BEFORE_SIGTERM = 30
# Each Redis call waits PARLEY_REDIS_TIMEOUT_SECONDS (1 s) at most; a hung Redis must not
# hold a send's acknowledgement past a client's patience.
SEND_ACK_TIMEOUT_SECONDS = 3.0
HUNG_REDIS_SENDS = 5
DISCONNECT_WITHIN_SECONDS = 5.0
# How long a test holds a send on a row lock after SIGTERM: well inside the 12 s drain.
DRAIN_HOLD_SECONDS = 2.0
# After Redis returns: the presence upkeep (every expiry / 3) plus the contract's 2 s offline
# delay, with room to spare.
PRESENCE_CATCH_UP_SECONDS = float(PRESENCE_EXPIRY_SECONDS) + 3.0

HEALTHY = {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
REDIS_DOWN = {"status": "error", "checks": {"database": "ok", "redis": "error"}}
DATABASE_DOWN = {"status": "error", "checks": {"database": "error", "redis": "ok"}}


@dataclass
class Stack:
    """A PostgreSQL and a Redis of one test's own, and the Parley processes started on them."""

    base_dir: Path
    postgres: PostgresServer
    redis: RedisServer
    database_url: str
    prefix: str
    servers: list[ParleyServer] = field(default_factory=list)

    def settings(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "PARLEY_DATABASE_URL": self.database_url,
            "PARLEY_REDIS_URL": self.redis.url,
            "PARLEY_REDIS_PREFIX": self.prefix,
            "PARLEY_JWT_SECRET": TEST_JWT_SECRET,
            "PARLEY_PRESENCE_EXPIRY_SECONDS": PRESENCE_EXPIRY_SECONDS,
            **(extra or {}),
        }

    def start_parley(self, extra: dict[str, str] | None = None) -> ParleyServer:
        """Start one more Parley process on this stack's database and Redis (blocking)."""
        server = ParleyServer(self.base_dir / f"parley{len(self.servers)}", self.settings(extra))
        self.servers.append(server)
        server.start()
        return server

    async def parley(self, extra: dict[str, str] | None = None) -> ParleyServer:
        return await asyncio.to_thread(self.start_parley, extra)

    async def stop_redis(self) -> None:
        await asyncio.to_thread(self.redis.stop)

    async def start_redis(self) -> None:
        await asyncio.to_thread(self.redis.start)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """This test's own PostgreSQL and Redis; every Parley started on them stops first."""
    postgres = PostgresServer(tmp_path / "postgres")
    redis = RedisServer(tmp_path / "redis")
    servers: list[ParleyServer] = []
    try:
        postgres.start()
        redis.start()
        name = f"faults_{uuid.uuid4().hex[:12]}"
        instance = Stack(tmp_path, postgres, redis, postgres.create_database(name), name, servers)
        yield instance
    finally:
        for server in servers:
            server.stop()
        redis.stop()
        postgres.stop()


# Small steps of these tests


async def health_of(base_url: str, path: str = "/api/health") -> tuple[int, JSON]:
    async with api_client(base_url) as api:
        response = await api.get(path)
    body: JSON = response.json()
    return response.status_code, body


async def wait_healthy(base_url: str, timeout: float = HEALTH_RECOVERY_SECONDS) -> JSON:
    """Poll `/api/health` until it answers 200; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    status, body = 0, JSON()
    for _ in range(int(timeout / 0.2) + 1):
        status, body = await health_of(base_url)
        if status == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert status == 200, f"not healthy {timeout:g} s after Redis returned: {status} {body}"
    return body


async def refresh(base_url: str, refresh_token: str) -> Any:
    async with api_client(base_url) as api:
        return await api.post("/api/auth/refresh", json={"refreshToken": refresh_token})


async def login(base_url: str, account: Account) -> Account:
    async with api_client(base_url) as api:
        response = await api.post(
            "/api/auth/login", json={"username": account.username, "password": PASSWORD}
        )
    assert response.status_code == 200, response.text
    data = response.json()
    return Account(data["user"], data["accessToken"], data["refreshToken"])


async def history(base_url: str, reader: Account, conversation_id: str) -> list[JSON]:
    """Every message of the conversation, oldest first, paged through `after=`."""
    items: list[JSON] = []
    after = 0
    async with api_client(base_url, reader.access_token) as api:
        for _ in range(100):  # 100 pages of 100: far more than any test here sends
            response = await api.get(
                f"/api/conversations/{conversation_id}/messages",
                params={"after": after, "limit": 100},
            )
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["items"]
            if not page["hasMore"]:
                return items
            after = items[-1]["seq"]
    raise AssertionError("history did not end within 100 pages")


def text_payload(conversation_id: str, content: str, client_id: str | None = None) -> JSON:
    return {
        "conversationId": conversation_id,
        "clientId": client_id or new_client_id(),
        "content": content,
    }


def with_id(message_id: str) -> Callable[[Any], bool]:
    return lambda payload: isinstance(payload, dict) and payload.get("id") == message_id


def with_client_id(client_id: str) -> Callable[[Any], bool]:
    return lambda payload: isinstance(payload, dict) and payload.get("clientId") == client_id


async def alice_and_bob(
    server: ParleyServer, sockets: OpenSocket
) -> tuple[Account, Account, JSON, ChatSocket]:
    """Two new people in a direct conversation on `server`, the first one connected."""
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    direct = await start_direct(server.url, alice, bob)
    return alice, bob, direct, await sockets(server.url, alice.access_token)


async def until_one_crosses(
    sender: ChatSocket, receiver: ChatSocket, conversation_id: str, label: str
) -> None:
    """Send a fresh message each try until one reaches `receiver` (on another process), or
    fail once the recovery bound runs out."""
    started = time.monotonic()
    for attempt in range(int(CROSS_PROCESS_RECOVERY_SECONDS / CROSS_PROCESS_TRY_SECONDS)):
        message = await send(sender, conversation_id, f"{label} {attempt}")
        if await arrives_within(receiver, message["id"], CROSS_PROCESS_TRY_SECONDS):
            return
        if time.monotonic() - started > CROSS_PROCESS_RECOVERY_SECONDS:
            break
    raise AssertionError(f"no message crossed ({label}) within {CROSS_PROCESS_RECOVERY_SECONDS} s")


async def arrives_within(chat: ChatSocket, message_id: str, timeout: float) -> bool:
    try:
        await chat.wait_for("newMessage", with_id(message_id), timeout)
    except TimeoutError:
        return False
    return True


async def wait_for_presence(
    base_url: str, viewer: Account, user_id: str, status: str, timeout: float = 5.0
) -> JSON:
    """Poll the public view of `user_id` until its presence is `status`; return that view.

    An offline view counts once it carries `lastSeenAt`: after an outage of Redis, the
    process writes it at its next presence upkeep (a third of the expiry).
    """
    deadline = time.monotonic() + timeout
    seen: JSON = {}
    for _ in range(int(timeout / 0.2) + 1):
        seen = await fetch_user(base_url, viewer, user_id)
        settled = status != "offline" or seen["lastSeenAt"] is not None
        if (seen["presence"] == status and settled) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert seen["presence"] == status, f"still {seen['presence']} after {timeout:g} s: {seen}"
    return seen


def is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def on_disconnect(chat: ChatSocket) -> asyncio.Event:
    """An event set when `chat`'s client runs its disconnect handler."""
    fired = asyncio.Event()

    async def disconnected(*_reason: Any) -> None:
        fired.set()

    chat.client.on("disconnect", disconnected, namespace="/chat")
    return fired


# Redis down


async def test_redis_outage_keeps_sends_stored_acknowledged_and_fanned_out_locally(
    stack: Stack, sockets: OpenSocket
) -> None:
    server = await stack.parley()
    _alice, bob, direct, alice_socket = await alice_and_bob(server, sockets)
    bob_socket = await sockets(server.url, bob.access_token)
    before = await send(alice_socket, direct["id"], "before the outage")

    await stack.stop_redis()

    by_socket = await send(alice_socket, direct["id"], "sent while redis is down")
    by_rest = await rest_send(server.url, bob, direct["id"], "posted while redis is down")
    assert [by_socket["seq"], by_rest["seq"]] == [before["seq"] + 1, before["seq"] + 2]
    # Both participants' sockets are on this process: each gets both messages.
    for chat in (alice_socket, bob_socket):
        for message in (by_socket, by_rest):
            await chat.wait_for("newMessage", with_id(message["id"]))
    # Stored: history, read from the database while Redis is still down, holds them.
    stored = await history(server.url, bob, direct["id"])
    assert [(m["id"], m["content"]) for m in stored] == [
        (m["id"], m["content"]) for m in (before, by_socket, by_rest)
    ]
    # The presence upkeep runs (every expiry / 3 s) against the stopped Redis meanwhile, and
    # the sockets stay usable.
    await asyncio.sleep(float(PRESENCE_EXPIRY_SECONDS) / 3 + 0.5)
    late = await send(bob_socket, direct["id"], "still down")
    await alice_socket.wait_for("newMessage", with_id(late["id"]))


async def test_hung_redis_costs_senders_no_timeout_and_recovers(
    stack: Stack, sockets: OpenSocket
) -> None:
    one, two = await asyncio.gather(stack.parley(), stack.parley())
    alice = await register(one.url, "alice")
    bob = await register(one.url, "bob")
    carol = await register(two.url, "carol")
    alice_socket = await sockets(one.url, alice.access_token)
    bob_socket = await sockets(one.url, bob.access_token)
    carol_socket = await sockets(two.url, carol.access_token)
    group = await start_group(one.url, alice, [bob, carol])
    await carol_socket.wait_for("conversationUpdated", with_id(group["id"]))

    # Frozen, not stopped: connections stay open and every Redis call waits for its timeout.
    await asyncio.to_thread(stack.redis.hang)
    try:
        for n in range(HUNG_REDIS_SENDS):
            message = ok(
                await alice_socket.call(
                    "sendMessage",
                    {"conversationId": group["id"], "clientId": new_client_id(), "content": f"{n}"},
                    timeout=SEND_ACK_TIMEOUT_SECONDS,
                )
            )
            await bob_socket.wait_for("newMessage", with_id(message["id"]))
        status, body = await health_of(one.url)
        assert (status, body) == (503, REDIS_DOWN)
    finally:
        await asyncio.to_thread(stack.redis.resume)

    # Carol, on the other process, missed those; `sync` gives them, and new events cross again.
    synced = ok(await carol_socket.call("sync", {"conversationId": group["id"], "afterSeq": 0}))
    assert [m["content"] for m in synced["items"]] == [str(n) for n in range(HUNG_REDIS_SENDS)]
    await until_one_crosses(alice_socket, carol_socket, group["id"], "after the freeze")


async def test_redis_outage_fails_health_and_refresh_until_redis_returns(stack: Stack) -> None:
    server = await stack.parley()
    alice = await register(server.url, "alice")
    assert await health_of(server.url) == (200, HEALTHY)

    await stack.stop_redis()

    assert await health_of(server.url) == (503, REDIS_DOWN)
    # Still ready for traffic: without Redis the process stores and delivers messages.
    ready_status, _ = await health_of(server.url, "/api/health/ready")
    assert ready_status == 200
    assert_problem(await refresh(server.url, alice.refresh_token), 503, "unavailable")

    await stack.start_redis()

    assert await wait_healthy(server.url) == HEALTHY
    # The refresh tokens were in Redis, which came back empty: the old one is unknown now.
    assert_problem(await refresh(server.url, alice.refresh_token), 401, "unauthorized")
    # One issued after the recovery rotates as usual, and its access token works.
    fresh = await login(server.url, alice)
    response = await refresh(server.url, fresh.refresh_token)
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["refreshToken"] != fresh.refresh_token
    async with api_client(server.url, rotated["accessToken"]) as api:
        me = await api.get("/api/users/me")
    assert me.status_code == 200, me.text
    assert me.json()["id"] == alice.id


async def test_redis_outage_lets_sends_past_the_rate_limit(
    stack: Stack, sockets: OpenSocket
) -> None:
    burst = 2
    server = await stack.parley(
        {
            "PARLEY_RATE_LIMITS": "on",
            "PARLEY_RATE_LIMIT_SEND_BURST": str(burst),
            # One token every 100 s: nothing refills while the test runs.
            "PARLEY_RATE_LIMIT_SEND_PER_SECOND": "0.01",
        }
    )
    alice, bob, direct, alice_socket = await alice_and_bob(server, sockets)
    # The limit holds while Redis is up.
    for index in range(burst):
        await send(alice_socket, direct["id"], f"within the burst {index}")
    limited = error_of(await alice_socket.call("sendMessage", text_payload(direct["id"], "x")))
    assert limited["code"] == "rate_limited", limited

    await stack.stop_redis()

    # Without Redis the limiter lets sends through, over the socket and over REST alike.
    past_limit = [
        await send(alice_socket, direct["id"], f"past the limit {index}") for index in range(4)
    ]
    past_limit += [
        await rest_send(server.url, alice, direct["id"], f"posted past the limit {index}")
        for index in range(2)
    ]
    stored = await history(server.url, bob, direct["id"])
    assert {m["id"] for m in past_limit} <= {m["id"] for m in stored}

    await stack.start_redis()
    await wait_healthy(server.url)

    # Back on Redis (empty: a fresh bucket), the limit holds again.
    for index in range(burst):
        await send(alice_socket, direct["id"], f"after the outage {index}")
    limited = error_of(await alice_socket.call("sendMessage", text_payload(direct["id"], "y")))
    assert limited["code"] == "rate_limited", limited


async def test_redis_outage_then_events_cross_processes_again_without_a_restart(
    stack: Stack, sockets: OpenSocket
) -> None:
    one, two = await asyncio.gather(stack.parley(), stack.parley())
    alice = await register(one.url, "alice")
    bob = await register(two.url, "bob")
    alice_socket = await sockets(one.url, alice.access_token)
    bob_socket = await sockets(two.url, bob.access_token)
    group = await start_group(one.url, alice, [bob])
    await bob_socket.wait_for("conversationUpdated", with_id(group["id"]))
    crossing = await send(alice_socket, group["id"], "from one to two")
    await bob_socket.wait_for("newMessage", with_id(crossing["id"]))

    await stack.stop_redis()

    # Each process still acknowledges and serves its own sockets.
    on_one = await send(alice_socket, group["id"], "on one while redis is down")
    await alice_socket.wait_for("newMessage", with_id(on_one["id"]))
    on_two = await send(bob_socket, group["id"], "on two while redis is down")
    await bob_socket.wait_for("newMessage", with_id(on_two["id"]))

    await stack.start_redis()

    await until_one_crosses(alice_socket, bob_socket, group["id"], "one to two")
    await until_one_crosses(bob_socket, alice_socket, group["id"], "two to one")


async def test_membership_changed_while_redis_is_down_holds_on_every_process_after(
    stack: Stack, sockets: OpenSocket
) -> None:
    one, two = await asyncio.gather(stack.parley(), stack.parley())
    owner = await register(one.url, "owner")
    removed, friend = await register(two.url, "removed"), await register(two.url, "friend")
    owner_socket = await sockets(one.url, owner.access_token)
    removed_socket = await sockets(two.url, removed.access_token)
    friend_socket = await sockets(two.url, friend.access_token)
    group = await start_group(one.url, owner, [removed, friend])
    for chat in (removed_socket, friend_socket):
        await chat.wait_for("conversationUpdated", with_id(group["id"]))

    await stack.stop_redis()

    # Made on process one; process two cannot hear of them while Redis is away. Both are
    # stored and answered as such, not as failures.
    async with api_client(one.url) as api:
        removal = await api.delete(
            f"/api/conversations/{group['id']}/participants/{removed.id}",
            headers=bearer(owner),
        )
        assert removal.status_code == 204, removal.text
        listed = await api.get("/api/conversations", headers=bearer(owner))
        assert listed.status_code == 200, listed.text
    fresh = await start_group(one.url, owner, [friend])

    await stack.start_redis()

    # Once the processes hear each other again, process two puts its sockets back in exactly
    # their conversations' rooms: the friend gets the new group's messages...
    await until_one_crosses(owner_socket, friend_socket, fresh["id"], "new group")
    # ...and the one removed gets nothing more of the old group, though the friend does.
    after = await send(owner_socket, group["id"], "after the removal")
    await friend_socket.wait_for("newMessage", with_id(after["id"]))
    await removed_socket.assert_none(
        "newMessage", lambda m: m["conversationId"] == group["id"], wait=1.0
    )


async def test_redis_outage_registration_answers_unavailable_and_leaves_the_username_free(
    stack: Stack,
) -> None:
    server = await stack.parley()
    username = unique_name("newcomer")
    body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}

    await stack.stop_redis()

    async with api_client(server.url) as api:
        refused = await api.post("/api/auth/register", json=body)
    assert_problem(refused, 503, "unavailable")

    await stack.start_redis()
    await wait_healthy(server.url)

    # `unavailable` invites a retry; the retry must not find the account half made.
    async with api_client(server.url) as api:
        retried = await api.post("/api/auth/register", json=body)
    assert retried.status_code == 201, f"{retried.status_code}: {retried.text}"


async def test_redis_outage_user_who_left_is_announced_offline_once_redis_returns(
    stack: Stack, sockets: OpenSocket
) -> None:
    server = await stack.parley()
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    await start_direct(server.url, alice, bob)
    alice_socket = await sockets(server.url, alice.access_token)
    bob_socket = await sockets(server.url, bob.access_token)
    await alice_socket.wait_for("presence", by_user(bob.id, status="online"))

    await stack.stop_redis()
    await bob_socket.disconnect()
    await asyncio.sleep(OFFLINE_WITHIN_SECONDS)
    await stack.start_redis()

    # Once Redis is back, the state reads offline; an offline user carries `lastSeenAt`.
    bob_seen = await wait_for_presence(server.url, alice, bob.id, "offline")
    assert bob_seen["lastSeenAt"] is not None, bob_seen
    # Bob's contacts are told, as they would have been without the outage.
    await alice_socket.wait_for(
        "presence", by_user(bob.id, status="offline"), PRESENCE_CATCH_UP_SECONDS
    )


async def test_redis_outage_user_who_joined_is_announced_online_once_redis_returns(
    stack: Stack, sockets: OpenSocket
) -> None:
    server = await stack.parley()
    alice = await register(server.url, "alice")
    carol = await register(server.url, "carol")
    await start_direct(server.url, alice, carol)
    alice_socket = await sockets(server.url, alice.access_token)

    await stack.stop_redis()
    # Connections go on without Redis.
    carol_socket = await sockets(server.url, carol.access_token)
    assert carol_socket.client.connected
    await stack.start_redis()

    await wait_for_presence(server.url, alice, carol.id, "online")
    await alice_socket.wait_for(
        "presence", by_user(carol.id, status="online"), PRESENCE_CATCH_UP_SECONDS
    )


async def test_redis_outage_logs_only_json_lines_in_json_format(
    stack: Stack, sockets: OpenSocket
) -> None:
    server = await stack.parley({"PARLEY_LOG_FORMAT": "json"})
    _alice, _bob, direct, alice_socket = await alice_and_bob(server, sockets)
    logged_before = len(server.log_text())

    await stack.stop_redis()
    await send(alice_socket, direct["id"], "while redis is down")
    # Long enough for the Socket.IO listener's first retry to fail too.
    await asyncio.sleep(1.5)
    await stack.start_redis()
    await wait_healthy(server.url)

    lines = server.log_text()[logged_before:].splitlines()
    assert lines
    not_json = [line for line in lines if line.strip() and not is_json_object(line)]
    assert not not_json, f"{len(not_json)} log lines are not JSON: {not_json[:5]}"


# PostgreSQL down


async def test_database_outage_acknowledges_nothing_and_recovers_when_it_restarts(
    stack: Stack, sockets: OpenSocket
) -> None:
    server = await stack.parley()
    alice, bob, direct, alice_socket = await alice_and_bob(server, sockets)
    bob_socket = await sockets(server.url, bob.access_token)
    await send(alice_socket, direct["id"], "before the outage")

    await asyncio.to_thread(stack.postgres.halt)

    socket_client_id = new_client_id()
    started = time.monotonic()
    ack = await alice_socket.call(
        "sendMessage", text_payload(direct["id"], "lost cause", socket_client_id), timeout=10
    )
    assert error_of(ack)["code"] == "unavailable", ack
    assert time.monotonic() - started < 10

    rest_client_id = new_client_id()
    async with api_client(server.url) as api:
        response = await api.post(
            f"/api/conversations/{direct['id']}/messages",
            json={"clientId": rest_client_id, "content": "lost cause"},
            headers=bearer(alice),
        )
    assert_problem(response, 503, "unavailable")

    assert await health_of(server.url) == (503, DATABASE_DOWN)

    not_ready = {"status": "error", "checks": {"database": "error"}}
    assert await health_of(server.url, "/api/health/ready") == (503, not_ready)
    # Nothing was acknowledged, so nothing is announced either.
    for client_id in (socket_client_id, rest_client_id):
        await bob_socket.assert_none("newMessage", with_client_id(client_id))
        assert not alice_socket.received("newMessage", with_client_id(client_id))
    assert alice_socket.client.connected and bob_socket.client.connected
    async with api_client(server.url) as api:
        scraped = (await api.get("/metrics")).text
    assert "parley_database_errors_total 0.0" not in scraped

    # The database server restarts with its data: the pool replaces its dead connections
    # and the same sockets carry on, with no restart of Parley. The refused send, sent
    # again with its clientId, is stored once.
    await asyncio.to_thread(stack.postgres.resume)
    assert await wait_healthy(server.url) == HEALTHY
    again = ok(
        await alice_socket.call(
            "sendMessage", text_payload(direct["id"], "lost cause", socket_client_id)
        )
    )
    await bob_socket.wait_for("newMessage", with_id(again["id"]))
    contents = [m["content"] for m in await history(server.url, bob, direct["id"])]
    assert contents == ["before the outage", "lost cause"]


# SIGTERM


@dataclass
class Sent:
    client_id: str
    content: str
    ack: Any = None  # the acknowledgement, None when none came


@dataclass
class Burst:
    """Sends of several concurrent senders, and an event set once enough were answered."""

    answered_enough_at: int
    sent: list[Sent] = field(default_factory=list)
    answered: int = 0
    enough: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, sent: Sent, ack: Any) -> None:
        sent.ack = ack
        self.answered += 1
        if self.answered >= self.answered_enough_at:
            self.enough.set()

    def acknowledged(self) -> list[JSON]:
        return [ok(s.ack) for s in self.sent if isinstance(s.ack, dict) and s.ack.get("ok")]


async def keep_sending(chat: ChatSocket, conversation_id: str, label: str, burst: Burst) -> None:
    """Send one message after another until one goes unacknowledged (the server is going)."""
    for index in range(SENDS_PER_SENDER_MAX):
        sent = Sent(new_client_id(), f"{label} {index}")
        burst.sent.append(sent)
        try:
            ack = await chat.call(
                "sendMessage",
                text_payload(conversation_id, sent.content, sent.client_id),
                timeout=SEND_ACK_TIMEOUT_SECONDS,
            )
        except (socketio.exceptions.SocketIOError, TimeoutError):
            return
        burst.record(sent, ack)
        if not ack.get("ok"):
            return


async def test_sigterm_drains_stores_every_acknowledged_send_and_disconnects_clients(
    stack: Stack, sockets: OpenSocket
) -> None:
    server = await stack.parley()
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    group = await start_group(server.url, alice, [bob])
    alice_tabs = [await sockets(server.url, alice.access_token) for _ in range(2)]
    bob_socket = await sockets(server.url, bob.access_token)
    everyone = [*alice_tabs, bob_socket]
    disconnected = [on_disconnect(chat) for chat in everyone]

    # A burst in flight: several senders per tab, each sending until the server is gone.
    burst = Burst(answered_enough_at=ACKS_BEFORE_SIGTERM)
    senders = [
        asyncio.create_task(keep_sending(tab, group["id"], f"tab {t} sender {s}", burst))
        for t, tab in enumerate(alice_tabs)
        for s in range(SENDERS_PER_SOCKET)
    ]
    try:
        async with asyncio.timeout(10):
            await burst.enough.wait()

        started = time.monotonic()
        await asyncio.to_thread(server.stop, signal.SIGTERM)
        exited_after = time.monotonic() - started
        assert server.process is not None
        assert exited_after < SIGTERM_EXIT_SECONDS, f"exited after {exited_after:.1f} s"
        # A clean exit, or uvicorn's re-raised SIGTERM after its graceful shutdown; never
        # the SIGKILL that `stop` sends to a process outliving its wait.
        assert server.process.returncode in (0, -signal.SIGTERM), server.process.returncode
        assert "parley stopping" in server.log_text()

        async with asyncio.timeout(SEND_ACK_TIMEOUT_SECONDS + 2):
            await asyncio.gather(*senders)
    finally:
        for task in senders:
            task.cancel()

    # The clients were told: each socket's disconnect handler ran.
    async with asyncio.timeout(DISCONNECT_WITHIN_SECONDS):
        await asyncio.gather(*(fired.wait() for fired in disconnected))
    assert not any(chat.client.connected for chat in everyone)

    # Every acknowledged send is stored: another process on the same database serves it.
    acknowledged = burst.acknowledged()
    assert len(acknowledged) >= ACKS_BEFORE_SIGTERM
    successor = await stack.parley()
    stored = {m["id"]: m for m in await history(successor.url, bob, group["id"])}
    missing = [m for m in acknowledged if m["id"] not in stored]
    assert not missing, f"{len(missing)} acknowledged messages were lost: {missing[:3]}"
    for message in acknowledged:
        kept = stored[message["id"]]
        assert (kept["seq"], kept["clientId"], kept["content"]) == (
            message["seq"],
            message["clientId"],
            message["content"],
        )
    # No gap either: the stored seqs run 1..n.
    assert sorted(m["seq"] for m in stored.values()) == list(range(1, len(stored) + 1))
    # And the drain let every send it stored reach its sender's acknowledgement: nothing was
    # stored behind the client's back. Sends that came too late were refused, not stored.
    unacknowledged = set(stored) - {m["id"] for m in acknowledged}
    assert not unacknowledged, f"{len(unacknowledged)} stored messages went unacknowledged"
    refused = [s.ack for s in burst.sent if isinstance(s.ack, dict) and not s.ack.get("ok")]
    assert all(error_of(ack)["code"] == "unavailable" for ack in refused), refused


async def test_sigterm_waits_for_a_slow_send_and_is_not_ready_meanwhile(
    stack: Stack, sockets: OpenSocket
) -> None:
    server = await stack.parley()
    _alice, bob, direct, alice_socket = await alice_and_bob(server, sockets)
    locker = await asyncpg.connect(stack.database_url)
    try:
        # Another session holds the conversation's row: the send waits for it.
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute(
            "SELECT id FROM conversations WHERE id = $1 FOR UPDATE", uuid.UUID(direct["id"])
        )
        slow = asyncio.create_task(
            alice_socket.call(
                "sendMessage", text_payload(direct["id"], "slow"), timeout=DRAIN_HOLD_SECONDS + 5
            )
        )
        await asyncio.sleep(0.5)
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)

        # Draining: out of the load balancer's rotation, while the send is still held.
        async with asyncio.timeout(5):
            for _ in range(50):
                _, readiness = await health_of(server.url, "/api/health/ready")
                if readiness.get("status") == "draining":
                    break
                await asyncio.sleep(0.1)
        assert readiness == {"status": "draining", "checks": {"database": "ok"}}
        assert not slow.done()
        await asyncio.sleep(DRAIN_HOLD_SECONDS)
        await transaction.rollback()
    finally:
        await locker.close()

    # The held send was stored and acknowledged before the process closed its sockets.
    acknowledged = ok(await slow)
    await asyncio.to_thread(server.stop, signal.SIGTERM)
    successor = await stack.parley()
    stored = await history(successor.url, bob, direct["id"])
    assert [m["id"] for m in stored] == [acknowledged["id"]]
