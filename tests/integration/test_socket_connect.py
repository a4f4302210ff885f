"""Connecting to `/chat`: the access token decides, and a socket joins its rooms at once.

docs/api.md, "Socket.IO": a missing, expired or forged token refuses the connection with a
`connect_error` whose data is `{code: "unauthorized"}`; on connect a socket joins its user's
room and one room per conversation of that user.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from tests.integration.helpers import (
    OpenSocket,
    ServerFactory,
    about,
    ok,
    refused_connect_error,
    send,
    start_direct,
    start_group,
    token_for_unknown_user,
)
from tests.support.clients import Account, api_client, register
from tests.support.server import ParleyServer


def assert_unauthorized(connect_error: Any) -> None:
    """The refusal carries `data: {code: "unauthorized"}` (JavaScript's `err.data.code`)."""
    assert isinstance(connect_error, dict), connect_error
    assert isinstance(connect_error.get("data"), dict), connect_error
    assert connect_error["data"].get("code") == "unauthorized", connect_error


def _segment(token: str, index: int) -> str:
    return token.split(".")[index]


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def signed_with_another_secret(alice: Account, bob: Account) -> str:
    algorithm = jwt.get_unverified_header(alice.access_token).get("alg", "HS256")
    if not str(algorithm).startswith("HS"):
        algorithm = "HS256"
    return jwt.encode(
        _claims(alice.access_token), "an attacker's secret, 32 bytes long!", algorithm
    )


def payload_swapped_under_the_signature(alice: Account, bob: Account) -> str:
    """Bob's claims under Alice's header and signature: a token claiming to be Bob."""
    header, _, signature = alice.access_token.split(".")
    return f"{header}.{_segment(bob.access_token, 1)}.{signature}"


def unsigned_alg_none(alice: Account, bob: Account) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header.decode().rstrip('=')}.{_segment(alice.access_token, 1)}."


def refresh_token_in_place_of_access_token(alice: Account, bob: Account) -> str:
    return alice.refresh_token


def garbage(alice: Account, bob: Account) -> str:
    return "not-a-token"


def empty_string(alice: Account, bob: Account) -> str:
    return ""


FORGERIES: dict[str, Callable[[Account, Account], Any]] = {
    "signed-with-another-secret": signed_with_another_secret,
    "payload-swapped-under-signature": payload_swapped_under_the_signature,
    "alg-none": unsigned_alg_none,
    "refresh-token": refresh_token_in_place_of_access_token,
    "garbage": garbage,
    "empty-string": empty_string,
    "number": lambda alice, bob: 12345,
    "object": lambda alice, bob: {"token": alice.access_token},
}


