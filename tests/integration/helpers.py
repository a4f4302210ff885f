"""Small steps the REST integration tests share: users, conversations, messages, problems.

Every helper takes an open `api_client` (no token of its own) and the acting `Account`, so a
test can play several users over one connection pool.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import socketio

from tests.support.clients import Account, ChatSocket, api_client, register
from tests.support.server import ParleyServer

JSON = dict[str, Any]

PROBLEM_CONTENT_TYPE = "application/problem+json"
# The contract's time format: ISO 8601 in UTC, millisecond precision, `Z` suffix.
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MALFORMED_ID = "not-a-uuid"


def bearer(account: Account) -> dict[str, str]:
    """The Authorization header of `account`."""
    return {"Authorization": f"Bearer {account.access_token}"}


def unknown_id() -> str:
    """A well-formed id that names nothing on the server."""
    return str(uuid.uuid4())


# The same for test parameters, which must not change between collections (parallel workers
# each collect the tests, and must find the same ones).
UNKNOWN_ID = "7a1f0c2e-5b8d-4e3a-9c6f-0d2b4a6e8f10"


def new_client_id() -> str:
    return uuid.uuid4().hex


def assert_timestamp(value: object) -> None:
    assert isinstance(value, str) and TIMESTAMP.match(value), value


def assert_problem(response: httpx.Response, status: int, code: str) -> JSON:
    """Assert `response` is an RFC 9457 problem with the contract's `code`; return its body."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    assert media_type == PROBLEM_CONTENT_TYPE, media_type
    body: JSON = response.json()
    assert body["code"] == code, body
    assert body["status"] == status, body
    assert isinstance(body["type"], str), body
    assert isinstance(body["title"], str), body
    assert isinstance(body["detail"], str), body
    return body


async def register_many(base_url: str, count: int, prefix: str = "user") -> list[Account]:
    """`count` fresh users, registered concurrently."""
    return list(await asyncio.gather(*(register(base_url, prefix) for _ in range(count))))


async def create_direct(api: httpx.AsyncClient, account: Account, other: Account) -> JSON:
    response = await api.post(
        "/api/conversations",
        json={"type": "direct", "participantIds": [other.id]},
        headers=bearer(account),
    )
    assert response.status_code in (200, 201), response.text
    conversation: JSON = response.json()
    return conversation


async def create_group(
    api: httpx.AsyncClient, owner: Account, members: Sequence[Account], name: str = "group"
) -> JSON:
    response = await api.post(
        "/api/conversations",
        json={"type": "group", "name": name, "participantIds": [m.id for m in members]},
        headers=bearer(owner),
    )
    assert response.status_code == 201, response.text
    conversation: JSON = response.json()
    return conversation


async def get_conversation(api: httpx.AsyncClient, account: Account, conversation_id: str) -> JSON:
    response = await api.get(f"/api/conversations/{conversation_id}", headers=bearer(account))
    assert response.status_code == 200, response.text
    conversation: JSON = response.json()
    return conversation


async def add_participants(
    api: httpx.AsyncClient, actor: Account, conversation_id: str, users: Sequence[Account]
) -> JSON:
    response = await api.post(
        f"/api/conversations/{conversation_id}/participants",
        json={"userIds": [u.id for u in users]},
        headers=bearer(actor),
    )
    assert response.status_code == 200, response.text
    conversation: JSON = response.json()
    return conversation


async def set_role(
    api: httpx.AsyncClient, owner: Account, conversation_id: str, user: Account, role: str
) -> JSON:
    response = await api.patch(
        f"/api/conversations/{conversation_id}/participants/{user.id}",
        json={"role": role},
        headers=bearer(owner),
    )
    assert response.status_code == 200, response.text
    participant: JSON = response.json()
    return participant


async def send_message(
    api: httpx.AsyncClient,
    account: Account,
    conversation_id: str,
    content: str = "hello",
    client_id: str | None = None,
) -> JSON:
    response = await api.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"clientId": client_id or new_client_id(), "content": content},
        headers=bearer(account),
    )
    assert response.status_code == 201, response.text
    message: JSON = response.json()
    return message


async def send_messages(
    api: httpx.AsyncClient, account: Account, conversation_id: str, count: int
) -> list[JSON]:
    """`count` messages sent one after another, so their seqs follow the list order."""
    return [
        await send_message(api, account, conversation_id, f"message {index}")
        for index in range(count)
    ]


def participant_of(conversation: JSON, user: Account) -> JSON:
    """The entry of `user` in a conversation's `participants`."""
    matches = [p for p in conversation["participants"] if p["id"] == user.id]
    assert len(matches) == 1, conversation["participants"]
    participant: JSON = matches[0]
    return participant


