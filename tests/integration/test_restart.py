"""A restart of the server loses nothing: history, conversations, unread counts and tokens.

docs/api.md: an acknowledged message is stored; tokens stay valid across a restart of the
server (the signing secret and the refresh-token store persist).
"""

from __future__ import annotations

from typing import Any

from tests.integration.helpers import (
    OpenSocket,
    ServerFactory,
    new_client_id,
    ok,
    send,
    start_direct,
    start_group,
)
from tests.support.clients import Account, api_client, register


async def list_conversations(base_url: str, account: Account) -> list[dict[str, Any]]:
    async with api_client(base_url, account.access_token) as api:
        response = await api.get("/api/conversations")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def without_presence(conversation: dict[str, Any]) -> dict[str, Any]:
    """The conversation apart from participants' presence, which a restart may change."""
    participants = [
        {k: v for k, v in p.items() if k not in ("presence", "lastSeenAt")}
        for p in conversation["participants"]
    ]
    return {**conversation, "participants": participants}


async def test_restart_keeps_history_conversations_unread_counts_and_tokens(
    server_factory: ServerFactory, sockets: OpenSocket
) -> None:
    server = server_factory()
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    direct = await start_direct(server.url, alice, bob)
    group = await start_group(server.url, bob, [alice], name="Before the restart")
    alice_socket = await sockets(server.url, alice.access_token)
    bob_socket = await sockets(server.url, bob.access_token)
    first_client_id = new_client_id()
    sent = [await send(alice_socket, direct["id"], "one", first_client_id)]
    sent += [await send(alice_socket, direct["id"], text) for text in ("two", "three")]
    await send(bob_socket, group["id"], "in the group")
    ok(await bob_socket.call("markRead", {"conversationId": direct["id"], "seq": 1}))
    history_before = ok(
        await bob_socket.call("sync", {"conversationId": direct["id"], "afterSeq": 0})
    )
    conversations_before = await list_conversations(server.url, bob)
    await alice_socket.disconnect()
    await bob_socket.disconnect()

    server.restart()

    # Nobody is connected to the new process: nobody is left online.
    async with api_client(server.url, bob.access_token) as api:
        alice_seen = (await api.get(f"/api/users/{alice.id}")).json()
    assert alice_seen["presence"] == "offline"

    # The old access tokens still work, over REST and on the socket.
    conversations_after = await list_conversations(server.url, bob)
    assert {c["id"] for c in conversations_after} == {direct["id"], group["id"]}
    assert [without_presence(c) for c in conversations_after] == [
        without_presence(c) for c in conversations_before
    ]
    [direct_after] = [c for c in conversations_after if c["id"] == direct["id"]]
    assert direct_after["unreadCount"] == 2
    assert direct_after["lastSeq"] == 3
    [alice_view] = [
        c for c in await list_conversations(server.url, alice) if c["id"] == group["id"]
    ]
    assert alice_view["unreadCount"] == 1
    assert alice_view["name"] == "Before the restart"

    alice_socket = await sockets(server.url, alice.access_token)
    bob_socket = await sockets(server.url, bob.access_token)
    history_after = ok(
        await bob_socket.call("sync", {"conversationId": direct["id"], "afterSeq": 0})
    )
    assert history_after == history_before
    assert [m["content"] for m in history_after["items"]] == ["one", "two", "three"]

    # Idempotency survives: the first clientId still names the first message.
    again = ok(
        await alice_socket.call(
            "sendMessage",
            {"conversationId": direct["id"], "clientId": first_client_id, "content": "dup"},
        )
    )
    assert again == sent[0]

    # Seq carries on without a gap, and live delivery works on the new sockets.
    after = await send(alice_socket, direct["id"], "four")
    assert after["seq"] == 4
    await bob_socket.wait_for("newMessage", lambda m: m["id"] == after["id"])

    # The refresh token issued before the restart is still good.
    async with api_client(server.url) as api:
        refreshed = await api.post("/api/auth/refresh", json={"refreshToken": bob.refresh_token})
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["user"]["id"] == bob.id
