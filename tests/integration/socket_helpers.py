"""Setup shared by the Socket.IO integration tests: users, conversations, tabs, acks.

REST setup goes through `api_client`, so every response is checked against the contract
as well; socket traffic goes through `ChatSocket`, which does the same for events and acks.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import socketio

from tests.support.clients import Account, ChatSocket, api_client
from tests.support.server import ParleyServer

OpenSocket = Callable[[str, str | None], Awaitable[ChatSocket]]
"""The type of the `sockets` fixture: `await sockets(base_url, token)`."""

ServerFactory = Callable[..., ParleyServer]
"""The type of the `server_factory` fixture."""

CONVERSATION_EVENTS = ("newMessage", "messageEdited", "messageDeleted", "readReceipt")

# Presence goes offline within 2 s of the last socket leaving (docs/api.md, "presence").
OFFLINE_WITHIN_SECONDS = 2.0


def new_client_id() -> str:
    return f"c-{uuid.uuid4().hex}"


def ok(ack: Any) -> Any:
    """The `data` of a successful acknowledgement; fails the test on an error ack."""
    assert isinstance(ack, dict), ack
    assert ack.get("ok") is True, ack
    return ack["data"]


def error_of(ack: Any) -> dict[str, Any]:
    """The `error` of a failed acknowledgement; fails the test on a successful one."""
    assert isinstance(ack, dict), ack
    assert ack.get("ok") is False, ack
    error = ack.get("error")
    assert isinstance(error, dict), ack
    assert isinstance(error.get("code"), str), ack
    assert isinstance(error.get("message"), str), ack
    return error


def error_code(ack: Any) -> str:
    return str(error_of(ack)["code"])


def parse_time(value: str) -> datetime:
    """Parse a contract timestamp (`2026-12-04T15:06:55.123Z`), checking its form."""
    assert value.endswith("Z"), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


async def create_direct(base_url: str, owner: Account, other: Account) -> dict[str, Any]:
    async with api_client(base_url, owner.access_token) as api:
        response = await api.post(
            "/api/conversations", json={"type": "direct", "participantIds": [other.id]}
        )
    assert response.status_code in (200, 201), response.text
    conversation: dict[str, Any] = response.json()
    return conversation


async def create_group(
    base_url: str, owner: Account, members: Sequence[Account], name: str = "Team"
) -> dict[str, Any]:
    async with api_client(base_url, owner.access_token) as api:
        response = await api.post(
            "/api/conversations",
            json={"type": "group", "name": name, "participantIds": [m.id for m in members]},
        )
    assert response.status_code == 201, response.text
    conversation: dict[str, Any] = response.json()
    return conversation


async def get_conversation(base_url: str, account: Account, conversation_id: str) -> dict[str, Any]:
    async with api_client(base_url, account.access_token) as api:
        response = await api.get(f"/api/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    conversation: dict[str, Any] = response.json()
    return conversation


async def get_user(base_url: str, viewer: Account, user_id: str) -> dict[str, Any]:
    async with api_client(base_url, viewer.access_token) as api:
        response = await api.get(f"/api/users/{user_id}")
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()
    return user


async def send(
    chat: ChatSocket, conversation_id: str, content: str, client_id: str | None = None
) -> dict[str, Any]:
    """Send a text message over the socket; returns the acknowledged message."""
    ack = await chat.call(
        "sendMessage",
        {
            "conversationId": conversation_id,
            "clientId": client_id or new_client_id(),
            "content": content,
        },
    )
    message: dict[str, Any] = ok(ack)
    return message


async def rest_send(
    base_url: str,
    account: Account,
    conversation_id: str,
    content: str,
    client_id: str | None = None,
) -> dict[str, Any]:
    """Send a text message over REST; returns the created message (201)."""
    async with api_client(base_url, account.access_token) as api:
        response = await api.post(
            f"/api/conversations/{conversation_id}/messages",
            json={"clientId": client_id or new_client_id(), "content": content},
        )
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()
    return message


async def open_tabs(
    sockets: OpenSocket, base_url: str, account: Account, count: int
) -> list[ChatSocket]:
    """Connect `count` sockets of one user, as browser tabs would."""
    return [await sockets(base_url, account.access_token) for _ in range(count)]


async def wait_all(
    chats: Sequence[ChatSocket],
    name: str,
    predicate: Callable[[Any], bool] = lambda _: True,
    timeout: float = 5.0,  # noqa: ASYNC109 - passed on to each ChatSocket.wait_for
) -> list[Any]:
    """The first matching `name` event on every socket in `chats`."""
    return list(await asyncio.gather(*(c.wait_for(name, predicate, timeout) for c in chats)))


async def assert_none_on(
    chats: Sequence[ChatSocket],
    name: str,
    predicate: Callable[[Any], bool] = lambda _: True,
    wait: float = 0.3,
) -> None:
    """No matching `name` event arrives on any socket in `chats` within `wait` seconds."""
    await asyncio.sleep(wait)
    for chat in chats:
        assert not chat.received(name, predicate), (name, chat.received(name, predicate))


def about(conversation_id: str) -> Callable[[Any], bool]:
    """A predicate for events whose `conversationId` (or `id`, for conversations) matches."""

    def matches(payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        return conversation_id in (payload.get("conversationId"), payload.get("id"))

    return matches


def by_user(user_id: str, **fields: Any) -> Callable[[Any], bool]:
    """A predicate for events whose `userId` matches and whose other `fields` are equal."""

    def matches(payload: Any) -> bool:
        if not isinstance(payload, dict) or payload.get("userId") != user_id:
            return False
        return all(payload.get(key) == value for key, value in fields.items())

    return matches


async def wait_disconnected(chat: ChatSocket) -> None:
    """Wait (up to 5 s) until the server has closed `chat`'s connection."""
    closed = asyncio.Event()

    async def _closed(*reason: Any) -> None:
        closed.set()

    chat.client.on("disconnect", _closed, namespace="/chat")
    if chat.client.connected:
        async with asyncio.timeout(5):
            await closed.wait()
    assert not chat.client.connected