# Socket.IO: tabs, acks and events (tests/integration/test_socket_*.py, test_restart.py).
# Socket traffic goes through `ChatSocket`, which checks every event and ack against
# docs/asyncapi.yaml.

OpenSocket = Callable[[str, str | None], Awaitable[ChatSocket]]
"""The type of the `sockets` fixture: `await sockets(base_url, token)`."""

ServerFactory = Callable[..., ParleyServer]
"""The type of the `server_factory` fixture."""

# Presence goes offline within 2 s of the last socket leaving (docs/api.md, "presence").
OFFLINE_WITHIN_SECONDS = 2.0


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
    assert_timestamp(value)
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


async def start_direct(base_url: str, owner: Account, other: Account) -> JSON:
    """`create_direct` on a client of its own, for tests that hold no `api_client`."""
    async with api_client(base_url) as api:
        return await create_direct(api, owner, other)


async def start_group(
    base_url: str, owner: Account, members: Sequence[Account], name: str = "group"
) -> JSON:
    """`create_group` on a client of its own, for tests that hold no `api_client`."""
    async with api_client(base_url) as api:
        return await create_group(api, owner, members, name)


async def fetch_conversation(base_url: str, account: Account, conversation_id: str) -> JSON:
    """`get_conversation` on a client of its own."""
    async with api_client(base_url) as api:
        return await get_conversation(api, account, conversation_id)


async def fetch_user(base_url: str, viewer: Account, user_id: str) -> JSON:
    """`GET /api/users/{user_id}` as `viewer`."""
    async with api_client(base_url, viewer.access_token) as api:
        response = await api.get(f"/api/users/{user_id}")
    assert response.status_code == 200, response.text
    user: JSON = response.json()
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
) -> JSON:
    """`send_message` on a client of its own: a text message over REST (201)."""
    async with api_client(base_url) as api:
        return await send_message(api, account, conversation_id, content, client_id)


async def open_tabs(
    sockets: OpenSocket, base_url: str, account: Account, count: int
) -> list[ChatSocket]:
    """Connect `count` sockets of one user, as browser tabs would."""
    return [await sockets(base_url, account.access_token) for _ in range(count)]


async def wait_all(
    chats: Sequence[ChatSocket],
    name: str,
    predicate: Callable[[Any], bool] = lambda _: True,
    timeout: float = 5.0,
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
    matching: list[Any] = chat.received(name, predicate)
    return matching


@dataclass
class Group:
    """A group of Alice (owner, two tabs), Bob (two tabs) and Carol (one tab), and a stranger."""

    conversation: dict[str, Any]
    alice: Account
    bob: Account
    carol: Account
    alice_tabs: list[ChatSocket]
    bob_tabs: list[ChatSocket]
    carol_tabs: list[ChatSocket]
    stranger_tabs: list[ChatSocket]

    @property
    def id(self) -> str:
        return str(self.conversation["id"])

    @property
    def participant_sockets(self) -> list[ChatSocket]:
        return [*self.alice_tabs, *self.bob_tabs, *self.carol_tabs]

    async def assert_delivered_to_participants_only(self, event: str, payload: Any) -> None:
        """Every participant's socket received `payload` as `event` once; no stranger did."""
        matches: Callable[[Any], bool] = lambda p: p.get("id") == payload.get("id")  # noqa: E731
        delivered = await wait_all(self.participant_sockets, event, matches)
        assert delivered == [payload] * len(self.participant_sockets)
        await assert_none_on(self.stranger_tabs, event)


async def make_group(base_url: str, sockets: OpenSocket) -> Group:
    alice = await register(base_url, "alice")
    bob = await register(base_url, "bob")
    carol = await register(base_url, "carol")
    stranger = await register(base_url, "stranger")
    conversation = await start_group(base_url, alice, [bob, carol])
    return Group(
        conversation,
        alice,
        bob,
        carol,
        await open_tabs(sockets, base_url, alice, 2),
        await open_tabs(sockets, base_url, bob, 2),
        await open_tabs(sockets, base_url, carol, 1),
        await open_tabs(sockets, base_url, stranger, 1),
    )


def token_for_unknown_user(server: ParleyServer) -> str:
    """A token signed with the server's own secret for a user it has never had.

    That happens for real when a database is reset but the signing secret is kept.
    """
    secret = server.settings.get("PARLEY_JWT_SECRET") or (
        (server.data_dir / "jwt-secret").read_text().strip()
    )
    claims = {"sub": str(uuid.uuid4()), "exp": 4102444800, "iat": 1, "typ": "access"}
    return jwt.encode(claims, secret, algorithm="HS256")
