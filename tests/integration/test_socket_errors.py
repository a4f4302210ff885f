"""Every client event refuses bad input with an error ack, and the socket survives it.

docs/api.md: a payload that is not an object, a missing or extra field, a wrong type, or a
value outside its limits answers `validation_error`; a malformed id, or a conversation or
message the caller may not see, answers `not_found`; `forbidden` is for a participant without
the role; `rate_limited` carries `retryAfter`; a packet over the size cap closes the connection.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import socketio

from tests.integration.helpers import (
    OpenSocket,
    ServerFactory,
    assert_none_on,
    assert_socket_still_works,
    error_of,
    new_client_id,
    ok,
    send,
    start_direct,
    start_group,
    wait_disconnected,
)
from tests.support.clients import Account, ChatSocket, api_client, register
from tests.support.server import ParleyServer


@dataclass
class Scene:
    """Alice and Bob in a direct conversation holding one message of Alice's, and a stranger."""

    alice: Account
    bob: Account
    conversation_id: str
    message: dict[str, Any]
    alice_socket: ChatSocket
    bob_socket: ChatSocket
    stranger_socket: ChatSocket

    @property
    def message_id(self) -> str:
        return str(self.message["id"])


async def make_scene(base_url: str, sockets: OpenSocket) -> Scene:
    alice = await register(base_url, "alice")
    bob = await register(base_url, "bob")
    stranger = await register(base_url, "stranger")
    conversation = await start_direct(base_url, alice, bob)
    alice_socket = await sockets(base_url, alice.access_token)
    message = await send(alice_socket, conversation["id"], "the message")
    return Scene(
        alice,
        bob,
        str(conversation["id"]),
        message,
        alice_socket,
        await sockets(base_url, bob.access_token),
        await sockets(base_url, stranger.access_token),
    )


# A valid payload per client event, built against a scene.
VALID: dict[str, Callable[[Scene], dict[str, Any]]] = {
    "sendMessage": lambda s: {
        "conversationId": s.conversation_id,
        "clientId": new_client_id(),
        "content": "hello",
    },
    "editMessage": lambda s: {"messageId": s.message_id, "content": "edited"},
    "deleteMessage": lambda s: {"messageId": s.message_id},
    "typing": lambda s: {"conversationId": s.conversation_id, "isTyping": True},
    "markRead": lambda s: {"conversationId": s.conversation_id, "seq": 1},
    "heartbeat": lambda s: {"status": "online"},
    "sync": lambda s: {"conversationId": s.conversation_id, "afterSeq": 0},
}

REQUIRED: dict[str, list[str]] = {
    "sendMessage": ["conversationId", "clientId", "content"],
    "editMessage": ["messageId", "content"],
    "deleteMessage": ["messageId"],
    "typing": ["conversationId", "isTyping"],
    "markRead": ["conversationId", "seq"],
    "heartbeat": [],
    "sync": ["conversationId", "afterSeq"],
}

ID_FIELDS: dict[str, str] = {
    "sendMessage": "conversationId",
    "editMessage": "messageId",
    "deleteMessage": "messageId",
    "typing": "conversationId",
    "markRead": "conversationId",
    "sync": "conversationId",
}

NOT_OBJECTS: dict[str, Callable[[Scene, str], Any]] = {
    "no-payload": lambda s, event: None,
    "string": lambda s, event: "hello",
    "number": lambda s, event: 42,
    "boolean": lambda s, event: True,
    "array-of-a-valid-payload": lambda s, event: [VALID[event](s)],
}

WRONG_TYPES: list[tuple[str, str, Any]] = [
    ("sendMessage", "conversationId", 123),
    ("sendMessage", "conversationId", ["id"]),
    ("sendMessage", "clientId", 123),
    ("sendMessage", "content", 123),
    ("sendMessage", "content", ["hello"]),
    ("sendMessage", "content", {"text": "hello"}),
    ("sendMessage", "type", 1),
    ("sendMessage", "metadata", "{}"),
    ("sendMessage", "metadata", [1, 2]),
    ("editMessage", "messageId", 123),
    ("editMessage", "content", 123),
    ("editMessage", "content", True),
    ("deleteMessage", "messageId", {"id": "x"}),
    ("typing", "conversationId", 123),
    ("typing", "isTyping", "true"),
    ("typing", "isTyping", 1),
    ("typing", "isTyping", "yes"),
    ("markRead", "conversationId", 1.5),
    ("markRead", "seq", "1"),
    ("markRead", "seq", 1.5),
    ("markRead", "seq", True),
    ("heartbeat", "status", 1),
    ("heartbeat", "status", ["away"]),
    ("sync", "conversationId", False),
    ("sync", "afterSeq", "0"),
    ("sync", "afterSeq", 0.5),
    ("sync", "limit", "10"),
    ("sync", "limit", 2.5),
]


