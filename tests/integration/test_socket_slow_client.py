"""A client that stops reading is dropped once its unread events pass the write buffer's
bound, and nobody else notices; it catches up with `sync` after reconnecting."""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed

from tests.integration.helpers import OpenSocket, ServerFactory, ok, send, start_direct
from tests.support.clients import register

# Each message is 16 KB of UTF-8 (4,000 code points of four bytes): enough of them to carry
# past the engine's 4 MiB bound and what the kernel holds, with margin.
CONTENT = "\N{GRINNING FACE}" * 4000
SENDS_MAX = 1000
SEND_BATCH = 20
DEADLINE_SECONDS = 90.0


async def connected_sockets(base_url: str) -> float:
    async with httpx.AsyncClient(base_url=base_url) as api:
        text = (await api.get("/metrics")).text
    (line,) = [line for line in text.splitlines() if line.startswith("parley_connected_sockets ")]
    return float(line.split()[1])


async def open_stalled_socket(base_url: str, token: str) -> ClientConnection:
    """A raw `/chat` socket that reads its handshake and then nothing: its receive buffer is
    small, and the client stops taking frames off the wire after the first one queued."""
    address = urlsplit(base_url)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, (address.hostname, address.port))
    url = f"ws://{address.netloc}/socket.io/?EIO=4&transport=websocket"
    connection = await websocket_connect(url, sock=raw, max_queue=1)
    assert str(await connection.recv()).startswith("0{")
    await connection.send(f'40/chat,{{"token":"{token}"}}')
    assert str(await connection.recv()).startswith("40/chat,")
    return connection


async def test_client_that_stops_reading_is_dropped_and_others_get_everything(
    server_factory: ServerFactory, sockets: OpenSocket
) -> None:
    server = server_factory()
    alice, bob = await register(server.url, "alice"), await register(server.url, "bob")
    direct = await start_direct(server.url, alice, bob)
    alice_socket = await sockets(server.url, alice.access_token)
    bob_socket = await sockets(server.url, bob.access_token)
    stalled = await open_stalled_socket(server.url, bob.access_token)
    assert await connected_sockets(server.url) == 3

    sent = 0
    deadline = time.monotonic() + DEADLINE_SECONDS
    while await connected_sockets(server.url) == 3:
        assert sent < SENDS_MAX and time.monotonic() < deadline, "the stalled socket stayed"
        batch = [send(alice_socket, direct["id"], CONTENT) for _ in range(SEND_BATCH)]
        await asyncio.gather(*batch)
        sent += SEND_BATCH

    # The reading sockets got every message, in order, though one of their user's sockets
    # stalled; the stalled one was cut off, and what was waiting for it discarded.
    received = await bob_socket.wait_for(
        "newMessage", lambda message: message["seq"] == sent, timeout=10
    )
    assert received["seq"] == sent
    seqs = [message["seq"] for message in bob_socket.received("newMessage")]
    assert seqs == list(range(1, sent + 1))
    assert await connected_sockets(server.url) == 2
    assert "its client is not reading" in server.log_text()
    delivered = 0
    with pytest.raises(ConnectionClosed):
        for _ in range(SENDS_MAX + 10):
            delivered += str(await stalled.recv()).startswith('42/chat,["newMessage"')
    assert delivered < sent
    assert stalled.close_code is None or stalled.close_code == 1006  # no close frame

    # Reconnecting, the dropped client asks for what it missed.
    again = await sockets(server.url, bob.access_token)
    page = ok(await again.call("sync", {"conversationId": direct["id"], "afterSeq": 0}))
    assert [item["seq"] for item in page["items"]] == list(range(1, len(page["items"]) + 1))
    assert page["hasMore"] is True