async def test_connect_with_valid_token_joins_conversation_rooms(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    conversation = await start_direct(server.url, alice, bob)

    alice_socket = await sockets(server.url, alice.access_token)
    bob_socket = await sockets(server.url, bob.access_token)
    message = await send(bob_socket, conversation["id"], "hello")

    received = await alice_socket.wait_for("newMessage", lambda m: m["id"] == message["id"])
    assert received == message


async def test_connect_with_valid_token_joins_every_conversation_of_the_user(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    others = [await register(server.url, "other") for _ in range(3)]
    direct = await start_direct(server.url, others[0], alice)
    group = await start_group(server.url, others[1], [alice, others[2]])

    alice_socket = await sockets(server.url, alice.access_token)
    sent_direct = await send(
        await sockets(server.url, others[0].access_token), direct["id"], "in direct"
    )
    sent_group = await send(
        await sockets(server.url, others[2].access_token), group["id"], "in group"
    )

    await alice_socket.wait_for("newMessage", lambda m: m["id"] == sent_direct["id"])
    await alice_socket.wait_for("newMessage", lambda m: m["id"] == sent_group["id"])


async def test_connect_with_valid_token_joins_the_user_room(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    alice_socket = await sockets(server.url, alice.access_token)

    # A conversation created after connecting is announced through the user's room.
    conversation = await start_group(server.url, bob, [alice])

    await alice_socket.wait_for("conversationUpdated", about(conversation["id"]))


@pytest.mark.parametrize(
    "auth",
    [{}, None, {"token": None}, {"accessToken": "x"}],
    ids=["empty", "none", "null", "other-key"],
)
async def test_connect_without_token_is_refused_unauthorized(
    server: ParleyServer, auth: dict[str, Any] | None
) -> None:
    assert_unauthorized(await refused_connect_error(server.url, auth))


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
async def test_connect_with_forged_token_is_refused_unauthorized(
    server: ParleyServer, forge: Callable[[Account, Account], Any]
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")

    connect_error = await refused_connect_error(server.url, {"token": forge(alice, bob)})

    assert_unauthorized(connect_error)


async def test_expired_token_is_refused_while_a_socket_connected_before_stays_authorized(
    server_factory: ServerFactory, sockets: OpenSocket
) -> None:
    # `exp` is whole seconds rounded up: a 1 s token lives at least 1 s (time for the setup)
    # and less than 2 s.
    short_lived = server_factory({"PARLEY_ACCESS_TOKEN_TTL_SECONDS": "1"})
    alice = await register(short_lived.url, "alice")
    bob = await register(short_lived.url, "bob")
    conversation = await start_direct(short_lived.url, bob, alice)
    alice_socket = await sockets(short_lived.url, alice.access_token)

    await asyncio.sleep(2.1)  # the token's lifetime is the timer under test

    refusal = await refused_connect_error(short_lived.url, {"token": alice.access_token})
    message = await send(alice_socket, conversation["id"], "my token expired, my socket did not")
    assert_unauthorized(refusal)
    assert message["content"] == "my token expired, my socket did not"


async def test_connect_with_expired_token_is_refused_unauthorized(
    server_factory: ServerFactory,
) -> None:
    short_lived = server_factory({"PARLEY_ACCESS_TOKEN_TTL_SECONDS": "1"})
    alice = await register(short_lived.url, "alice")

    # `exp` is whole seconds rounded up, so a 1 s token lives under 2 s; this timer is the test.
    await asyncio.sleep(2.1)

    assert_unauthorized(await refused_connect_error(short_lived.url, {"token": alice.access_token}))


async def test_refused_connection_leaves_the_server_serving_others(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    conversation = await start_direct(server.url, alice, bob)
    alice_socket = await sockets(server.url, alice.access_token)

    assert_unauthorized(await refused_connect_error(server.url, {"token": "not-a-token"}))

    bob_socket = await sockets(server.url, bob.access_token)
    ack = await bob_socket.call("sync", {"conversationId": conversation["id"], "afterSeq": 0})
    assert ok(ack) == {"items": [], "hasMore": False}
    assert alice_socket.client.connected


async def test_access_token_still_connects_after_logout(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    async with api_client(server.url) as api:
        response = await api.post("/api/auth/logout", json={"refreshToken": alice.refresh_token})
    assert response.status_code == 204, response.text

    # Logout revokes refresh tokens; access tokens already issued live until they expire.
    alice_socket = await sockets(server.url, alice.access_token)

    assert ok(await alice_socket.call("heartbeat", {})) == {}


async def test_refreshed_access_token_connects(server: ParleyServer, sockets: OpenSocket) -> None:
    alice = await register(server.url, "alice")
    async with api_client(server.url) as api:
        response = await api.post("/api/auth/refresh", json={"refreshToken": alice.refresh_token})
    assert response.status_code == 200, response.text

    alice_socket = await sockets(server.url, response.json()["accessToken"])

    assert ok(await alice_socket.call("heartbeat", {})) == {}


async def test_reconnecting_then_syncing_misses_nothing(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    conversation_id = (await start_direct(server.url, alice, bob))["id"]
    alice_socket = await sockets(server.url, alice.access_token)
    bob_socket = await sockets(server.url, bob.access_token)
    held = await send(alice_socket, conversation_id, "before the drop")
    await bob_socket.wait_for("newMessage", lambda m: m["id"] == held["id"])

    await bob_socket.disconnect()
    missed = [await send(alice_socket, conversation_id, f"missed {i}") for i in range(3)]
    # Connect first, sync second (docs/api.md, "Delivery rules").
    bob_again = await sockets(server.url, bob.access_token)
    caught_up = ok(
        await bob_again.call("sync", {"conversationId": conversation_id, "afterSeq": held["seq"]})
    )
    live = await send(alice_socket, conversation_id, "live again")

    assert caught_up == {"items": missed, "hasMore": False}
    assert await bob_again.wait_for("newMessage") == live


async def test_well_signed_token_of_an_unknown_user_is_refused(server: ParleyServer) -> None:
    token = token_for_unknown_user(server)
    assert_unauthorized(await refused_connect_error(server.url, {"token": token}))