def _deep(depth: int) -> dict[str, Any]:
    """A metadata object nested `depth` levels deep (the top level is depth 1)."""
    value: dict[str, Any] = {"leaf": True}
    for _ in range(depth - 1):
        value = {"inner": value}
    return value


OUT_OF_LIMITS: list[tuple[str, str, Any]] = [
    ("sendMessage", "content", ""),
    ("sendMessage", "content", " \n\t "),
    ("sendMessage", "content", "a" * 4001),
    ("sendMessage", "clientId", ""),
    ("sendMessage", "clientId", "c" * 65),
    ("sendMessage", "type", "image"),
    ("sendMessage", "type", "file"),
    ("sendMessage", "type", "sticker"),
    ("sendMessage", "metadata", _deep(6)),
    ("sendMessage", "metadata", {"blob": "x" * (8 * 1024)}),
    ("editMessage", "content", ""),
    ("editMessage", "content", "   "),
    ("editMessage", "content", "a" * 4001),
    ("markRead", "seq", -1),
    ("heartbeat", "status", "busy"),
    ("heartbeat", "status", "offline"),
    ("sync", "afterSeq", -1),
    ("sync", "limit", 0),
    ("sync", "limit", -5),
]

MALFORMED_IDS = ["not-a-uuid", "", "123", "00000000-0000-0000-0000-00000000000g", "../etc"]


