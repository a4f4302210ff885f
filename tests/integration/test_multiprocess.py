"""Several `parley serve` processes on one PostgreSQL and one Redis, as in production.

Users are spread across the processes; every server-to-client event of the contract must
reach sockets on the other processes, and a process killed outright must lose nothing that
it acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.conftest import TEST_JWT_SECRET
from tests.integration.helpers import ok, start_group, wait_all
from tests.support.clients import Account, ChatSocket, api_client, connect, register
from tests.support.server import ParleyServer
from tests.support.services import PostgresServer, RedisServer

PROCESSES = 3
# Short, so that the users of a killed process go offline within the test.
PRESENCE_EXPIRY_SECONDS = 3
BURST_MESSAGES = 150
KILL_AFTER_ACKS = 50
ORDERED_SENDS_EACH = 12  # per sender, one after another
ORDERED_SENDERS_PER_PROCESS = 5  # at once
CLIENT_ID_RACES = 15


@pytest.fixture
def cluster_servers(
    tmp_path: Path, postgres: PostgresServer, redis: RedisServer
) -> Iterator[list[ParleyServer]]:
    """Three processes started together (they take turns migrating)."""
    name = f"multi_{uuid.uuid4().hex[:12]}"
    settings = {
        "PARLEY_DATABASE_URL": postgres.create_database(name),
        "PARLEY_REDIS_URL": redis.url,
        "PARLEY_REDIS_PREFIX": name,
        "PARLEY_JWT_SECRET": TEST_JWT_SECRET,
        "PARLEY_PRESENCE_EXPIRY_SECONDS": str(PRESENCE_EXPIRY_SECONDS),
    }
    servers = [ParleyServer(tmp_path / f"p{i}", settings) for i in range(PROCESSES)]
    with ThreadPoolExecutor(PROCESSES) as pool:
        list(pool.map(lambda server: server.start(), servers))
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def cluster(cluster_servers: list[ParleyServer]) -> list[str]:
    """The base URLs of the three processes."""
    return [server.url for server in cluster_servers]


async def test_correlation_id_follows_a_message_to_the_other_processes(
    cluster_servers: list[ParleyServer],
) -> None:
    one, two, _ = cluster_servers
    alice, bob = await register(one.url, "alice"), await register(one.url, "bob")
    conversation = await start_group(one.url, alice, [bob])
    bob_chat = await connect(two.url, bob.access_token)
    trace = f"trace-{uuid.uuid4().hex[:12]}"
    try:
        async with api_client(one.url, alice.access_token) as api:
            sent = await api.post(
                f"/api/conversations/{conversation['id']}/messages",
                json={"clientId": trace, "content": "traced"},
                headers={"X-Request-ID": trace},
            )
        assert sent.status_code == 201, sent.text
        await bob_chat.wait_for("newMessage", lambda m: m["clientId"] == trace)
    finally:
        await bob_chat.disconnect()

    fan_out = [
        json.loads(line)
        for line in two.log_text().splitlines()
        if trace in line and line.startswith("{")
    ]
    assert any(
        entry.get("correlation_id") == trace and entry.get("socket_event") == "newMessage"
        for entry in fan_out
    ), fan_out
    assert all("traced" not in json.dumps(entry) for entry in fan_out)  # never message text


async def test_every_event_crosses_processes(cluster: list[str]) -> None:
    one, two, three = cluster
    alice, bob, carol, dave = [
        await register(one, name) for name in ("alice", "bob", "carol", "dave")
    ]
    alice_chat = await connect(one, alice.access_token)
    bob_chat = await connect(two, bob.access_token)
    carol_chat = await connect(three, carol.access_token)
    carol_other_tab = await connect(one, carol.access_token)
    everyone = [alice_chat, bob_chat, carol_chat, carol_other_tab]
    try:
        # Created on one: the others' sockets join the room on their own processes.
        group = await start_group(one, alice, [bob, carol])
        await wait_all(everyone, "conversationUpdated", lambda c: c["id"] == group["id"])
        cid = group["id"]

        sent = ok(await alice_chat.call("sendMessage", _text(cid, "to everyone")))
        await wait_all(everyone, "newMessage", lambda m: m["id"] == sent["id"])

        ok(await alice_chat.call("editMessage", {"messageId": sent["id"], "content": "edited"}))
        await wait_all(everyone, "messageEdited", lambda m: m["content"] == "edited")

        ok(await bob_chat.call("markRead", {"conversationId": cid, "seq": sent["seq"]}))
        await wait_all(everyone, "readReceipt", lambda r: r["userId"] == bob.id)

        # Typing skips every socket of the typist, also the one on another process.
        ok(await carol_chat.call("typing", {"conversationId": cid, "isTyping": True}))
        await wait_all([alice_chat, bob_chat], "userTyping", lambda t: t["userId"] == carol.id)
        await carol_other_tab.assert_none("userTyping", lambda t: t["userId"] == carol.id)

        ok(await alice_chat.call("deleteMessage", {"messageId": sent["id"]}))
        await wait_all(everyone, "messageDeleted", lambda m: m["id"] == sent["id"])

        # Added on one, joined on two.
        dave_chat = await connect(two, dave.access_token)
        async with api_client(one, alice.access_token) as api:
            added = await api.post(
                f"/api/conversations/{cid}/participants", json={"userIds": [dave.id]}
            )
            assert added.status_code == 200, added.text
        await dave_chat.wait_for("conversationUpdated", lambda c: c["participantCount"] == 4)
        # Presence: dave shares a conversation with alice now; his going offline crosses too.
        await dave_chat.disconnect()
        await alice_chat.wait_for(
            "presence", lambda p: p["userId"] == dave.id and p["status"] == "offline"
        )

        # Removed on one, out of the room on three at once.
        async with api_client(one, alice.access_token) as api:
            removed = await api.delete(f"/api/conversations/{cid}/participants/{carol.id}")
            assert removed.status_code == 204, removed.text
        await carol_chat.wait_for("conversationUpdated", lambda c: c["participantCount"] == 3)
        after = ok(await alice_chat.call("sendMessage", _text(cid, "carol is gone")))
        await bob_chat.wait_for("newMessage", lambda m: m["id"] == after["id"])
        await carol_chat.assert_none("newMessage", lambda m: m["id"] == after["id"])
    finally:
        for chat in everyone:
            await chat.disconnect()


async def test_each_socket_gets_a_conversation_s_messages_in_seq_order(
    cluster: list[str],
) -> None:
    # A sender and a reader on each process, all sending at once into one group: commits
    # on different processes race their publishes to Redis, and readers must not see it.
    people = [await register(url, f"member{i}") for i, url in enumerate(cluster)]
    group = await start_group(cluster[0], people[0], people[1:])
    chats = [await connect(url, p.access_token) for url, p in zip(cluster, people, strict=True)]
    try:

        async def send_many(chat: ChatSocket, label: str) -> None:
            for n in range(ORDERED_SENDS_EACH):
                ok(await chat.call("sendMessage", _text(group["id"], f"{label} {n}")))

        await asyncio.gather(
            *(
                send_many(chat, f"p{i} s{s}")
                for i, chat in enumerate(chats)
                for s in range(ORDERED_SENDERS_PER_PROCESS)
            )
        )
        total = ORDERED_SENDS_EACH * ORDERED_SENDERS_PER_PROCESS * len(chats)
        for chat in chats:
            await chat.wait_for("newMessage", lambda m: m["seq"] == total)
        for index, chat in enumerate(chats):
            seqs = [m["seq"] for m in chat.received("newMessage")]
            assert seqs == list(range(1, total + 1)), f"reader on process {index}: {seqs}"
    finally:
        for chat in chats:
            await chat.disconnect()


async def test_one_client_id_sent_through_every_process_at_once_makes_one_message(
    cluster: list[str],
) -> None:
    # The same send through every process at the same moment: the processes' writers race
    # to commit it, the losers' batches fail on the unique clientId and are answered with
    # the winner's message; and the same clientId sent to another conversation meanwhile
    # is a conflict, whichever process it went through.
    alice = await register(cluster[0], "alice")
    bob = await register(cluster[0], "bob")
    carol = await register(cluster[0], "carol")
    direct = await start_group(cluster[0], alice, [bob])
    other = await start_group(cluster[0], alice, [carol])
    clients = [api_client(url, alice.access_token) for url in cluster]
    try:
        for attempt in range(CLIENT_ID_RACES):
            client_id = f"race-{attempt}"

            async def post(index: int, conversation: dict[str, Any], client_id: str) -> Any:
                return await clients[index % len(clients)].post(
                    f"/api/conversations/{conversation['id']}/messages",
                    json={"clientId": client_id, "content": "racing"},
                )

            answers = await asyncio.gather(
                *(post(i, direct, client_id) for i in range(len(clients))),
                post(attempt, other, client_id),
            )
            into_direct, into_other = answers[:-1], answers[-1]
            ids = {answer.json()["id"] for answer in into_direct if answer.status_code < 300}
            statuses = sorted(answer.status_code for answer in into_direct)
            if into_other.status_code == 409:  # the direct conversation's send came first
                assert statuses == [200] * (len(clients) - 1) + [201], statuses
                assert len(ids) == 1
            else:  # the other conversation's came first: every send to this one conflicts
                assert into_other.status_code == 201, into_other.text
                assert statuses == [409] * len(clients), statuses
        pages = [
            (await clients[0].get(f"/api/conversations/{c['id']}/messages?limit=100")).json()
            for c in (direct, other)
        ]
        stored = [m["clientId"] for page in pages for m in page["items"]]
        assert sorted(stored) == sorted(f"race-{n}" for n in range(CLIENT_ID_RACES))
    finally:
        for client in clients:
            await client.aclose()


async def test_presence_crosses_processes_once(cluster: list[str]) -> None:
    one, two, three = cluster
    alice, bob = await register(one, "alice"), await register(one, "bob")
    await start_group(one, alice, [bob])
    alice_chat = await connect(one, alice.access_token)
    bob_tabs = [await connect(two, bob.access_token), await connect(three, bob.access_token)]
    try:
        await alice_chat.wait_for("presence", lambda p: p["userId"] == bob.id)
        await asyncio.sleep(0.5)
        # Two tabs on two processes: one announcement.
        assert len(alice_chat.received("presence", lambda p: p["userId"] == bob.id)) == 1
    finally:
        for chat in [alice_chat, *bob_tabs]:
            await chat.disconnect()


async def test_users_of_a_killed_process_go_offline_once_their_presence_expires(
    cluster_servers: list[ParleyServer],
) -> None:
    doomed, survivor, _ = cluster_servers
    alice, bob = await register(survivor.url, "alice"), await register(survivor.url, "bob")
    await start_group(survivor.url, alice, [bob])
    alice_chat = await connect(survivor.url, alice.access_token)
    await connect(doomed.url, bob.access_token)  # dies with its process, never closed
    try:
        await alice_chat.wait_for("presence", lambda p: p["userId"] == bob.id)

        doomed.stop(signal.SIGKILL)

        # The dead process no longer refreshes Bob's socket: once it expires, a surviving
        # process sweeps it and tells Alice. Expiry plus one upkeep round, with room to spare.
        offline = await alice_chat.wait_for(
            "presence",
            lambda p: p["userId"] == bob.id and p["status"] == "offline",
            timeout=PRESENCE_EXPIRY_SECONDS * 3,
        )
        assert offline["lastSeenAt"] is not None
        async with api_client(survivor.url, alice.access_token) as api:
            view = (await api.get(f"/api/users/{bob.id}")).json()
        assert view["presence"] == "offline"
    finally:
        await alice_chat.disconnect()


async def test_users_of_a_process_stopped_with_sigterm_go_offline_at_once(
    cluster_servers: list[ParleyServer],
) -> None:
    stopping, survivor, _ = cluster_servers
    alice, bob = await register(survivor.url, "alice"), await register(survivor.url, "bob")
    await start_group(survivor.url, alice, [bob])
    alice_chat = await connect(survivor.url, alice.access_token)
    await connect(stopping.url, bob.access_token)
    try:
        await alice_chat.wait_for("presence", lambda p: p["userId"] == bob.id)

        await asyncio.to_thread(stopping.stop, signal.SIGTERM)

        # No waiting for the expiry: the stopping process says so on its way out.
        await alice_chat.wait_for(
            "presence", lambda p: p["userId"] == bob.id and p["status"] == "offline", timeout=3
        )
    finally:
        await alice_chat.disconnect()


def _text(conversation_id: str, content: str, client_id: str | None = None) -> dict[str, Any]:
    return {
        "conversationId": conversation_id,
        "clientId": client_id or uuid.uuid4().hex,
        "content": content,
    }


class Receiver:
    """A client that keeps what it holds keyed by seq, and catches up with `sync` after
    reconnecting, as the contract tells clients to."""

    def __init__(self, account: Account, conversation_id: str) -> None:
        self.account = account
        self.conversation_id = conversation_id
        self.by_seq: dict[int, dict[str, Any]] = {}
        self.chat: ChatSocket | None = None

    async def attach(self, url: str) -> None:
        if self.chat is not None:
            self.absorb_live()
            await self.chat.disconnect()
        self.chat = await connect(url, self.account.access_token)
        await self.catch_up()

    async def catch_up(self) -> None:
        assert self.chat is not None
        while True:
            after = max(self.by_seq, default=0)
            page = ok(
                await self.chat.call(
                    "sync", {"conversationId": self.conversation_id, "afterSeq": after}
                )
            )
            for message in page["items"]:
                self.by_seq.setdefault(message["seq"], message)
            if not page["hasMore"]:
                return

    def absorb_live(self) -> None:
        assert self.chat is not None
        for message in self.chat.received("newMessage"):
            self.by_seq.setdefault(message["seq"], message)


async def test_sigkill_mid_burst_loses_nothing_acknowledged(
    cluster_servers: list[ParleyServer],
) -> None:
    doomed, survivor, bystander = cluster_servers
    alice, bob, carol = [await register(survivor.url, n) for n in ("alice", "bob", "carol")]
    group = await start_group(survivor.url, alice, [bob, carol])
    cid = group["id"]
    bob_receiver = Receiver(bob, cid)
    carol_receiver = Receiver(carol, cid)
    await bob_receiver.attach(doomed.url)  # loses its process mid-burst
    await carol_receiver.attach(bystander.url)

    sender = await connect(doomed.url, alice.access_token)
    acknowledged: dict[str, dict[str, Any]] = {}
    client_ids = [f"burst-{i:04d}" for i in range(BURST_MESSAGES)]
    killed = False
    for index, client_id in enumerate(client_ids):
        if index == KILL_AFTER_ACKS and not killed:
            doomed.stop(signal.SIGKILL)
            killed = True
        payload = _text(cid, f"message {index}", client_id)
        for _attempt in range(3):
            try:
                ack = await sender.call("sendMessage", payload, timeout=3)
                acknowledged[client_id] = ok(ack)
                break
            except (socketio.exceptions.SocketIOError, TimeoutError):
                # Reconnect elsewhere and send again with the same clientId: the server
                # stores it once whether or not the first try got through.
                await sender.disconnect()
                sender = await connect(survivor.url, alice.access_token)
        else:
            raise AssertionError(f"could not send {client_id}")
    await sender.disconnect()

    # Bob's process died: he reconnects to another and syncs from the last seq he holds.
    await bob_receiver.attach(survivor.url)
    for receiver in (bob_receiver, carol_receiver):
        receiver.absorb_live()
        await receiver.catch_up()

    assert killed and len(acknowledged) == BURST_MESSAGES
    expected_seqs = list(range(1, BURST_MESSAGES + 1))
    by_client_id = {m["clientId"]: m for m in acknowledged.values()}
    assert sorted(m["seq"] for m in acknowledged.values()) == expected_seqs
    for receiver in (bob_receiver, carol_receiver):
        assert sorted(receiver.by_seq) == expected_seqs
        held = [receiver.by_seq[seq]["clientId"] for seq in expected_seqs]
        assert held == client_ids  # every acknowledged message once, in send order
        assert {m["id"] for m in receiver.by_seq.values()} == {
            m["id"] for m in by_client_id.values()
        }
