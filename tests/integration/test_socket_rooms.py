"""Conversation rooms follow membership at once, for every live socket.

docs/api.md: joining a conversation later (created, or added to) joins every socket of that
user at once; removal takes them out at once. `conversationUpdated` is the conversation without
`unreadCount`, sent when one is created, renamed, or its participants or roles change, to all
its participants (and to one who was just removed).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.helpers import (
    OpenSocket,
    about,
    assert_none_on,
    error_code,
    new_client_id,
    open_tabs,
    send,
    start_direct,
    start_group,
    wait_all,
)
from tests.support.clients import ChatSocket, api_client, register
from tests.support.server import ParleyServer


def assert_conversation_view(payload: Any, conversation_id: str, participant_ids: set[str]) -> None:
    assert payload["id"] == conversation_id
    assert "unreadCount" not in payload
    assert payload["participantCount"] == len(participant_ids)
    assert {p["id"] for p in payload["participants"]} == participant_ids


def with_participant_count(conversation_id: str, count: int) -> Any:
    def matches(payload: Any) -> bool:
        return bool(payload["id"] == conversation_id and payload["participantCount"] == count)

    return matches


@pytest.mark.parametrize("kind", ["direct", "group"])
async def test_creating_a_conversation_joins_every_socket_of_every_participant(
    server: ParleyServer, sockets: OpenSocket, kind: str
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    alice_tabs = await open_tabs(sockets, server.url, alice, 2)
    bob_tabs = await open_tabs(sockets, server.url, bob, 2)
    everyone = [*alice_tabs, *bob_tabs]
    body: dict[str, Any] = {"type": kind, "participantIds": [bob.id]}
    if kind == "group":
        body["name"] = "Fresh"

    async with api_client(server.url, alice.access_token) as api:
        response = await api.post("/api/conversations", json=body)
    assert response.status_code == 201, response.text
    conversation_id = response.json()["id"]
    # Straight away, without reconnecting.
    message = await send(alice_tabs[0], conversation_id, "first")

    delivered = await wait_all(everyone, "newMessage", lambda m: m["id"] == message["id"])
    assert delivered == [message] * len(everyone)
    created = await wait_all(everyone, "conversationUpdated", about(conversation_id))
    for payload in created:
        assert_conversation_view(payload, conversation_id, {alice.id, bob.id})
        assert payload["type"] == kind
        roles = {p["id"]: p["role"] for p in payload["participants"]}
        owner_role = "owner" if kind == "group" else "member"
        assert roles == {alice.id: owner_role, bob.id: "member"}


async def test_new_participant_can_send_right_after_creation(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    alice_socket = await sockets(server.url, alice.access_token)
    bob_socket = await sockets(server.url, bob.access_token)
    conversation = await start_group(server.url, alice, [bob])

    message = await send(bob_socket, conversation["id"], "me too")

    await alice_socket.wait_for("newMessage", lambda m: m["id"] == message["id"])


async def test_adding_a_participant_joins_their_live_sockets_and_tells_everyone(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    carol = await register(server.url, "carol")
    conversation = await start_group(server.url, alice, [bob])
    await send(await sockets(server.url, alice.access_token), conversation["id"], "before carol")
    alice_tabs = await open_tabs(sockets, server.url, alice, 1)
    bob_tabs = await open_tabs(sockets, server.url, bob, 1)
    carol_tabs = await open_tabs(sockets, server.url, carol, 2)

    async with api_client(server.url, alice.access_token) as api:
        response = await api.post(
            f"/api/conversations/{conversation['id']}/participants", json={"userIds": [carol.id]}
        )
    assert response.status_code == 200, response.text
    updates = await wait_all(
        [*alice_tabs, *bob_tabs, *carol_tabs],
        "conversationUpdated",
        with_participant_count(conversation["id"], 3),
    )
    message = await send(bob_tabs[0], conversation["id"], "welcome, carol")

    for payload in updates:
        assert_conversation_view(payload, conversation["id"], {alice.id, bob.id, carol.id})
    await wait_all(carol_tabs, "newMessage", lambda m: m["id"] == message["id"])
    # Earlier history is not replayed as live events.
    await assert_none_on(carol_tabs, "newMessage", lambda m: m["seq"] == 1, wait=0)


async def test_added_participant_can_use_the_conversation_from_a_live_socket(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    carol = await register(server.url, "carol")
    conversation = await start_group(server.url, alice, [])
    alice_socket = await sockets(server.url, alice.access_token)
    carol_socket = await sockets(server.url, carol.access_token)

    async with api_client(server.url, alice.access_token) as api:
        response = await api.post(
            f"/api/conversations/{conversation['id']}/participants", json={"userIds": [carol.id]}
        )
    assert response.status_code == 200, response.text
    ack = await carol_socket.call(
        "typing", {"conversationId": conversation["id"], "isTyping": True}
    )

    assert ack["ok"] is True, ack
    await alice_socket.wait_for("userTyping", about(conversation["id"]))


async def _removal_setup(
    base_url: str, sockets: OpenSocket
) -> tuple[str, Any, Any, Any, list[ChatSocket], list[ChatSocket], list[ChatSocket]]:
    alice = await register(base_url, "alice")
    bob = await register(base_url, "bob")
    carol = await register(base_url, "carol")
    conversation = await start_group(base_url, alice, [bob, carol])
    return (
        str(conversation["id"]),
        alice,
        bob,
        carol,
        await open_tabs(sockets, base_url, alice, 1),
        await open_tabs(sockets, base_url, bob, 1),
        await open_tabs(sockets, base_url, carol, 2),
    )


@pytest.mark.parametrize("remover", ["owner", "self"])
async def test_removing_a_participant_takes_their_sockets_out_at_once(
    server: ParleyServer, sockets: OpenSocket, remover: str
) -> None:
    conversation_id, alice, bob, carol, alice_tabs, bob_tabs, carol_tabs = await _removal_setup(
        server.url, sockets
    )
    token = alice.access_token if remover == "owner" else carol.access_token

    async with api_client(server.url, token) as api:
        response = await api.delete(f"/api/conversations/{conversation_id}/participants/{carol.id}")
    assert response.status_code == 204, response.text
    updates = await wait_all(
        [*alice_tabs, *bob_tabs, *carol_tabs],
        "conversationUpdated",
        with_participant_count(conversation_id, 2),
    )
    message = await send(alice_tabs[0], conversation_id, "after carol")
    ok_typing = await bob_tabs[0].call(
        "typing", {"conversationId": conversation_id, "isTyping": True}
    )

    for payload in updates:
        assert_conversation_view(payload, conversation_id, {alice.id, bob.id})
    assert ok_typing["ok"] is True, ok_typing
    await bob_tabs[0].wait_for("newMessage", lambda m: m["id"] == message["id"])
    await alice_tabs[0].wait_for("userTyping", about(conversation_id))
    await assert_none_on(carol_tabs, "newMessage")
    await assert_none_on(carol_tabs, "userTyping")


async def test_removed_participant_gets_not_found_on_the_conversation(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    conversation_id, alice, _bob, carol, alice_tabs, _bob_tabs, carol_tabs = await _removal_setup(
        server.url, sockets
    )
    async with api_client(server.url, alice.access_token) as api:
        response = await api.delete(f"/api/conversations/{conversation_id}/participants/{carol.id}")
    assert response.status_code == 204, response.text

    ack = await carol_tabs[0].call(
        "sendMessage",
        {"conversationId": conversation_id, "clientId": new_client_id(), "content": "still?"},
    )

    assert error_code(ack) == "not_found"
    await assert_none_on(alice_tabs, "newMessage")


async def test_rename_tells_every_socket_of_every_participant(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    conversation_id, alice, bob, carol, alice_tabs, bob_tabs, carol_tabs = await _removal_setup(
        server.url, sockets
    )

    async with api_client(server.url, alice.access_token) as api:
        response = await api.patch(
            f"/api/conversations/{conversation_id}", json={"name": "Renamed"}
        )

    assert response.status_code == 200, response.text
    everyone = [*alice_tabs, *bob_tabs, *carol_tabs]
    updates = await wait_all(
        everyone,
        "conversationUpdated",
        lambda c: c["id"] == conversation_id and c["name"] == "Renamed",
    )
    for payload in updates:
        assert_conversation_view(payload, conversation_id, {alice.id, bob.id, carol.id})


async def test_role_change_tells_every_socket_of_every_participant(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    conversation_id, alice, bob, carol, alice_tabs, bob_tabs, carol_tabs = await _removal_setup(
        server.url, sockets
    )

    async with api_client(server.url, alice.access_token) as api:
        response = await api.patch(
            f"/api/conversations/{conversation_id}/participants/{bob.id}", json={"role": "admin"}
        )

    assert response.status_code == 200, response.text

    def bob_is_admin(payload: Any) -> bool:
        if payload["id"] != conversation_id:
            return False
        return any(p["id"] == bob.id and p["role"] == "admin" for p in payload["participants"])

    everyone = [*alice_tabs, *bob_tabs, *carol_tabs]
    updates = await wait_all(everyone, "conversationUpdated", bob_is_admin)
    for payload in updates:
        assert_conversation_view(payload, conversation_id, {alice.id, bob.id, carol.id})


async def test_reopening_an_existing_direct_conversation_announces_nothing(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    tabs = [
        *await open_tabs(sockets, server.url, alice, 2),
        await sockets(server.url, bob.access_token),
    ]
    conversation = await start_direct(server.url, alice, bob)
    await wait_all(tabs, "conversationUpdated", about(conversation["id"]))

    async with api_client(server.url, bob.access_token) as api:
        response = await api.post(
            "/api/conversations", json={"type": "direct", "participantIds": [alice.id]}
        )

    assert response.status_code == 200, response.text
    assert response.json()["id"] == conversation["id"]
    await asyncio.sleep(0.3)
    for tab in tabs:
        assert len(tab.received("conversationUpdated", about(conversation["id"]))) == 1


async def test_added_participant_appears_with_read_marker_at_last_seq(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    carol = await register(server.url, "carol")
    conversation = await start_group(server.url, alice, [])
    alice_socket = await sockets(server.url, alice.access_token)
    for text in ("one", "two"):
        await send(alice_socket, conversation["id"], text)

    async with api_client(server.url, alice.access_token) as api:
        response = await api.post(
            f"/api/conversations/{conversation['id']}/participants", json={"userIds": [carol.id]}
        )
    assert response.status_code == 200, response.text

    update = await alice_socket.wait_for(
        "conversationUpdated", with_participant_count(conversation["id"], 2)
    )
    [entry] = [p for p in update["participants"] if p["id"] == carol.id]
    assert entry["role"] == "member"
    assert entry["lastReadSeq"] == 2


async def test_owner_leaving_hands_over_and_tells_everyone_including_the_leaver(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    conversation_id, alice, bob, carol, alice_tabs, bob_tabs, carol_tabs = await _removal_setup(
        server.url, sockets
    )
    async with api_client(server.url, alice.access_token) as api:
        promoted = await api.patch(
            f"/api/conversations/{conversation_id}/participants/{carol.id}", json={"role": "admin"}
        )
        assert promoted.status_code == 200, promoted.text
        response = await api.delete(f"/api/conversations/{conversation_id}/participants/{alice.id}")
    assert response.status_code == 204, response.text

    updates = await wait_all(
        [*alice_tabs, *bob_tabs, *carol_tabs],
        "conversationUpdated",
        with_participant_count(conversation_id, 2),
    )

    for payload in updates:
        assert_conversation_view(payload, conversation_id, {bob.id, carol.id})
        roles = {p["id"]: p["role"] for p in payload["participants"]}
        assert roles == {carol.id: "owner", bob.id: "member"}
    message = await send(bob_tabs[0], conversation_id, "alice is gone")
    await carol_tabs[0].wait_for("newMessage", lambda m: m["id"] == message["id"])
    await assert_none_on(alice_tabs, "newMessage")


async def test_removed_then_added_again_rejoins_live_sockets(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    conversation_id, alice, _bob, carol, alice_tabs, _bob_tabs, carol_tabs = await _removal_setup(
        server.url, sockets
    )
    async with api_client(server.url, alice.access_token) as api:
        removed = await api.delete(f"/api/conversations/{conversation_id}/participants/{carol.id}")
        assert removed.status_code == 204, removed.text
        await send(alice_tabs[0], conversation_id, "while carol is out")
        added = await api.post(
            f"/api/conversations/{conversation_id}/participants", json={"userIds": [carol.id]}
        )
        assert added.status_code == 200, added.text

    message = await send(alice_tabs[0], conversation_id, "welcome back")

    await wait_all(carol_tabs, "newMessage", lambda m: m["id"] == message["id"])
    for tab in carol_tabs:
        assert [m["content"] for m in tab.received("newMessage")] == ["welcome back"]