def _id(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 20 else f"{text[:12]}...{len(text)}"


async def call(chat: ChatSocket, event: str, payload: Any) -> Any:
    return await chat.call(event, payload)


async def assert_validation_error(chat: ChatSocket, event: str, payload: Any) -> None:
    ack = await call(chat, event, payload)
    assert error_of(ack)["code"] == "validation_error", ack


async def assert_nothing_happened(scene: Scene) -> None:
    """No event reached the participants, and the message is unchanged."""
    await asyncio.sleep(0.2)
    for chat in (scene.alice_socket, scene.bob_socket):
        unexpected = [
            (name, payload)
            for name, payload in chat.events
            if name in ("messageEdited", "messageDeleted", "userTyping", "readReceipt")
            or (name == "newMessage" and payload["id"] != scene.message_id)
        ]
        assert unexpected == []
    page = ok(
        await scene.alice_socket.call(
            "sync", {"conversationId": scene.conversation_id, "afterSeq": 0}
        )
    )
    assert page["items"] == [scene.message]


# Validation


@pytest.mark.parametrize("shape", NOT_OBJECTS.keys())
@pytest.mark.parametrize("event", VALID.keys())
async def test_payload_that_is_not_an_object_is_validation_error(
    server: ParleyServer, sockets: OpenSocket, event: str, shape: str
) -> None:
    scene = await make_scene(server.url, sockets)

    await assert_validation_error(scene.alice_socket, event, NOT_OBJECTS[shape](scene, event))

    await assert_nothing_happened(scene)
    await assert_socket_still_works(scene.alice_socket, scene.conversation_id)


@pytest.mark.parametrize(
    ("event", "field"),
    [(event, field) for event, fields in REQUIRED.items() for field in fields],
)
async def test_missing_field_is_validation_error(
    server: ParleyServer, sockets: OpenSocket, event: str, field: str
) -> None:
    scene = await make_scene(server.url, sockets)
    payload = VALID[event](scene)
    del payload[field]

    await assert_validation_error(scene.alice_socket, event, payload)

    await assert_nothing_happened(scene)
    await assert_socket_still_works(scene.alice_socket, scene.conversation_id)


@pytest.mark.parametrize(
    ("event", "field"),
    [(event, field) for event, fields in REQUIRED.items() for field in fields],
)
async def test_required_field_sent_as_null_is_validation_error(
    server: ParleyServer, sockets: OpenSocket, event: str, field: str
) -> None:
    scene = await make_scene(server.url, sockets)
    payload = {**VALID[event](scene), field: None}

    await assert_validation_error(scene.alice_socket, event, payload)

    await assert_nothing_happened(scene)


@pytest.mark.parametrize("event", VALID.keys())
async def test_extra_field_is_validation_error(
    server: ParleyServer, sockets: OpenSocket, event: str
) -> None:
    scene = await make_scene(server.url, sockets)
    payload = {**VALID[event](scene), "unexpected": 1}

    await assert_validation_error(scene.alice_socket, event, payload)

    await assert_nothing_happened(scene)
    await assert_socket_still_works(scene.alice_socket, scene.conversation_id)


@pytest.mark.parametrize(
    ("event", "field", "value"),
    WRONG_TYPES,
    ids=[f"{event}-{field}-{_id(value)}" for event, field, value in WRONG_TYPES],
)
async def test_wrong_type_is_validation_error(
    server: ParleyServer, sockets: OpenSocket, event: str, field: str, value: Any
) -> None:
    scene = await make_scene(server.url, sockets)
    payload = {**VALID[event](scene), field: value}

    await assert_validation_error(scene.alice_socket, event, payload)

    await assert_nothing_happened(scene)
    await assert_socket_still_works(scene.alice_socket, scene.conversation_id)


@pytest.mark.parametrize(
    ("event", "field", "value"),
    OUT_OF_LIMITS,
    ids=[f"{event}-{field}-{_id(value)}" for event, field, value in OUT_OF_LIMITS],
)
async def test_value_outside_its_limits_is_validation_error(
    server: ParleyServer, sockets: OpenSocket, event: str, field: str, value: Any
) -> None:
    scene = await make_scene(server.url, sockets)
    payload = {**VALID[event](scene), field: value}

    await assert_validation_error(scene.alice_socket, event, payload)

    await assert_nothing_happened(scene)
    await assert_socket_still_works(scene.alice_socket, scene.conversation_id)


async def test_content_of_4000_code_points_is_accepted(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    scene = await make_scene(server.url, sockets)
    content = "\U0001f600" * 4000  # 4000 code points, 8000 UTF-16 units, 16000 UTF-8 bytes

    sent = await send(scene.alice_socket, scene.conversation_id, content)
    edited = ok(
        await scene.alice_socket.call("editMessage", {"messageId": sent["id"], "content": content})
    )

    assert sent["content"] == content
    assert edited["content"] == content


async def test_metadata_at_its_limits_is_accepted(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    scene = await make_scene(server.url, sockets)
    # Compact JSON of exactly 8 KiB: {"blob":"xxx..."} is 11 bytes plus the string.
    at_size = {"blob": "x" * (8 * 1024 - 11)}

    for metadata in (_deep(5), at_size):
        ack = await scene.alice_socket.call(
            "sendMessage",
            {
                "conversationId": scene.conversation_id,
                "clientId": new_client_id(),
                "content": "meta",
                "metadata": metadata,
            },
        )
        assert ok(ack)["metadata"] == metadata


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ("sendMessage", "type"),
        ("sendMessage", "metadata"),
        ("sync", "limit"),
        ("heartbeat", "status"),
    ],
)
async def test_optional_field_sent_as_null_is_the_same_as_absent(
    server: ParleyServer, sockets: OpenSocket, event: str, field: str
) -> None:
    scene = await make_scene(server.url, sockets)
    payload = {**VALID[event](scene), field: None}

    ack = await scene.alice_socket.call(event, payload)

    ok(ack)


# Not found and forbidden


@pytest.mark.parametrize("malformed", MALFORMED_IDS, ids=_id)
@pytest.mark.parametrize("event", ID_FIELDS.keys())
async def test_malformed_id_is_not_found(
    server: ParleyServer, sockets: OpenSocket, event: str, malformed: str
) -> None:
    scene = await make_scene(server.url, sockets)
    payload = {**VALID[event](scene), ID_FIELDS[event]: malformed}

    ack = await scene.alice_socket.call(event, payload)

    assert error_of(ack)["code"] == "not_found", ack
    await assert_nothing_happened(scene)
    await assert_socket_still_works(scene.alice_socket, scene.conversation_id)


@pytest.mark.parametrize("event", ID_FIELDS.keys())
async def test_unknown_id_is_not_found(
    server: ParleyServer, sockets: OpenSocket, event: str
) -> None:
    scene = await make_scene(server.url, sockets)
    payload = {**VALID[event](scene), ID_FIELDS[event]: str(uuid.uuid4())}

    ack = await scene.alice_socket.call(event, payload)

    assert error_of(ack)["code"] == "not_found", ack
    await assert_nothing_happened(scene)


@pytest.mark.parametrize("event", ID_FIELDS.keys())
async def test_strangers_conversation_or_message_is_not_found(
    server: ParleyServer, sockets: OpenSocket, event: str
) -> None:
    scene = await make_scene(server.url, sockets)

    ack = await scene.stranger_socket.call(event, VALID[event](scene))

    assert error_of(ack)["code"] == "not_found", ack
    await assert_nothing_happened(scene)
    assert scene.stranger_socket.client.connected
    assert ok(await scene.stranger_socket.call("heartbeat", {})) == {}


async def test_editing_anothers_message_is_forbidden(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    scene = await make_scene(server.url, sockets)

    ack = await scene.bob_socket.call(
        "editMessage", {"messageId": scene.message_id, "content": "not yours"}
    )

    assert error_of(ack)["code"] == "forbidden", ack
    await assert_nothing_happened(scene)
    await assert_socket_still_works(scene.bob_socket, scene.conversation_id)


async def test_deleting_anothers_message_in_a_direct_conversation_is_forbidden(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    scene = await make_scene(server.url, sockets)

    ack = await scene.bob_socket.call("deleteMessage", {"messageId": scene.message_id})

    assert error_of(ack)["code"] == "forbidden", ack
    await assert_nothing_happened(scene)


# Rate limits, unknown events, oversized packets


async def test_sends_over_the_burst_are_rate_limited_with_retry_after(
    server_factory: ServerFactory, sockets: OpenSocket
) -> None:
    limited = server_factory(
        {
            "PARLEY_RATE_LIMITS": "on",
            "PARLEY_RATE_LIMIT_SEND_BURST": "3",
            "PARLEY_RATE_LIMIT_SEND_PER_SECOND": "1",
        }
    )
    alice = await register(limited.url, "alice")
    bob = await register(limited.url, "bob")
    conversation_id = (await start_direct(limited.url, alice, bob))["id"]
    alice_socket = await sockets(limited.url, alice.access_token)
    bob_socket = await sockets(limited.url, bob.access_token)

    acks = [
        await alice_socket.call(
            "sendMessage",
            {"conversationId": conversation_id, "clientId": new_client_id(), "content": f"{i}"},
        )
        for i in range(6)
    ]

    accepted = [ok(ack) for ack in acks if ack.get("ok") is True]
    refused = [error_of(ack) for ack in acks if ack.get("ok") is False]
    assert [ack.get("ok") for ack in acks[:3]] == [True, True, True], acks
    assert refused, acks
    for error in refused:
        assert error["code"] == "rate_limited", error
        assert isinstance(error.get("retryAfter"), int | float), error
        assert not isinstance(error["retryAfter"], bool), error
        assert error["retryAfter"] > 0, error
    # Refused sends are neither stored nor delivered.
    await asyncio.sleep(0.3)
    assert [m["id"] for m in bob_socket.received("newMessage")] == [m["id"] for m in accepted]
    page = ok(await bob_socket.call("sync", {"conversationId": conversation_id, "afterSeq": 0}))
    assert page["items"] == accepted
    assert alice_socket.client.connected


async def test_rest_and_socket_sends_share_one_rate_limit(
    server_factory: ServerFactory, sockets: OpenSocket
) -> None:
    limited = server_factory(
        {
            "PARLEY_RATE_LIMITS": "on",
            "PARLEY_RATE_LIMIT_SEND_BURST": "3",
            "PARLEY_RATE_LIMIT_SEND_PER_SECOND": "1",
        }
    )
    alice = await register(limited.url, "alice")
    bob = await register(limited.url, "bob")
    conversation_id = (await start_direct(limited.url, alice, bob))["id"]
    alice_socket = await sockets(limited.url, alice.access_token)
    for i in range(3):
        await send(alice_socket, conversation_id, f"{i}")

    async with api_client(limited.url, alice.access_token) as api:
        response = await api.post(
            f"/api/conversations/{conversation_id}/messages",
            json={"clientId": new_client_id(), "content": "over REST"},
        )

    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1


async def test_unknown_event_with_an_ack_gets_an_error_ack(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    scene = await make_scene(server.url, sockets)

    try:
        ack = await scene.alice_socket.client.call(
            "noSuchEvent", {"conversationId": scene.conversation_id}, namespace="/chat", timeout=5
        )
    except socketio.exceptions.TimeoutError:
        pytest.fail("an unknown event with an ack was met with silence")

    error_of(ack)
    await assert_socket_still_works(scene.alice_socket, scene.conversation_id)


async def test_packet_over_the_size_cap_closes_that_connection_only(
    server_factory: ServerFactory, sockets: OpenSocket
) -> None:
    capped = server_factory({"PARLEY_SOCKET_PACKET_MAX_BYTES": "4096"})
    alice = await register(capped.url, "alice")
    bob = await register(capped.url, "bob")
    conversation_id = (await start_direct(capped.url, alice, bob))["id"]
    victim, other_tab = (
        await sockets(capped.url, alice.access_token),
        await sockets(capped.url, alice.access_token),
    )
    bob_socket = await sockets(capped.url, bob.access_token)

    # Under the cap: an ordinary message.
    await send(victim, conversation_id, "a" * 3000)
    # Over the cap in bytes, though within the content limit in code points.
    oversized = "\U0001f600" * 2000
    await victim.client.emit(
        "sendMessage",
        {"conversationId": conversation_id, "clientId": new_client_id(), "content": oversized},
        namespace="/chat",
    )

    await wait_disconnected(victim)
    message = await send(other_tab, conversation_id, "the server keeps serving")
    await bob_socket.wait_for("newMessage", lambda m: m["id"] == message["id"])
    page = ok(await bob_socket.call("sync", {"conversationId": conversation_id, "afterSeq": 0}))
    assert [m["content"] for m in page["items"]] == ["a" * 3000, "the server keeps serving"]
    reconnected = await sockets(capped.url, alice.access_token)
    await assert_socket_still_works(reconnected, conversation_id)


async def test_socket_still_works_after_every_kind_of_error(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    scene = await make_scene(server.url, sockets)
    chat = scene.alice_socket
    bad_calls: list[tuple[str, Any]] = [
        ("sendMessage", "not an object"),
        ("sendMessage", {"conversationId": scene.conversation_id}),
        ("editMessage", {"messageId": "nope", "content": "x"}),
        ("deleteMessage", {"messageId": str(uuid.uuid4())}),
        ("typing", {"conversationId": scene.conversation_id, "isTyping": "maybe"}),
        ("markRead", {"conversationId": scene.conversation_id, "seq": -3}),
        ("heartbeat", {"status": "asleep"}),
        ("sync", {"conversationId": scene.conversation_id, "afterSeq": 0, "extra": True}),
        ("sendMessage", {**VALID["sendMessage"](scene), "content": "a" * 4001}),
    ]

    for event, payload in bad_calls:
        error_of(await chat.call(event, payload))
    error_of(await chat.client.call("noSuchEvent", {}, namespace="/chat", timeout=5))

    await assert_socket_still_works(chat, scene.conversation_id)
    await scene.bob_socket.wait_for("newMessage", lambda m: m["content"] == "still here")


async def test_group_owner_may_not_edit_a_members_message(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    conversation = await start_group(server.url, alice, [bob])
    alice_socket = await sockets(server.url, alice.access_token)
    bob_socket = await sockets(server.url, bob.access_token)
    message = await send(bob_socket, conversation["id"], "only I edit this")

    ack = await alice_socket.call("editMessage", {"messageId": message["id"], "content": "owned"})

    assert error_of(ack)["code"] == "forbidden", ack
    await assert_none_on([alice_socket, bob_socket], "messageEdited")


async def test_client_id_of_64_characters_is_accepted(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    scene = await make_scene(server.url, sockets)
    client_id = "c" * 64

    message = await send(scene.alice_socket, scene.conversation_id, "long id", client_id)

    assert message["clientId"] == client_id


async def test_unknown_event_without_an_ack_leaves_the_socket_working(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    scene = await make_scene(server.url, sockets)

    await scene.alice_socket.client.emit("noSuchEvent", {"x": 1}, namespace="/chat")

    await assert_socket_still_works(scene.alice_socket, scene.conversation_id)
