"""Read markers and typing over the socket.

docs/api.md: `markRead` answers `{lastReadSeq}` and emits `readReceipt` to every participant
only when the marker moved; the marker only moves forward. `userTyping` goes to every socket of
the other participants, none of the typist's; when a user's last socket leaves, the server
sends `isTyping: false` to every conversation where they were typing. Typing is rate limited.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.integration.helpers import (
    Group,
    OpenSocket,
    ServerFactory,
    about,
    assert_none_on,
    error_of,
    fetch_conversation,
    make_group,
    ok,
    open_tabs,
    parse_time,
    send,
    start_group,
    wait_all,
    wait_count,
)
from tests.support.clients import ChatSocket, api_client, register
from tests.support.server import ParleyServer


async def send_three(group: Group) -> None:
    """Alice sends three messages (seq 1-3) and everyone has seen them arrive."""
    for content in ("one", "two", "three"):
        await send(group.alice_tabs[0], group.id, content)
    await wait_all(group.participant_sockets, "newMessage", lambda m: m["seq"] == 3)


async def mark_read(chat: ChatSocket, conversation_id: str, seq: int) -> Any:
    return ok(await chat.call("markRead", {"conversationId": conversation_id, "seq": seq}))


def typing_of(user_id: str, is_typing: bool | None = None) -> Any:
    def matches(payload: Any) -> bool:
        if payload.get("userId") != user_id:
            return False
        return is_typing is None or payload.get("isTyping") is is_typing

    return matches


# Read markers


async def test_mark_read_acks_last_read_seq_and_emits_read_receipt_to_every_participant(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    await send_three(group)

    data = await mark_read(group.bob_tabs[0], group.id, 2)

    assert data == {"lastReadSeq": 2}
    receipts = await wait_all(group.participant_sockets, "readReceipt")
    receipt = receipts[0]
    assert set(receipt) == {"conversationId", "userId", "seq", "readAt"}
    assert receipt["conversationId"] == group.id
    assert receipt["userId"] == group.bob.id
    assert receipt["seq"] == 2
    parse_time(receipt["readAt"])
    assert receipts == [receipt] * len(group.participant_sockets)
    await assert_none_on(group.stranger_tabs, "readReceipt")


async def test_mark_read_lowers_the_readers_unread_count(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    await send_three(group)

    await mark_read(group.bob_tabs[0], group.id, 2)

    conversation = await fetch_conversation(server.url, group.bob, group.id)
    assert conversation["unreadCount"] == 1
    [bob] = [p for p in conversation["participants"] if p["id"] == group.bob.id]
    assert bob["lastReadSeq"] == 2


async def test_mark_read_backwards_changes_nothing_and_emits_nothing(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    await send_three(group)
    await mark_read(group.bob_tabs[0], group.id, 3)
    await wait_all(group.participant_sockets, "readReceipt")

    data = await mark_read(group.bob_tabs[1], group.id, 1)

    assert data == {"lastReadSeq": 3}
    await asyncio.sleep(0.3)
    for chat in group.participant_sockets:
        assert len(chat.received("readReceipt")) == 1


async def test_mark_read_at_the_same_seq_again_emits_nothing(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    await send_three(group)
    await mark_read(group.bob_tabs[0], group.id, 2)
    await wait_all(group.participant_sockets, "readReceipt")

    data = await mark_read(group.bob_tabs[0], group.id, 2)

    assert data == {"lastReadSeq": 2}
    await asyncio.sleep(0.3)
    for chat in group.participant_sockets:
        assert len(chat.received("readReceipt")) == 1


async def test_mark_read_past_last_seq_is_taken_as_last_seq(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    await send_three(group)

    data = await mark_read(group.carol_tabs[0], group.id, 1000)

    assert data == {"lastReadSeq": 3}
    receipt = await group.alice_tabs[0].wait_for("readReceipt")
    assert receipt["seq"] == 3
    assert receipt["userId"] == group.carol.id


async def test_mark_read_with_negative_seq_is_validation_error(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    await send_three(group)

    ack = await group.bob_tabs[0].call("markRead", {"conversationId": group.id, "seq": -1})

    assert error_of(ack)["code"] == "validation_error"
    await assert_none_on(group.participant_sockets, "readReceipt")


async def test_sending_moves_the_senders_marker_without_a_read_receipt(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    await send_three(group)

    data = await mark_read(group.alice_tabs[1], group.id, 3)

    assert data == {"lastReadSeq": 3}
    await assert_none_on(group.participant_sockets, "readReceipt")
    conversation = await fetch_conversation(server.url, group.alice, group.id)
    assert conversation["unreadCount"] == 0


async def test_rest_read_emits_the_same_read_receipt(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    await send_three(group)

    async with api_client(server.url, group.carol.access_token) as api:
        response = await api.post(f"/api/conversations/{group.id}/read", json={"seq": 2})

    assert response.status_code == 204, response.text
    receipts = await wait_all(group.participant_sockets, "readReceipt")
    assert {(r["userId"], r["seq"], r["conversationId"]) for r in receipts} == {
        (group.carol.id, 2, group.id)
    }


# Typing


async def test_typing_reaches_the_other_participants_sockets_and_none_of_the_typists(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)

    ack = await group.alice_tabs[0].call("typing", {"conversationId": group.id, "isTyping": True})

    assert ok(ack) == {}
    others = [*group.bob_tabs, *group.carol_tabs]
    delivered = await wait_all(others, "userTyping")
    expected = {"conversationId": group.id, "userId": group.alice.id, "isTyping": True}
    assert delivered == [expected] * len(others)
    await assert_none_on([*group.alice_tabs, *group.stranger_tabs], "userTyping")


async def test_typing_stopped_reaches_the_other_participants(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    ok(await group.bob_tabs[1].call("typing", {"conversationId": group.id, "isTyping": True}))

    ack = await group.bob_tabs[1].call("typing", {"conversationId": group.id, "isTyping": False})

    assert ok(ack) == {}
    others = [*group.alice_tabs, *group.carol_tabs]
    delivered = await wait_all(others, "userTyping", typing_of(group.bob.id, False))
    assert delivered[0] == {"conversationId": group.id, "userId": group.bob.id, "isTyping": False}
    await assert_none_on(group.bob_tabs, "userTyping")


async def test_repeated_typing_is_forwarded_each_time(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)

    # Receivers drop a typing state that is not repeated, so each repeat must reach them.
    for _ in range(2):
        ok(await group.alice_tabs[0].call("typing", {"conversationId": group.id, "isTyping": True}))

    await wait_count(group.carol_tabs[0], "userTyping", typing_of(group.alice.id, True), 2)


async def test_last_socket_leaving_stops_typing_for_the_others(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    elsewhere = await start_group(server.url, group.alice, [group.bob], name="Elsewhere")
    ok(await group.alice_tabs[0].call("typing", {"conversationId": group.id, "isTyping": True}))
    await wait_all([*group.bob_tabs, *group.carol_tabs], "userTyping", typing_of(group.alice.id))

    await group.alice_tabs[1].disconnect()
    await group.alice_tabs[0].disconnect()

    others = [*group.bob_tabs, *group.carol_tabs]
    stopped = await wait_all(others, "userTyping", typing_of(group.alice.id, False))
    assert stopped == [
        {"conversationId": group.id, "userId": group.alice.id, "isTyping": False}
    ] * (len(others))
    # Only where Alice was typing.
    await assert_none_on(group.bob_tabs, "userTyping", about(elsewhere["id"]))


async def test_typing_from_the_last_remaining_tab_is_stopped_when_it_leaves(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)
    ok(await group.alice_tabs[1].call("typing", {"conversationId": group.id, "isTyping": True}))
    await group.carol_tabs[0].wait_for("userTyping", typing_of(group.alice.id, True))

    # Leaving one tab of two: Alice still has a socket, so no stop is required yet.
    await group.alice_tabs[0].disconnect()
    await group.alice_tabs[1].disconnect()

    await group.carol_tabs[0].wait_for("userTyping", typing_of(group.alice.id, False))


async def test_typing_over_the_rate_limit_is_rate_limited_with_retry_after(
    server_factory: ServerFactory, sockets: OpenSocket
) -> None:
    limited = server_factory({"PARLEY_RATE_LIMITS": "on"})
    alice = await register(limited.url, "alice")
    bob = await register(limited.url, "bob")
    conversation = await start_group(limited.url, alice, [bob])
    alice_socket = await sockets(limited.url, alice.access_token)
    bob_socket = await sockets(limited.url, bob.access_token)

    # 5 per second by default: twelve in a row overrun it.
    acks = [
        await alice_socket.call("typing", {"conversationId": conversation["id"], "isTyping": True})
        for _ in range(12)
    ]

    refused = [error_of(ack) for ack in acks if ack.get("ok") is False]
    accepted = [ok(ack) for ack in acks if ack.get("ok") is True]
    assert refused, acks
    assert accepted, acks
    for error in refused:
        assert error["code"] == "rate_limited", error
        assert isinstance(error.get("retryAfter"), int | float), error
        assert not isinstance(error["retryAfter"], bool), error
        assert error["retryAfter"] > 0, error
    # A refused event is not delivered.
    await asyncio.sleep(0.3)
    assert len(bob_socket.received("userTyping")) == len(accepted)
    assert alice_socket.client.connected


async def test_typing_rate_limit_counts_every_tab_of_the_user(
    server_factory: ServerFactory, sockets: OpenSocket
) -> None:
    limited = server_factory({"PARLEY_RATE_LIMITS": "on"})
    alice = await register(limited.url, "alice")
    bob = await register(limited.url, "bob")
    conversation = await start_group(limited.url, alice, [bob])
    tabs = await open_tabs(sockets, limited.url, alice, 2)

    acks = [
        await tabs[i % 2].call("typing", {"conversationId": conversation["id"], "isTyping": True})
        for i in range(12)
    ]

    codes = [error_of(ack)["code"] for ack in acks if ack.get("ok") is False]
    assert codes, acks
    assert set(codes) == {"rate_limited"}


async def test_mark_read_in_an_empty_conversation_acks_zero_and_emits_nothing(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    group = await make_group(server.url, sockets)

    data = await mark_read(group.bob_tabs[0], group.id, 5)

    assert data == {"lastReadSeq": 0}
    await assert_none_on(group.participant_sockets, "readReceipt")