async def refused_connect_error(base_url: str, auth: Any) -> Any:
    """Try to connect to `/chat` with `auth`; return the `connect_error` data it was refused with.

    python-socketio raises `ConnectionError` without the server's data, so a `connect_error`
    handler records what the server sent: `{message, data}`, where `data` is what JavaScript
    clients read as `err.data`.
    """
    client = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []

    async def _refused(data: Any = None) -> None:
        errors.append(data)

    client.on("connect_error", _refused, namespace="/chat")
    try:
        await client.connect(
            base_url, namespaces=["/chat"], auth=auth, transports=["websocket"], wait_timeout=5
        )
    except socketio.exceptions.ConnectionError as exc:
        assert "/chat" in str(exc) or errors, exc
    else:
        await client.disconnect()
        raise AssertionError(f"the server accepted a connection with auth {auth!r}")
    finally:
        if client.connected:
            await client.disconnect()
    assert errors, "refused without a connect_error packet"
    return errors[0]


async def assert_socket_still_works(chat: ChatSocket, conversation_id: str) -> None:
    """After errors, `chat` is still connected and can send a message."""
    assert chat.client.connected
    message = await send(chat, conversation_id, "still here")
    await chat.wait_for("newMessage", lambda m: m["id"] == message["id"])


async def wait_count(
    chat: ChatSocket, name: str, predicate: Callable[[Any], bool], count: int
) -> list[Any]:
    """Wait until `chat` has received at least `count` matching `name` events; returns them."""

    def enough(payload: Any) -> bool:
        return predicate(payload) and len(chat.received(name, predicate)) >= count

    await chat.wait_for(name, enough)
    return chat.received(name, predicate)
