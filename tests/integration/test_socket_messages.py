"""Messages over the socket: send, edit, delete, sync, and the events they emit.

docs/api.md, "Socket.IO": a conversation's message events reach every socket of every
participant, the sender's own sockets included; `sendMessage` is idempotent on (sender,
clientId); REST writes emit the same events as socket writes; each process emits a
conversation's `newMessage` events in `seq` order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.integration.helpers import (
    OpenSocket,
    about,
    assert_none_on,
    error_code,
    make_group,
    new_client_id,
    ok,
    parse_time,
    rest_send,
    send,
    start_direct,
    wait_all,
)
from tests.support.clients import api_client, register
from tests.support.server import ParleyServer


async def test_send_message_acks_the_stored_message(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    client_id = new_client_id()

    ack = await group.alice_tabs[0].call(
        "sendMessage", {"conversationId": group.id, "clientId": client_id, "content": " hi <b> "}
    )

    message = ok(ack)
    assert message["conversationId"] == group.id
    assert message["seq"] == 1
    assert message["senderId"] == group.alice.id
    assert message["clientId"] == client_id
    assert message["type"] == "text"
    assert message["content"] == " hi <b> "  # stored exactly as sent
    assert message["metadata"] == {}
    assert message["editedAt"] is None
    assert message["deletedAt"] is None
    parse_time(message["createdAt"])


async def test_send_message_with_type_and_metadata_keeps_them(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    metadata = {"mentions": [group.bob.id], "reply": {"to": 1}}

    message = ok(
        await group.alice_tabs[0].call(
            "sendMessage",
            {
                "conversationId": group.id,
                "clientId": new_client_id(),
                "content": "with metadata",
                "type": "text",
                "metadata": metadata,
            },
        )
    )

    assert message["metadata"] == metadata
    received = await group.bob_tabs[0].wait_for("newMessage", lambda m: m["id"] == message["id"])
    assert received["metadata"] == metadata


async def test_new_message_reaches_every_socket_of_every_participant_including_the_senders(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)

    message = await send(group.alice_tabs[0], group.id, "to everyone")

    await group.assert_delivered_to_participants_only("newMessage", message)


async def test_new_message_reaches_each_socket_once(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)

    message = await send(group.bob_tabs[1], group.id, "once")

    await wait_all(group.participant_sockets, "newMessage", lambda m: m["id"] == message["id"])
    await asyncio.sleep(0.2)
    for chat in group.participant_sockets:
        assert len(chat.received("newMessage", lambda m: m["id"] == message["id"])) == 1


async def test_seq_counts_from_one_without_gaps_across_senders(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)

    first = await send(group.alice_tabs[0], group.id, "one")
    second = await send(group.bob_tabs[0], group.id, "two")
    third = await send(group.carol_tabs[0], group.id, "three")

    assert [first["seq"], second["seq"], third["seq"]] == [1, 2, 3]


async def test_resend_with_same_client_id_returns_the_original_and_emits_nothing(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    client_id = new_client_id()
    original = await send(group.alice_tabs[0], group.id, "original", client_id)
    await wait_all(group.participant_sockets, "newMessage", lambda m: m["id"] == original["id"])

    # A retry after a lost ack, from the other tab, with a different payload.
    again = await group.alice_tabs[1].call(
        "sendMessage", {"conversationId": group.id, "clientId": client_id, "content": "changed"}
    )

    assert ok(again) == original
    await asyncio.sleep(0.3)
    for chat in group.participant_sockets:
        assert chat.received("newMessage") == [original]


async def test_rest_resend_of_a_socket_message_returns_the_original_and_emits_nothing(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    client_id = new_client_id()
    original = await send(group.alice_tabs[0], group.id, "original", client_id)
    await wait_all(group.participant_sockets, "newMessage", lambda m: m["id"] == original["id"])

    async with api_client(server.url, group.alice.access_token) as api:
        response = await api.post(
            f"/api/conversations/{group.id}/messages",
            json={"clientId": client_id, "content": "changed"},
        )

    assert response.status_code == 200, response.text
    assert response.json() == original
    await asyncio.sleep(0.3)
    for chat in group.participant_sockets:
        assert chat.received("newMessage") == [original]


async def test_same_client_id_from_another_sender_is_a_new_message(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    client_id = new_client_id()

    from_alice = await send(group.alice_tabs[0], group.id, "alice", client_id)
    from_bob = await send(group.bob_tabs[0], group.id, "bob", client_id)

    assert from_alice["id"] != from_bob["id"]
    assert from_bob["seq"] == from_alice["seq"] + 1


async def test_same_client_id_in_another_conversation_is_conflict(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    direct = await start_direct(server.url, group.alice, group.bob)
    client_id = new_client_id()
    await send(group.alice_tabs[0], group.id, "in the group", client_id)

    ack = await group.alice_tabs[0].call(
        "sendMessage", {"conversationId": direct["id"], "clientId": client_id, "content": "x"}
    )

    assert error_code(ack) == "conflict"
    await assert_none_on(group.bob_tabs, "newMessage", about(direct["id"]))


async def test_edit_message_acks_and_emits_message_edited_to_every_socket(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    original = await send(group.alice_tabs[0], group.id, "tpyo")

    edited = ok(
        await group.alice_tabs[1].call(
            "editMessage", {"messageId": original["id"], "content": "typo"}
        )
    )

    assert edited["id"] == original["id"]
    assert edited["seq"] == original["seq"]
    assert edited["clientId"] == original["clientId"]
    assert edited["content"] == "typo"
    assert edited["editedAt"] is not None
    assert parse_time(edited["editedAt"]) >= parse_time(original["createdAt"])
    assert edited["deletedAt"] is None
    await group.assert_delivered_to_participants_only("messageEdited", edited)


async def test_delete_message_acks_id_and_emits_message_deleted_to_every_socket(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    original = await send(group.bob_tabs[0], group.id, "oops")

    ack = await group.bob_tabs[1].call("deleteMessage", {"messageId": original["id"]})

    assert ok(ack) == {"id": original["id"]}
    delivered = await wait_all(group.participant_sockets, "messageDeleted")
    event = delivered[0]
    assert set(event) == {"id", "conversationId", "seq", "deletedAt"}
    assert event["id"] == original["id"]
    assert event["conversationId"] == group.id
    assert event["seq"] == original["seq"]
    parse_time(event["deletedAt"])
    assert delivered == [event] * len(group.participant_sockets)
    await assert_none_on(group.stranger_tabs, "messageDeleted")


async def test_deleted_message_keeps_id_seq_sender_and_client_id_and_loses_content(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    original = ok(
        await group.bob_tabs[0].call(
            "sendMessage",
            {
                "conversationId": group.id,
                "clientId": new_client_id(),
                "content": "secret",
                "metadata": {"k": "v"},
            },
        )
    )
    ok(await group.bob_tabs[0].call("deleteMessage", {"messageId": original["id"]}))
    deleted = await group.alice_tabs[0].wait_for("messageDeleted")

    page = ok(await group.alice_tabs[0].call("sync", {"conversationId": group.id, "afterSeq": 0}))

    [stored] = page["items"]
    assert stored["id"] == original["id"]
    assert stored["seq"] == original["seq"]
    assert stored["senderId"] == original["senderId"]
    assert stored["clientId"] == original["clientId"]
    assert stored["content"] == ""
    assert stored["metadata"] == {}
    assert stored["deletedAt"] == deleted["deletedAt"]


async def test_client_id_of_a_deleted_message_stays_taken(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    client_id = new_client_id()
    original = await send(group.bob_tabs[0], group.id, "gone", client_id)
    ok(await group.bob_tabs[0].call("deleteMessage", {"messageId": original["id"]}))

    again = ok(
        await group.bob_tabs[0].call(
            "sendMessage", {"conversationId": group.id, "clientId": client_id, "content": "new"}
        )
    )

    assert again["id"] == original["id"]
    assert again["deletedAt"] is not None
    await asyncio.sleep(0.3)
    assert group.alice_tabs[0].received("newMessage") == [original]


async def test_deleting_a_deleted_message_acks_again_and_emits_nothing(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    original = await send(group.bob_tabs[0], group.id, "twice")
    ok(await group.bob_tabs[0].call("deleteMessage", {"messageId": original["id"]}))
    await wait_all(group.participant_sockets, "messageDeleted")

    ack = await group.bob_tabs[1].call("deleteMessage", {"messageId": original["id"]})

    assert ok(ack) == {"id": original["id"]}
    await asyncio.sleep(0.3)
    for chat in group.participant_sockets:
        assert len(chat.received("messageDeleted")) == 1


async def test_editing_a_deleted_message_is_conflict(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    original = await send(group.bob_tabs[0], group.id, "gone")
    ok(await group.bob_tabs[0].call("deleteMessage", {"messageId": original["id"]}))

    ack = await group.bob_tabs[0].call(
        "editMessage", {"messageId": original["id"], "content": "back"}
    )

    assert error_code(ack) == "conflict"
    await assert_none_on(group.participant_sockets, "messageEdited")


async def test_group_owner_deletes_a_members_message(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    original = await send(group.carol_tabs[0], group.id, "moderate me")

    ack = await group.alice_tabs[0].call("deleteMessage", {"messageId": original["id"]})

    assert ok(ack) == {"id": original["id"]}
    await wait_all(group.participant_sockets, "messageDeleted", lambda e: e["id"] == original["id"])


async def test_group_member_may_not_delete_anothers_message(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    original = await send(group.carol_tabs[0], group.id, "mine")

    ack = await group.bob_tabs[0].call("deleteMessage", {"messageId": original["id"]})

    assert error_code(ack) == "forbidden"
    await assert_none_on(group.participant_sockets, "messageDeleted")


async def test_rest_send_emits_new_message_to_every_socket(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)

    message = await rest_send(server.url, group.carol, group.id, "from REST")

    await group.assert_delivered_to_participants_only("newMessage", message)


async def test_rest_edit_emits_message_edited_to_every_socket(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    original = await send(group.carol_tabs[0], group.id, "before")

    async with api_client(server.url, group.carol.access_token) as api:
        response = await api.patch(f"/api/messages/{original['id']}", json={"content": "after"})

    assert response.status_code == 200, response.text
    delivered = await wait_all(group.participant_sockets, "messageEdited")
    assert delivered == [response.json()] * len(group.participant_sockets)


async def test_rest_delete_emits_message_deleted_to_every_socket(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    original = await send(group.carol_tabs[0], group.id, "before")

    async with api_client(server.url, group.carol.access_token) as api:
        response = await api.delete(f"/api/messages/{original['id']}")

    assert response.status_code == 204, response.text
    delivered = await wait_all(group.participant_sockets, "messageDeleted")
    assert delivered[0]["id"] == original["id"]
    assert delivered[0]["seq"] == original["seq"]
    assert delivered[0]["conversationId"] == group.id
    assert delivered == [delivered[0]] * len(group.participant_sockets)


async def test_sync_pages_forward_from_after_seq_with_has_more(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    sent = [await send(group.alice_tabs[0], group.id, f"m{i}") for i in range(1, 6)]
    reader = group.bob_tabs[0]

    pages = [
        ok(await reader.call("sync", {"conversationId": group.id, "afterSeq": after, "limit": 2}))
        for after in (0, 2, 4, 5)
    ]

    assert [[m["seq"] for m in page["items"]] for page in pages] == [[1, 2], [3, 4], [5], []]
    assert [page["hasMore"] for page in pages] == [True, True, False, False]
    assert pages[0]["items"] == sent[:2]


async def test_sync_without_limit_returns_everything_after_seq(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    sent = [await send(group.alice_tabs[0], group.id, f"m{i}") for i in range(1, 4)]

    page = ok(await group.carol_tabs[0].call("sync", {"conversationId": group.id, "afterSeq": 1}))

    assert page == {"items": sent[1:], "hasMore": False}


async def test_sync_emits_nothing(server: ParleyServer, sockets: OpenSocket) -> None:
    group = await make_group(server.url, sockets)
    await send(group.alice_tabs[0], group.id, "m")
    await wait_all(group.participant_sockets, "newMessage")
    counts = [len(chat.events) for chat in group.participant_sockets]

    ok(await group.bob_tabs[0].call("sync", {"conversationId": group.id, "afterSeq": 0}))

    await asyncio.sleep(0.3)
    assert [len(chat.events) for chat in group.participant_sockets] == counts


async def test_sync_default_page_is_50_and_a_larger_limit_is_capped_at_100(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    conversation = await start_direct(server.url, alice, bob)
    alice_socket = await sockets(server.url, alice.access_token)
    for i in range(101):
        await send(alice_socket, conversation["id"], f"m{i}")

    default_page = ok(
        await alice_socket.call("sync", {"conversationId": conversation["id"], "afterSeq": 0})
    )
    capped_page = ok(
        await alice_socket.call(
            "sync", {"conversationId": conversation["id"], "afterSeq": 0, "limit": 1000}
        )
    )
    last_page = ok(
        await alice_socket.call(
            "sync", {"conversationId": conversation["id"], "afterSeq": 100, "limit": 100}
        )
    )

    assert [m["seq"] for m in default_page["items"]] == list(range(1, 51))
    assert default_page["hasMore"] is True
    assert [m["seq"] for m in capped_page["items"]] == list(range(1, 101))
    assert capped_page["hasMore"] is True
    assert [m["seq"] for m in last_page["items"]] == [101]
    assert last_page["hasMore"] is False


async def test_burst_of_50_sends_arrives_in_seq_order(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    senders = [group.alice_tabs[0], group.alice_tabs[1], group.bob_tabs[0]]

    acks = await asyncio.gather(
        *(
            senders[i % len(senders)].call(
                "sendMessage",
                {"conversationId": group.id, "clientId": new_client_id(), "content": f"b{i}"},
                timeout=10,
            )
            for i in range(50)
        )
    )

    assert sorted(ok(ack)["seq"] for ack in acks) == list(range(1, 51))
    for chat in group.participant_sockets:
        # In seq order, everything before seq 50 has arrived by the time 50 does.
        await chat.wait_for("newMessage", lambda m: m["seq"] == 50, timeout=10)
        seqs = [m["seq"] for m in chat.received("newMessage", about(group.id))]
        assert seqs == list(range(1, 51)), seqs


async def test_group_admin_deletes_a_members_message(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    async with api_client(server.url, group.alice.access_token) as api:
        promoted = await api.patch(
            f"/api/conversations/{group.id}/participants/{group.bob.id}", json={"role": "admin"}
        )
    assert promoted.status_code == 200, promoted.text
    original = await send(group.carol_tabs[0], group.id, "moderate me")

    ack = await group.bob_tabs[0].call("deleteMessage", {"messageId": original["id"]})

    assert ok(ack) == {"id": original["id"]}
    await wait_all(group.participant_sockets, "messageDeleted", lambda e: e["id"] == original["id"])


async def test_concurrent_resends_of_one_client_id_store_and_emit_one_message(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    payload = {"conversationId": group.id, "clientId": new_client_id(), "content": "retry storm"}

    # A flaky network: both tabs retry the same send at once.
    acks = await asyncio.gather(
        *(group.alice_tabs[i % 2].call("sendMessage", {**payload}) for i in range(6))
    )

    messages = [ok(ack) for ack in acks]
    assert all(m == messages[0] for m in messages), messages
    await wait_all(group.participant_sockets, "newMessage")
    await asyncio.sleep(0.3)
    for chat in group.participant_sockets:
        assert chat.received("newMessage") == [messages[0]]


async def test_interleaved_rest_and_socket_sends_arrive_in_seq_order(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)

    async def over_rest(i: int) -> dict[str, Any]:
        return await rest_send(server.url, group.carol, group.id, f"rest {i}")

    async def over_socket(i: int) -> dict[str, Any]:
        return await send(group.bob_tabs[i % 2], group.id, f"socket {i}")

    sent = await asyncio.gather(*(over_rest(i) if i % 2 else over_socket(i) for i in range(30)))

    assert sorted(m["seq"] for m in sent) == list(range(1, 31))
    for chat in group.participant_sockets:
        # In seq order, everything before seq 30 has arrived by the time 30 does.
        await chat.wait_for("newMessage", lambda m: m["seq"] == 30, timeout=10)
        seqs = [m["seq"] for m in chat.received("newMessage", about(group.id))]
        assert seqs == list(range(1, 31)), seqs


async def test_sync_matches_rest_catch_up_after_seq(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    for i in range(5):
        await send(group.alice_tabs[0], group.id, f"m{i}")

    page = ok(
        await group.bob_tabs[0].call(
            "sync", {"conversationId": group.id, "afterSeq": 1, "limit": 3}
        )
    )
    async with api_client(server.url, group.bob.access_token) as api:
        response = await api.get(
            f"/api/conversations/{group.id}/messages", params={"after": 1, "limit": 3}
        )

    assert response.status_code == 200, response.text
    assert page == response.json()
